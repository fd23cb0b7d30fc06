"""Twilio webhooks: replies to our texts and WhatsApp messages (answers, quick-reply buttons,
STOP/START/HELP) on one endpoint, and delivery status callbacks (read receipts too). Each
request must carry a valid X-Twilio-Signature for our public URL."""

from datetime import datetime

import sqlalchemy as sa
from flask import Response, abort, current_app, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from followup.channels.sms_twilio import WHATSAPP_PREFIX
from followup.delivery import handled_before, mark_handled, update_delivery
from followup.extensions import db
from followup.fallbacks import handle_send_error
from followup.languages import in_language
from followup.models import Customer, Message
from followup.models.base import row_id, utcnow
from followup.models.customers import PHONE_CHANNELS
from followup.models.messages import DeliveryStatus
from followup.suppressions import lift, suppress
from followup.web.case_input import normalise_phone
from followup.web.forms import clean_text
from followup.webhooks import bp
from surveys.sms import Replies, answer_by_text, keyword, open_invitation, phone_language


def _check_signature() -> None:
    """403 unless Twilio signed this request for the URL it was sent to: the public URL
    (PUBLIC_BASE_URL), or the URL as the proxies in front of us report it."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        abort(403, "Twilio is not configured (TWILIO_AUTH_TOKEN is unset)")
    signature = request.headers.get("X-Twilio-Signature", "")
    path = request.full_path.rstrip("?")
    urls = {current_app.config["PUBLIC_BASE_URL"] + path, request.url}
    validator = RequestValidator(token)
    if not signature or not any(validator.validate(url, request.form, signature) for url in urls):
        abort(403, "the X-Twilio-Signature header does not match this request")


# The suppression list's address size: a longer From is no number we text (nor can be kept).
MAX_FROM = 320
# A quick-reply button's id as Twilio's content templates allow it.
MAX_PAYLOAD = 200
# What of a message is read: WhatsApp's longest text (an SMS is at most 1,600 characters).
MAX_BODY = 4096
# A message SID (SM/MM + 32 characters) with room to spare.
MAX_SID = 64


def _field(name: str) -> str:
    """A field of Twilio's form as text a column can keep: control characters (NUL ...)
    dropped, spaces trimmed."""
    return clean_text(request.form.get(name, "")) or ""


def _sender() -> tuple[str, str]:
    """The channel a message came by and its sender's number: From "whatsapp:+E.164" is a
    WhatsApp message from that number; any other From, a text. 400 for a missing or
    oversized From, or a WhatsApp sender that is no valid number."""
    sender = _field("From")
    if not sender or len(sender) > MAX_FROM:
        abort(400, f"From must be the sender's number (at most {MAX_FROM} characters)")
    if not sender.startswith(WHATSAPP_PREFIX):
        return "sms", sender
    number = sender.removeprefix(WHATSAPP_PREFIX)
    try:
        phone = normalise_phone(number)
    except ValueError:
        phone = None
    if phone != number:
        abort(400, "From must be whatsapp: and the sender's number in E.164 (+14155550123)")
    return "whatsapp", number


# Twilio's MessageStatus values as our delivery statuses.
TWILIO_DELIVERY = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "read": DeliveryStatus.READ,  # WhatsApp's read receipt
    "canceled": DeliveryStatus.FAILED,
}


def record_delivery(message: Message, provider_status: str, error_code: str | None,
                    now: datetime) -> bool:  # fmt: skip
    """Apply a status callback: the delivery status moves forward only, and an error code may
    opt the number out or send the step on the next channel (followup.fallbacks). True when
    the status changed."""
    status = TWILIO_DELIVERY.get(provider_status)
    detail = {"provider_status": provider_status, "error_code": error_code}
    if status is None or not update_delivery(message, status, error_code, detail, now):
        return False
    if error_code:
        handle_send_error(message, error_code, now)
    return True


def _twiml(text: str | None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), mimetype="application/xml")


@bp.post("/twilio/sms")
def sms_reply():
    """A text or a WhatsApp message from a customer. A quick-reply button's payload (its id,
    "4" or "csat_4") is the answer when there is one, else the text; it answers the check-in
    it replies to (OriginalRepliedMessageSid) while that is open, else the latest."""
    _check_signature()
    channel, phone = _sender()
    payload = _field("ButtonPayload")
    if len(payload) > MAX_PAYLOAD:
        abort(400, f"ButtonPayload must be at most {MAX_PAYLOAD} characters")
    replied_to = _field("OriginalRepliedMessageSid")
    if len(replied_to) > MAX_SID:
        abort(400, f"OriginalRepliedMessageSid must be at most {MAX_SID} characters")
    body = payload or _field("Body")[:MAX_BODY]
    now = utcnow()
    sid = _field("MessageSid")[:200]
    if sid:
        if handled_before("twilio-sms", {sid}):
            return _twiml(None)
        mark_handled("twilio-sms", sid, now)
    if channel == "whatsapp":  # the 24 hours of free-form WhatsApp messages start again
        db.session.execute(
            sa.update(Customer).where(Customer.phone == phone).values(whatsapp_inbound_at=now)
        )
    replies = Replies(current_app.config["ORGANISATION_NAME"], channel)
    with in_language(phone_language(phone)):
        word = keyword(body)
        if word == "stop":
            suppress(channel, phone, "stop", f"replied {body.strip()[:20]!r}", now)
            text = replies.stopped()
        elif word == "start":
            lift(channel, phone)
            text = replies.started()
        elif word == "help":
            text = replies.help()
        else:
            invitation = open_invitation(phone, channel, now, replied_to)
            button = bool(payload)
            text = (
                answer_by_text(invitation, body, replies, now, button=button)
                if invitation
                else None
            )
    try:
        db.session.commit()
    except IntegrityError:  # the same message, delivered twice at once: the other one answers
        db.session.rollback()
        return _twiml(None)
    return _twiml(text)


@bp.post("/twilio/status")
def sms_status():
    _check_signature()
    message_id = request.args.get("m", "")
    status = _field("MessageStatus").lower()
    if not (message_id.isascii() and message_id.isdigit()) or not status:
        abort(400, "the m query parameter and MessageStatus are required")
    ident = row_id(message_id)  # None for a number no message can have
    message = db.session.get(Message, ident) if ident else None
    sid = _field("MessageSid")
    if (
        message is None
        or message.channel not in PHONE_CHANNELS
        or (message.provider_id or sid) != sid
    ):
        abort(404, "no text or WhatsApp message matches this callback")
    changed = record_delivery(message, status, _field("ErrorCode") or None, utcnow())
    db.session.commit()
    return {"updated": changed}
