"""Every channel's inbound URLs (provider webhooks, signed links), at the site root."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("paging.channels.twilio.urls")),
    path("", include("paging.channels.links.urls")),
    path("", include("paging.channels.slack.urls")),
    path("", include("paging.channels.pagerduty.urls")),
]
