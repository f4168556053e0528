from django.apps import AppConfig


class WebPushConfig(AppConfig):
    """Pages as browser push notifications (the Push API, VAPID), subscribed from /me/."""

    name = "paging.channels.webpush"
    label = "channels_webpush"
    verbose_name = "Web push channel"

    def ready(self) -> None:
        from oncall.channel_registry import channel_register
        from paging.channels.webpush.kinds import WEBPUSH
        from paging.channels.webpush.vapid import vapid_settings_check

        # A malformed key or subject stops start-up naming the variable (strict settings).
        vapid_settings_check()
        channel_register(WEBPUSH)
