"""The outbox: claiming due messages in batches (the sweep) and dispatching one claimed batch:
re-checked (outbox_checks), rendered (outbox_render), then sent one by one.

A claim is a lease: `claim_token` names the batch and `locked_until` ends it, so a batch
whose worker died is claimed again once the lease expires. A dispatch acts only on rows
that still carry its claim token, so a late, retried or duplicated job sends nothing twice.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from followup.cases import record_event
from followup.channels import NO_PROVIDER, channel_for
from followup.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    retry_delay,
)
from followup.extensions import db
from followup.leases import claim
from followup.models import CadenceStep, Case, Message
from followup.models.base import utcnow
from followup.models.cadences import StepChannel
from followup.models.cases import EventKind
from followup.models.messages import PENDING_STATUSES, MessageStatus
from followup.outbox_checks import still_due
from followup.outbox_render import render_all
from followup.suppressions import suppress

CHANNELS = ("email", "sms")
MESSAGES = cast(sa.Table, Message.__table__)
# Twilio's codes for a number that opted out at the carrier, and for one that cannot take
# texts (not a valid number, or a landline).
TWILIO_OPTED_OUT = "21610"
TWILIO_NOT_TEXTABLE = {"21211", "21614"}


def claim_batch(channel: str, now: datetime, batch_size: int, lease_seconds: int) -> str | None:
    """Lease up to batch_size due messages of one channel; the batch's claim token, or None."""
    due = sa.and_(
        Message.channel == channel,
        sa.or_(
            sa.and_(Message.status == MessageStatus.SCHEDULED, Message.due_at <= now),
            Message.status == MessageStatus.SENDING,  # a send interrupted by a dead worker
        ),
    )
    return claim(Message, due, now, batch_size, lease_seconds)


