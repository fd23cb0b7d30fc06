"""The outbox: claiming due messages in batches (the sweep) and dispatching one claimed batch:
re-checked (outbox_checks), rendered (outbox_render), then sent with up to
FOLLOWUP_SEND_CONCURRENCY provider calls in flight (this process's sender threads), at the
pace the provider allows (followup.channels.pacing).

A claim is a lease: `claim_token` names the batch and `locked_until` ends it, so a batch
whose worker died is claimed again once the lease expires. A dispatch acts only on rows
that still carry its claim token, so a late, retried or duplicated job sends nothing twice.
"""

import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from followup.channels import channel_for, provider_for
from followup.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
    retry_delay,
)
from followup.channels.email_batches import MAX_PER_REQUEST, EmailBatch, email_requests
from followup.channels.email_sendgrid import SendGridChannel
from followup.channels.pacing import next_slot
from followup.extensions import db, redis_connection
from followup.fallbacks import handle_send_error
from followup.leases import claim
from followup.models import CadenceStep, Case, CaseEvent, Message
from followup.models.base import utcnow
from followup.models.cases import EventKind
from followup.models.customers import CONTACT_CHANNELS
from followup.models.messages import PENDING_STATUSES, MessageStatus
from followup.outbox_checks import still_due
from followup.outbox_render import render_all

MESSAGES = cast(sa.Table, Message.__table__)


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


def release(token: str, message_ids: list[int], due_at: datetime | None = None) -> None:
    """Give claimed rows not yet started back to the next sweep (not before `due_at`); the
    caller commits."""
    values: dict[str, object] = {"claim_token": None, "locked_until": None}
    if due_at is not None:
        values["due_at"] = due_at
    db.session.execute(
        sa.update(MESSAGES)
        .where(MESSAGES.c.claim_token == token, MESSAGES.c.id.in_(message_ids))
        .values(**values)
    )


def batch_size(channel: str, config: Mapping) -> int:
    """Messages a dispatch job takes: FOLLOWUP_BATCH_SIZE, or for emails that go to SendGrid
    in shared requests, a full request's worth (1,000), so a job's one wait for the provider
    carries as many emails as SendGrid allows."""
    if (
        channel == "email"
        and config["EMAIL_BATCHING"]
        and provider_for("email", config) == SendGridChannel.provider
    ):
        return max(config["BATCH_SIZE"], MAX_PER_REQUEST)
    return config["BATCH_SIZE"]


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
    channels = list(CONTACT_CHANNELS)
    while channels and len(batches) < room:
        channel = channels.pop(0)  # round-robin, so one channel cannot starve another
        token = claim_batch(channel, now, batch_size(channel, config), config["LEASE_SECONDS"])
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


def _start(message_ids: list[int], token: str) -> dict[int, int]:
    """Mark claimed messages as being sent (the caller commits before their calls start);
    each started message's attempt number (one cancelled since its claim is missing)."""
    started = db.session.execute(
        sa.update(MESSAGES)
        .where(
            MESSAGES.c.id.in_(message_ids),
            MESSAGES.c.claim_token == token,
            MESSAGES.c.status.in_(PENDING_STATUSES),
        )
        .values(status=MessageStatus.SENDING, attempts=MESSAGES.c.attempts + 1)
        .returning(MESSAGES.c.id, MESSAGES.c.attempts)
    ).all()
    return {message_id: attempts for message_id, attempts in started}


# One provider request: one message, or emails sharing their content (SendGrid).
Request = OutgoingMessage | EmailBatch


def _messages(request: Request) -> list[OutgoingMessage]:
    return request.messages if isinstance(request, EmailBatch) else [request]


def _call(channel: Channel, request: Request, delay: float) -> str | SendError:
    """One provider call, on a sender thread, after `delay` seconds (the sender's pace): the
    provider's message id, or the SendError it raised."""
    if delay > 0:
        time.sleep(delay)
    try:
        if isinstance(request, EmailBatch):
            assert isinstance(channel, SendGridChannel)  # only SendGrid's are batched
            return channel.send_batch(request)
        return channel.send(request)
    except SendError as error:
        return error


