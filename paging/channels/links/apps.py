from django.apps import AppConfig


class LinksConfig(AppConfig):
    """Signed acknowledge/resolve links in SMS and e-mail pages (``/l/<token>/``)."""

    name = "paging.channels.links"
    label = "channels_links"
    verbose_name = "Signed links"
