"""Celery app. The broker only carries "look at the database now"; every deadline is a row."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
