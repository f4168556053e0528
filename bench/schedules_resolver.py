"""Schedule resolver benchmark: `python -m bench schedules_resolver`.

A schedule in Europe/Berlin with 3 layers and 8 engineers (weekly 24/7 rotation;
Mon-Fri 09-17 business-hours daily rotation; weekend 12-hour rotation), 200
overrides (some in replace mode), 20 time-off entries and 3 holidays. Measured:

* "who is on call now" (``oncall_at``) at 2,000 random instants of the year;
* one year of final shifts (``resolve``), with shifts/s;
* a one-year iCal feed (1 week back .. 1 year ahead) resolved and serialised;
* the same schedule as an iCal calendar (RRULE per rotation slot, one VEVENT per
  override) expanded with ``recurring_ical_events`` -- how Grafana OnCall answers the
  question, re-parsing the iCal text each time -- for both queries; our time / theirs.

Pure Python: no database (the resolver is pure; loading a definition costs six queries).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from schedules.ical import calendar_build
from schedules.resolver import (
    LayerDef,
    LayerVersionDef,
    OverrideDef,
    RestrictionDef,
    ScheduleDefinition,
    TimeOffDef,
    localize,
    oncall_at,
    resolve,
)

TZ = "Europe/Berlin"
YEAR_START = datetime(2026, 1, 5, 8, tzinfo=UTC)
YEAR_END = YEAR_START + timedelta(days=365)
ENGINEERS = list(range(1, 9))


def build_definition(seed: int = 7, overrides: int = 200, time_off: int = 20) -> ScheduleDefinition:
    rng = random.Random(seed)
    since = datetime(2025, 12, 1, tzinfo=UTC)

    def version(members, unit, length=1, restrictions=()):
        return LayerVersionDef(
            effective_from=since,
            members=tuple(members),
            start_date=date(2026, 1, 5),
            handoff_time=clock(9),
            shift_length=length,
            shift_unit=unit,
            restrictions=tuple(restrictions),
            time_zone=TZ,
        )

    layers = [
        LayerDef(1, "24/7 weekly", 0, (version([1, 2, 3, 4], "weeks"),)),
        LayerDef(
            2,
            "Business hours",
            1,
            (
                version(
                    [5, 6, 7, 8],
                    "days",
                    restrictions=[RestrictionDef(frozenset(range(5)), clock(9), clock(17), True)],
                ),
            ),
        ),
        LayerDef(
            3,
            "Weekend",
            2,
            (
                version(
                    [1, 5, 2, 6],
                    "hours",
                    12,
                    restrictions=[RestrictionDef(frozenset({5, 6}), clock(0), clock(0))],
                ),
            ),
        ),
    ]
    override_defs = []
    for i in range(overrides):
        start = YEAR_START + timedelta(hours=rng.randrange(0, 365 * 24))
        override_defs.append(
            OverrideDef(
                id=i + 1,
                engineer_id=rng.choice(ENGINEERS),
                start=start,
                end=start + timedelta(hours=rng.randint(1, 24)),
                created_at=since + timedelta(minutes=i),
                replace_engineer_id=rng.choice(ENGINEERS) if i % 4 == 0 else None,
            )
        )
    offs = []
    for _ in range(time_off):
        start = YEAR_START + timedelta(days=rng.randrange(0, 360))
        offs.append(
            TimeOffDef(rng.choice(ENGINEERS), start, start + timedelta(days=rng.randint(1, 10)))
        )
    return ScheduleDefinition(
        id=1,
        name="Primary",
        time_zone=TZ,
        layers=layers,
        overrides=override_defs,
        time_off=offs,
        holidays=frozenset({date(2026, 5, 1), date(2026, 10, 3), date(2026, 12, 25)}),
        names={e: f"Engineer {e}" for e in ENGINEERS},
    )


def ical_equivalent(definition: ScheduleDefinition) -> str:
    """The layers as recurring events (one RRULE per rotation slot, in local time) and the
    overrides as single events. Time off and precedence are not expressible in iCal;
    the baseline only has to expand events, which flatters it."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    uid = 0
    for layer in definition.layers:
        v = layer.versions[0]
        n = len(v.members)
        for j, member in enumerate(v.members):
            start = v.rotation_start + v.step * j
            end = start + v.step
            freq = {"hours": "HOURLY", "days": "DAILY", "weeks": "WEEKLY"}[v.shift_unit]
            rule = f"RRULE:FREQ={freq};INTERVAL={n * v.shift_length}"
            if v.restrictions and v.shift_unit == "days":
                rule = f"RRULE:FREQ=WEEKLY;INTERVAL={n * v.shift_length};BYDAY=MO,TU,WE,TH,FR"
                end = start.replace(hour=17)
            uid += 1
            lines += [
                "BEGIN:VEVENT",
                f"UID:layer-{uid}",
                f"DTSTART;TZID={TZ}:{start:%Y%m%dT%H%M%S}",
                f"DTEND;TZID={TZ}:{end:%Y%m%dT%H%M%S}",
                rule,
                f"SUMMARY:{member}",
                f"PRIORITY:{9 - layer.level}",
                "END:VEVENT",
            ]
    for o in definition.overrides:
        lines += [
            "BEGIN:VEVENT",
            f"UID:override-{o.id}",
            f"DTSTART:{o.start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{o.end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{o.engineer_id}",
            "PRIORITY:1",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    definition = build_definition()
    rng = random.Random(1)
    instants = [YEAR_START + timedelta(seconds=rng.randrange(0, 365 * 86400)) for _ in range(2000)]

    it = iter(instants)
    now_ms = timed(lambda: oncall_at(definition, next(it)), len(instants))
    year_ms = timed(lambda: resolve(definition, YEAR_START, YEAR_END), 20)

    def cold_year() -> object:
        localize.cache_clear()  # no local->UTC conversions remembered from earlier runs
        return resolve(definition, YEAR_START, YEAR_END)

    cold_ms = timed(cold_year, 10)
    shifts = resolve(definition, YEAR_START, YEAR_END)
    now = YEAR_START + timedelta(days=7)

    def feed() -> bytes:
        found = resolve(definition, now - timedelta(weeks=1), now + timedelta(days=365))
        return calendar_build(
            name="On call: Primary",
            shifts=[(1, "Primary", s) for s in found],
            names=definition.names,
            now=now,
        )

    feed_ms = timed(feed, 20)
    year_median = statistics.median(year_ms)
    print(f"schedule: 3 layers, 8 engineers, 200 overrides, 20 time-off entries, 3 holidays ({TZ})")
    print(
        f"oncall(at) x{len(now_ms)}: median {statistics.median(now_ms):.3f} ms, "
        f"p95 {statistics.quantiles(now_ms, n=20)[-1]:.3f} ms"
    )
    print(
        f"one year of shifts: median {year_median:.2f} ms for {len(shifts)} shifts "
        f"({len(shifts) / year_median * 1000:,.0f} shifts/s)"
    )
    print(
        f"one year of shifts, conversion cache cleared: median {statistics.median(cold_ms):.2f} ms"
    )
    print(f"one-year iCal feed (resolve + serialise): median {statistics.median(feed_ms):.2f} ms")

    try:
        import icalendar
        import recurring_ical_events
    except ImportError:
        print("recurring_ical_events not installed: baseline skipped")
        return
    text = ical_equivalent(definition)

    def theirs_now(at: datetime) -> object:
        # Grafana OnCall re-parses the iCal text for every question.
        calendar = icalendar.Calendar.from_ical(text)
        return list(recurring_ical_events.of(calendar).between(at, at + timedelta(seconds=1)))

    def theirs_year() -> object:
        calendar = icalendar.Calendar.from_ical(text)
        return list(recurring_ical_events.of(calendar).between(YEAR_START, YEAR_END))

    it2 = iter(instants)
    their_now = timed(lambda: theirs_now(next(it2)), 50)
    their_year = timed(theirs_year, 3)
    ours_now, ours_year = statistics.median(now_ms), year_median
    print(
        f"recurring_ical_events (parse + expand): oncall(at) median "
        f"{statistics.median(their_now):.2f} ms, one year {statistics.median(their_year):.1f} ms"
    )
    print(
        f"speed-up (theirs / ours): oncall(at) {statistics.median(their_now) / ours_now:.0f}x, "
        f"one year {statistics.median(their_year) / ours_year:.0f}x"
    )


if __name__ == "__main__":
    main()
