from django.apps import AppConfig


class EmailConfig(AppConfig):
    """Pages by e-mail (SMTP)."""

    name = "paging.channels.email"
    label = "channels_email"
    verbose_name = "E-mail channel"

    def ready(self) -> None:
        from paging.channels.email.transport import email_transport
        from paging.channels.registry import register_transport

        register_transport("email", email_transport)
