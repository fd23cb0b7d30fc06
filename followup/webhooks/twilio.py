"""Twilio webhooks: replies to our texts (answers, STOP/START/HELP) and delivery status
callbacks. Each request must carry a valid X-Twilio-Signature for our public URL."""

from datetime import datetime

from flask import Response, abort, current_app, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from followup.delivery import handled_before, mark_handled, update_delivery
from followup.extensions import db
from followup.fallbacks import handle_send_error
from followup.languages import in_language
from followup.models import Message
from followup.models.base import row_id, utcnow
from followup.models.messages import DeliveryStatus
from followup.suppressions import lift, suppress
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


def _field(name: str) -> str:
    """A field of Twilio's form as text a column can keep: control characters (NUL ...)
    dropped, spaces trimmed."""
    return clean_text(request.form.get(name, "")) or ""


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
    "read": DeliveryStatus.OPENED,
    "canceled": DeliveryStatus.FAILED,
}


def record_delivery(message: Message, provider_status: str, error_code: str | None,
                    now: datetime) -> bool:  # fmt: skip
    """Apply a status callback: the delivery status moves forward only, and an error code may
    opt the number out or send the step by email instead. True when the status changed."""
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
    _check_signature()
    phone, body = _field("From"), _field("Body")
    if not phone or len(phone) > MAX_FROM:
        abort(400, f"From must be the sender's number (at most {MAX_FROM} characters)")
    now = utcnow()
    sid = _field("MessageSid")[:200]
    if sid:
        if handled_before("twilio-sms", {sid}):
            return _twiml(None)
        mark_handled("twilio-sms", sid, now)
    replies = Replies(current_app.config["ORGANISATION_NAME"])
    with in_language(phone_language(phone)):
        word = keyword(body)
        if word == "stop":
            suppress("sms", phone, "stop", f"replied {body.strip()[:20]!r}", now)
            text = replies.stopped()
        elif word == "start":
            lift("sms", phone)
            text = replies.started()
        elif word == "help":
            text = replies.help()
        else:
            invitation = open_invitation(phone, now)
            text = answer_by_text(invitation, body, replies, now) if invitation else None
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
    if message is None or message.channel != "sms" or (message.provider_id or sid) != sid:
        abort(404, "no text message matches this callback")
    changed = record_delivery(message, status, _field("ErrorCode") or None, utcnow())
    db.session.commit()
    return {"updated": changed}
