"""Inbound alert endpoints: one parser per format (pure), the views, body limits.

Parsers turn a decoded JSON body into ``paging.alert_event.AlertEvent`` objects and
raise ``InvalidPayload`` with human-readable errors; views look up the integration,
call ``paging.ingest.alerts_ingest`` and answer only after it committed.

Endpoints (each integration's token is shown in the admin with its full URL):

``POST /integrations/alertmanager/<token>/``
    Prometheus Alertmanager webhook v4 (and Grafana's webhook contact point, same
    shape). Configure a receiver with ``webhook_configs: [{url: <that URL>}]``;
    ``send_resolved`` (default true) resolves incidents. Format: ``alertmanager.py``.
    Set ``max_alerts: 500`` on the webhook config: a message over the body limit is
    refused (413) and Alertmanager does not retry 4xx. Of one message at most
    ``INBOUND_MAX_ALERTS_PER_MESSAGE`` (1000) alerts are handled, the rest are counted
    in the answer's ``truncated_alerts`` (refusing would lose the whole message).
``POST /v2/enqueue``
    PagerDuty Events API v2; ``routing_key`` = the integration's 32-character token.
    Point any PagerDuty client at this service by changing only its base URL:
    Alertmanager ``pagerduty_configs: [{routing_key: …, url: https://<host>/v2/enqueue}]``,
    Grafana's PagerDuty contact point (custom URL), ``pdpyras.EventsAPISession``
    (``session.url = "https://<host>"``). Format: ``pagerduty_events.py``.
``POST /integrations/webhook/<token>/``
    Generic JSON: title, severity, dedup_key, status (firing|resolved), details, links,
    source, timestamp. Format and defaults: ``webhook.py``.

Answers:

- ``202`` once the event is committed: Alertmanager and webhook
  ``{"status": "accepted", …, "incident_ids": […]}`` (webhook adds ``dedup_key``);
  PagerDuty ``{"status": "success", "message": "Event processed", "dedup_key": …}``.
  Acknowledge/resolve of an unknown key is accepted and dropped (as PagerDuty does).
- ``400`` malformed body: not UTF-8, not JSON, not a JSON object, NaN/Infinity (or 1e999,
  which overflows to it), NUL characters or unpaired surrogates in strings, nesting deeper
  than 64, wrong types, missing fields, values too long. ``errors`` lists every problem with
  its field path (``'alerts[1].labels.severity' must be a string, not number``). PagerDuty's shape:
  ``{"status": "invalid event", "message": "Event object is invalid", "errors": […]}``.
- ``404`` unknown token, or the token of another kind of integration. On
  ``/v2/enqueue`` an unknown routing key is ``400`` with ``errors: ["Invalid routing
  key"]``, which is what PagerDuty answers (clients treat it as a permanent error).
- ``405`` for anything but POST; ``413`` for a body over ``INBOUND_MAX_BODY_BYTES``
  (setting, default 512 KiB; checked on Content-Length and on the bytes read, and
  independent of Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``).
- ``503`` with ``Retry-After`` when the database is unavailable: senders retry 5xx.

Integrations are looked up through a per-process cache (``integrations.py``, 5 s TTL).
"""
