"""Alert rules (per integration) and inhibit rules (global), and the inhibition state.

A rule's conditions are stored as a list of mappings (``paging/rules_spec.py`` says
which); ``paging/alert_rules.py`` compiles them once per process and evaluates them on
the ingest path without touching the database.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from paging.models.services import SEVERITIES, URGENCIES, Integration, Service


class AlertRule(models.Model):
    """One rule of an integration: conditions on the alert, then actions.

    Rules run in ``position`` order; the first that matches decides, unless it says
    ``continue_matching``: then later matching rules apply too (a later setting wins,
    links add up).
    """

    class Match(models.TextChoices):
        ALL = "all", "all conditions"
        ANY = "any", "any condition"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list, blank=True)
    continue_matching = models.BooleanField(default=False)
    # Actions. Empty / null = leave as the alert says.
    route_service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a service rules route to cannot vanish under them
        related_name="routed_rules",
    )
    set_severity = models.CharField(max_length=16, blank=True, choices=[(s, s) for s in SEVERITIES])
    set_priority = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    set_urgency = models.CharField(max_length=8, blank=True, choices=[(u, u) for u in URGENCIES])
    suppress = models.BooleanField(default=False)
    # [{"text": "Runbook", "href": "https://runbooks.example.com/{{ labels.alertname }}"}]
    links = models.JSONField(default=list, blank=True)
    # The incident's dedup key, from a template ("{{ labels.instance }}"); "" = as usual.
    dedup_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "name"], name="uniq_rule_name"),
        ]

    def __str__(self) -> str:
        return f"rule {self.name!r}"


class InhibitRule(models.Model):
    """Like Alertmanager's ``inhibit_rules``: while an alert matching ``source`` fires, a
    new alert matching ``target`` whose ``equal`` fields have the same values is
    suppressed; when the source resolves, targets still firing page."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    source = models.JSONField(default=list)
    target = models.JSONField(default=list)
    # Field names ("labels.instance"); a bare label name is stored with its prefix.
    equal = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"inhibit rule {self.name!r}"


class InhibitionSource(models.Model):
    """A firing alert that matches an inhibit rule's source, under the key of its
    ``equal`` values (rule id + digest): targets look their key up here."""

    rule = models.ForeignKey(InhibitRule, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    alert = models.ForeignKey("paging.Alert", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "rule"], name="uniq_inhibition_source"),
        ]
        indexes = [models.Index(fields=["key"], name="inhibition_source_key")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} holds {self.key}"


class InhibitedIncident(models.Model):
    """An incident held by inhibition, under each key that held it: when no source of
    its keys fires any more, it pages."""

    incident = models.ForeignKey("paging.Incident", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)

    class Meta:
        indexes = [models.Index(fields=["key"], name="inhibited_incident_key")]

    def __str__(self) -> str:
        return f"incident {self.incident_id} held under {self.key}"
