"""Inbound endpoints called by alert sources and providers (not under /api/)."""

urlpatterns: list = []
