"""Keeping the figures up to date: each closed case round's fact row is derived again from
the raw rows whenever its case's timeline grows, and the daily rollups change by the
difference between the old and the new fact, in the same transaction.

`round_counts` (pure) says what one round counts for; `refresh` reads the timeline
(CaseEvent ids) since the last refresh and rewrites the facts of the cases it touched;
`rebuild` starts again from nothing. Events younger than the lag (FOLLOWUP_FIGURES_LAG, 30 s)
wait for the next refresh, so a transaction that took an event id early and committed late
is not passed over.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from followup.extensions import db
from followup.models import (
    Cadence,
    CadenceStep,
    Case,
    CaseEvent,
    FigureState,
    Gesture,
    Message,
    Recovery,
    Response,
    RoundFact,
    Survey,
)
from followup.models.cases import CaseStatus, EventKind
from followup.models.figures import COUNTERS, DIMENSIONS, FIGURE_ROLLUPS, REASON_ROLLUPS
from followup.models.messages import DeliveryStatus, MessageStatus
from followup.models.recovery import GestureStatus, RecoveryStatus
from followup.models.surveys import SurveyKind
from surveys.scoring import verdict

LAG_SECONDS = 30
BATCH_EVENTS = 5000
UNDELIVERED = {DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.UNDELIVERED}


@dataclass
class RoundData:
    """What happened in one case round, as plain values (from the database, or made up by
    the benchmark's generator)."""

    closed_at: datetime
    survey_sends: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (channel, status, delivery status) of the round's survey messages, oldest first
    survey_kind: str = ""
    first_score: int | None = None
    first_verdict: str | None = None
    answered: bool = False
    checkin_answered: bool = False
    recovery_status: str | None = None  # open, recovered, escalated, withdrawn
    recovery_seconds: int | None = None
    gesture_cost_cents: int | None = None  # None: no gesture issued
    reopened: bool = False


def recovery_time(counts: dict[str, int]) -> int | None:
    """A round's fact column recovery_seconds: its counted recovery time when it recovered."""
    return counts["recovery_seconds"] if counts["recovered"] else None


def round_channel(survey_sends: list[tuple[str, str, str | None]]) -> str:
    """The channel a round's survey went by: its first survey message sent and not reported
    undelivered (a WhatsApp message refused later, 63003, yields to its SMS fallback), else
    its first one sent; "" when none was."""
    sent = [send for send in survey_sends if send[1] == MessageStatus.SENT]
    reached = [channel for channel, _, delivery in sent if delivery not in UNDELIVERED]
    return next(iter(reached or [channel for channel, _, _ in sent]), "")


def round_counts(data: RoundData) -> dict[str, int]:
    """The COUNTERS one round adds to its rollup row (the definitions of DOMAIN.md)."""
    sent = [send for send in data.survey_sends if send[1] == MessageStatus.SENT]
    counts = dict.fromkeys(COUNTERS, 0)
    counts["closed"] = 1
    counts["invited"] = int(bool(sent))
    counts["delivered"] = int(any(delivery not in UNDELIVERED for _, _, delivery in sent))
    counts["responded"] = int(data.answered)
    score = data.first_score
    if score is not None:
        kind = data.survey_kind
        if kind == SurveyKind.CSAT and 1 <= score <= 5:
            counts["csat_n"], counts["csat_positive"] = 1, int(score >= 4)
        elif kind == SurveyKind.NPS and 0 <= score <= 10:
            counts["nps_n"] = 1
            counts["nps_promoters"], counts["nps_detractors"] = int(score >= 9), int(score <= 6)
        elif kind == SurveyKind.CES and 1 <= score <= 7:
            counts["ces_n"], counts["ces_sum"] = 1, score
    counts["negative"] = int(data.first_verdict == "negative")
    if data.gesture_cost_cents is not None:
        counts["gesture"], counts["gesture_cost_cents"] = 1, data.gesture_cost_cents
    counts["checkin_answered"] = int(data.checkin_answered)
    counts["recovered"] = int(data.recovery_status == RecoveryStatus.RECOVERED)
    counts["escalated"] = int(data.recovery_status == RecoveryStatus.ESCALATED)
    if counts["recovered"]:
        counts["recovery_seconds"] = data.recovery_seconds or 0
    counts["reopened"] = int(data.reopened)
    return counts


@dataclass
class _Rows:
    """The raw rows of some cases that their rounds' facts are made from."""

    cases: dict[int, Case]
    # Looked up with what a close recorded, which may be None.
    lineages: dict[int | None, str]  # cadence id: lineage
    by_name: dict[str | None, str]  # cadence name: lineage (of the first cadence of that name)
    surveys: dict[int, Survey]
    sends: dict[tuple[int, int], list]  # (case, round): survey sends (round_counts' shape)
    surveyed: dict[tuple[int, int], int]  # (case, round): the survey its messages carried
    first: dict[tuple[int, int], Response]  # (case, round): the first answer
    checked_in: set[tuple[int, int]]  # rounds whose recovery check-in was answered
    recoveries: dict[tuple[int, int], Recovery]
    gestures: dict[int, int]  # recovery id: the cost of its gesture (not failed)


def _closes(case_ids: set[int]) -> dict[tuple[int, int], tuple[datetime, dict]]:
    """Every close of these cases: (case, round): (when, the event's detail)."""
    closes = {}
    for case_id, at, detail in db.session.execute(
        sa.select(CaseEvent.case_id, CaseEvent.at, CaseEvent.detail)
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.kind == EventKind.CASE_CLOSED)
        .order_by(CaseEvent.id)
    ):
        closes[(case_id, detail.get("round"))] = (at, detail)
    return closes


