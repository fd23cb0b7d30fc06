"""The recovery loop, which followup.answers drives. A case round's first negative answer
starts a recovery: an apology from a person in working hours, a goodwill gesture chosen by
the lead's rules, an alert to the lead queue, and a recovery check-in some days later on the
channel the customer answered on. A positive check-in marks the case recovered; a negative or
neutral one, or none by the deadline, escalates: the case is reopened in the helpdesk with a
private note, a manager is alerted, and no more automated surveys go out about the case.

Every change of state is a conditional UPDATE that only one transaction can win, so a
duplicated answer, webhook or job never apologises, gives or reopens twice. Each operation
flushes; the caller commits.
"""

from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import CursorResult

from followup import kudos, write_back
from followup.cadences import cadence_hours, plan_round
from followup.cases import (
    add_planned,
    cancel_pending,
    current_cadences,
    record_event,
    reopen_case,
)
from followup.extensions import db
from followup.goodwill import issue_gesture
from followup.models import Cadence, CadenceStep, Case, Message, Recovery, Response, Survey
from followup.models.cadences import CadencePurpose
from followup.models.cases import CaseStatus, EventKind
from followup.models.messages import PENDING_STATUSES, MessageStatus
from followup.models.recovery import (
    AlertAudience,
    AlertKind,
    CallKind,
    RecoveryStatus,
    WebhookEvent,
)
from followup.outbound import emit, insert_once, plan_call, raise_alert
from surveys.responses import feedback
from surveys.scoring import verdict

ANSWER_CHANGED = "answer changed"


