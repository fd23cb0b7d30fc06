"""What a send error means beyond its message, for dispatch (an error the provider answered at
once, or a message that could not be rendered for its channel) and for Twilio's status
callbacks (an error reported later): a number that opted out at the carrier gets no more
texts, and a step that let us choose the channel ("preferred"; "answered" on WhatsApp) goes on
the next one, WhatsApp -> SMS -> email, when the customer cannot be reached where it was
sent."""

from datetime import datetime

import sqlalchemy as sa

from followup.cadences import LABELS, reachable
from followup.cases import record_event
from followup.channels import NO_PROVIDER
from followup.extensions import db
from followup.models import Customer, Message
from followup.models.cadences import StepChannel
from followup.models.cases import EventKind
from followup.suppressions import suppress

# Twilio's codes: a number that opted out at the carrier; one that cannot take texts (not a
# valid number, or a landline).
TWILIO_OPTED_OUT = "21610"
TWILIO_NOT_TEXTABLE = {"21211", "21614"}
# A number WhatsApp cannot reach: "Channel could not find To address" (no WhatsApp account on
# it) and "Invalid message recipient".
WHATSAPP_UNREACHABLE = {"63003", "63024"}
# A free-form WhatsApp message outside the 24 hours after the customer's last message: from
# Twilio (63016), or found by us before sending (a template without a content template).
WHATSAPP_OUTSIDE_WINDOW = "63016"
WHATSAPP_NO_TEMPLATE = "whatsapp_no_template"

# The codes after which a "preferred" step tries the next channel, by the channel that failed.
FALLS_BACK = {
    "whatsapp": {*WHATSAPP_UNREACHABLE, WHATSAPP_OUTSIDE_WINDOW, WHATSAPP_NO_TEMPLATE, NO_PROVIDER},
    "sms": {*TWILIO_NOT_TEXTABLE, NO_PROVIDER},
}
FALLBACK_EVENTS = {"sms": EventKind.MESSAGE_FALLBACK_TO_SMS,
                   "email": EventKind.MESSAGE_FALLBACK_TO_EMAIL}  # fmt: skip


def _why(channel: str, code: str) -> str:
    if code == NO_PROVIDER:
        return f"no {LABELS[channel]} provider is configured"
    if code == WHATSAPP_NO_TEMPLATE:
        return (
            "the template has no WhatsApp content template and the customer has not written "
            "on WhatsApp in the last 24 hours"
        )
    if code == WHATSAPP_OUTSIDE_WINDOW:
        return f"Twilio error {code}: outside the 24-hour WhatsApp window"
    if channel == "whatsapp":
        return f"Twilio error {code}: the number is not on WhatsApp"
    return f"Twilio error {code}: the number cannot take texts"


def _fallback_key(message: Message, channel: str) -> str:
    """The idempotency key of a message's fallback on a channel: one per message and channel."""
    return f"{message.idempotency_key}:{channel}"


def _we_chose(message: Message) -> bool:
    """Whether the step let us choose the channel: "preferred", or an "answered" step's (a
    recovery's, to a customer who answered on WhatsApp days before) WhatsApp message and the
    fallbacks that followed it."""
    if message.step is None:
        return False
    chosen = message.step.channel
    fallback = message.idempotency_key.endswith(f":{message.channel}")  # see _fallback_key
    return chosen == StepChannel.PREFERRED or (
        chosen == StepChannel.ANSWERED and (message.channel == "whatsapp" or fallback)
    )


def _next_channel(customer: Customer, failed: str) -> str | None:
    """The channel after the one that failed that reaches the customer, if any."""
    if failed == "whatsapp" and reachable(customer, "sms"):
        return "sms"
    if reachable(customer, "email"):
        return "email"
    return None


def handle_send_error(message: Message, code: str, now: datetime) -> None:
    """Act on a failed SMS or WhatsApp message's error code: a carrier opt-out suppresses the
    number for texts; on a step that let us choose the channel, a number not on WhatsApp,
    outside its window or without a provider, or one that cannot take texts, plans the same
    step and round on the next channel (noted on the timeline), or notes that none is left.
    The caller commits."""
    if message.channel == "sms" and code == TWILIO_OPTED_OUT and message.recipient:
        suppress("sms", message.recipient, "carrier_opt_out", f"Twilio error {code}", now)
        return
    if code not in FALLS_BACK.get(message.channel, ()) or not _we_chose(message):
        return
    why = _why(message.channel, code)
    channel = _next_channel(message.customer, message.channel)
    if channel is None:
        left = "no number for texts nor email" if message.channel == "whatsapp" else "no email"
        record_event(message.case_id, EventKind.MESSAGE_NO_FALLBACK,
                     {"reason": f"{why} and there is {left} to use", "code": code},
                     message.id, now)  # fmt: skip
        return
    fallback = Message(
        case_id=message.case_id,
        customer_id=message.customer_id,
        step_id=message.step_id,
        round=message.round,
        recovery_id=message.recovery_id,
        channel=channel,
        recipient=message.customer.address(channel),
        condition=message.condition,
        due_at=now,
        idempotency_key=_fallback_key(message, channel),
    )
    if db.session.scalar(
        sa.select(Message.id).where(Message.idempotency_key == fallback.idempotency_key)
    ):
        return  # a second report of the same error
    db.session.add(fallback)
    db.session.flush()
    record_event(message.case_id, FALLBACK_EVENTS[channel],
                 {"reason": why, "code": code, f"{channel}_message_id": fallback.id},
                 message.id, now)  # fmt: skip
