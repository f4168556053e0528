"""PagerDuty: forwarding through Events API v2 and acknowledgements from webhooks v3."""
