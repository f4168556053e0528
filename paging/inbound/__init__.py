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
``POST /integrations/grafana/<token>/``
    Grafana Alerting's webhook contact point: Alertmanager's shape plus Grafana's fields
    (values, dashboard/panel/silence links), kept on the alert. Format: ``grafana.py``.
``POST /integrations/sns/<token>/``
    Amazon SNS HTTPS subscription carrying CloudWatch alarms (ALARM triggers, OK
    resolves, INSUFFICIENT_DATA changes nothing). Signature, certificate host, topic
    and age are checked first (``sns_verify.py``); subscriptions are confirmed by
    fetching SubscribeURL. Format: ``sns.py``.
``POST /v2/change/enqueue``
    PagerDuty Change Events, same routing keys as ``/v2/enqueue``: recorded on the
    service (``paging.change_events``), shown on its incidents opened within
    ``CHANGE_EVENTS_WINDOW_MINUTES`` after. Format: ``change_events.py``.

Every endpoint takes a slot of its integration's rate limit (``rate_limit.py``) after
the body parsed and before anything is stored: one request is one event.

Answers:

- ``202`` once the event is committed: Alertmanager and webhook
  ``{"status": "accepted", …, "incident_ids": […]}`` (webhook adds ``dedup_key``);
  PagerDuty ``{"status": "success", "message": "Event processed", "dedup_key": …}``.
  Acknowledge/resolve of an unknown key is accepted and dropped (as PagerDuty does).
- SNS: ``200`` for a confirmed or unsubscribed subscription, ``202`` for a
  notification (``"status": "ignored"`` for INSUFFICIENT_DATA); ``403`` when the
  topic is not the integration's (or unsubscribed), the signature does not verify, or
  a certificate/SubscribeURL is not https on an allowed SNS host.
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
- ``429`` with ``Retry-After`` over the integration's ``rate_limit_per_minute``
  (PagerDuty endpoints: ``{"status": "throttle event", …}``); nothing is stored.
- ``503`` with ``Retry-After`` when the database is unavailable (SNS: also when the
  signing certificate or SubscribeURL cannot be fetched): senders retry 5xx.

Integrations are looked up through a per-process cache (``integrations.py``, 5 s TTL).
"""
