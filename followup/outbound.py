"""Outbound calls to other systems, kept in the database until they succeed: event webhooks
(Standard Webhooks), account credits, helpdesk reopens and write-backs, and alerts (the lead
queue, plus an optional email and a Slack-compatible incoming webhook).

Calls are planned in the transaction of what caused them (a unique key makes each one happen
once), claimed in batches by the sweep like the message outbox, and retried with backoff.
"""

from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult

from followup.cases import record_event
from followup.channels import channel_for
from followup.channels.base import OutgoingMessage, SendError, TransientSendError, retry_delay
from followup.connectors import connector_for
from followup.connectors.base import CallError, Ticket, post_signed, request
from followup.connectors.notes import note_for
from followup.extensions import db
from followup.leases import claim
from followup.models import Alert, Case, Gesture, OutboundCall
from followup.models.base import utcnow
from followup.models.cases import EventKind
from followup.models.recovery import (
    AlertAudience,
    AlertKind,
    CallKind,
    CallStatus,
    GestureStatus,
    WebhookEvent,
)
from followup.targets import checked_session

# Calls whose result goes on the case's timeline (every failure does).
WITH_RESULT = (CallKind.HELPDESK, CallKind.HELPDESK_NOTE, CallKind.CREDIT)
# The start of every answer's write-back key (followup.write_back).
ANSWER_NOTE = f"{CallKind.HELPDESK_NOTE}:answer:"


def insert_once(model, **values) -> bool:
    """INSERT a row unless one with the same unique key exists; True when this one went in.
    Concurrent inserts of the same key wait for each other and only one wins."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return db.session.execute(statement).scalar() is not None


def plan_call(kind: CallKind, key: str, payload: dict, case_id: int | None, now: datetime) -> bool:
    """Plan one outbound call (once per key); the sweep sends it after commit."""
    return insert_once(
        OutboundCall,
        kind=kind,
        key=key,
        payload=payload,
        case_id=case_id,
        status=CallStatus.PENDING,
        attempts=0,
        due_at=now,
        result={},
        created_at=now,
    )


def emit(event: WebhookEvent, key: str, data: dict, case_id: int | None, now: datetime) -> None:
    """An event webhook to EVENTS_WEBHOOK_URL (when set), once per key."""
    assert event in tuple(WebhookEvent), event
    if current_app.config["EVENTS_WEBHOOK_URL"]:
        body = {"type": event, "timestamp": now.isoformat(), "data": data}
        plan_call(CallKind.EVENT, f"{event}:{key}", body, case_id, now)


def raise_alert(
    key: str,
    audience: AlertAudience,
    kind: AlertKind,
    title: str,
    detail: str,
    case_id: int | None,
    now: datetime,
) -> bool:
    """An alert for the lead queue (audience "lead") or the managers ("manager"), once per
    key, copied to FOLLOWUP_ALERT_EMAIL and FOLLOWUP_ALERT_WEBHOOK_URL when they are set."""
    raised = insert_once(
        Alert,
        key=key,
        audience=audience,
        kind=kind,
        title=title[:300],
        detail=detail,
        case_id=case_id,
        created_at=now,
    )
    config = current_app.config
    if raised and case_id is not None:
        line = {"audience": audience, "kind": kind, "title": title}
        record_event(case_id, EventKind.ALERT_RAISED, line, at=now)
    if raised and config["ALERT_EMAIL"]:
        payload = {"to": config["ALERT_EMAIL"], "subject": title, "text": detail}
        plan_call(CallKind.ALERT_EMAIL, f"alert_email:{key}", payload, case_id, now)
    if raised and config["ALERT_WEBHOOK_URL"]:
        text = f"*{title}*\n{detail}" if detail else title
        plan_call(CallKind.ALERT_HOOK, f"alert_hook:{key}", {"text": text}, case_id, now)
    return raised


def acknowledge_alert(alert: Alert, now: datetime) -> bool:
    """Mark an alert as seen; False when someone had already (their time stays)."""
    seen = cast(
        CursorResult,
        db.session.execute(
            sa.update(Alert)
            .where(Alert.id == alert.id, Alert.acknowledged_at.is_(None))
            .values(acknowledged_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(alert)
    return bool(seen)


def email_staff(
    key: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    case_id: int | None,
    now: datetime,
) -> bool:
    """An email to a console user (kudos, the weekly digest) through the email channel, once
    per key; the sweep sends it after commit and retries it like every outbound call. Pass
    the case when the email quotes one case's customer, so their erasure cancels it."""
    payload = {"to": to, "subject": subject, "text": text, "html": html}
    return plan_call(CallKind.STAFF_EMAIL, f"{CallKind.STAFF_EMAIL}:{key}", payload, case_id, now)


