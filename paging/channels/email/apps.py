from django.apps import AppConfig


class EmailConfig(AppConfig):
    """Pages by e-mail (SMTP)."""

    name = "paging.channels.email"
    label = "channels_email"
    verbose_name = "E-mail channel"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from paging.channels.email.kinds import EMAIL

        channel_register(EMAIL)
