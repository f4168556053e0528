"""One Alertmanager request's CPU in one process: back to back, and with a pause before
each request (what a server sees at 50 requests/s, 20 ms apart).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oncall python -m bench request_warmth

Why: in ``cost_per_alert`` at 1 alert/request the web processes cost about twice what the
same request costs in a tight loop. This drives the WSGI application directly (no
gunicorn, no socket, no broker: the kick only sets the embedded event) on a fresh
``<DATABASE_URL name>_bench`` database, BENCH_WARMTH_REQUESTS (800) 1-alert messages per
run, alternating back-to-back runs and runs with BENCH_WARMTH_GAP_MS (20) of sleep before
each request, and prints this process's CPU (``time.process_time``) per request. The
difference is the price of a cold CPU cache (and whatever else idling costs on this
machine), not of more work.
"""

from __future__ import annotations

import os
import subprocess

from bench.ingest_alertmanager import (
    PYTHON,
    ROOT,
    bench_database_url,
    database_recreate,
    env_int,
    server_env,
    setup,
)

SCRIPT = """
import io, os, sys, time
from oncall.wsgi import application
from bench.ingest_alertmanager import message
token, count, gap = os.environ["BENCH_TOKEN"], int(os.environ["COUNT"]), float(os.environ["GAP"])
path = f"/integrations/alertmanager/{token}/"
def call(body):
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "HTTP_HOST": "localhost", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": sys.stderr}
    status = []
    response = application(environ, lambda s, h: status.append(s))
    b"".join(response)
    response.close()
    assert status[0].startswith("202"), status
bodies = [message(1) for _ in range(count + 50)]
for body in bodies[:50]:
    call(body)  # warm-up: connections, caches, prepared statements
used = 0.0
for body in bodies[50:]:
    if gap:
        time.sleep(gap)
    started = time.process_time()
    call(body)
    used += time.process_time() - started
print(f"cpu_ms {used * 1000 / count:.3f}")
"""


def run(db_url: str, token: str, count: int, gap_ms: int) -> float:
    env = server_env(db_url)
    env.update(BENCH_TOKEN=token, COUNT=str(count), GAP=str(gap_ms / 1000))
    out = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()\n" + SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split("cpu_ms")[-1])


def main() -> None:
    db_url = bench_database_url()
    print(f"database: {db_url.rsplit('/', 1)[-1]} (recreated and migrated)")
    database_recreate(db_url)
    token, _ = setup(db_url)
    count = env_int("BENCH_WARMTH_REQUESTS", 800)
    gap = env_int("BENCH_WARMTH_GAP_MS", 20)
    for _ in range(2):
        tight = run(db_url, token, count, 0)
        paused = run(db_url, token, count, gap)
        print(
            f"CPU ms per 1-alert request in one process: back to back {tight:.2f}, "
            f"with {gap} ms before each {paused:.2f} ({paused / tight:.2f}x); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
