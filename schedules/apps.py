from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from paging.engine import register_tick_step
        from schedules.swaps import swaps_expire

        # Pending swap requests expire when their start passes: the clock, not a commit,
        # makes them due, so kicked ticks skip the scan.
        register_tick_step("swaps_expire", swaps_expire, order=60, on_kick=False)
