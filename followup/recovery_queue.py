"""What people and templates see of recoveries: the lead's recovery queue (each recovery with
the customer's words, the gesture and its tasks, whether it has ended and its root cause),
completing a task (with the recovery's root cause, when the lead gives it), and the details a
recovery's messages show (template_details). Each operation flushes; the caller commits."""

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import selectinload

from followup import root_causes, write_back
from followup.cases import record_event
from followup.extensions import db
from followup.models import Case, Gesture, Recovery, RecoveryTask
from followup.models.cases import EventKind
from followup.task_documents import task_document
from surveys.responses import feedback, latest_answers, reason_translations


def template_details(recovery_ids: set[int]) -> dict[int, dict]:
    """For each recovery, what its messages' templates show: `feedback` (what the customer
    said: the round's latest answer), `reason_translations` (the lead's labels of its reasons
    in other languages) and `gesture` (what we give, or None; its offer with the offer in
    other languages); outbox_render.translated() picks from them."""
    if not recovery_ids:
        return {}
    recoveries = db.session.scalars(
        sa.select(Recovery)
        .where(Recovery.id.in_(recovery_ids))
        .options(selectinload(Recovery.gesture).selectinload(Gesture.gesture_type))
    ).all()
    answers = latest_answers({(r.case_id, r.round) for r in recoveries})
    details = {}
    for recovery in recoveries:
        answer = answers[recovery.case_id, recovery.round]
        gesture = None
        if recovery.gesture is not None:
            kind = recovery.gesture.gesture_type
            gesture = {
                "kind": kind.kind,
                "name": kind.name,
                "offer": kind.offer,
                "offer_translations": kind.offer_translations or {},
                "code": recovery.gesture.code,
            }
        survey = answer.invitation.survey
        details[recovery.id] = {
            "feedback": feedback(answer, survey),
            "reason_translations": reason_translations(survey),
            "gesture": gesture,
        }
    return details


# A queue filter besides the statuses: the ended recoveries no root cause was recorded for.
NEEDS_ROOT_CAUSE = "needs_root_cause"


def queue_entries(
    status: str | None, now: datetime, limit: int, case_id: int | None = None
) -> list[dict]:
    """The lead's recovery queue: each recovery with the customer's words, the reason, what
    was done, its tasks with the time left against their due time, whether it has ended,
    whether its root cause is asked for (root_causes.needs_root_cause) and its root cause.
    Recoveries with an overdue task come first (most overdue first), then those with the
    soonest task due, then the oldest. `status`: a RecoveryStatus, or NEEDS_ROOT_CAUSE."""
    soonest_task = (
        sa.select(sa.func.min(RecoveryTask.due_at))
        .where(RecoveryTask.recovery_id == Recovery.id, RecoveryTask.completed_at.is_(None))
        .scalar_subquery()
    )
    query = (
        sa.select(Recovery)
        .options(
            selectinload(Recovery.case).selectinload(Case.customer),
            selectinload(Recovery.gesture).selectinload(Gesture.gesture_type),
            selectinload(Recovery.tasks),
            selectinload(Recovery.root_cause),
        )
        .order_by(soonest_task.is_(None), soonest_task, Recovery.started_at, Recovery.id)
    )
    if status == NEEDS_ROOT_CAUSE:
        query = query.where(root_causes.needs_clause())
    elif status:
        query = query.where(Recovery.status == status)
    if case_id is not None:
        query = query.where(Recovery.case_id == case_id)
    recoveries = db.session.scalars(query.limit(limit)).all()
    answers = latest_answers({(r.case_id, r.round) for r in recoveries})
    entries = []
    for recovery in recoveries:
        answer = answers[recovery.case_id, recovery.round]
        case = recovery.case
        tasks = [task_document(task, now) for task in recovery.tasks]
        gesture = recovery.gesture
        entries.append(
            {
                "id": recovery.id,
                "status": recovery.status,
                "case": case.external_id,
                "subject": case.subject,
                "agent": case.agent_name,
                "customer": case.customer.name,
                "channel": recovery.channel,
                "started_at": recovery.started_at.isoformat(),
                "feedback": feedback(answer, answer.invitation.survey),
                "rule": recovery.rule_name,
                "gesture": None
                if gesture is None
                else {
                    "type": gesture.gesture_type.key,
                    "name": gesture.gesture_type.name,
                    "code": gesture.code,
                    "status": gesture.status,
                    "cost_cents": gesture.cost_cents,
                },
                "tasks": tasks,
                "outcome_at": recovery.outcome_at.isoformat() if recovery.outcome_at else None,
                "outcome_reason": recovery.outcome_reason,
                "ended": root_causes.has_ended(recovery),
                "root_cause_needed": root_causes.needs_root_cause(recovery),
                "root_cause": root_causes.document(recovery),
            }
        )
    return entries


def complete_task(
    task_id: int,
    outcome: str,
    by: str,
    now: datetime,
    root_cause: str | None = None,
    note: str | None = None,
) -> RecoveryTask | None:
    """Record a task's outcome, and the recovery's root cause (a key on the list, with an
    optional note) when given; None when it was completed already (by anyone).
    root_causes.RootCauseError (422) when the cause or note cannot be taken: nothing is
    changed then."""
    task = db.session.get_one(RecoveryTask, task_id)  # the callers checked it exists
    recovery = db.session.get_one(Recovery, task.recovery_id)
    if root_cause:
        root_causes.chosen(root_cause, recovery)
        root_causes.clean_note(note)
    elif note and note.strip():
        raise root_causes.RootCauseError(
            422, "root_cause", "choose the root cause the note is about"
        )
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(RecoveryTask)
            .where(RecoveryTask.id == task_id, RecoveryTask.completed_at.is_(None))
            .values(completed_at=now, completed_by=by, outcome=outcome)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(task)
    if not won:
        return None
    record_event(
        task.case_id,
        EventKind.TASK_COMPLETED,
        {"task_id": task.id, "title": task.title, "by": by, "outcome": outcome},
        at=now,
    )
    write_back.plan_outcome(
        task.case_id, "task", task.id, f"Recovery task done: {task.title} ({by}): {outcome}", now
    )
    if root_cause:
        root_causes.record(recovery, root_cause, note, by, now)
    return task
