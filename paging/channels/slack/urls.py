from django.urls import URLPattern, URLResolver, path

from paging.channels.slack.views import slack_commands, slack_interactions

urlpatterns: list[URLPattern | URLResolver] = [
    path("slack/interactions/", slack_interactions, name="slack-interactions"),
    path("slack/commands/", slack_commands, name="slack-commands"),
]
