"""Team admins' approval: who may approve, which schedules gate an engineer's time off,
and the time-off decisions. (Swap approval lives with the swaps, in ``swaps.py``.)"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from oncall.audit.services import audit_record
from oncall.people.models import Engineer
from oncall.people.selectors import is_team_admin
from schedules.models import Schedule, TimeOff


def time_off_gates(*, engineer: Engineer) -> list[Schedule]:
    """Schedules whose rotation the engineer is in and that require approval of time off."""
    return list(
        Schedule.objects.filter(
            time_off_needs_approval=True,
            layers__deleted_at=None,
            layers__layer_members__engineer=engineer,
        ).distinct()
    )


def time_off_needs_approval(*, engineer: Engineer, user) -> bool:
    """Booked by ``user`` (None: the system, config as code), does it need approval?
    Yes if a gating schedule's team does not count ``user`` among its admins."""
    if user is None:
        return False
    gates = time_off_gates(engineer=engineer)
    return any(not is_team_admin(user, team_id=s.team_id) for s in gates)


def may_approve_time_off(*, time_off: TimeOff, user) -> bool:
    return any(
        is_team_admin(user, team_id=s.team_id) for s in time_off_gates(engineer=time_off.engineer)
    )


def _decide(time_off: TimeOff, user, status: str) -> TimeOff:
    if not may_approve_time_off(time_off=time_off, user=user):
        raise PermissionDenied(
            "only an admin of a team whose schedule requires approval may decide"
        )
    was = TimeOff.Status.AWAITING
    # Conditional update: two admins deciding at once resolve cleanly.
    if not TimeOff.objects.filter(pk=time_off.pk, status=was).update(status=status):
        time_off.refresh_from_db()
        raise ValidationError({"status": f"the time off is already {time_off.status}"})
    time_off.refresh_from_db()
    audit_record(status, time_off, changes={"status": (was, status)})
    return time_off


@transaction.atomic
def time_off_approve(*, time_off: TimeOff, user) -> TimeOff:
    """The time off counts from now on: substitutes take the engineer's shifts."""
    return _decide(time_off, user, TimeOff.Status.APPROVED)


@transaction.atomic
def time_off_reject(*, time_off: TimeOff, user) -> TimeOff:
    return _decide(time_off, user, TimeOff.Status.DECLINED)
