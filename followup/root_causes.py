"""Root causes: why a recovery's customer was let down, recorded by a lead once the recovery
has ended (recovered, escalated, or a task of it completed), from the list the admin keeps
(followup.models.root_causes). The recovery keeps the latest cause with its note, who and
when; its timeline keeps every one (EventKind.RECOVERY_ROOT_CAUSE) and each change is
written back to the helpdesk once (followup.write_back.plan_root_cause). The recoveries that
had ended before root causes shipped are not asked for one (Recovery.root_cause_asked, set by
migration 0022).

Also the list's upkeep (add, rename, deactivate: the admin's console page audits them; its
order is followup.positions') and the root causes' figures for a period: per cause, the
causes recorded in the period (root_cause_at) with the shares of the decided ones (recovered
+ escalated) recovered and escalated, the undecided ones (open or withdrawn, ended by a
completed task) counted apart, and the counts by team and by agent; beside them, the
recoveries started in the period that ended without a cause (those asked for one). Read
from the recoveries' own indexes (root_cause_at, then the cause and status; started_at,
then the cause and status). Operations flush; the caller commits."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from followup import write_back
from followup.cases import record_event
from followup.extensions import db
from followup.metrics import Rate
from followup.models import Case, Recovery, RecoveryTask, RootCause
from followup.models.base import moment
from followup.models.cases import EventKind
from followup.models.recovery import RecoveryStatus
from followup.text import clean_text, is_text

MAX_NOTE = 1000
MAX_NAME = 100
MAX_KEY = 50
KEY_PATTERN = r"[a-z0-9][a-z0-9_-]*"
ENDED_STATUSES = (RecoveryStatus.RECOVERED, RecoveryStatus.ESCALATED)
# What a drill-down's ?cause= says besides a cause's key: ended without a cause recorded.
NOT_RECORDED = "none"
# What a drill-down's ?outcome= says besides a status: open or withdrawn (a task completed).
UNDECIDED = "undecided"


class RootCauseError(ValueError):
    """A root cause that cannot be recorded as asked: `status` is the HTTP status it means
    (409: the recovery has not ended; 422: not a cause on the list), `field` the input."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


# -- the list -------------------------------------------------------------------------------


def causes(active_only: bool = False) -> list[RootCause]:
    """The list in its order (only the active causes, when asked)."""
    query = sa.select(RootCause).order_by(RootCause.position)
    if active_only:
        query = query.where(RootCause.active.is_(True))
    return list(db.session.scalars(query))


def choices(
    current: RootCause | None = None, active: dict[str, str] | None = None
) -> dict[str, str]:
    """The causes a lead may choose, key: name, in order (`active`: those already read); a
    recovery's `current` cause stays choosable (with its note changed) after it was
    deactivated."""
    if active is None:
        active = {cause.key: cause.name for cause in causes(active_only=True)}
    found = dict(active)
    if current is not None and current.key not in found:
        found[current.key] = f"{current.name} (no longer on the list)"
    return found


def by_key(key: str) -> RootCause | None:
    """The cause with this key (active or not); None for text no key could be."""
    if len(key) > MAX_KEY or not re.fullmatch(KEY_PATTERN, key):
        return None
    return db.session.scalar(sa.select(RootCause).where(RootCause.key == key))


def key_problem(key: str) -> str | None:
    """Why a new cause's key cannot be taken, else None."""
    if not key:
        return "Enter a key"
    if len(key) > MAX_KEY or not re.fullmatch(KEY_PATTERN, key):
        return (
            f"Use up to {MAX_KEY} lower-case letters, digits, - and _, starting with a letter "
            "or digit"
        )
    if by_key(key) is not None:
        return "A root cause with this key exists already"
    return None


def name_taken(name: str, but: RootCause | None = None) -> bool:
    """Whether another cause has this name (whatever the case): a lead could not tell them
    apart in the list."""
    query = sa.select(RootCause.id).where(sa.func.lower(RootCause.name) == name.lower())
    if but is not None:
        query = query.where(RootCause.id != but.id)
    return db.session.scalar(query.limit(1)) is not None


# -- recording one --------------------------------------------------------------------------


def task_completed(recovery_id: Any) -> sa.ColumnElement[bool]:
    """SQL: a task of the recovery (an id or a column) has been completed."""
    return sa.exists().where(
        RecoveryTask.recovery_id == recovery_id, RecoveryTask.completed_at.is_not(None)
    )