def _outcome(
    channel: Channel, out: OutgoingMessage, attempt: int, step: str, sent: str | SendError
) -> tuple[str, dict, EventKind, dict]:
    """What one call's answer means: (outcome, the row's new values, the timeline event, its
    detail)."""
    config = current_app.config
    if isinstance(sent, TransientSendError):
        if attempt >= config["MAX_ATTEMPTS"]:
            reason = f"gave up after {attempt} attempts: {sent.reason}"
            detail: dict[str, Any] = {"reason": reason, "code": sent.code}
            values: dict[str, object] = {"status": MessageStatus.FAILED, "error": reason}
            return "failed", values, EventKind.MESSAGE_FAILED, detail
        wait = retry_delay(attempt, config["RETRY_BASE_SECONDS"], sent.retry_after or 0)
        due = utcnow() + wait
        values = {"status": MessageStatus.SCHEDULED, "due_at": due, "error": sent.reason}
        detail = {
            "reason": sent.reason,
            "code": sent.code,
            "attempt": attempt,
            "next_attempt_at": due.isoformat(),
        }
        return "retry", values, EventKind.MESSAGE_RETRY_SCHEDULED, detail
    if isinstance(sent, SendError):
        detail = {"reason": sent.reason, "code": sent.code}
        values = {"status": MessageStatus.FAILED, "error": sent.reason}
        return "failed", values, EventKind.MESSAGE_FAILED, detail
    values = {
        "status": MessageStatus.SENT,
        "error": None,
        "provider": channel.provider,
        "provider_id": sent,
        "sent_at": utcnow(),
        "subject": out.kept_subject or None,
        "body": out.kept_text,
    }
    detail = {
        "step": step,
        "channel": out.channel,
        "to": out.to,
        "provider": channel.provider,
        "provider_id": sent,
    }
    return "sent", values, EventKind.MESSAGE_SENT, detail


_senders: dict[int, ThreadPoolExecutor] = {}
_senders_lock = threading.Lock()


def senders(size: int) -> ThreadPoolExecutor:
    """This process's sender threads (made on first use and kept from one job to the next)."""
    with _senders_lock:
        if size not in _senders:
            _senders[size] = ThreadPoolExecutor(size, thread_name_prefix="followup-send")
        return _senders[size]


@dataclass
class _Batch:
    """One dispatch's state: what waits to start, what is in flight, what came of it."""

    token: str
    channel: Channel
    concurrency: int  # requests in flight at most
    deadline: float  # time.monotonic() after which nothing more is started
    waiting: deque[Request]
    steps: dict[int, str]  # step name by message id
    cases: dict[int, int]  # case id by message id
    counts: dict[str, int]
    in_flight: dict[Future, tuple[Request, dict[int, int]]] = field(default_factory=dict)
    # Outcomes not yet committed: each message's new values, each timeline line (`_commit`).
    outcomes: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


# A paced sender's slot is taken before its message starts; no more starts while the next
# slot is further off than this, so a job never holds messages long waiting for their slot.
PACE_AHEAD_SECONDS = 1.0
# Texts given back when Redis (which keeps the pace) does not answer are due again after this.
PACE_UNKNOWN_SECONDS = 5


def _start_more(batch: _Batch) -> float:
    """Start as many waiting requests as there is room for in flight (committing them with the
    outcomes recorded so far), or give them back when the job's time is up or the provider
    paused us past it; the seconds to hold before starting more (0: start when room frees)."""
    channel, waiting = batch.channel, batch.waiting
    pause = channel.pause.left()
    if waiting and time.monotonic() + pause > batch.deadline:
        _give_back(batch, utcnow() + timedelta(seconds=pause) if pause else None)
        return 0.0
    room = batch.concurrency - len(batch.in_flight)
    if not waiting or pause or room <= 0:
        _commit(batch)
        return pause
    if channel.pace is None:
        group = [waiting.popleft() for _ in range(min(room, len(waiting)))]
        started = _start([out.message_id for r in group for out in _messages(r)], batch.token)
        _commit(batch)
        for request in group:
            _submit(batch, request, started, 0.0)
        return 0.0
    sender, per_second = channel.pace
    key = f"{current_app.config['QUEUE_PREFIX']}followup:pace:{channel.provider}:{sender}"
    hold = 0.0
    while waiting and room > 0 and hold == 0.0:
        try:  # the slot first: a text is marked sending only once it may go
            delay = next_slot(redis_connection(), key, per_second)
        except redis.RedisError as error:
            current_app.logger.warning("texts given back: their pace is unknown (%s)", error)
            _give_back(batch, utcnow() + timedelta(seconds=PACE_UNKNOWN_SECONDS))
            return 0.0
        request = waiting.popleft()
        started = _start([out.message_id for out in _messages(request)], batch.token)
        _commit(batch)
        _submit(batch, request, started, delay)
        room -= 1
        hold = max(0.0, delay - PACE_AHEAD_SECONDS)
    return hold


def _give_back(batch: _Batch, due_at: datetime | None) -> None:
    """Release every request still waiting (not before `due_at`), and commit."""
    ids = [out.message_id for request in batch.waiting for out in _messages(request)]
    release(batch.token, ids, due_at)
    batch.counts["released"] += len(ids)
    batch.waiting.clear()
    _commit(batch)


def _submit(batch: _Batch, request: Request, started: dict[int, int], delay: float) -> None:
    """Hand a request to a sender thread, without the messages that were not started
    (cancelled since they were claimed: counted skipped)."""
    kept = [out for out in _messages(request) if out.message_id in started]
    batch.counts["skipped"] += len(_messages(request)) - len(kept)
    if not kept:
        return
    if isinstance(request, EmailBatch) and len(kept) < len(request.emails):
        emails = tuple(email for email in request.emails if email[0].message_id in started)
        request = EmailBatch(request.html, request.text, emails) if len(kept) > 1 else kept[0]
    attempts = {out.message_id: started[out.message_id] for out in kept}
    future = senders(batch.concurrency).submit(_call, batch.channel, request, delay)
    batch.in_flight[future] = (request, attempts)


