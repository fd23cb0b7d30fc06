"""Channels: SendGrid email and Twilio SMS when credentials are set; for a channel without
them, the dev outbox in the demo (FOLLOWUP_DEV_OUTBOX), else a channel whose every send fails
saying what to set.

The provider modules are imported here, not on first use: a worker imports them once and
every forked work horse inherits them (importing twilio costs a third of a second).
"""

from collections.abc import Mapping

from followup.channels.base import Channel, OutgoingMessage, PermanentSendError
from followup.channels.dev_outbox import DevOutboxChannel
from followup.channels.email_sendgrid import SendGridChannel
from followup.channels.sms_twilio import TwilioChannel

NO_PROVIDER = "no_provider"  # the error code of a send on a channel without credentials
MISSING = {
    "email": "no email provider configured: set SENDGRID_API_KEY and SENDGRID_FROM_EMAIL",
    "sms": "no SMS provider configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
    "TWILIO_FROM_NUMBER",
}


class UnconfiguredChannel:
    """A channel without provider credentials outside the demo: nothing is sent or written
    anywhere; each message fails at once, for good, with the settings it needs."""

    provider = "none"

    def __init__(self, kind: str):
        self.reason = MISSING[kind]

    def send(self, message: OutgoingMessage) -> str:
        raise PermanentSendError(self.reason, code=NO_PROVIDER)


def provider_for(kind: str, config: Mapping) -> str:
    """Who sends a channel's messages: sendgrid, twilio, dev (the demo's outbox) or none."""
    if kind == "email" and config.get("SENDGRID_API_KEY"):
        return SendGridChannel.provider
    if kind == "sms" and config.get("TWILIO_ACCOUNT_SID"):
        return TwilioChannel.provider
    return DevOutboxChannel.provider if config.get("DEV_OUTBOX") else UnconfiguredChannel.provider


def channel_for(kind: str, config: Mapping) -> Channel:
    provider = provider_for(kind, config)
    if provider == SendGridChannel.provider:
        return SendGridChannel(
            api_key=config["SENDGRID_API_KEY"],
            from_email=config["SENDGRID_FROM_EMAIL"],
            from_name=config["ORGANISATION_NAME"],
            host=config["SENDGRID_API_HOST"],
            timeout=config["SEND_TIMEOUT"],
        )
    if provider == TwilioChannel.provider:
        return TwilioChannel(
            account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"],
            from_number=config["TWILIO_FROM_NUMBER"],
            api_base_url=config["TWILIO_API_BASE_URL"],
            timeout=config["SEND_TIMEOUT"],
        )
    if provider == DevOutboxChannel.provider:
        return DevOutboxChannel(config["DEV_OUTBOX_PATH"])
    return UnconfiguredChannel(kind)
