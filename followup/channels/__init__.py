"""Channels: SendGrid email, Twilio SMS and Twilio WhatsApp when credentials are set; for a
channel without them, the dev outbox in the demo (FOLLOWUP_DEV_OUTBOX), else a channel whose
every send fails saying what to set.

A process makes each channel once and keeps it (`channel_for`): its keep-alive connections
and its pause after a 429 serve every job the worker runs, from every send in flight.
"""

import threading
from collections.abc import Mapping

from followup.channels.base import Channel, OutgoingMessage, PermanentSendError
from followup.channels.dev_outbox import DevOutboxChannel
from followup.channels.email_sendgrid import SendGridChannel
from followup.channels.pacing import ProviderPause
from followup.channels.sms_twilio import WHATSAPP_PREFIX, TwilioChannel

NO_PROVIDER = "no_provider"  # the error code of a send on a channel without credentials
MISSING = {
    "email": "no email provider configured: set SENDGRID_API_KEY and SENDGRID_FROM_EMAIL",
    "sms": "no SMS provider configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
    "TWILIO_FROM_NUMBER",
    "whatsapp": "no WhatsApp sender configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
    "TWILIO_WHATSAPP_FROM",
}


class UnconfiguredChannel:
    """A channel without provider credentials outside the demo: nothing is sent or written
    anywhere; each message fails at once, for good, with the settings it needs."""

    provider = "none"
    pace: tuple[str, int] | None = None  # not paced

    def __init__(self, kind: str):
        self.pause = ProviderPause()  # never held
        self.reason = MISSING[kind]

    def send(self, message: OutgoingMessage) -> str:
        raise PermanentSendError(self.reason, code=NO_PROVIDER)


def provider_for(kind: str, config: Mapping) -> str:
    """Who sends a channel's messages: sendgrid, twilio, dev (the demo's outbox) or none."""
    if kind == "email" and config.get("SENDGRID_API_KEY"):
        return SendGridChannel.provider
    if kind in ("sms", "whatsapp") and config.get("TWILIO_ACCOUNT_SID") and _sender(kind, config):
        return TwilioChannel.provider
    return DevOutboxChannel.provider if config.get("DEV_OUTBOX") else UnconfiguredChannel.provider


def _sender(kind: str, config: Mapping) -> str | None:
    """Twilio's sender of a kind: the SMS number, or the WhatsApp sender as Twilio names it
    ("whatsapp:+14155550100"; a Messaging Service SID "MG..." as it is)."""
    if kind == "sms":
        return config.get("TWILIO_FROM_NUMBER")
    sender = config.get("TWILIO_WHATSAPP_FROM")
    return sender if not sender or sender.startswith("MG") else WHATSAPP_PREFIX + sender


# The settings each provider's channel is made from: a channel is made again only when one
# of them changes (tests run many apps in one process).
_SETTINGS = {
    SendGridChannel.provider: ("SENDGRID_API_KEY", "SENDGRID_FROM_EMAIL", "ORGANISATION_NAME",
                               "SENDGRID_API_HOST", "SEND_TIMEOUT", "SEND_CONCURRENCY"),
    TwilioChannel.provider: ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                             "TWILIO_WHATSAPP_FROM", "TWILIO_API_BASE_URL", "SEND_TIMEOUT",
                             "SEND_CONCURRENCY", "TWILIO_MESSAGES_PER_SECOND"),
    DevOutboxChannel.provider: ("DEV_OUTBOX_PATH",),
    UnconfiguredChannel.provider: (),
}  # fmt: skip
_made: dict[tuple, Channel] = {}
_making = threading.Lock()


def channel_for(kind: str, config: Mapping) -> Channel:
    """This process's channel for a kind of message, made on first use and kept."""
    provider = provider_for(kind, config)
    key = (kind, provider, *(config[name] for name in _SETTINGS[provider]))
    with _making:
        if key not in _made:
            _made[key] = _make(kind, provider, config)
        return _made[key]


def _make(kind: str, provider: str, config: Mapping) -> Channel:
    if provider == SendGridChannel.provider:
        return SendGridChannel(
            api_key=config["SENDGRID_API_KEY"],
            from_email=config["SENDGRID_FROM_EMAIL"],
            from_name=config["ORGANISATION_NAME"],
            host=config["SENDGRID_API_HOST"],
            timeout=config["SEND_TIMEOUT"],
            connections=config["SEND_CONCURRENCY"],
        )
    if provider == TwilioChannel.provider:
        return TwilioChannel(
            account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"],
            from_number=_sender(kind, config) or "",
            api_base_url=config["TWILIO_API_BASE_URL"],
            timeout=config["SEND_TIMEOUT"],
            connections=config["SEND_CONCURRENCY"],
            per_second=config["TWILIO_MESSAGES_PER_SECOND"],
        )
    if provider == DevOutboxChannel.provider:
        return DevOutboxChannel(config["DEV_OUTBOX_PATH"])
    return UnconfiguredChannel(kind)