def claim_calls(now: datetime, batch_size: int, lease_seconds: int) -> str | None:
    """Lease up to batch_size due calls; the claim token, or None when none are due."""
    due = sa.and_(OutboundCall.status == CallStatus.PENDING, OutboundCall.due_at <= now)
    return claim(OutboundCall, due, now, batch_size, lease_seconds)


class _Callers:
    """A batch's keep-alive session (to public addresses only, unless ALLOW_PRIVATE_TARGETS)
    and the helpdesk connector."""

    def __init__(self, config):
        self.config = config
        self.session = checked_session(config["ALLOW_PRIVATE_TARGETS"])
        self._connector = None

    def connector(self):
        if self._connector is None:
            self._connector = connector_for(self.config)
        return self._connector


def _perform(call: OutboundCall, callers: _Callers, now: datetime) -> dict:
    """Make one call; its result for the timeline, or a CallError."""
    config = current_app.config
    timeout = config["SEND_TIMEOUT"]
    payload = call.payload
    if call.kind == CallKind.EVENT:
        url = config["EVENTS_WEBHOOK_URL"]
        post_signed(
            callers.session,
            url,
            config["EVENTS_WEBHOOK_SECRET"],
            call.key,
            payload,
            f"event webhook {payload['type']}",
            timeout,
            now,
        )
        return {"delivered": payload["type"]}
    if call.kind == CallKind.CREDIT:
        url = payload["url"]
        post_signed(
            callers.session,
            url,
            config["EVENTS_WEBHOOK_SECRET"],
            call.key,
            payload["credit"],
            "credit webhook",
            timeout,
            now,
        )
        return {"credited": payload["credit"]["amount_cents"]}
    if call.kind == CallKind.HELPDESK:
        connector = callers.connector()
        if connector is None:
            raise CallError("HELPDESK is none: reopen the case in the helpdesk by hand", False)
        case = db.session.get(Case, call.case_id)
        return connector.reopen(Ticket.of(case), payload["note"], call.key, now)
    if call.kind == CallKind.HELPDESK_NOTE:
        connector = callers.connector()
        if connector is None:
            raise CallError("HELPDESK is none: nothing to write the note to", False)
        case = db.session.get_one(Case, call.case_id)
        note = note_for(payload, call.key, latest=not _later_answer_written(call))
        return connector.write_back(Ticket.of(case), note, call.key, now)
    if call.kind == CallKind.ALERT_HOOK:
        url = config["ALERT_WEBHOOK_URL"]
        request(callers.session, "POST", url, "alert webhook", timeout, json=payload)
        return {"posted": True}
    if call.kind in (CallKind.ALERT_EMAIL, CallKind.STAFF_EMAIL):
        mail = OutgoingMessage(
            message_id=0,
            channel="email",
            to=payload["to"],
            subject=payload["subject"],
            text=payload["text"],
            html=payload.get("html", ""),
        )
        try:
            return {"provider_id": channel_for("email", config).send(mail)}
        except SendError as error:
            transient = isinstance(error, TransientSendError)  # not "no email provider"
            what = "alert email" if call.kind == CallKind.ALERT_EMAIL else "staff email"
            raise CallError(f"{what}: {error.reason}", transient) from None
    raise CallError(f"unknown call kind {call.kind!r}", transient=False)


def _later_answer_written(call: OutboundCall) -> bool:
    """Whether a later answer of the call's case has a write-back planned: that one's tags
    and score are the ticket's, not this one's."""
    later = sa.exists().where(
        OutboundCall.kind == CallKind.HELPDESK_NOTE,
        OutboundCall.case_id == call.case_id,
        OutboundCall.id > call.id,
        OutboundCall.key.startswith(ANSWER_NOTE, autoescape=True),
    )
    return bool(db.session.scalar(sa.select(later)))


