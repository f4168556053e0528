from django.urls import URLPattern, URLResolver, path

from bridges.pagerduty.views import pagerduty_webhook
from bridges.slack.views import slack_commands, slack_interactions

urlpatterns: list[URLPattern | URLResolver] = [
    path("slack/interactions/", slack_interactions, name="slack-interactions"),
    path("slack/commands/", slack_commands, name="slack-commands"),
    path("pagerduty/webhooks/", pagerduty_webhook, name="pagerduty-webhooks"),
]
