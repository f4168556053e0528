from django.urls import URLPattern, URLResolver, path

from delivery import link_views
from delivery.twilio import views as twilio_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("twilio/sms/", twilio_views.sms_inbound, name="delivery-twilio-sms"),
    path(
        "twilio/status/<int:message_id>/",
        twilio_views.status_callback,
        name="delivery-twilio-status",
    ),
    path("twilio/voice/<int:message_id>/", twilio_views.voice_answer, name="delivery-twilio-voice"),
    path(
        "twilio/voice/<int:message_id>/gather/",
        twilio_views.voice_gather,
        name="delivery-twilio-gather",
    ),
    path("l/<str:token>/", link_views.link_page, name="delivery-link"),
]