def _survey_sends(case_ids: set[int]) -> tuple[dict, dict]:
    """The rounds' survey sends (oldest first) and the survey each round carried."""
    sends = defaultdict(list)
    surveys: dict[tuple[int, int], int | None] = {}
    for case_id, rnd, channel, status, delivery, survey_id in db.session.execute(
        sa.select(Message.case_id, Message.round, Message.channel, Message.status,
                  Message.delivery_status, CadenceStep.survey_id)
        .join(CadenceStep, CadenceStep.id == Message.step_id)
        .where(Message.case_id.in_(case_ids), Message.recovery_id.is_(None),
               CadenceStep.survey_id.is_not(None))
        .order_by(Message.due_at, Message.id)
    ):  # fmt: skip
        sends[(case_id, rnd)].append((channel, status, delivery))
        surveys.setdefault((case_id, rnd), survey_id)
    return sends, surveys


def _rows(case_ids: set[int]) -> _Rows:
    cases = {c.id: c for c in db.session.scalars(sa.select(Case).where(Case.id.in_(case_ids)))}
    lineages: dict[int | None, str] = {}
    by_name: dict[str | None, str] = {}
    for cadence_id, name, lineage in db.session.execute(
        sa.select(Cadence.id, Cadence.name, Cadence.lineage).order_by(Cadence.id)
    ):
        lineages[cadence_id] = lineage
        by_name.setdefault(name, lineage)
    surveys_by_id = {s.id: s for s in db.session.scalars(sa.select(Survey))}
    sends, surveys = _survey_sends(case_ids)
    first: dict[tuple[int, int], Response] = {}
    checked_in: set[tuple[int, int]] = set()
    for response in db.session.scalars(
        sa.select(Response)
        .where(Response.case_id.in_(case_ids))
        .order_by(Response.created_at, Response.id)
    ):
        key = (response.case_id, response.round)
        if response.recovery_id is not None:
            checked_in.add(key)
        else:
            first.setdefault(key, response)
    recoveries = {
        (r.case_id, r.round): r
        for r in db.session.scalars(sa.select(Recovery).where(Recovery.case_id.in_(case_ids)))
    }
    gestures = dict(
        db.session.execute(
            sa.select(Gesture.recovery_id, Gesture.cost_cents).where(
                Gesture.recovery_id.in_([r.id for r in recoveries.values()]),
                Gesture.status != GestureStatus.FAILED,
            )
        ).all()
    )
    return _Rows(cases, lineages, by_name, surveys_by_id, sends, surveys, first, checked_in,
                 recoveries, gestures)  # fmt: skip


