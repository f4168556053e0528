"""Server processes freeze what start-up built (``oncall/gc_tuning.py``).

Each test starts a fresh interpreter the way the server does (importing ``oncall.wsgi``
as gunicorn does, or sending celery's process signals) and reads the GC's counters:
without the freeze, full collections walk those objects again and again under load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A Django process holds well over this many objects after start-up.
STARTUP_OBJECTS = 50_000

REPORT = """
import gc, json
class Node:
    pass
frozen = gc.get_freeze_count()
# Garbage made after the freeze (a reference cycle) is still collected.
a, b = Node(), Node()
a.other, b.other = b, a
del a, b
print(json.dumps({"frozen": frozen, "collected": gc.collect()}))
"""


def _run(script: str, tmp_path: Path) -> dict[str, int]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oncall.settings",
        "DEBUG": "1",
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", script + REPORT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_plain_django_process_freezes_nothing(tmp_path: Path) -> None:
    found = _run("import django; django.setup()\n", tmp_path)
    assert found["frozen"] == 0


def test_the_wsgi_module_freezes_start_up_and_still_collects_new_garbage(tmp_path: Path) -> None:
    found = _run("import oncall.wsgi\n", tmp_path)
    assert found["frozen"] > STARTUP_OBJECTS
    assert found["collected"] >= 2


@pytest.mark.parametrize("signal", ["worker_process_init", "beat_init"])
def test_celery_pool_processes_and_beat_freeze_start_up(signal: str, tmp_path: Path) -> None:
    script = (
        "import django; django.setup()\n"
        "from oncall.celery import app\n"
        f"from celery.signals import {signal}\n"
        "import paging.tasks as tasks\n"
        "tasks.dispatcher.start = lambda: None  # no pool threads in this check\n"
        f"{signal}.send(sender=None)\n"
    )
    found = _run(script, tmp_path)
    assert found["frozen"] > STARTUP_OBJECTS