def _transition(
    recovery: Recovery,
    from_statuses: tuple[RecoveryStatus, ...],
    to: RecoveryStatus,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Move the recovery to `to` if it is still in one of `from_statuses`; only one of
    several concurrent callers gets True."""
    values: dict[str, Any] = {"status": to}
    if to in (RecoveryStatus.RECOVERED, RecoveryStatus.ESCALATED):
        values |= {"outcome_at": now, "outcome_reason": reason}
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(Recovery)
            .where(Recovery.id == recovery.id, Recovery.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(recovery)
    return bool(won)


def recovery_cadence() -> Cadence | None:
    """The recovery cadence in force: the default one, else the first."""
    return db.session.scalar(
        current_cadences(CadencePurpose.RECOVERY)
        .order_by(Cadence.is_default.desc(), Cadence.id)
        .limit(1)
    )


def start(answer: Response, now: datetime) -> Recovery | None:
    """Start the round's recovery from its first negative answer; None when another
    transaction started it first."""
    case = db.session.get_one(Case, answer.case_id)
    invitation = answer.invitation
    channel = invitation.channel  # the web page of an emailed link counts as email
    if not insert_once(
        Recovery,
        case_id=case.id,
        round=answer.round,
        customer_id=case.customer_id,
        channel=channel,
        status=RecoveryStatus.OPEN,
        started_at=now,
    ):
        return None
    recovery = db.session.scalars(
        sa.select(Recovery).where(Recovery.case_id == case.id, Recovery.round == answer.round)
    ).one()
    survey = invitation.survey
    summary = feedback(answer, survey)
    record_event(
        case.id, EventKind.RECOVERY_STARTED, {"recovery_id": recovery.id, **summary}, at=now
    )
    emit(
        WebhookEvent.RECOVERY_STARTED,
        str(recovery.id),
        {"case": case.external_id, **summary},
        case.id,
        now,
    )
    _plan_messages(recovery, case, now)
    gesture = issue_gesture(recovery, answer, now)
    said = f"“{answer.comment}”" if answer.comment else "no comment"
    raise_alert(
        f"recovery:{recovery.id}",
        AlertAudience.LEAD,
        AlertKind.RECOVERY_STARTED,
        f"Negative feedback on {case.external_id}: {answer.score}/{survey.scale_max}",
        f"{case.customer.name or 'The customer'} said {said}; reasons: "
        f"{', '.join(summary['reasons']) or 'none given'}; gesture: "
        f"{gesture.gesture_type.name if gesture else 'none'}.",
        case.id,
        now,
    )
    db.session.flush()
    return recovery


def _plan_messages(recovery: Recovery, case: Case, now: datetime) -> None:
    """The recovery cadence's messages, from a person: in working hours, on the channel the
    customer answered on; the answer deadline follows the last check-in."""
    cadence = recovery_cadence()
    if cadence is None:
        record_event(
            case.id,
            EventKind.RECOVERY_NO_CADENCE,
            {"reason": "no recovery cadence is set up: a person follows up"},
            at=now,
        )
        return
    config = current_app.config
    zone = case.customer.timezone or case.timezone
    planned = plan_round(
        case.id,
        recovery.round,
        case.customer,
        cadence.steps,
        now,
        cadence_hours(cadence, config["SMS_HOURS"]).in_zone(zone),
        answered_channel=recovery.channel,
        working_hours=config["WORKING_HOURS"].in_zone(zone),
    )
    add_planned(case, recovery.round, planned, now, recovery.id)
    surveyed = [
        plan.due_at
        for plan, step in zip(planned, cadence.steps, strict=True)
        if step.survey_id is not None
    ]
    last = max(surveyed, default=now)
    recovery.answer_deadline_at = last + timedelta(days=config["RECOVERY_WAIT_DAYS"])


def withdraw(recovery: Recovery, now: datetime) -> None:
    """The first answer was changed to a non-negative one: stop what is still to be sent."""
    if _transition(recovery, (RecoveryStatus.OPEN,), RecoveryStatus.WITHDRAWN, now):
        cancelled = cancel_pending(
            recovery.case_id, ANSWER_CHANGED, Message.recovery_id == recovery.id
        )
        record_event(
            recovery.case_id,
            EventKind.RECOVERY_WITHDRAWN,
            {"reason": "the answer was changed to a non-negative one", "cancelled": cancelled},
            at=now,
        )


def resume(recovery: Recovery, now: datetime) -> None:
    """Negative again: send what the withdrawal stopped (the gesture is never issued twice)."""
    if not _transition(recovery, (RecoveryStatus.WITHDRAWN,), RecoveryStatus.OPEN, now):
        return
    stopped = db.session.scalars(
        sa.select(Message).where(
            Message.recovery_id == recovery.id,
            Message.status == MessageStatus.CANCELLED,
            Message.error == ANSWER_CHANGED,
        )
    ).all()
    for message in stopped:
        message.status, message.error = MessageStatus.SCHEDULED, None
        message.due_at = max(message.due_at, now)
    record_event(
        recovery.case_id, EventKind.RECOVERY_RESUMED, {"rescheduled": len(stopped)}, at=now
    )


def on_check_in(recovery: Recovery, answer: Response, survey: Survey, now: datetime) -> None:
    """An answer to the recovery's check-in: positive recovers the case, else it escalates."""
    outcome = verdict(survey, answer.score, answer.comment)
    if outcome == "positive":
        recovered = f"check-in answered {answer.score}"
        if _transition(recovery, (RecoveryStatus.OPEN,), RecoveryStatus.RECOVERED, now, recovered):
            cancel_pending(recovery.case_id, "recovered", Message.recovery_id == recovery.id)
            hours = round((now - recovery.started_at).total_seconds() / 3600, 1)
            detail = {"recovery_id": recovery.id, "score": answer.score, "hours": hours}
            record_event(recovery.case_id, EventKind.RECOVERY_SUCCEEDED, detail, at=now)
            write_back.plan_outcome(
                recovery.case_id,
                "recovered",
                recovery.id,
                f"Service recovery: recovered ({recovered} after {hours} h)",
                now,
            )
            case = db.session.get_one(Case, recovery.case_id)
            kudos.on_recovered(recovery, answer, survey, now)
            emit(
                WebhookEvent.RECOVERY_SUCCEEDED,
                str(recovery.id),
                {"case": case.external_id, **detail},
                case.id,
                now,
            )
        elif recovery.status == RecoveryStatus.RECOVERED:  # its answer changed, still positive
            kudos.on_recovered(recovery, answer, survey, now)
    else:
        said = "still negative" if outcome == "negative" else "not yet satisfied"
        escalate(recovery, f"check-in answered {answer.score}/{survey.scale_max}: {said}", now)


def escalate(recovery: Recovery, reason: str, now: datetime) -> bool:
    """A person takes over: the case is reopened (here and in the helpdesk, with a private
    note), a manager is alerted, and nothing automated goes out about it any more."""
    escalating = (RecoveryStatus.OPEN, RecoveryStatus.RECOVERED)
    if not _transition(recovery, escalating, RecoveryStatus.ESCALATED, now, reason):
        return False
    case = db.session.get_one(Case, recovery.case_id)
    case.escalated_at = now
    kudos.on_escalated(recovery)
    cancel_pending(case.id, "escalated to a person")
    record_event(
        case.id,
        EventKind.RECOVERY_ESCALATED,
        {"recovery_id": recovery.id, "reason": reason},
        at=now,
    )
    if case.status == CaseStatus.CLOSED:
        reopen_case(case, now)
    note = escalation_note(recovery, case, reason)
    if current_app.config["HELPDESK"] != "none":
        plan_call(CallKind.HELPDESK, f"helpdesk:reopen:{recovery.id}", {"note": note}, case.id, now)
    raise_alert(
        f"escalated:{recovery.id}",
        AlertAudience.MANAGER,
        AlertKind.RECOVERY_ESCALATED,
        f"Still negative: {case.external_id} needs a person",
        note,
        case.id,
        now,
    )
    data = {"case": case.external_id, "recovery_id": recovery.id, "reason": reason}
    emit(WebhookEvent.RECOVERY_FAILED, str(recovery.id), data, case.id, now)
    emit(WebhookEvent.CASE_REOPENED, str(recovery.id), {**data, "note": note}, case.id, now)
    db.session.flush()
    return True


def escalation_note(recovery: Recovery, case: Case, reason: str) -> str:
    """The private note for the helpdesk: what the customer said and what was done."""
    lines = [f"Feedback stayed negative after service recovery ({reason})."]
    answers = db.session.scalars(
        sa.select(Response)
        .where(Response.case_id == case.id, Response.round == recovery.round)
        .order_by(Response.created_at, Response.id)
    )
    for answer in answers:
        survey = answer.invitation.survey
        which = "Recovery check-in" if answer.recovery_id else "First answer"
        said = feedback(answer, survey)
        line = f"{which}: {answer.score}/{survey.scale_max}"
        if said["reasons"]:
            line += f"; reasons: {', '.join(said['reasons'])}"
        if answer.comment:
            line += f"; said: “{answer.comment}”"
        if said["make_right"]:
            line += f"; would make it right: “{said['make_right']}”"
        lines.append(line)
    sent = db.session.execute(
        sa.select(CadenceStep.name, Message.channel, Message.status)
        .join(CadenceStep, CadenceStep.id == Message.step_id)
        .where(Message.recovery_id == recovery.id)
        .order_by(Message.due_at)
    )
    lines += [f"{name} ({channel}): {status}" for name, channel, status in sent]
    gesture = recovery.gesture
    if gesture is not None:
        code = f" (code {gesture.code})" if gesture.code else ""
        lines.append(f"Goodwill: {gesture.gesture_type.name}{code}, {gesture.status}")
    else:
        lines.append("Goodwill: none issued")
    for task in recovery.tasks:
        state = f"done: {task.outcome}" if task.completed_at else "open"
        lines.append(f"Task: {task.title} ({task.assignee or 'unassigned'}, {state})")
    return "\n".join(lines)


def expire_overdue(now: datetime, limit: int = 100) -> int:
    """Escalate open recoveries whose check-in got no answer by the deadline, once nothing
    of theirs is left to send; how many."""
    pending = sa.select(Message.id).where(
        Message.recovery_id == Recovery.id, Message.status.in_(PENDING_STATUSES)
    )
    overdue = db.session.scalars(
        sa.select(Recovery)
        .where(
            Recovery.status == RecoveryStatus.OPEN,
            Recovery.answer_deadline_at < now,
            ~sa.exists(pending),
        )
        .limit(limit)
    ).all()
    escalated = 0
    for recovery in overdue:
        escalated += escalate(recovery, "no answer to the recovery check-in", now)
    return escalated
