"""The one channel interface: a rendered message in, a provider message id out; and the
backoff every retried send or call follows."""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from followup.channels.pacing import ProviderPause


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int
    channel: str  # "email", "sms" or "whatsapp"
    to: str  # an email address, or a phone number in E.164 (also for WhatsApp)
    subject: str = ""
    html: str = ""
    text: str = ""  # the email's text part, the SMS body, or a free-form WhatsApp message
    headers: dict[str, str] = field(default_factory=dict)
    status_callback: str | None = None  # SMS and WhatsApp delivery callbacks
    # A WhatsApp content template (Twilio Content API, "HX..."), sent instead of `text`, and its
    # ContentVariables as JSON text ({"1": "Ana"}).
    content_sid: str = ""
    content_variables: str = ""
    # An email's From name: the brand's sender name, "Agent (sender name)" for a recovery's;
    # None: the channel's own (ORGANISATION_NAME).
    from_name: str | None = None
    # The texts the template was given, by name ("customer.name", "survey.url"): what may
    # differ between emails that share one request (followup.channels.email_batches).
    personal: tuple[tuple[str, str], ...] = ()
    # What is kept of the message once sent (messages.subject and body): its subject and
    # text with their survey and unsubscribe links replaced by placeholders.
    kept_subject: str = ""
    kept_text: str = ""


class SendError(Exception):
    """A provider refused or could not take a message."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Worth retrying later: timeouts, connection errors, 429 and 5xx. `retry_after`: the
    seconds the provider asked us to wait (a 429's Retry-After), when it said."""

    def __init__(self, reason: str, code: str | None = None, retry_after: float | None = None):
        super().__init__(reason, code)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Never worth retrying: the provider rejected this message (4xx)."""


class Channel(Protocol):
    provider: str  # "sendgrid", "twilio", "dev" or "none"
    pause: ProviderPause  # this process's pause after the provider's 429
    pace: tuple[str, int] | None  # (the sender, its calls a second) when it is paced

    def send(self, message: OutgoingMessage) -> str:
        """Send one message; return the provider's message id or raise a SendError."""


def retry_delay(attempts: int, base_seconds: int, at_least: float = 0) -> timedelta:
    """Exponential backoff with jitter: base, 2x base, 4x base ... capped at one hour; never
    sooner than `at_least` seconds (what the provider asked for)."""
    seconds = min(base_seconds * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=max(seconds * random.uniform(0.8, 1.2), at_least))
