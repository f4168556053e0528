"""Migration 0003: links that existed before versioning count as attached since 1970."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("schedules", "0002_holiday_added_removed")]
AFTER = [("schedules", "0003_calendar_links_archive")]


@pytest.mark.django_db(transaction=True)
def test_existing_links_migrate_attached_since_1970():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        Team = apps.get_model("oncall", "Team")
        Schedule = apps.get_model("schedules", "Schedule")
        Calendar = apps.get_model("schedules", "HolidayCalendar")
        team = Team.objects.create(name="Ops", slug="ops")
        schedule = Schedule.objects.create(team=team, name="Primary", time_zone="UTC")
        calendar = Calendar.objects.create(name="DE")
        schedule.holiday_calendars.add(calendar)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        # Back to the latest state of every app, for the tests that run after this one.
        executor.migrate(executor.loader.graph.leaf_nodes())
    apps = executor.loader.project_state(AFTER).apps
    Link = apps.get_model("schedules", "ScheduleCalendarLink")
    links = list(
        Link.objects.values_list("schedule_id", "calendar_id", "attached_at", "detached_at")
    )
    assert links == [(schedule.pk, calendar.pk, datetime(1970, 1, 1, tzinfo=UTC), None)]
