from django.apps import AppConfig


class PagingConfig(AppConfig):
    name = "paging"

    def ready(self) -> None:
        from oncall.channel_registry import target_kind_register
        from oncall.people.hooks import register_message_sender
        from paging.contact_messages import contact_messages_enqueue
        from paging.engine import DISPATCH, ESCALATION, dispatch_step, register_tick_step
        from paging.escalation import escalations_advance
        from paging.notices import unresolved_notices_send
        from paging.people_targets import PEOPLE_TARGETS
        from paging.shift_reminders import shift_reminders_enqueue
        from schedules.swaps import swaps_expire

        # Paging first: escalations, then the dispatcher (so a step's immediate pages
        # go out in the same tick); other apps' steps use orders above 20.
        register_tick_step(ESCALATION, escalations_advance, order=10)
        register_tick_step(DISPATCH, dispatch_step, order=20)
        register_tick_step("shift_reminders", shift_reminders_enqueue, order=50)
        # Policies' unresolved steps: due by the clock (minutes after the trigger), so
        # only in full ticks; after dispatch, which then runs again for their notices.
        register_tick_step("unresolved_notices", unresolved_notices_send, order=45, on_kick=False)
        # Steps page people through these; channels register theirs (a Slack channel…).
        for kind in PEOPLE_TARGETS:
            target_kind_register(kind)
        # The schedules' step, registered here so schedules never import paging:
        # pending swap requests expire when their start passes. The clock, not a commit,
        # makes them due, so kicked ticks skip the scan.
        register_tick_step("swaps_expire", swaps_expire, order=60, on_kick=False)
        # Verification codes and swap notices leave through the outbox.
        register_message_sender(contact_messages_enqueue)
