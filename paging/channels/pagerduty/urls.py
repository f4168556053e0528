from django.urls import URLPattern, URLResolver, path

from paging.channels.pagerduty.views import pagerduty_webhook

urlpatterns: list[URLPattern | URLResolver] = [
    path("pagerduty/webhooks/", pagerduty_webhook, name="pagerduty-webhooks"),
]
