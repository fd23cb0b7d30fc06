"""The re-check at send time: whether each claimed message may still go out (the case not
reopened, no answer making it moot, the condition on the answer still true, the customer not
opted out, no incident holding its survey, the frequency cap, quiet hours for texts and
WhatsApp), the others given back with their reason on the timeline."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from followup.cadences import LABELS, PHONE_CHANNELS, cadence_hours
from followup.cases import recent_surveys, record_event
from followup.extensions import db
from followup.incidents import BatchHolds, held_reason, suppressed_detail
from followup.models import Message, Response
from followup.models.cadences import StepCondition
from followup.models.cases import CaseStatus, EventKind
from followup.models.customers import suppressed
from followup.models.messages import MessageStatus
from surveys.responses import latest_answers
from surveys.scoring import verdict

# The conditions that depend on the verdict of the round's latest answer.
ON_VERDICT = (StepCondition.NEGATIVE, StepCondition.POSITIVE)


def _skip_reason(
    message: Message,
    answered: set[tuple[int, int, int | None]],
    blocked: set[tuple[str, str]],
    verdicts: dict[tuple[int, int], str],
) -> tuple[MessageStatus, str] | None:
    """(new status, reason) when a claimed message must not go out any more."""
    case = message.case
    if case.status != CaseStatus.CLOSED or case.round != message.round:
        return MessageStatus.CANCELLED, "case reopened"
    key = (message.case_id, message.round, message.recovery_id)
    if message.condition == StepCondition.NO_ANSWER and key in answered:
        return MessageStatus.CANCELLED, "answered"
    if message.condition in ON_VERDICT:
        found = verdicts.get((message.case_id, message.round))
        if found != message.condition:
            return MessageStatus.CANCELLED, f"the last answer was not {message.condition}" + (
                "" if found else " (no answer)"
            )
    if (message.channel, message.recipient) in blocked:
        return MessageStatus.SUPPRESSED, f"customer opted out of {LABELS[message.channel]}"
    return None


def _round_verdicts(messages: list[Message]) -> dict[tuple[int, int], str]:
    """The verdict of each round's latest answer, for the rounds of messages that depend on
    it (conditions negative and positive)."""
    rounds = {(m.case_id, m.round) for m in messages if m.condition in ON_VERDICT}
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
    for row in recent_surveys(
        {m.customer_id for m in messages}, (MessageStatus.SENDING, MessageStatus.SENT), now, days
    ):
        if row.id not in batch:
            surveyed.setdefault(row.customer_id, {})[(row.case_id, row.round)] = row.due_at
    return surveyed


def _over_cap(message: Message, surveyed: dict, now: datetime) -> tuple[MessageStatus, str] | None:
    """The frequency cap again at send time: when two rounds planned a survey for the same
    customer at once (closes racing), the first to go out wins. Notes the message's round."""
    if message.step.survey_id is None:
        return None
    rounds = surveyed.setdefault(message.customer_id, {})
    days = _cap_days(message)
    own = (message.case_id, message.round)
    if any(key != own and at >= now - timedelta(days=days) for key, at in rounds.items()):
        return (
            MessageStatus.SUPPRESSED,
            f"frequency cap: another survey went out within {days} days",
        )
    rounds[own] = now
    return None


def unclaim(message: Message, event: EventKind, detail: dict, now: datetime) -> None:
    """Give a claimed row back without sending it, with the reason on its case's timeline."""
    message.claim_token = message.locked_until = None
    record_event(message.case_id, event, detail, message.id, now)


def still_due(messages: list[Message], now: datetime) -> list[Message]:
    """The claimed messages that may still go out now; the others are cancelled, suppressed
    or deferred (quiet hours) and given back. Flushes nothing itself; the caller commits."""
    config = current_app.config
    answered = {
        (case_id, rnd, recovery_id)
        for case_id, rnd, recovery_id in db.session.execute(
            sa.select(Response.case_id, Response.round, Response.recovery_id).where(
                Response.case_id.in_({m.case_id for m in messages})
            )
        )
    }
    blocked = suppressed({(m.channel, m.recipient) for m in messages})
    surveyed = _surveyed_rounds(messages, now)
    verdicts = _round_verdicts(messages)
    holds = BatchHolds.of(messages)  # the incidents that may hold them: one query a batch
    due = []
    for message in messages:
        skip = _skip_reason(message, answered, blocked, verdicts)
        incident = None if skip else holds.holding(message)
        if incident is not None:
            skip = MessageStatus.SUPPRESSED, held_reason(incident)
            holds.note(message, incident, now)
        skip = skip or _over_cap(message, surveyed, now)
        if skip:
            status, reason = skip
            message.status, message.error = status, reason
            detail = suppressed_detail(reason, incident)
            unclaim(message, EventKind.message_event(status), detail, now)
            continue
        if message.channel in PHONE_CHANNELS and message.status == MessageStatus.SCHEDULED:
            hours = cadence_hours(message.case.cadence, config["SMS_HOURS"])
            zone = message.customer.timezone or message.case.timezone
            allowed = hours.in_zone(zone).next_allowed(now)
            if allowed > now:  # a retry or a late claim landed in the customer's night
                message.due_at = allowed
                detail = {"reason": "quiet hours in the customer's time zone",
                          "until": allowed.isoformat()}  # fmt: skip
                unclaim(message, EventKind.MESSAGE_DEFERRED, detail, now)
                continue
        if message.status == MessageStatus.SENDING:
            record_event(
                message.case_id,
                EventKind.MESSAGE_RESENDING,
                {"reason": "an earlier send was interrupted; the provider may have it already"},
                message.id,
                now,
            )
        due.append(message)
    holds.write()
    return due