def _gave_up(call: OutboundCall, reason: str, now: datetime) -> None:
    """What a call that will never succeed leaves for a person to do."""
    if call.kind == CallKind.HELPDESK:
        raise_alert(
            f"helpdesk_failed:{call.key}",
            AlertAudience.MANAGER,
            AlertKind.HELPDESK_FAILED,
            "Reopen this case in the helpdesk by hand",
            reason,
            call.case_id,
            now,
        )
    elif call.kind == CallKind.HELPDESK_NOTE:
        raise_alert(
            f"helpdesk_failed:{call.key}",
            AlertAudience.MANAGER,
            AlertKind.HELPDESK_FAILED,
            "A note did not reach the helpdesk ticket (the case's timeline has it)",
            reason,
            call.case_id,
            now,
        )
    elif call.kind == CallKind.CREDIT:
        gesture = db.session.get_one(Gesture, call.payload["gesture_id"])
        gesture.status = GestureStatus.FAILED
        raise_alert(
            f"credit_failed:{call.key}",
            AlertAudience.LEAD,
            AlertKind.CREDIT_FAILED,
            "An account credit did not go through: give it by hand",
            reason,
            call.case_id,
            now,
        )


def _succeeded(call: OutboundCall, result: dict) -> None:
    if call.kind == CallKind.CREDIT:
        db.session.get_one(Gesture, call.payload["gesture_id"]).status = GestureStatus.ISSUED


def _system(kind: str) -> str:
    """Which system a call goes to: reopens and write-backs both go to the helpdesk."""
    return "helpdesk" if kind in (CallKind.HELPDESK, CallKind.HELPDESK_NOTE) else kind


def run_calls(token: str) -> dict[str, int]:
    """Make every call of one claimed batch, one commit per call; counts by outcome. A
    system that answers 429 or 503 with Retry-After is asked nothing more until then: the
    batch's other calls to it are given back, due when the wait ends, without an attempt."""
    config = current_app.config
    now = utcnow()
    calls = db.session.scalars(
        sa.select(OutboundCall)
        .where(
            OutboundCall.claim_token == token,
            OutboundCall.status == CallStatus.PENDING,
            OutboundCall.locked_until > now,
        )
        .order_by(OutboundCall.due_at, OutboundCall.id)
    ).all()
    counts = {"done": 0, "retry": 0, "failed": 0, "held": 0}
    callers = _Callers(config)
    held_until: dict[str, datetime] = {}  # a system that asked to wait: until when
    for call in calls:
        now = utcnow()
        call.claim_token = call.locked_until = None
        system = _system(call.kind)
        if system in held_until and now < held_until[system]:
            call.due_at = held_until[system]  # not tried: no attempt spent
            counts["held"] += 1
            db.session.commit()
            continue
        call.attempts += 1
        try:
            result = _perform(call, callers, now)
        except CallError as error:
            call.error = error.reason
            if error.transient and call.attempts < config["CALL_MAX_ATTEMPTS"]:
                wait = retry_delay(call.attempts, config["RETRY_BASE_SECONDS"], error.retry_after)
                call.due_at = now + wait
                if error.retry_after:
                    held_until[system] = now + timedelta(seconds=error.retry_after)
                counts["retry"] += 1
            else:
                call.status = CallStatus.FAILED
                _gave_up(call, error.reason, now)
                if call.case_id:
                    record_event(
                        call.case_id,
                        EventKind.call_event(call.kind, CallStatus.FAILED),
                        {"reason": error.reason, "attempts": call.attempts},
                        at=now,
                    )
                counts["failed"] += 1
        else:
            call.status, call.result, call.error, call.done_at = CallStatus.DONE, result, None, now
            _succeeded(call, result)
            if call.case_id and call.kind in WITH_RESULT:
                record_event(
                    call.case_id, EventKind.call_event(call.kind, CallStatus.DONE), result, at=now
                )
            counts["done"] += 1
        db.session.commit()
    return counts
