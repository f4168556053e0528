"""The feed endpoint: the secret token in the URL is the only credential."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from oncall.people.selectors import engineer_emails
from schedules.feeds import FEED_FUTURE, FEED_PAST, calendar_build, feed_token_find
from schedules.models import FeedToken, Schedule
from schedules.resolver import resolve_whole
from schedules.selectors import engineer_shifts, schedule_definition


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    row = feed_token_find(token)
    if row is None:
        raise Http404("unknown or revoked feed")  # same answer for both: reveals nothing
    now = timezone.now()
    start, end = now - FEED_PAST, now + FEED_FUTURE
    if row.kind == FeedToken.Kind.SCHEDULE:
        schedule = row.schedule
        assert schedule is not None  # a schedule feed's token names its schedule
        definition = schedule_definition(schedule.pk)
        shifts = [(schedule.pk, schedule.name, s) for s in resolve_whole(definition, start, end)]
        body = calendar_build(
            name=f"On call: {schedule.name}",
            shifts=shifts,
            names=definition.names,
            emails=engineer_emails({s.engineer_id for _sid, _name, s in shifts}),
            now=now,
        )
    else:
        engineer = row.engineer
        assert engineer is not None  # an engineer feed's token names its engineer
        names = dict(Schedule.objects.values_list("id", "name"))
        pairs = engineer_shifts(engineer_id=engineer.pk, start=start, end=end, whole=True)
        body = calendar_build(
            name=f"On call: {engineer.display_name}",
            shifts=[(sid, names.get(sid, ""), s) for sid, s in pairs],
            names={engineer.pk: engineer.display_name},
            emails=engineer_emails([engineer.pk]),
            now=now,
        )
    # Remember use without a write per poll (at most once an hour).
    if row.last_used_at is None or now - row.last_used_at > FEED_PAST / 168:
        FeedToken.objects.filter(pk=row.pk).update(last_used_at=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
