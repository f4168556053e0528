"""The kind the e-mail folder serves: pages by e-mail (SMTP)."""

from __future__ import annotations

from oncall.channel_registry import ChannelSpec
from oncall.people.validators import email_normalize, validate_email_address
from paging.channels.email.transport import email_transport

EMAIL = ChannelSpec(
    name="email",
    label="E-mail",
    transport=email_transport,
    validate=validate_email_address,
    normalize=email_normalize,
    value_help="an address",
)
