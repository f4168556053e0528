"""The delivery routes are mounted at the site root of the real URL configuration."""

from __future__ import annotations

from django.urls import resolve, reverse


def test_delivery_routes_in_the_site_urlconf() -> None:
    assert reverse("delivery-twilio-sms") == "/twilio/sms/"
    assert reverse("delivery-twilio-status", args=[7]) == "/twilio/status/7/"
    assert reverse("delivery-twilio-voice", args=[7]) == "/twilio/voice/7/"
    assert reverse("delivery-twilio-gather", args=[7]) == "/twilio/voice/7/gather/"
    assert resolve("/l/1-2-a.abc.def/").url_name == "delivery-link"
