from django.apps import AppConfig


class PagingConfig(AppConfig):
    name = "paging"

    def ready(self) -> None:
        from paging.engine import DISPATCH, ESCALATION, dispatch_step, register_tick_step
        from paging.escalation import escalations_advance
        from paging.shift_reminders import shift_reminders_enqueue

        # Paging first: escalations, then the dispatcher (so a step's immediate pages
        # go out in the same tick); other apps' steps use orders above 20.
        register_tick_step(ESCALATION, escalations_advance, order=10)
        register_tick_step(DISPATCH, dispatch_step, order=20)
        register_tick_step("shift_reminders", shift_reminders_enqueue, order=50)
