"""Inbound alert endpoints: one parser per format (pure), the views, body limits.

Parsers turn a decoded JSON body into ``paging.alert_event.AlertEvent`` objects and
raise ``InvalidPayload`` with human-readable errors; views look up the integration,
call ``paging.ingest.alerts_ingest`` and answer only after it committed.
"""
