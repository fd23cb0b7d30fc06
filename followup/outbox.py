"""The outbox: claiming due messages in batches (the sweep) and dispatching one claimed batch.

A claim is a lease: `claim_token` names the batch and `locked_until` ends it, so a batch
whose worker died is claimed again once the lease expires. A dispatch acts only on rows
that still carry its claim token, so a late, retried or duplicated job sends nothing twice.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import selectinload

from followup.cadences import cadence_hours
from followup.cases import recent_surveys, record_event
from followup.channels import channel_for
from followup.channels.base import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    retry_delay,
)
from followup.extensions import db
from followup.languages import language_of
from followup.leases import claim
from followup.models import CadenceStep, Case, Message, Response
from followup.models.base import utcnow
from followup.models.customers import suppressed
from followup.recovery import latest_answers, template_details
from followup.rendering import message_context, render
from followup.suppressions import suppress
from surveys.invitations import invitations_for, survey_links
from surveys.responses import verdict
from surveys.unsubscribe import unsubscribe_links_for, unsubscribe_url

CHANNELS = ("email", "sms")
MESSAGES = Message.__table__
# Twilio's codes for a number that opted out at the carrier, and for one that cannot take
# texts (not a valid number, or a landline).
TWILIO_OPTED_OUT = "21610"
TWILIO_NOT_TEXTABLE = {"21211", "21614"}


def claim_batch(channel: str, now: datetime, batch_size: int, lease_seconds: int) -> str | None:
    """Lease up to batch_size due messages of one channel; the batch's claim token, or None."""
    due = sa.and_(
        Message.channel == channel,
        sa.or_(
            sa.and_(Message.status == "scheduled", Message.due_at <= now),
            Message.status == "sending",  # a send interrupted by a dead worker
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
    batches = []
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


def _skip_reason(
    message: Message,
    answered: set[tuple[int, int, int | None]],
    blocked: set[tuple[str, str]],
    verdicts: dict[tuple[int, int], str],
) -> tuple[str, str] | None:
    """(new status, reason) when a claimed message must not go out any more."""
    case = message.case
    if case.status != "closed" or case.round != message.round:
        return "cancelled", "case reopened"
    key = (message.case_id, message.round, message.recovery_id)
    if message.condition == "no_answer" and key in answered:
        return "cancelled", "answered"
    if message.condition in ("negative", "positive"):
        found = verdicts.get((message.case_id, message.round))
        if found != message.condition:
            return "cancelled", f"the last answer was not {message.condition}" + (
                "" if found else " (no answer)"
            )
    if (message.channel, message.recipient) in blocked:
        label = "SMS" if message.channel == "sms" else "email"
        return "suppressed", f"customer opted out of {label}"
    return None


def _round_verdicts(messages: list[Message]) -> dict[tuple[int, int], str]:
    """The verdict of each round's latest answer, for the rounds of messages that depend on
    it (conditions negative and positive)."""
    rounds = {(m.case_id, m.round) for m in messages if m.condition in ("negative", "positive")}
    return {
        key: verdict(answer.invitation.survey, answer.score, answer.comment)
        for key, answer in latest_answers(rounds).items()
    }


def _cap_days(message: Message) -> int:
    """The frequency cap of the cadence version the case closed with, else the deployment's."""
    cadence = message.case.cadence
    return (cadence and cadence.survey_cap_days) or current_app.config["SURVEY_CAP_DAYS"]


def _surveyed_rounds(messages: list[Message], now: datetime) -> dict[int, dict]:
    """For each customer of the batch: when each (case, round) of theirs had a survey go out
    within the longest frequency cap of the batch's cadences (the batch's own rows aside)."""
    batch = {m.id for m in messages}
    days = max((_cap_days(m) for m in messages), default=current_app.config["SURVEY_CAP_DAYS"])
    surveyed: dict[int, dict[tuple[int, int], datetime]] = {}
    for row in recent_surveys({m.customer_id for m in messages}, ("sending", "sent"), now, days):
        if row.id not in batch:
            surveyed.setdefault(row.customer_id, {})[(row.case_id, row.round)] = row.due_at
    return surveyed


def _over_cap(message: Message, surveyed: dict, now: datetime) -> tuple[str, str] | None:
    """The frequency cap again at send time: when two rounds planned a survey for the same
    customer at once (closes racing), the first to go out wins. Notes the message's round."""
    if message.step.survey_id is None:
        return None
    rounds = surveyed.setdefault(message.customer_id, {})
    days = _cap_days(message)
    own = (message.case_id, message.round)
    if any(key != own and at >= now - timedelta(days=days) for key, at in rounds.items()):
        return "suppressed", f"frequency cap: another survey went out within {days} days"
    rounds[own] = now
    return None


def _unclaim(message: Message, event: str, detail: dict, now: datetime) -> None:
    """Give a claimed row back without sending it, with the reason on its case's timeline."""
    message.claim_token = message.locked_until = None
    record_event(message.case_id, event, detail, message.id, now)


def _prepare(messages: list[Message], now: datetime) -> list[OutgoingMessage]:
    """Re-check every claimed row, render the ones still due, and commit the decisions."""
    config = current_app.config
    answered = {
        tuple(row)
        for row in db.session.execute(
            sa.select(Response.case_id, Response.round, Response.recovery_id).where(
                Response.case_id.in_({m.case_id for m in messages})
            )
        )
    }
    blocked = suppressed({(m.channel, m.recipient) for m in messages})
    surveyed = _surveyed_rounds(messages, now)
    verdicts = _round_verdicts(messages)
    due = []
    for message in messages:
        skip = _skip_reason(message, answered, blocked, verdicts) or _over_cap(
            message, surveyed, now
        )
        if skip:
            status, reason = skip
            message.status, message.error = status, reason
            _unclaim(message, f"message.{status}", {"reason": reason}, now)
            continue
        if message.channel == "sms" and message.status == "scheduled":
            hours = cadence_hours(message.case.cadence, config["SMS_HOURS"])
            zone = message.customer.timezone or message.case.timezone
            allowed = hours.in_zone(zone).next_allowed(now)
            if allowed > now:  # a retry or a late claim landed in the customer's night
                message.due_at = allowed
                detail = {"reason": "quiet hours in the customer's time zone",
                          "until": allowed.isoformat()}  # fmt: skip
                _unclaim(message, "message.deferred", detail, now)
                continue
        if message.status == "sending":
            record_event(
                message.case_id,
                "message.resending",
                {"reason": "an earlier send was interrupted; the provider may have it already"},
                message.id,
                now,
            )
        due.append(message)
    invitations = invitations_for(
        [(m, m.step.survey) for m in due if m.step.survey is not None],
        config["SECRET_KEY"],
        now,
        config["SURVEY_WINDOW_DAYS"],
    )
    recoveries = template_details({m.recovery_id for m in due if m.recovery_id is not None})
    unsubscribe_links = unsubscribe_links_for(
        [m for m in due if m.channel == "email" and m.recipient], config["SECRET_KEY"], now
    )
    outgoing = []
    for message in due:
        survey = message.step.survey
        links = None
        if survey is not None:
            links = survey_links(
                invitations[message.id], survey, config["SECRET_KEY"], config["PUBLIC_BASE_URL"]
            )
        unsubscribe, headers = None, {}
        if message.id in unsubscribe_links:
            unsubscribe = unsubscribe_url(
                unsubscribe_links[message.id], config["SECRET_KEY"], config["PUBLIC_BASE_URL"]
            )
            headers = {  # RFC 8058 one-click unsubscribe
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        language = language_of(message.customer.locale)
        recovery = recoveries.get(message.recovery_id)
        sender = None
        if recovery is not None:
            recovery = translated(recovery, language)
            sender = config["RECOVERY_SENDER"] or message.case.agent_name
        context = message_context(
            message.case,
            message.customer,
            config["ORGANISATION_NAME"],
            links,
            unsubscribe,
            language,
            recovery,
            sender,
        )
        try:
            rendered = render(message.step.template, message.channel, context)
        except Exception as error:  # a lead's template may raise anything; it fails alone
            reason = f"template {message.step.template.key!r} cannot be rendered: {error}"
            message.status, message.error = "failed", reason
            _unclaim(message, "message.failed", {"reason": reason}, now)
            continue
        outgoing.append(
            OutgoingMessage(
                message_id=message.id,
                channel=message.channel,
                to=message.recipient,
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                headers=headers,
                from_name=f"{context['sender']['name']} ({config['ORGANISATION_NAME']})"
                if recovery is not None
                else None,
                status_callback=(
                    f"{config['PUBLIC_BASE_URL']}/webhooks/twilio/status?m={message.id}"
                    if message.channel == "sms"
                    else None
                ),
            )
        )
    db.session.commit()
    return outgoing


def translated(recovery: dict, language: str) -> dict:
    """A recovery's template details in the customer's language: the reason labels, and the
    gesture's offer where the lead wrote it in that language."""
    with force_locale(language):
        reasons = [gettext(label) for label in recovery["feedback"]["reasons"]]
    gesture = recovery["gesture"]
    if gesture is not None:
        offers = gesture["offer_translations"]
        gesture = {key: value for key, value in gesture.items() if key != "offer_translations"}
        gesture["offer"] = offers.get(language) or gesture["offer"]
    feedback = {**recovery["feedback"], "reasons": reasons}
    return {**recovery, "feedback": feedback, "gesture": gesture}


def _start(message_id: int, token: str) -> int | None:
    """Mark one claimed message as being sent and commit (with the previous message's outcome);
    its attempt number, or None when it was cancelled since it was claimed."""
    started = db.session.execute(
        sa.update(MESSAGES)
        .where(
            MESSAGES.c.id == message_id,
            MESSAGES.c.claim_token == token,
            MESSAGES.c.status.in_(("scheduled", "sending")),
        )
        .values(status="sending", attempts=MESSAGES.c.attempts + 1)
        .returning(MESSAGES.c.attempts)
    ).scalar()
    db.session.commit()
    return started


def _attempt(channel, out: OutgoingMessage, attempt: int, step: str) -> tuple[str, dict, str, dict]:
    """Send one message: (outcome, the row's new values, the timeline event, its detail)."""
    config = current_app.config
    try:
        provider_id = channel.send(out)
    except TransientSendError as error:
        if attempt >= config["MAX_ATTEMPTS"]:
            reason = f"gave up after {attempt} attempts: {error.reason}"
            detail = {"reason": reason, "code": error.code}
            return "failed", {"status": "failed", "error": reason}, "message.failed", detail
        due = utcnow() + retry_delay(attempt, config["RETRY_BASE_SECONDS"])
        values = {"status": "scheduled", "due_at": due, "error": error.reason}
        detail = {
            "reason": error.reason,
            "code": error.code,
            "attempt": attempt,
            "next_attempt_at": due.isoformat(),
        }
        return "retry", values, "message.retry_scheduled", detail
    except PermanentSendError as error:
        detail = {"reason": error.reason, "code": error.code}
        return "failed", {"status": "failed", "error": error.reason}, "message.failed", detail
    values = {
        "status": "sent",
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
    return "sent", values, "message.sent", detail


def dispatch(token: str) -> dict[str, int]:
    """Send every message of one claimed batch; returns counts by outcome."""
    config = current_app.config
    now = utcnow()
    messages = list(
        db.session.scalars(
            sa.select(Message)
            .where(
                Message.claim_token == token,
                Message.status.in_(("scheduled", "sending")),
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
    deadline = time.monotonic() + (min(m.locked_until for m in messages) - now).total_seconds() / 2
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
            handle_sms_error(db.session.get(Message, out.message_id), detail["code"], utcnow())
        counts[outcome] += 1
    db.session.commit()
    return counts


def handle_sms_error(message: Message, code: str, now: datetime) -> None:
    """What a Twilio error code means beyond this message: the number opted out at the
    carrier (no more texts to it), or cannot take texts (the step goes by email instead,
    when the step let us choose the channel)."""
    if code == TWILIO_OPTED_OUT:
        suppress("sms", message.recipient, "carrier_opt_out", f"Twilio error {code}", now)
    elif code in TWILIO_NOT_TEXTABLE and message.step and message.step.channel == "preferred":
        customer = message.customer
        if not customer.email or customer.opted_out("email"):
            record_event(message.case_id, "message.no_fallback",
                         {"reason": "the number cannot take texts and there is no email to use",
                          "code": code}, message.id, now)  # fmt: skip
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
        record_event(message.case_id, "message.fallback_to_email",
                     {"reason": f"Twilio error {code}: the number cannot take texts",
                      "email_message_id": fallback.id}, message.id, now)  # fmt: skip