def _facts_of(case_ids: set[int]) -> dict[tuple[int, int], dict]:
    """The fact row's values of every closed round of these cases, from the raw rows."""
    rows = _rows(case_ids)
    return {
        (case_id, rnd): _fact(rows, case_id, rnd, closed_at, detail)
        for (case_id, rnd), (closed_at, detail) in _closes(case_ids).items()
    }


def _fact(rows: _Rows, case_id: int, rnd: int, closed_at: datetime, detail: dict) -> dict:
    """One round's fact row values."""
    case = rows.cases[case_id]
    answer = rows.first.get((case_id, rnd))
    survey_id = rows.surveyed.get((case_id, rnd)) or (answer.survey_id if answer else 0)
    recovery = rows.recoveries.get((case_id, rnd))
    current = rnd == case.round
    data = RoundData(
        closed_at=closed_at,
        survey_sends=rows.sends.get((case_id, rnd), []),
        survey_kind=getattr(
            rows.surveys.get(answer.survey_id if answer else survey_id), "kind", ""
        ),
        first_score=answer.score if answer else None,
        first_verdict=verdict(rows.surveys[answer.survey_id], answer.score, answer.comment)
        if answer
        else None,
        answered=answer is not None,
        checkin_answered=(case_id, rnd) in rows.checked_in,
        recovery_status=recovery.status if recovery else None,
        recovery_seconds=int((recovery.outcome_at - recovery.started_at).total_seconds())
        if recovery and recovery.outcome_at
        else None,
        gesture_cost_cents=rows.gestures.get(recovery.id) if recovery else None,
        reopened=case.round > rnd or case.status == CaseStatus.OPEN,
    )
    cadence_id = detail.get("cadence_id") or (case.cadence_id if current else None)
    counts = round_counts(data)
    return {
        "closed_at": closed_at,
        "day": closed_at.date(),
        "team": (case.team or "")[:200],
        "agent": (case.agent_name or "")[:200],
        "channel": round_channel(data.survey_sends),
        "cadence": rows.lineages.get(cadence_id) or rows.by_name.get(detail.get("cadence"), ""),
        "variant": (detail.get("variant") or (case.variant if current else "")) or "",
        "experiment": (detail.get("experiment") or (case.experiment if current else "")) or "",
        "survey_id": survey_id or 0,
        "survey_kind": data.survey_kind,
        "first_score": data.first_score,
        "reasons": list(answer.reason_codes or []) if answer else [],
        "recovery_seconds": recovery_time(counts),
        "counts": counts,
    }


def _bucket(values: dict) -> tuple:
    return (values["day"], *(values[d] for d in DIMENSIONS))


