from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """MTTA/MTTR, on-call load, dashboard, Prometheus metrics, post-incident reviews."""

    name = "analytics"
