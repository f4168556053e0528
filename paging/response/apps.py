from django.apps import AppConfig


class ResponseConfig(AppConfig):
    """Incident response after the page: roles, status updates, stakeholders, the status
    page and action items (README "Incident response")."""

    name = "paging.response"
    label = "response"
    verbose_name = "Incident response"

    def ready(self) -> None:
        from paging.admin_incidents import incident_page_panel_register
        from paging.channels.slack.actions import slash_command_register
        from paging.response.admin import incident_response_panel
        from paging.response.slack import COMMANDS

        # The incident page and /oncall know nothing of this app: it plugs in here.
        incident_page_panel_register(incident_response_panel)
        for command in COMMANDS:
            slash_command_register(command)
