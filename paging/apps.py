from django.apps import AppConfig


class PagingConfig(AppConfig):
    name = "paging"

    def ready(self) -> None:
        from paging.engine import register_tick_step
        from paging.escalation import escalations_advance

        # Escalations run before the dispatcher in each tick, so a step's
        # immediate pages go out in the same tick.
        register_tick_step(escalations_advance)