def _record(batch: _Batch, future: Future) -> None:
    """Note a finished request's outcome for each of its messages (`_commit` writes them with
    the next start, or at the end). Emails refused together (a 4xx other than 429) are sent
    again one by one, so only those at fault fail."""
    request, attempts = batch.in_flight.pop(future)
    sent = future.result()
    if isinstance(request, EmailBatch) and isinstance(sent, PermanentSendError):
        for out in request.messages:
            _submit(batch, out, {out.message_id: attempts[out.message_id]}, 0.0)
        return
    for out in _messages(request):
        attempt, step = attempts[out.message_id], batch.steps[out.message_id]
        outcome, values, event, detail = _outcome(batch.channel, out, attempt, step, sent)
        batch.outcomes.append({"id": out.message_id, **values})
        batch.events.append(
            {"case_id": batch.cases[out.message_id], "kind": event, "detail": detail,
             "message_id": out.message_id, "at": utcnow()}
        )  # fmt: skip
        if outcome == "failed" and out.channel != "email" and detail.get("code"):
            _commit(batch)
            message = db.session.get_one(Message, out.message_id)
            handle_send_error(message, detail["code"], utcnow())
        batch.counts[outcome] += 1


def _commit(batch: _Batch) -> None:
    """Write the outcomes recorded since the last commit in a few statements (the rows' new
    values, by the columns they set; the timeline lines), and commit them with whatever else
    the session holds (the messages just started). They are kept until the commit succeeds."""
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for values in batch.outcomes:
        by_columns.setdefault(tuple(sorted(values)), []).append(values)
    for columns, rows in by_columns.items():
        db.session.execute(
            sa.update(MESSAGES)
            .where(MESSAGES.c.id == sa.bindparam("row_id"), MESSAGES.c.claim_token == batch.token)
            .values(claim_token=None, locked_until=None,
                    **{c: sa.bindparam(f"new_{c}") for c in columns if c != "id"}),
            [{"row_id": row["id"], **{f"new_{c}": row[c] for c in columns if c != "id"}}
             for row in rows],
        )  # fmt: skip
    if batch.events:
        db.session.execute(sa.insert(cast(sa.Table, CaseEvent.__table__)), batch.events)
    db.session.commit()
    batch.outcomes.clear()
    batch.events.clear()


def _settle(batch: _Batch) -> None:
    """After an error ended a dispatch (the database, a job's time limit, a stop): wait for
    the calls in flight and commit every outcome, in a fresh transaction. A call made is
    recorded; left `sending`, it would be made again once the lease ends."""
    db.session.rollback()
    batch.waiting.clear()
    while batch.in_flight:
        done, _ = wait(batch.in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            _record(batch, future)
    _commit(batch)


def dispatch(token: str) -> dict[str, int]:
    """Send every message of one claimed batch, up to FOLLOWUP_SEND_CONCURRENCY calls in
    flight; returns counts by outcome.

    Each message is marked `sending` (committed) before its call starts, and its outcome is
    committed after the call ends; a worker killed in between leaves its calls in flight
    `sending`, to be sent again (and noted on the timeline) once the lease ends. Only this
    thread touches the database; the sender threads only call the provider.
    """
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
    # Stop starting sends well before the lease ends, so a slow provider never lets a second
    # claim overlap this one.
    ends = min(m.locked_until for m in messages if m.locked_until)  # all leased: see the query
    deadline = time.monotonic() + (ends - now).total_seconds() / 2
    cases = {m.id: m.case_id for m in messages}
    steps = {m.id: m.step.name for m in messages}
    outgoing = _prepare(messages, now)
    # The batch's rows are not needed as objects any more; an empty session keeps each of the
    # commits below cheap.
    db.session.expunge_all()
    counts["skipped"] = len(messages) - len(outgoing)
    if not outgoing:
        return counts
    channel = channel_for(outgoing[0].channel, config)
    batched = isinstance(channel, SendGridChannel) and config["EMAIL_BATCHING"]
    requests: list[Request] = email_requests(outgoing) if batched else list(outgoing)
    batch = _Batch(
        token, channel, config["SEND_CONCURRENCY"], deadline, deque(requests), steps, cases, counts
    )
    try:
        while batch.waiting or batch.in_flight:
            hold = _start_more(batch)
            if batch.in_flight:
                done, _ = wait(batch.in_flight, timeout=hold or None, return_when=FIRST_COMPLETED)
                for future in done:
                    _record(batch, future)
            elif hold:
                time.sleep(hold)
        _commit(batch)
    except BaseException:
        _settle(batch)
        raise
    return counts
