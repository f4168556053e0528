"""The kinds Twilio serves: phone calls and SMS, each a contact-method kind whose number
must be verified before it is paged."""

from __future__ import annotations

from oncall.channel_registry import ChannelSpec
from oncall.people.validators import phone_normalize, validate_e164
from paging.channels.twilio.transport import sms_transport, voice_transport

PHONE_HELP = "E.164 (+14155550123)"


def spoken_code_text(code: str, minutes: int) -> str:
    """Read slowly digit by digit, twice, so it can be written down from a call."""
    spoken = ", ".join(code)
    return (
        f"Your on-call verification code is {spoken}. Again: {spoken}. "
        f"It expires in {minutes} minutes. (code {code})"
    )


VOICE = ChannelSpec(
    name="voice",
    label="Phone call",
    transport=voice_transport,
    validate=validate_e164,
    normalize=phone_normalize,
    value_help=PHONE_HELP,
    verify_before_paging=True,
    code_text=spoken_code_text,
    throttle_limit=3,
)
SMS = ChannelSpec(
    name="sms",
    label="SMS",
    transport=sms_transport,
    validate=validate_e164,
    normalize=phone_normalize,
    value_help=PHONE_HELP,
    verify_before_paging=True,
    throttle_limit=5,
)