def ended_clause() -> sa.ColumnElement[bool]:
    """SQL: the recovery has ended (recovered, escalated, or a task of it completed)."""
    return sa.or_(Recovery.status.in_(ENDED_STATUSES), task_completed(Recovery.id))


def needs_clause() -> sa.ColumnElement[bool]:
    """SQL: the recovery has ended with no cause recorded, and one is asked for (served by
    the index on root_cause_id, root_cause_asked, started_at)."""
    return sa.and_(
        Recovery.root_cause_id.is_(None), Recovery.root_cause_asked == sa.true(), ended_clause()
    )


def has_ended(recovery: Recovery) -> bool:
    """Whether the recovery has ended (recovered, escalated, or a task of it completed): as
    ended_clause() says it, over the recovery's tasks (loaded once, or already)."""
    return recovery.status in ENDED_STATUSES or any(
        task.completed_at is not None for task in recovery.tasks
    )


def needs_root_cause(recovery: Recovery) -> bool:
    """Whether the queue asks for the recovery's cause: it has ended without one, and is no
    recovery that had ended before root causes were asked for."""
    return recovery.root_cause_id is None and recovery.root_cause_asked and has_ended(recovery)


def chosen(key: str, recovery: Recovery) -> RootCause:
    """The cause a lead chose for this recovery: an active one on the list, or the
    recovery's current one; else RootCauseError (422)."""
    cause = by_key(key)
    if cause is None or not (cause.active or cause.id == recovery.root_cause_id):
        raise RootCauseError(
            422, "root_cause", f"no root cause {key[:MAX_KEY]!r} on the list: choose one of it"
        )
    return cause


def clean_note(note: str | None) -> str | None:
    """The note as kept: followup.text.clean_text's (control characters but line breaks and
    tabs dropped, trimmed); None when blank. RootCauseError (422) when it is too long or no
    Unicode text."""
    note = clean_text(note or "") or ""
    if len(note) > MAX_NOTE:
        raise RootCauseError(422, "note", f"keep the note to {MAX_NOTE} characters or fewer")
    if not is_text(note):
        raise RootCauseError(422, "note", "the note holds a lone surrogate: not text")
    return note or None


