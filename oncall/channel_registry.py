"""The channel registry: every kind of contact method, outbox message and escalation-step
target, declared once.

A channel folder (``paging/channels/<provider>/``) registers one ``ChannelSpec`` per kind
it serves, in its ``AppConfig.ready()``; paging registers the target kinds that page
people (engineer, schedule, team). Whatever lists kinds reads them here: the model
choices (callables, so a new kind writes no migration), contact-value validation and
normalisation, verification, throttle defaults, the transport, the API's and the
config file's choices, the admin's step form, the timeline's labels and the engine's
target handlers. How to add a channel: ``paging/channels/README.md``.

A shared base of the project package: it imports no app, so the people directory
reads kinds and validation from it while the transports (paging) register into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from django.core.exceptions import ValidationError

# How long a page's throttle window is: ``ChannelSpec.throttle_limit`` pages per
# contact method in this many minutes (GoAlert's defaults), the excess bundled.
THROTTLE_WINDOW_MINUTES = 15

Reference = Literal["engineer", "team", "schedule", "address"]


class TargetPost(Protocol):
    """Queue one outbox row paging ``address`` about an incident, idempotently (inside the
    engine's step transaction); returns the row."""

    def __call__(self, *, incident_id: int, address: str, step: int, loop: int) -> Any: ...


@dataclass(frozen=True)
class TargetKind:
    """A kind of escalation-step target: who or where a step pages.

    ``reference`` names the one field of ``EscalationTarget`` that says which (an
    engineer, a team, a schedule, or an ``address`` the channel understands). People
    targets ``resolve`` to engineer ids (each paged by their own notification rules);
    channel targets ``post`` one message to their address.
    """

    name: str
    label: str
    reference: Reference
    # (target, engine context) -> (engineer ids to page now, notes for the timeline).
    resolve: Callable[[Any, Any], tuple[list[int], list[str]]] | None = None
    post: TargetPost | None = None
    # The address is a secret (a routing key: anyone holding it can page): the API shows
    # it masked to those who may not read secrets, the audit trail always masked.
    secret: bool = False
    # What an address is, for forms and help texts: "channel id", "routing key".
    address_help: str = ""

    def describe(self, address: str) -> str:
        """The target as the timeline names it: "Slack channel C0OPS", "PagerDuty service …0001"."""
        return f"{self.label} …{address[-4:]}" if self.secret else f"{self.label} {address}"


@dataclass(frozen=True)
class ChangeFollower:
    """Turns incident changes (acknowledged, resolved…) into outbox rows for what a channel
    posted about an incident: a Slack post updated in place, a PagerDuty incident
    acknowledged (the ``incident_changes`` tick step, ``paging/channels/incident_changes.py``).
    """

    # The model whose rows name the incidents the channel posted about (``incident_id``).
    model: Any
    # The ``IncidentEvent`` kinds it follows.
    event_kinds: frozenset[str]
    # (events of incidents it posted about) -> ``incident_changes.Outgoing`` rows.
    outgoing: Callable[[list[Any]], list[Any]]


@dataclass(frozen=True)
class ChannelSpec:
    """One kind of message: ``Message.kind``, and ``ContactMethod.kind`` when people can
    have an address of it (``validate`` is set)."""

    name: str
    label: str
    # Returns the transport (``paging.channels.base.Channel``), or None while its provider
    # is not configured: the console channel then stands in.
    transport: Callable[[], Any] | None = None
    # Contact methods: raises ``ValidationError`` saying what is wrong with a value.
    validate: Callable[[str], None] | None = None
    # Tidies what people type (after surrounding spaces are cut); None: as typed.
    normalize: Callable[[str], str] | None = None
    # What a value looks like, for the API's and the forms' help: "E.164 (+14155550123)".
    value_help: str = ""
    # An address of this kind is paged only once a code sent through it came back.
    verify_before_paging: bool = False
    # A verification code's message body: (code, minutes valid) -> text; None: the
    # written default (a voice call spells it out).
    code_text: Callable[[str, int], str] | None = None
    # Pages per contact method per THROTTLE_WINDOW_MINUTES (None: unlimited); the
    # ``PAGING_THROTTLE_LIMITS`` setting replaces every channel's default.
    throttle_limit: int | None = None
    # An escalation-step target kind this channel serves (a Slack channel…).
    target: TargetKind | None = None
    # Follows incident changes for what this channel posted.
    follower: ChangeFollower | None = None
    # (message, ``paging.outbox.SendOutcome``) -> None: what a message of this kind that
    # belongs to no incident records once an attempt ended, in the transaction that
    # records it (a webhook's failure on the timeline of the incident it was about).
    outcome: Callable[[Any, Any], None] | None = None

    @property
    def is_contact(self) -> bool:
        """Whether engineers can have contact methods of this kind."""
        return self.validate is not None


_CHANNELS: dict[str, ChannelSpec] = {}
_TARGETS: dict[str, TargetKind] = {}


def channel_register(spec: ChannelSpec) -> ChannelSpec:
    """Register ``spec`` (and its target kind); the same name again replaces it."""
    _CHANNELS[spec.name] = spec
    if spec.target is not None:
        target_kind_register(spec.target)
    return spec


def channel_unregister(name: str) -> None:
    """Forget a kind (tests); rows of it stay, with no transport but the console."""
    spec = _CHANNELS.pop(name, None)
    if spec is not None and spec.target is not None:
        _TARGETS.pop(spec.target.name, None)


def target_kind_register(kind: TargetKind) -> TargetKind:
    _TARGETS[kind.name] = kind
    return kind


def channel_spec(name: str) -> ChannelSpec | None:
    return _CHANNELS.get(name)


def channel_specs() -> list[ChannelSpec]:
    """Every registered kind, in registration order (the order choices are shown in)."""
    return list(_CHANNELS.values())


def channel_kinds() -> list[str]:
    """Every message kind with a registered channel."""
    return list(_CHANNELS)


def contact_kinds() -> list[str]:
    """The kinds an engineer's contact method can be."""
    return [spec.name for spec in _CHANNELS.values() if spec.is_contact]


def contact_kind_choices() -> list[tuple[str, str]]:
    """``ContactMethod.kind`` choices (a callable: read when used, never migrated)."""
    return [(spec.name, spec.label) for spec in _CHANNELS.values() if spec.is_contact]


def kinds_verified_before_paging() -> list[str]:
    return [spec.name for spec in _CHANNELS.values() if spec.verify_before_paging]


def contact_value_normalize(kind: str, value: str) -> str:
    """Tidy what people type: surrounding spaces, then the kind's own rule (punctuation
    inside phone numbers, the case of an e-mail domain)."""
    value = (value or "").strip()
    spec = _CHANNELS.get(kind)
    return spec.normalize(value) if spec is not None and spec.normalize else value


def contact_value_validate(kind: str, value: str) -> None:
    """Raise ``ValidationError`` when ``value`` is no address of contact kind ``kind``."""
    spec = _CHANNELS.get(kind)
    if spec is None or spec.validate is None:
        raise ValidationError(f"unknown contact method kind {kind!r}", code="invalid_kind")
    spec.validate(value)


def contact_value_help() -> str:
    """What each contact kind's value looks like, one clause per kind."""
    return "; ".join(
        f"{spec.name}: {spec.value_help}"
        for spec in _CHANNELS.values()
        if spec.is_contact and spec.value_help
    )


def throttle_defaults() -> dict[str, int]:
    """Each channel's own page limit per contact method (``ChannelSpec.throttle_limit``)."""
    return {
        spec.name: spec.throttle_limit
        for spec in _CHANNELS.values()
        if spec.throttle_limit is not None
    }


def target_kind(name: str) -> TargetKind | None:
    return _TARGETS.get(name)


def target_kinds() -> list[TargetKind]:
    """Every escalation-step target kind, in registration order."""
    return list(_TARGETS.values())


def target_kind_choices() -> list[tuple[str, str]]:
    """``EscalationTarget.kind`` choices (a callable: read when used, never migrated)."""
    return [(kind.name, kind.label) for kind in _TARGETS.values()]


def target_for_message_kind(name: str) -> TargetKind | None:
    """The target kind a message of kind ``name`` pages (a post to a Slack channel), if any."""
    spec = _CHANNELS.get(name)
    return spec.target if spec is not None else None


def change_followers() -> list[ChangeFollower]:
    return [spec.follower for spec in _CHANNELS.values() if spec.follower is not None]
