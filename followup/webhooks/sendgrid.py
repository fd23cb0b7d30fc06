"""SendGrid's signed Event Webhook: POST /webhooks/sendgrid/events.

A batch is read only when it is signed by the key in SENDGRID_WEBHOOK_PUBLIC_KEY (ECDSA over
timestamp + body, checked by the SDK) with a timestamp within five minutes. Each event is
applied once (by sg_event_id) to the message named by our `followup_message_id` custom arg:
the delivery status moves forward only, and a bounce, drop, spam report or unsubscribe puts
the address on the suppression list.
"""

import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from flask import current_app, jsonify, request
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy.exc import IntegrityError

from followup.cases import record_event
from followup.delivery import handled_before, mark_handled, update_delivery
from followup.extensions import db
from followup.models import Message
from followup.models.base import row_id, utcnow
from followup.models.cases import EventKind
from followup.models.messages import DeliveryStatus
from followup.suppressions import suppress
from followup.web.errors import json_error
from followup.webhooks import bp

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_SKEW_SECONDS = 5 * 60
# SendGrid posts a batch every 30 seconds or once it reaches 768 KB.
MAX_BATCH_BYTES = 1024 * 1024
# processed and deferred change nothing a lead acts on: acknowledged, not applied.
DELIVERY_STATUS = {
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.BOUNCED,
    "dropped": DeliveryStatus.FAILED,
    "open": DeliveryStatus.OPENED,
    "click": DeliveryStatus.CLICKED,
}
SUPPRESSING = ("bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe")
# Event fields worth keeping on the timeline: SendGrid's reason text, the SMTP status,
# bounce or blocked, and the link clicked.
DETAIL_FIELDS = ("reason", "status", "type", "url")


@lru_cache(maxsize=4)
def _public_key(key: str) -> EllipticCurvePublicKey:
    return EventWebhook().convert_public_key_to_ecdsa(key)


def _fresh(timestamp: str, now: datetime) -> bool:
    """A Unix time in seconds within MAX_SKEW_SECONDS of now (a replayed batch is refused)."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    return abs(now.timestamp() - int(timestamp)) <= MAX_SKEW_SECONDS


def _signed(key: str, payload: str, signature: str, timestamp: str) -> bool:
    try:
        return EventWebhook().verify_signature(payload, signature, timestamp, _public_key(key))
    except (binascii.Error, ValueError, InvalidSignature):  # the SDK raises on bad base64
        return False


def _text(value: object, limit: int) -> str | None:
    """A provider's string without control characters (no column keeps NUL), or None."""
    if not isinstance(value, str):
        return None
    return "".join(ch for ch in value if ch.isprintable())[:limit] or None


@dataclass(frozen=True)
class Event:
    event_id: str
    name: str
    message_id: int | None
    detail: dict


def _parse(raw: object) -> Event | None:
    """The fields we use from one event; None when it is not an event at all."""
    if not isinstance(raw, dict):
        return None
    event_id, name = raw.get("sg_event_id"), raw.get("event")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        return None
    if not event_id.isprintable() or not isinstance(name, str) or not name:
        return None
    # A string, as we send it; None for a number no message can have (2**31 or more).
    message_id = row_id(str(raw.get("followup_message_id", "")))
    detail = {"provider": "sendgrid", "event": _text(name, 50)}
    for field in DETAIL_FIELDS:
        value = _text(raw.get(field), 500)
        if value:
            detail[field] = value
    return Event(event_id, name, message_id, detail)


def _apply_one(message: Message, event: Event, now: datetime) -> bool:
    """Apply one event to its message; True when something changed."""
    changed = False
    status = DELIVERY_STATUS.get(event.name)
    if status:
        changed = update_delivery(message, status, event.detail.get("status"), event.detail, now)
    if event.name in SUPPRESSING and message.recipient:
        why = event.detail.get("reason") or f"SendGrid reported {event.name}"
        changed = suppress("email", message.recipient, event.name, why, now) or changed
        if status is None:  # a complaint or unsubscribe: the message's own timeline line
            kind = EventKind.message_event(event.name)
            record_event(message.case_id, kind, event.detail, message.id, now)
            changed = True
    return changed


def _apply(raw_events: list, now: datetime) -> dict[str, int]:
    counts = {"received": len(raw_events), "applied": 0, "duplicate": 0, "ignored": 0}
    events = [event for event in map(_parse, raw_events) if event is not None]
    counts["invalid"] = len(raw_events) - len(events)
    seen = handled_before("sendgrid", {event.event_id for event in events})
    message_ids = {event.message_id for event in events if event.message_id is not None}
    messages = {
        message.id: message
        for message in db.session.scalars(
            sa.select(Message).where(Message.id.in_(message_ids), Message.channel == "email")
        )
    }
    for event in events:
        if event.event_id in seen:
            counts["duplicate"] += 1
            continue
        seen.add(event.event_id)
        mark_handled("sendgrid", event.event_id, now)
        message = messages.get(event.message_id)
        applied = message is not None and _apply_one(message, event, now)
        counts["applied" if applied else "ignored"] += 1
    return counts


@bp.post("/sendgrid/events")
def sendgrid_events():
    request.max_content_length = MAX_BATCH_BYTES
    key = current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"]
    if not key:
        return json_error(
            403,
            "not_configured",
            "SendGrid events are refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not configured",
        )
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        return json_error(
            403, "signature_missing", f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required"
        )
    now = utcnow()
    if not _fresh(timestamp, now):
        return json_error(
            403, "stale_timestamp", f"{TIMESTAMP_HEADER} is not within 5 minutes of now"
        )
    try:
        payload = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        return json_error(400, "malformed_body", "the body is not UTF-8 text")
    if not _signed(key, payload, signature, timestamp):
        return json_error(403, "invalid_signature", "the signature does not match the body")
    try:
        events = json.loads(payload)
    except ValueError:
        return json_error(400, "malformed_json", "the body is not valid JSON")
    except RecursionError:  # the decoder gives up near a thousand levels of nesting
        return json_error(400, "malformed_json", "the body's JSON is nested too deep")
    if not isinstance(events, list):
        return json_error(400, "malformed_body", "the body must be a JSON array of events")
    try:
        counts = _apply(events, now)
        db.session.commit()
    except IntegrityError:  # a concurrent delivery of the same events committed first
        db.session.rollback()
        counts = _apply(events, now)  # now it sees them as duplicates
        db.session.commit()
    return jsonify(counts), 200