def record(recovery: Recovery, key: str, note: str | None, by: str, now: datetime) -> bool:
    """Record (or change) the recovery's root cause with an optional note: a timeline line
    and a helpdesk write-back per change; False when the cause and note are those recorded
    already (nothing new). RootCauseError when the recovery has not ended (409), the cause
    is not on the list or the note is too long (422); nothing is stored then.

    Whether it is new is the UPDATE's own condition (the cause or the note differs, NULL
    counting as a value), not a read before it: of two leads (or an API call and its retry)
    recording the same at once, the second waits for the first's row lock, finds nothing
    left to change and records no second line or note."""
    if not has_ended(recovery):
        raise RootCauseError(
            409,
            "recovery",
            "the recovery has not ended: record its root cause once it is recovered, "
            "escalated or a task of it is completed",
        )
    cause = chosen(key, recovery)
    note = clean_note(note)
    changes = db.session.execute(
        sa.update(Recovery)
        .where(
            Recovery.id == recovery.id,
            sa.or_(
                Recovery.root_cause_id.is_distinct_from(cause.id),
                Recovery.root_cause_note.is_distinct_from(note),
            ),
        )
        .values(
            root_cause_id=cause.id,
            root_cause_note=note,
            root_cause_by=by,
            root_cause_at=now,
            root_cause_changes=Recovery.root_cause_changes + 1,
        )
        .returning(Recovery.root_cause_changes)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.refresh(recovery)
    if changes is None:
        return False
    detail = {
        "recovery_id": recovery.id,
        "root_cause": cause.key,
        "label": cause.name,
        "comment": note,  # "comment": blanked with the customer's words on erasure
        "by": by,
        "changed": changes > 1,
    }
    record_event(recovery.case_id, EventKind.RECOVERY_ROOT_CAUSE, detail, at=now)
    write_back.plan_root_cause(
        recovery.case_id, recovery.id, changes, cause.key, cause.name, note, by, now
    )
    return True


def document(recovery: Recovery) -> dict | None:
    """The recovery's root cause as the queue and the API show it, or None."""
    cause = recovery.root_cause
    if cause is None:
        return None
    return {
        "key": cause.key,
        "name": cause.name,
        "active": cause.active,
        "note": recovery.root_cause_note,
        "by": recovery.root_cause_by,
        "at": recovery.root_cause_at.isoformat() if recovery.root_cause_at else None,
    }


# -- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which recoveries the figures count: from `start` to `end` (UTC days, included), the
    causes recorded then (root_cause_at) and the recoveries started then that ended without
    one; of a team, an agent (the case's agent name), a channel (the one the customer
    answered on)."""

    start: date
    end: date
    team: str = ""
    agent: str = ""
    channel: str = ""

    def previous(self) -> "Scope":
        days = (self.end - self.start).days + 1
        return Scope(self.start - timedelta(days=days), self.start - timedelta(days=1),
                     self.team, self.agent, self.channel)  # fmt: skip


def _where(scope: Scope, column, start: date | None = None) -> list:
    """The clauses for the scope's recoveries by `column` (root_cause_at: recorded then;
    started_at: started then), from `start` when given; the team and agent are the case's
    (the caller joins cases when either is set)."""
    clauses = [
        column >= moment(start or scope.start),
        column < moment(scope.end + timedelta(days=1)),
    ]
    if scope.team:
        clauses.append(Case.team == scope.team)
    if scope.agent:
        clauses.append(Case.agent_name == scope.agent)
    if scope.channel:
        clauses.append(Recovery.channel == scope.channel)
    return clauses


def _of_scope(query, scope: Scope, column, start: date | None = None, joined: bool = False):
    if (scope.team or scope.agent) and not joined:
        query = query.join(Case, Case.id == Recovery.case_id)
    return query.where(*_where(scope, column, start))


@dataclass
class CauseRow:
    """One cause's figures: the recoveries it was recorded for in the period (and the
    previous one); of the decided ones (recovered + escalated: `recovered.denominator`) the
    shares recovered and escalated; the undecided ones (open or withdrawn, ended by a
    completed task) apart."""

    key: str
    name: str
    active: bool
    recorded: int
    previous: int
    recovered: Rate
    escalated: Rate
    undecided: int

    @property
    def decided(self) -> int:
        return self.recovered.denominator

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "active": self.active,
                "recorded": self.recorded, "previous": self.previous, "decided": self.decided,
                "recovered": self.recovered.as_dict(), "escalated": self.escalated.as_dict(),
                "undecided": self.undecided}  # fmt: skip


@dataclass
class Figures:
    causes: list[CauseRow]  # the least recovered first (small samples after the ranked)
    recorded: int  # causes recorded in the period
    recorded_previous: int
    # Recoveries started in the period that ended without a cause (those asked for one).
    not_recorded: int
    not_recorded_previous: int
    by_team: list[tuple[str, dict[str, int]]]  # (team, {cause key: recoveries}), most first
    by_agent: list[tuple[str, dict[str, int]]]


def figures(scope: Scope) -> Figures:
    """The root causes' figures for the scope: four GROUP BY statements on the recoveries
    (per cause and status of the causes recorded in the period and the one before; the
    recoveries started in both that ended without one; per team and cause; per agent and
    cause)."""
    previous = scope.previous()
    in_period = Recovery.root_cause_at >= moment(scope.start)
    statuses = sa.case((Recovery.status.in_(ENDED_STATUSES), Recovery.status), else_=sa.literal(""))
    rows = db.session.execute(
        _of_scope(
            sa.select(in_period.label("now"), Recovery.root_cause_id, statuses.label("status"),
                      sa.func.count().label("n")),
            scope,
            Recovery.root_cause_at,
            previous.start,
        )
        .where(Recovery.root_cause_id.is_not(None))
        .group_by(in_period, Recovery.root_cause_id, statuses)
    ).all()  # fmt: skip
    counts: dict[int, dict[str, int]] = {}
    for now, cause_id, status, n in rows:
        into = counts.setdefault(cause_id, {"recorded": 0, "previous": 0, "recovered": 0,
                                            "escalated": 0})  # fmt: skip
        if not now:
            into["previous"] += n
            continue
        into["recorded"] += n
        if status:
            into[status] += n
    listed = causes()
    by_id = {cause.id: cause for cause in listed}
    found = []
    for cause in listed:
        got = counts.get(cause.id)
        if got is None or not (got["recorded"] or got["previous"]):
            continue
        decided = got["recovered"] + got["escalated"]
        found.append(CauseRow(cause.key, cause.name, cause.active, got["recorded"],
                              got["previous"], Rate(got["recovered"], decided),
                              Rate(got["escalated"], decided),
                              got["recorded"] - decided))  # fmt: skip
    started_now = Recovery.started_at >= moment(scope.start)
    missing = {
        bool(now): n
        for now, n in db.session.execute(
            _of_scope(sa.select(started_now, sa.func.count()), scope, Recovery.started_at,
                      previous.start)
            .where(needs_clause())
            .group_by(started_now)
        )
    }  # fmt: skip
    return Figures(
        causes=least_recovered_first(found),
        recorded=sum(got["recorded"] for got in counts.values()),
        recorded_previous=sum(got["previous"] for got in counts.values()),
        not_recorded=missing.get(True, 0),
        not_recorded_previous=missing.get(False, 0),
        by_team=_by(Case.team, scope, by_id),
        by_agent=_by(Case.agent_name, scope, by_id),
    )


def least_recovered_first(rows: list[CauseRow]) -> list[CauseRow]:
    """The causes that recover least first, by their recovered share of the decided ones
    (then the most decided); those without a share to rank (none decided this period, or a
    small sample) after, the most recorded first, then by name."""
    ranked = [r for r in rows if r.decided and not r.recovered.small]
    ranked.sort(key=lambda r: (r.recovered.value, -r.decided, r.name.lower()))
    others = sorted((r for r in rows if r not in ranked),
                    key=lambda r: (-r.recorded, r.name.lower()))  # fmt: skip
    return ranked + others


def _by(column, scope: Scope, by_id: dict[int, RootCause]) -> list[tuple[str, dict[str, int]]]:
    """Causes recorded in the period per value of the case's column and cause, the values
    with the most first."""
    rows = db.session.execute(
        _of_scope(
            sa.select(column, Recovery.root_cause_id, sa.func.count())
            .join(Case, Case.id == Recovery.case_id)
            .where(Recovery.root_cause_id.is_not(None)),
            scope,
            Recovery.root_cause_at,
            joined=True,
        ).group_by(column, Recovery.root_cause_id)
    )
    values: dict[str, dict[str, int]] = {}
    for value, cause_id, n in rows:
        key = by_id[cause_id].key
        into = values.setdefault(value or "", {})
        into[key] = into.get(key, 0) + n
    return sorted(values.items(), key=lambda item: (-sum(item[1].values()), item[0].lower()))


def recoveries_query(scope: Scope, cause: str = "", outcome: str = ""):
    """The recoveries behind a number: (Recovery, case number, team, agent, cause key, cause
    name). `cause` a key or "" (every one with a cause): those whose cause was recorded in
    the period, the latest recorded first; NOT_RECORDED: those started in the period that
    ended without one (and are asked for one), the latest started first. `outcome`
    recovered, escalated, UNDECIDED (open or withdrawn) or "" (any)."""
    query = (
        sa.select(Recovery, Case.external_id, Case.team, Case.agent_name, RootCause.key,
                  RootCause.name)
        .join(Case, Case.id == Recovery.case_id)
        .outerjoin(RootCause, RootCause.id == Recovery.root_cause_id)
    )  # fmt: skip
    if cause == NOT_RECORDED:
        query = _of_scope(query, scope, Recovery.started_at, joined=True).where(needs_clause())
        query = query.order_by(Recovery.started_at.desc(), Recovery.id.desc())
    else:
        query = _of_scope(query, scope, Recovery.root_cause_at, joined=True)
        query = query.where(Recovery.root_cause_id.is_not(None))
        if cause:
            query = query.where(RootCause.key == cause)
        query = query.order_by(Recovery.root_cause_at.desc(), Recovery.id.desc())
    if outcome == UNDECIDED:
        query = query.where(Recovery.status.not_in(ENDED_STATUSES))
    elif outcome:
        query = query.where(Recovery.status == outcome)
    return query


def count_of(query) -> int:
    """How many rows the query has."""
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    return db.session.scalar(counted) or 0
