"""Celery app. The broker only carries "look at the database now"; every deadline is a row."""

import logging
import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    beat_init,
    worker_process_init,
)
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

# Redis URLs use our subclass of kombu's transport, which survives a broker restart with a
# task in flight (see oncall/broker.py). Set before any connection resolves its transport.
for _scheme in ("redis", "rediss"):
    TRANSPORT_ALIASES[_scheme] = "oncall.broker:Transport"

app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger: logging.Logger, **_: object) -> None:
    """Celery sets up its own handlers in worker and beat: they mask secrets too."""
    from oncall.security.log_redact import RedactSecretsFilter

    for handler in logger.handlers:
        handler.addFilter(RedactSecretsFilter())


@worker_process_init.connect
@beat_init.connect
def _gc_freeze(**_: object) -> None:
    """Each pool process and beat: start-up's objects are not walked by the GC again."""
    from oncall.gc_tuning import freeze_after_startup

    freeze_after_startup()
