"""Root causes: why a recovery's customer was let down, recorded by a lead once the recovery
has ended (recovered, escalated, or a task of it completed), from the list the admin keeps
(followup.models.root_causes). The recovery keeps the latest cause with its note, who and
when; its timeline keeps every one (EventKind.RECOVERY_ROOT_CAUSE) and each change is
written back to the helpdesk once (followup.write_back.plan_root_cause).

Also the list's upkeep (add, rename, deactivate: the admin's console page audits them; its
order is followup.positions') and the root causes' figures for a period: per cause, the
ended recoveries with the shares recovered and escalated, and the counts by team and by
agent. A period counts the
recoveries that started in it (the first negative answer came in), read from the
recoveries' own indexes (started_at, then the cause and status). Operations flush; the
caller commits."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from followup import write_back
from followup.cases import record_event
from followup.extensions import db
from followup.metrics import Rate
from followup.models import Case, Recovery, RecoveryTask, RootCause
from followup.models.cases import EventKind
from followup.models.recovery import RecoveryStatus

MAX_NOTE = 1000
MAX_NAME = 100
MAX_KEY = 50
KEY_PATTERN = r"[a-z0-9][a-z0-9_-]*"
# The list a new installation starts with (migration 0022 inserts the same).
DEFAULTS = (
    ("product_defect", "Product defect"),
    ("policy", "Policy"),
    ("agent_knowledge", "Agent knowledge"),
    ("delay", "Delay"),
    ("communication", "Communication"),
)
ENDED_STATUSES = (RecoveryStatus.RECOVERED, RecoveryStatus.ESCALATED)
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\r\t") | {0x7F: None}
# What a drill-down's ?cause= says besides a cause's key: ended without a cause recorded.
NOT_RECORDED = "none"


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


def ensure_defaults() -> int:
    """Put the default causes on an empty list (a database made without the migrations'
    seed, such as the tests'); how many were added."""
    if db.session.scalar(sa.select(sa.func.count(RootCause.id))):
        return 0
    for position, (key, name) in enumerate(DEFAULTS):
        db.session.add(RootCause(key=key, name=name, active=True, position=position))
    db.session.flush()
    return len(DEFAULTS)


# -- recording one --------------------------------------------------------------------------


def task_completed(recovery_id: Any) -> sa.ColumnElement[bool]:
    """SQL: a task of the recovery (an id or a column) has been completed."""
    return sa.exists().where(
        RecoveryTask.recovery_id == recovery_id, RecoveryTask.completed_at.is_not(None)
    )


def ended_clause() -> sa.ColumnElement[bool]:
    """SQL: the recovery has ended (recovered, escalated, or a task of it completed)."""
    return sa.or_(Recovery.status.in_(ENDED_STATUSES), task_completed(Recovery.id))


def has_ended(recovery: Recovery) -> bool:
    if recovery.status in ENDED_STATUSES:
        return True
    return bool(db.session.scalar(sa.select(task_completed(recovery.id))))


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
    """The note as kept: control characters but line breaks and tabs dropped, trimmed; None
    when blank. RootCauseError (422) when it is too long or no Unicode text."""
    note = (note or "").translate(_CONTROL).strip()
    if len(note) > MAX_NOTE:
        raise RootCauseError(422, "note", f"keep the note to {MAX_NOTE} characters or fewer")
    try:
        note.encode()
    except UnicodeEncodeError:
        raise RootCauseError(422, "note", "the note holds a lone surrogate: not text") from None
    return note or None


def record(recovery: Recovery, key: str, note: str | None, by: str, now: datetime) -> bool:
    """Record (or change) the recovery's root cause with an optional note: a timeline line
    and a helpdesk write-back per change; False when the cause and note are those recorded
    already (nothing new). RootCauseError when the recovery has not ended (409), the cause
    is not on the list or the note is too long (422); nothing is stored then."""
    if not has_ended(recovery):
        raise RootCauseError(
            409,
            "recovery",
            "the recovery has not ended: record its root cause once it is recovered, "
            "escalated or a task of it is completed",
        )
    cause = chosen(key, recovery)
    note = clean_note(note)
    if recovery.root_cause_id == cause.id and recovery.root_cause_note == note:
        return False
    # One statement: a concurrent change waits for this one and counts after it.
    changes = db.session.execute(
        sa.update(Recovery)
        .where(Recovery.id == recovery.id)
        .values(
            root_cause_id=cause.id,
            root_cause_note=note,
            root_cause_by=by,
            root_cause_at=now,
            root_cause_changes=Recovery.root_cause_changes + 1,
        )
        .returning(Recovery.root_cause_changes)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    db.session.refresh(recovery)
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
    """Which recoveries the figures count: started from `start` to `end` (UTC days,
    included), of a team, an agent (the case's agent name), a channel (the one the customer
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


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _where(scope: Scope, start: date | None = None) -> list:
    """The clauses for the scope's recoveries (from `start` when given); the team and
    agent are the case's (the caller joins cases when either is set)."""
    clauses = [
        Recovery.started_at >= _moment(start or scope.start),
        Recovery.started_at < _moment(scope.end + timedelta(days=1)),
    ]
    if scope.team:
        clauses.append(Case.team == scope.team)
    if scope.agent:
        clauses.append(Case.agent_name == scope.agent)
    if scope.channel:
        clauses.append(Recovery.channel == scope.channel)
    return clauses


def _of_scope(query, scope: Scope, start: date | None = None, joined: bool = False):
    if (scope.team or scope.agent) and not joined:
        query = query.join(Case, Case.id == Recovery.case_id)
    return query.where(*_where(scope, start))


@dataclass
class CauseRow:
    """One cause's figures: the ended recoveries that name it this period (and the previous
    one), the shares of them recovered and escalated."""

    key: str
    name: str
    active: bool
    ended: int
    previous: int
    recovered: Rate
    escalated: Rate

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "active": self.active,
                "ended": self.ended, "previous": self.previous,
                "recovered": self.recovered.as_dict(),
                "escalated": self.escalated.as_dict()}  # fmt: skip


@dataclass
class Figures:
    causes: list[CauseRow]  # the least recovered first (small samples after the ranked)
    not_recorded: int  # ended recoveries of the period without a cause recorded
    not_recorded_previous: int
    ended: int  # ended recoveries of the period, with a cause or not
    by_team: list[tuple[str, dict[str, int]]]  # (team, {cause key: recoveries}), most first
    by_agent: list[tuple[str, dict[str, int]]]


def figures(scope: Scope) -> Figures:
    """The root causes' figures for the scope: three GROUP BY statements on the recoveries
    (per cause and status for the period and the one before; per team and cause; per agent
    and cause)."""
    previous = scope.previous()
    in_period = Recovery.started_at >= _moment(scope.start)
    statuses = sa.case((Recovery.status.in_(ENDED_STATUSES), Recovery.status), else_=sa.literal(""))
    ended = sa.or_(Recovery.root_cause_id.is_not(None), ended_clause())
    rows = db.session.execute(
        _of_scope(
            sa.select(in_period.label("now"), Recovery.root_cause_id, statuses.label("status"),
                      sa.func.count().label("n")),
            scope,
            previous.start,
        )
        .where(ended)
        .group_by(in_period, Recovery.root_cause_id, statuses)
    ).all()  # fmt: skip
    counts: dict[int | None, dict[str, int]] = {}
    for now, cause_id, status, n in rows:
        into = counts.setdefault(cause_id, {"ended": 0, "previous": 0, "recovered": 0,
                                            "escalated": 0})  # fmt: skip
        if not now:
            into["previous"] += n
            continue
        into["ended"] += n
        if status:
            into[status] += n
    listed = causes()
    by_id = {cause.id: cause for cause in listed}
    found = []
    for cause in listed:
        got = counts.get(cause.id)
        if got is None or not (got["ended"] or got["previous"]):
            continue
        found.append(CauseRow(cause.key, cause.name, cause.active, got["ended"], got["previous"],
                              Rate(got["recovered"], got["ended"]),
                              Rate(got["escalated"], got["ended"])))  # fmt: skip
    missing = counts.get(None, {"ended": 0, "previous": 0})
    return Figures(
        causes=least_recovered_first(found),
        not_recorded=missing["ended"],
        not_recorded_previous=missing["previous"],
        ended=sum(got["ended"] for got in counts.values()),
        by_team=_by(Case.team, scope, by_id),
        by_agent=_by(Case.agent_name, scope, by_id),
    )


def least_recovered_first(rows: list[CauseRow]) -> list[CauseRow]:
    """The causes that recover least first, by their recovered share (then the most ended);
    those without a share to rank (no ended recovery this period, or a small sample) after,
    by name."""
    ranked = [r for r in rows if r.ended and not r.recovered.small]
    ranked.sort(key=lambda r: (r.recovered.value, -r.ended, r.name.lower()))
    others = sorted((r for r in rows if r not in ranked), key=lambda r: (-r.ended, r.name.lower()))
    return ranked + others


def _by(column, scope: Scope, by_id: dict[int, RootCause]) -> list[tuple[str, dict[str, int]]]:
    """Recoveries with a cause per value of the case's column and cause, the values with
    the most first."""
    rows = db.session.execute(
        _of_scope(
            sa.select(column, Recovery.root_cause_id, sa.func.count())
            .join(Case, Case.id == Recovery.case_id)
            .where(Recovery.root_cause_id.is_not(None)),
            scope,
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
    """The recoveries behind a number, newest first: (Recovery, case number, team, agent,
    cause key, cause name). `cause` a key, NOT_RECORDED (ended without a cause) or "" (every
    one with a cause); `outcome` recovered, escalated or "" (any)."""
    query = (
        sa.select(Recovery, Case.external_id, Case.team, Case.agent_name, RootCause.key,
                  RootCause.name)
        .join(Case, Case.id == Recovery.case_id)
        .outerjoin(RootCause, RootCause.id == Recovery.root_cause_id)
        .order_by(Recovery.started_at.desc(), Recovery.id.desc())
    )  # fmt: skip
    query = _of_scope(query, scope, joined=True)
    if cause == NOT_RECORDED:
        query = query.where(Recovery.root_cause_id.is_(None), ended_clause())
    elif cause:
        query = query.where(RootCause.key == cause)
    else:
        query = query.where(Recovery.root_cause_id.is_not(None))
    if outcome:
        query = query.where(Recovery.status == outcome)
    return query


def count_of(query) -> int:
    """How many rows the query has."""
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    return db.session.scalar(counted) or 0
