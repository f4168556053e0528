from django.urls import URLPattern, URLResolver, path

from paging.channels.twilio import views

# Route names keep their "delivery-" prefix (reverse() names in use before the move).
urlpatterns: list[URLPattern | URLResolver] = [
    path("twilio/sms/", views.sms_inbound, name="delivery-twilio-sms"),
    path("twilio/status/<int:message_id>/", views.status_callback, name="delivery-twilio-status"),
    path("twilio/voice/<int:message_id>/", views.voice_answer, name="delivery-twilio-voice"),
    path(
        "twilio/voice/<int:message_id>/gather/",
        views.voice_gather,
        name="delivery-twilio-gather",
    ),
]
