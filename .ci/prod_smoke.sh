#!/usr/bin/env bash
# Production deployment as the README documents it: migrate, install beat rows,
# gunicorn + celery worker + celery beat; pass when /healthz is 200 (the engine ticks
# through beat and the worker) and the admin and schema answer.
set -euo pipefail
cd "$(dirname "$0")/.."
export SECRET_KEY="ci-smoke-secret" PORT="${SMOKE_PORT:-18765}" HEALTHZ_TOKEN="ci-smoke-healthz"
BIN=.venv/bin
DBNAME="${DATABASE_URL##*/}"
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='$DBNAME'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DBNAME" >/dev/null
$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py setup_periodic_tasks
LOG=$(mktemp -d)
$BIN/gunicorn oncall.wsgi --bind 127.0.0.1:$PORT --workers 2 >"$LOG/gunicorn.log" 2>&1 &
PIDS=($!)
$BIN/celery -A oncall worker --concurrency 2 --loglevel INFO >"$LOG/worker.log" 2>&1 &
PIDS+=($!)
$BIN/celery -A oncall beat -S django_celery_beat.schedulers:DatabaseScheduler \
  --loglevel INFO --schedule "$LOG/beat.db" >"$LOG/beat.log" 2>&1 &
PIDS+=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

status=""
for _ in $(seq 60); do
  status=$(curl -s -o "$LOG/health.json" -w '%{http_code}' \
    -H "Authorization: Bearer $HEALTHZ_TOKEN" "http://127.0.0.1:$PORT/healthz" || true)
  [ "$status" = "200" ] && break
  sleep 1
done
cat "$LOG/health.json" 2>/dev/null || true; echo
if [ "$status" != "200" ]; then
  echo "FAIL: /healthz answered $status"; tail -n 40 "$LOG"/*.log; exit 1
fi
grep -q '"mode": "celery"' "$LOG/health.json"
for path in /admin/login/ /api/schema/ /static/admin/css/base.css; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$path")
  [ "$code" = "200" ] || { echo "FAIL: $path answered $code"; exit 1; }
done
echo "production smoke: gunicorn + worker + beat healthy"
