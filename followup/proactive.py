"""Proactive outreach: a case whose risk a cadence's rule asks for gets a task for a person to
reach out before its survey; its outcome is recorded and counted. A deterministic share of the
matching case rounds (FOLLOWUP_PROACTIVE_HOLDOUT_PERCENT, by a hash of case id and round) is
held out: they take the next matching cadence or the default and are noted, the comparison
group the dashboard measures the tasks against (followup.dashboard.proactive). Tasks open, and
rounds are held out, only for a cadence its rules matched with a risk rule (min_risk), so the
handled and the held-out rounds come from the same rule. Operations flush; the caller
commits."""

import hashlib
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import CursorResult

from followup.cadences import MIN_RISK
from followup.extensions import db
from followup.models import Cadence, CadenceStep, Case, CaseEvent, Customer, Message
from followup.models.cadences import CadencePurpose
from followup.models.cases import EventKind
from followup.models.proactive import (
    RECORDED_OUTCOMES,
    ProactiveHoldout,
    ProactiveOutcome,
    ProactiveTask,
)
from followup.task_documents import task_document

MAX_NOTE = 2000


class ProactiveError(Exception):
    """A completion that cannot be taken: 409 (completed already) or 422 (an outcome not on
    the list, a note too long); `field` names the input. (An unknown task is the caller's 404,
    before a task is there to complete.)"""

    def __init__(self, status: int, field: str | None, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def in_holdout(case_id: int, round_number: int, percent: int) -> bool:
    """Whether this case round is in the holdout: the same answer every time (a hash of the
    case id and the round), about `percent` in 100 of them."""
    digest = hashlib.sha256(f"proactive:{case_id}:{round_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def outreaching(cadence: Cadence) -> bool:
    """Whether the cadence reaches out by its risk: a close cadence with a proactive task and
    a risk rule (min_risk). Only these hold out, and only these open tasks (when their rules
    chose them)."""
    return (
        bool(cadence.proactive_task)
        and cadence.purpose == CadencePurpose.CLOSE
        and (cadence.rules or {}).get(MIN_RISK) is not None
    )


def holds_out(case: Case, cadence: Cadence) -> bool:
    """Whether the close about to start the case's next round skips this cadence (one its
    rules matched) for the holdout: only cadences that reach out by risk hold out."""
    if not outreaching(cadence):
        return False
    percent = current_app.config.get("PROACTIVE_HOLDOUT_PERCENT", 10)
    return in_holdout(case.id, (case.round or 0) + 1, percent)


def route(
    case: Case,
    cadence: Cadence,
    now: datetime,
    held_out_from: Cadence | None = None,
    by_rule: bool = False,
) -> ProactiveTask | None:
    """After a close planned its round: note the round as held out of `held_out_from` (the
    proactive cadence the holdout skipped), or open the task the chosen cadence asks for,
    due `proactive_due_hours` after the close and never after the round's first survey. A
    task opens only when the cadence's own rules chose it (`by_rule`: not named by the caller,
    not the default, not an experiment's variant), as only those rounds can be held out."""
    if held_out_from is not None:
        db.session.add(
            ProactiveHoldout(
                case_id=case.id,
                round=case.round,
                cadence_id=held_out_from.id,
                risk_score=case.risk_score,
                created_at=now,
            )
        )
        _record(
            case.id,
            EventKind.PROACTIVE_HELD_OUT,
            {"round": case.round, "cadence": held_out_from.name,
             "cadence_id": held_out_from.id, "risk_score": case.risk_score},
            at=now,
        )  # fmt: skip
        return None
    if not by_rule or not outreaching(cadence):
        return None
    due_at = now + timedelta(hours=cadence.proactive_due_hours or 24)
    first_survey = db.session.scalar(
        sa.select(sa.func.min(Message.due_at))
        .join(CadenceStep, CadenceStep.id == Message.step_id)
        .where(
            Message.case_id == case.id,
            Message.round == case.round,
            CadenceStep.survey_id.is_not(None),
        )
    )
    if first_survey is not None and first_survey < due_at:
        due_at = first_survey  # the editor refuses this; a safety net for older versions
    task = ProactiveTask(
        case_id=case.id,
        round=case.round,
        cadence_id=cadence.id,
        risk_score=case.risk_score,
        title=(cadence.proactive_task or "")[:300],
        assignee=case.agent_email or case.agent_name,
        due_at=due_at,
        created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    _record(
        case.id,
        EventKind.PROACTIVE_TASK_CREATED,
        {"task_id": task.id, "round": case.round, "title": task.title,
         "assignee": task.assignee, "due_at": due_at.isoformat(),
         "risk_score": case.risk_score, "cadence": cadence.name},
        at=now,
    )  # fmt: skip
    return task


def _record(case_id: int, kind: EventKind, detail: dict, at: datetime) -> None:
    """A line on the case's timeline (as cases.record_event writes it: cases imports this
    module, so it cannot be imported here)."""
    db.session.execute(
        sa.insert(CaseEvent).values(case_id=case_id, kind=kind, detail=detail, at=at)
    )


def clean_note(note: str | None) -> str | None:
    """The note as stored (trimmed; None when empty), else ProactiveError 422."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise ProactiveError(422, "note", "the note must be text")
    note = note.replace("\x00", "").strip()
    if len(note) > MAX_NOTE:
        raise ProactiveError(422, "note", f"keep the note to {MAX_NOTE} characters or fewer")
    return note or None


def complete(
    task: ProactiveTask, outcome: str, note: str | None, by: str, now: datetime
) -> ProactiveTask:
    """Record what came of reaching out; ProactiveError 422 for an outcome not on the list or
    a note too long, 409 when the task was completed already (by anyone)."""
    if outcome not in RECORDED_OUTCOMES:
        raise ProactiveError(
            422, "outcome", f"the outcome must be one of {', '.join(RECORDED_OUTCOMES)}"
        )
    note = clean_note(note)
    if not _finish(task, outcome, note, by, now):
        raise ProactiveError(
            409, None, f"completed already by {task.completed_by or 'someone'}: {task.outcome}"
        )
    _record(
        task.case_id,
        EventKind.PROACTIVE_TASK_COMPLETED,
        # The note stays on the task (erasure redacts it there), not on the timeline.
        {
            "task_id": task.id,
            "title": task.title,
            "by": by,
            "outcome": outcome,
            "noted": note is not None,
        },
        at=now,
    )
    return task


def cancel_open(case: Case, now: datetime) -> int:
    """A reopened case: its round's open task is closed as cancelled ("case reopened"); the
    next close assesses the risk again. Returns how many (0 or 1)."""
    return _cancel(
        sa.select(ProactiveTask).where(
            ProactiveTask.case_id == case.id,
            ProactiveTask.round == case.round,
            ProactiveTask.completed_at.is_(None),
        ),
        "case reopened",
        now,
    )


def cancel_all_open(case_ids: list[int], reason: str, now: datetime) -> int:
    """These cases' open tasks closed as cancelled for `reason` (erasure and retention: the
    customer's data was removed, nobody is to reach out). Returns how many."""
    return _cancel(
        sa.select(ProactiveTask).where(
            ProactiveTask.case_id.in_(case_ids), ProactiveTask.completed_at.is_(None)
        ),
        reason,
        now,
    )


def _cancel(query: sa.Select, reason: str, now: datetime) -> int:
    """The open tasks the query finds, each closed as cancelled by the conditional UPDATE
    (one completed meanwhile is left as it is), with a line on its case's timeline."""
    cancelled = 0
    for task in db.session.scalars(query.order_by(ProactiveTask.id)).all():
        if not _finish(task, ProactiveOutcome.CANCELLED, reason, None, now):
            continue
        _record(
            task.case_id,
            EventKind.PROACTIVE_TASK_COMPLETED,
            {"task_id": task.id, "title": task.title, "by": None,
             "outcome": ProactiveOutcome.CANCELLED, "reason": reason},
            at=now,
        )  # fmt: skip
        cancelled += 1
    return cancelled


def _finish(
    task: ProactiveTask, outcome: str, note: str | None, by: str | None, now: datetime
) -> bool:
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(ProactiveTask)
            .where(ProactiveTask.id == task.id, ProactiveTask.completed_at.is_(None))
            .values(completed_at=now, completed_by=by, outcome=outcome, note=note)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(task)
    return bool(won)


def open_tasks(now: datetime, limit: int) -> list[dict]:
    """The queue's open tasks, soonest due first (overdue ones on top), with the case, the
    customer, the risk and the time left."""
    rows = db.session.execute(
        sa.select(ProactiveTask, Case.external_id, Case.subject, Case.agent_name, Customer.name)
        .join(Case, Case.id == ProactiveTask.case_id)
        .join(Customer, Customer.id == Case.customer_id)
        .where(ProactiveTask.completed_at.is_(None))
        .order_by(ProactiveTask.due_at, ProactiveTask.id)
        .limit(limit)
    ).all()
    return [
        {**document(task, now, external_id), "subject": subject, "agent": agent,
         "customer": customer}
        for task, external_id, subject, agent, customer in rows
    ]  # fmt: skip


def document(task: ProactiveTask, now: datetime, case: str | None = None) -> dict:
    """A task as the API and the queue show it, its case by external id (`case`, else read
    from the task: load it with the task when listing many)."""
    return {
        **task_document(task, now),
        "case": case if case is not None else task.case.external_id,
        "round": task.round,
        "risk_score": task.risk_score,
        "note": task.note,
        "created_at": task.created_at.isoformat(),
    }