def release(token: str) -> None:
    """Give a claim's remaining rows back to the next sweep."""
    db.session.execute(
        sa.update(Message)
        .where(Message.claim_token == token)
        .values(claim_token=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


@dataclass
class SweepResult:
    claimed_batches: list[tuple[str, str]]  # (channel, claim token)
    skipped_busy: bool = False


def sweep(enqueue, queued_batches: int, now: datetime | None = None) -> SweepResult:
    """Claim due batches per channel and hand each to `enqueue(channel, token)` after commit.

    `queued_batches` is the dispatch queue's depth: nothing more is claimed while workers
    are this far behind, so leases are not spent waiting in the queue.
    """
    config = current_app.config
    room = config["MAX_QUEUED_BATCHES"] - queued_batches
    if room <= 0:
        return SweepResult([], skipped_busy=True)
    now = now or utcnow()
    batches: list[tuple[str, str]] = []
    channels = list(CHANNELS)
    while channels and len(batches) < room:
        channel = channels.pop(0)  # round-robin, so one channel cannot starve another
        token = claim_batch(channel, now, config["BATCH_SIZE"], config["LEASE_SECONDS"])
        db.session.commit()
        if token is not None:
            batches.append((channel, token))
            channels.append(channel)
    for channel, token in batches:
        enqueue(channel, token)
    return SweepResult(batches)


def _prepare(messages: list[Message], now: datetime) -> list[OutgoingMessage]:
    """Re-check every claimed row, render the ones still due, and commit the decisions."""
    outgoing = render_all(still_due(messages, now), now)
    db.session.commit()
    return outgoing


def _start(message_id: int, token: str) -> int | None:
    """Mark one claimed message as being sent and commit (with the previous message's outcome);
    its attempt number, or None when it was cancelled since it was claimed."""
    started = db.session.execute(
        sa.update(MESSAGES)
        .where(
            MESSAGES.c.id == message_id,
            MESSAGES.c.claim_token == token,
            MESSAGES.c.status.in_(PENDING_STATUSES),
        )
        .values(status=MessageStatus.SENDING, attempts=MESSAGES.c.attempts + 1)
        .returning(MESSAGES.c.attempts)
    ).scalar()
    db.session.commit()
    return started


def _attempt(
    channel, out: OutgoingMessage, attempt: int, step: str
) -> tuple[str, dict, EventKind, dict]:
    """Send one message: (outcome, the row's new values, the timeline event, its detail)."""
    config = current_app.config
    try:
        provider_id = channel.send(out)
    except TransientSendError as error:
        if attempt >= config["MAX_ATTEMPTS"]:
            reason = f"gave up after {attempt} attempts: {error.reason}"
            detail: dict[str, Any] = {"reason": reason, "code": error.code}
            values: dict[str, object] = {"status": MessageStatus.FAILED, "error": reason}
            return "failed", values, EventKind.MESSAGE_FAILED, detail
        due = utcnow() + retry_delay(attempt, config["RETRY_BASE_SECONDS"])
        values = {"status": MessageStatus.SCHEDULED, "due_at": due, "error": error.reason}
        detail = {
            "reason": error.reason,
            "code": error.code,
            "attempt": attempt,
            "next_attempt_at": due.isoformat(),
        }
        return "retry", values, EventKind.MESSAGE_RETRY_SCHEDULED, detail
    except PermanentSendError as error:
        detail = {"reason": error.reason, "code": error.code}
        values = {"status": MessageStatus.FAILED, "error": error.reason}
        return "failed", values, EventKind.MESSAGE_FAILED, detail
    values = {
        "status": MessageStatus.SENT,
        "error": None,
        "provider": channel.provider,
        "provider_id": provider_id,
        "sent_at": utcnow(),
    }
    detail = {
        "step": step,
        "channel": out.channel,
        "to": out.to,
        "provider": channel.provider,
        "provider_id": provider_id,
    }
    return "sent", values, EventKind.MESSAGE_SENT, detail


def dispatch(token: str) -> dict[str, int]:
    """Send every message of one claimed batch; returns counts by outcome."""
    config = current_app.config
    now = utcnow()
    messages = list(
        db.session.scalars(
            sa.select(Message)
            .where(
                Message.claim_token == token,
                Message.status.in_(PENDING_STATUSES),
                Message.locked_until > now,
            )
            .order_by(Message.due_at, Message.id)
            .options(
                selectinload(Message.case).selectinload(Case.cadence),
                selectinload(Message.customer),
                selectinload(Message.step).selectinload(CadenceStep.template),
                selectinload(Message.step).selectinload(CadenceStep.survey),
            )
        )
    )
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "released": 0}
    if not messages:
        return counts
    # Stop well before the lease ends so a slow provider never lets a second claim overlap.
    ends = min(m.locked_until for m in messages if m.locked_until)  # all leased: see the query
    deadline = time.monotonic() + (ends - now).total_seconds() / 2
    case_ids = {m.id: m.case_id for m in messages}
    step_names = {m.id: m.step.name for m in messages}
    outgoing = _prepare(messages, now)
    # The batch's rows are not needed as objects any more; an empty session keeps each of the
    # commits below cheap.
    db.session.expunge_all()
    counts["skipped"] = len(messages) - len(outgoing)
    channel = channel_for(outgoing[0].channel, config) if outgoing else None
    for index, out in enumerate(outgoing):
        if time.monotonic() > deadline:
            release(token)
            counts["released"] = len(outgoing) - index
            break
        attempt = _start(out.message_id, token)
        if attempt is None:
            counts["skipped"] += 1
            continue
        outcome, values, event, detail = _attempt(channel, out, attempt, step_names[out.message_id])
        # Written now, committed by the next message's start (or below): one commit a message.
        db.session.execute(
            sa.update(MESSAGES)
            .where(MESSAGES.c.id == out.message_id, MESSAGES.c.claim_token == token)
            .values(claim_token=None, locked_until=None, **values)
        )
        record_event(case_ids[out.message_id], event, detail, out.message_id)
        if outcome == "failed" and out.channel == "sms" and detail.get("code"):
            handle_sms_error(db.session.get_one(Message, out.message_id), detail["code"], utcnow())
        counts[outcome] += 1
    db.session.commit()
    return counts


def handle_sms_error(message: Message, code: str, now: datetime) -> None:
    """What an SMS error code means beyond this message: the number opted out at the
    carrier (no more texts to it), or cannot take texts, or this deployment sends no texts
    (the step goes by email instead, when the step let us choose the channel)."""
    assert message.recipient is not None  # it was sent: only a message with an address is
    if code == TWILIO_OPTED_OUT:
        suppress("sms", message.recipient, "carrier_opt_out", f"Twilio error {code}", now)
    elif (
        code in (*TWILIO_NOT_TEXTABLE, NO_PROVIDER)
        and message.step
        and message.step.channel == StepChannel.PREFERRED
    ):
        why = (
            "no SMS provider is configured"
            if code == NO_PROVIDER
            else f"Twilio error {code}: the number cannot take texts"
        )
        customer = message.customer
        if not customer.email or customer.opted_out("email"):
            record_event(message.case_id, EventKind.MESSAGE_NO_FALLBACK,
                         {"reason": f"{why} and there is no email to use", "code": code},
                         message.id, now)  # fmt: skip
            return
        fallback = Message(
            case_id=message.case_id,
            customer_id=message.customer_id,
            step_id=message.step_id,
            round=message.round,
            channel="email",
            recipient=customer.email,
            condition=message.condition,
            due_at=now,
            idempotency_key=f"{message.idempotency_key}:email",
        )
        if db.session.scalar(
            sa.select(Message.id).where(Message.idempotency_key == fallback.idempotency_key)
        ):
            return
        db.session.add(fallback)
        db.session.flush()
        record_event(message.case_id, EventKind.MESSAGE_FALLBACK_TO_EMAIL,
                     {"reason": why, "email_message_id": fallback.id},
                     message.id, now)  # fmt: skip