def _rewrite(case_ids: set[int]) -> int:
    """Rewrite these cases' fact rows and move the rollups by the difference."""
    new = _facts_of(case_ids)
    old = {(f.case_id, f.round): f for f in db.session.scalars(
        sa.select(RoundFact).where(RoundFact.case_id.in_(case_ids)))}  # fmt: skip
    figures: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def count(values: dict, sign: int) -> None:
        bucket = _bucket(values)
        for name, value in values["counts"].items():
            figures[bucket][name] += sign * value
        if values["counts"].get("negative"):
            for reason in values["reasons"]:
                reasons[(*bucket, str(reason)[:100])]["negative"] += sign
                reasons[(*bucket, str(reason)[:100])]["recovered"] += (
                    sign * values["counts"]["recovered"]
                )

    for key, fact in old.items():
        count({c: getattr(fact, c) for c in ("day", *DIMENSIONS, "counts", "reasons")}, -1)
        if key not in new:
            db.session.delete(fact)
    for key, values in new.items():
        count(values, +1)
        existing = old.get(key)
        if existing is None:
            db.session.add(RoundFact(case_id=key[0], round=key[1], **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    db.session.flush()
    for model in FIGURE_ROLLUPS:
        _add(model, ("day", *model.dimensions), _projected(figures, model.dimensions))
    for lean in REASON_ROLLUPS:
        _add(lean, ("day", *lean.dimensions, "reason"), _projected(reasons, lean.dimensions))
    return len(new)


def _projected(figures: dict[tuple, dict[str, int]], dimensions: tuple[str, ...]) -> dict:
    """The deltas of full buckets (day, *DIMENSIONS[, reason]) summed into a leaner rollup's
    buckets (day, *dimensions[, reason])."""
    if dimensions == DIMENSIONS:
        return figures
    places = [DIMENSIONS.index(name) + 1 for name in dimensions]
    rest = len(DIMENSIONS) + 1  # a reason bucket's reason
    projected: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bucket, delta in figures.items():
        lean = projected[(bucket[0], *(bucket[i] for i in places), *bucket[rest:])]
        for name, value in delta.items():
            lean[name] += value
    return projected


def _dialect():
    """The INSERT … ON CONFLICT of the database in use."""
    return postgresql if db.engine.dialect.name == "postgresql" else sqlite


def _add(model, keys: tuple[str, ...], deltas: dict[tuple, dict[str, int]]) -> None:
    """Add the deltas to the rollup rows (created at zero when missing), one statement."""
    rows = [
        {**dict(zip(keys, bucket, strict=True)), **delta}
        for bucket, delta in deltas.items()
        if any(delta.values())
    ]
    if not rows:
        return
    columns = sorted({name for row in rows for name in row} - set(keys))
    rows = [{name: row.get(name, 0) for name in (*keys, *columns)} for row in rows]
    statement = _dialect().insert(model).values(rows)
    table = model.__table__
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in columns},
    )
    db.session.execute(statement)


def refresh(now: datetime, lag_seconds: int = LAG_SECONDS, batch: int = BATCH_EVENTS) -> int:
    """Rewrite the facts of the cases whose timeline grew since the last refresh (events
    older than `lag_seconds`, at most `batch` of them); commits; returns the events read.
    Refreshes never overlap on PostgreSQL: the state row stays locked until the commit
    (SQLite, the one-host default, runs them in its one worker)."""
    db.session.execute(
        _dialect().insert(FigureState).values(id=1, last_event_id=0).on_conflict_do_nothing()
    )
    db.session.commit()
    state = db.session.scalars(
        sa.select(FigureState).where(FigureState.id == 1).with_for_update()
    ).one()  # inserted above when missing
    events = db.session.execute(
        sa.select(CaseEvent.id, CaseEvent.case_id)
        .where(CaseEvent.id > state.last_event_id,
               CaseEvent.at <= now - timedelta(seconds=lag_seconds))
        .order_by(CaseEvent.id)
        .limit(batch)
    ).all()  # fmt: skip
    if not events:
        db.session.rollback()
        return 0
    _rewrite({case_id for _, case_id in events})
    state.last_event_id = events[-1][0]
    state.refreshed_at = now
    db.session.commit()
    return len(events)


def rebuild(now: datetime) -> int:
    """Every fact and rollup from nothing (after a restore, or to repair); commits."""
    for model in (*FIGURE_ROLLUPS, *REASON_ROLLUPS, RoundFact, FigureState):
        db.session.execute(sa.delete(model))
    db.session.commit()
    total = 0
    while read := refresh(now, lag_seconds=0):
        total += read
    return total
