"""The figures the dashboard, the weekly digest and the threshold alert rules share, read
from the rollups (the smallest figure rollup that has the dimensions asked for, the smallest
reasons rollup likewise, RoundFact) for a set of Filters: the COUNTERS summed over a period
(`sums`), the headline figures from them (`headline`, with `median_recovery_seconds`), the
reasons named by negative first answers against the period before (`reasons`), the weekly
trends, and the recoveries overdue (a task past its due time, or the check-in's deadline).
The dashboard (followup.dashboard.queries) calls these, so every reader's numbers are the
same by construction. Every query aggregates in SQL (GROUP BY); Python only shapes the sums.

Days are the rollups' days: a fact's day is its close's UTC date."""

import math
import operator
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa

from followup.extensions import db
from followup.languages import translatable
from followup.metrics import SMALL_SAMPLE, Rate, ces, median, nps
from followup.models import Case, Recovery, RecoveryTask, Survey
from followup.models.figures import (
    COUNTERS,
    RoundFact,
    reason_rollup_for,
    rollup_for,
)
from followup.models.recovery import RecoveryStatus

TREND_WEEKS = 12


@dataclass(frozen=True)
class Filters:
    """What a figure is of: a period of rollup days and the dimensions that narrow it (the
    dashboard reads them from its URL; the digest and the alert rules make them)."""

    start: date  # first day of the period (UTC)
    end: date  # last day, included
    team: str = ""
    agent: str = ""
    channel: str = ""
    cadence: str = ""  # a cadence lineage
    survey_id: int = 0
    reason: str = ""
    # Several agent names at once (an agent user's own figures: agent IN (...)); None: not
    # narrowed by it; () narrows to nothing. Not with `agent`; never in a URL.
    agents: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.agent and self.agents is not None:
            raise ValueError("narrow by agent or by agents, not both")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The same filters over the period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days),
                       end=self.start - timedelta(days=1))  # fmt: skip

    def dimensions(self) -> dict[str, object]:
        """The filters that narrow the rollups' dimensions (set ones only; the agent's value
        is the tuple of `agents` when they are given)."""
        values = {"team": self.team, "agent": self.agent, "channel": self.channel,
                  "cadence": self.cadence, "survey_id": self.survey_id}  # fmt: skip
        found = {name: value for name, value in values.items() if value}
        if self.agents is not None:
            found["agent"] = self.agents
        return found

    def query(self, **changes) -> dict[str, str]:
        """These filters as URL arguments (for links that keep them), with changes."""
        if changes.keys() - FIELDS:
            raise TypeError(f"not a filter: {', '.join(sorted(changes.keys() - FIELDS))}")
        values = {**vars(self), **changes}
        args = {"from": values["start"].isoformat(), "to": values["end"].isoformat()}
        for name, argument in ARGUMENTS:
            if value := values[name]:
                args[argument] = str(value)
        return args


FIELDS = frozenset(field.name for field in fields(Filters))
# The filters after the period, in order, and their names in the URL.
ARGUMENTS = tuple(
    (field.name, "survey" if field.name == "survey_id" else field.name)
    for field in fields(Filters)
    if field.name not in ("start", "end", "agents")
)


def rollup_where(model, filters: Filters, start: date, end: date) -> list:
    """The clauses that narrow a rollup (or RoundFact) to these days and the filters'
    dimensions."""
    clauses = [model.day >= start, model.day <= end]
    for name, value in filters.dimensions().items():
        column = getattr(model, name)
        clauses.append(column.in_(value) if isinstance(value, tuple) else column == value)
    return clauses


@cache  # the same expressions for every request
def _sum_columns(model) -> list:
    return [sa.func.coalesce(sa.func.sum(getattr(model, c)), 0).label(c) for c in COUNTERS]


def sums(filters: Filters, dimensions: tuple[str, ...] = ()) -> dict[str, dict[Any, dict]]:
    """The COUNTERS summed over the period, in all ({"": {"": counts}}) and per value of each
    dimension ({dimension: {value: counts}}). Each dimension is read from the smallest rollup
    that has it and the filters' dimensions (the agent from the agent rollup, the others from
    the one without agents): one GROUP BY per rollup, by all of its dimensions together, whose
    few groups Python adds up per dimension (one pass of the rows and one sum per row, where
    a group per dimension would add every row once per dimension). The total comes from the
    first statement's groups."""
    filtered = set(filters.dimensions())
    groups: dict[type, list[str]] = {}
    for name in dimensions:
        groups.setdefault(rollup_for(filtered | {name}), []).append(name)
    zero = [0] * len(COUNTERS)
    added: dict[str, dict[object, list[int]]] = {"": {"": list(zero)}}
    added |= {name: {} for name in dimensions}
    for index, (model, names) in enumerate(groups.items() or [(rollup_for(filtered), [])]):
        columns = [getattr(model, name) for name in names]
        statement = (
            sa.select(*columns, *_sum_columns(model))
            .where(*rollup_where(model, filters, filters.start, filters.end))
            .group_by(*columns)
        )
        width = len(names)
        for row in db.session.execute(statement):
            counts = [int(value) for value in row[width:]]
            targets = [added[name].setdefault(value, list(zero))
                       for name, value in zip(names, row, strict=False)]  # fmt: skip
            if index == 0:
                targets.append(added[""][""])
            for into in targets:
                into[:] = map(operator.add, into, counts)
    return {name: {value: dict(zip(COUNTERS, counts, strict=True))
                   for value, counts in by_value.items()}
            for name, by_value in added.items()}  # fmt: skip


def reasons(filters: Filters, sort: str, descending: bool,
            labels: dict[str, str] | None = None) -> list[dict]:  # fmt: skip
    """Negative first answers by reason this period against the previous one; a reason is
    rising when it was named more often than in the previous period (labelled by `labels`,
    else by the surveys' reasons read)."""
    previous = filters.previous()
    model = reason_rollup_for(filters.dimensions())
    in_period = model.day >= filters.start
    clauses = rollup_where(model, filters, previous.start, filters.end)
    if filters.reason:
        clauses.append(model.reason == filters.reason)

    def now(column):
        return sa.func.coalesce(sa.func.sum(sa.case((in_period, column), else_=0)), 0)

    def before(column):
        return sa.func.coalesce(sa.func.sum(sa.case((in_period, 0), else_=column)), 0)

    rows = db.session.execute(
        sa.select(
            model.reason,
            now(model.negative).label("negative"),
            now(model.recovered).label("recovered"),
            before(model.negative).label("previous"),
        )
        .where(*clauses)
        .group_by(model.reason)
    )
    if labels is None:
        labels = reason_labels()
    found = []
    for row in rows:
        found.append({
            "reason": row.reason, "label": labels.get(row.reason, row.reason),
            "negative": int(row.negative), "previous": int(row.previous),
            "recovery": Rate(int(row.recovered), int(row.negative)),
            "rising": int(row.negative) > int(row.previous),
        })  # fmt: skip
    if sort in ("recovery",):
        ranked = [r for r in found if not r["recovery"].small]
        ranked.sort(key=lambda r: r["recovery"].value, reverse=descending)
        return ranked + sorted((r for r in found if r["recovery"].small), key=lambda r: r["label"])
    if sort == "name":
        return sorted(found, key=lambda r: r["label"].lower(), reverse=descending)
    return sorted(found, key=lambda r: (r["negative"], r["label"]), reverse=True)


def reason_labels() -> dict[str, str]:
    """Reason codes to the labels the surveys give them."""
    labels: dict[str, str] = {}
    for survey_reasons in db.session.scalars(sa.select(Survey.reasons)):
        for reason in survey_reasons or []:
            labels.setdefault(reason.get("code", ""), reason.get("label", ""))
    return labels


def weeks(filters: Filters) -> list[tuple[date, date]]:
    """The weeks of the trends, oldest first: 12 (or the period's weeks if more) ending on
    the period's last day."""
    count = max(TREND_WEEKS, math.ceil(filters.days / 7))
    return [(filters.end - timedelta(days=7 * k + 6), filters.end - timedelta(days=7 * k))
            for k in reversed(range(count))]  # fmt: skip


def _days_before(model, end: date):
    """SQL: whole days from the rollup's day to `end` (dialect-specific date arithmetic)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.literal(end, sa.Date) - model.day
    return sa.cast(sa.func.julianday(end.isoformat()) - sa.func.julianday(model.day),
                   sa.Integer)  # fmt: skip


def trends(filters: Filters) -> list[dict]:
    """Weekly CSAT, response rate and recovery rate, with their counts."""
    spans = weeks(filters)
    model = rollup_for(filters.dimensions())
    week = (_days_before(model, filters.end) // 7).label("week")
    needed = ("csat_positive", "csat_n", "responded", "delivered", "recovered", "negative")
    rows = db.session.execute(
        sa.select(week, *(sa.func.sum(getattr(model, c)).label(c) for c in needed))
        .where(*rollup_where(model, filters, spans[0][0], filters.end))
        .group_by(week)
    )
    by_week = {int(row.week): row for row in rows}
    result = []
    for index, (start, end) in enumerate(spans):
        row = by_week.get(len(spans) - 1 - index)
        got = {c: int(getattr(row, c) or 0) if row else 0 for c in needed}
        result.append({
            "start": start, "end": end,
            "csat": Rate(got["csat_positive"], got["csat_n"]),
            "response": Rate(got["responded"], got["delivered"]),
            "recovery": Rate(got["recovered"], got["negative"]),
        })  # fmt: skip
    return result


def median_recovery_seconds(filters: Filters) -> tuple[float | None, float | None]:
    """The median, over the recovered rounds of the period and of the one before (one pass
    over the index of recovery times), of the time from the first negative answer to
    recovery."""
    seconds = RoundFact.recovery_seconds
    previous = filters.previous()
    clauses = [*rollup_where(RoundFact, filters, previous.start, filters.end), seconds.is_not(None)]
    current = RoundFact.day >= filters.start
    if db.session.get_bind().dialect.name == "postgresql":
        middle = sa.func.percentile_cont(0.5).within_group(seconds)
        row = db.session.execute(
            sa.select(middle.filter(current), middle.filter(sa.not_(current))).where(*clauses)
        ).one()
        now, before = (float(value) if value is not None else None for value in row)
        return now, before
    found = db.session.execute(sa.select(current, seconds).where(*clauses)).all()
    found_now: list[Any] = [value for now, value in found if now]
    found_before: list[Any] = [value for now, value in found if not now]
    return median(found_now), median(found_before)


HEADLINES = (  # key, label (English; the pages translate it), better when "up" or "down"
    ("csat", translatable("CSAT"), "up"),
    ("nps", translatable("NPS"), "up"),
    ("ces", translatable("CES (effort, 1-7)"), "down"),
    ("response", translatable("Response rate"), "up"),
    ("negative", translatable("Negative answers"), "down"),
    ("recovery", translatable("Recovery rate"), "up"),
    ("median_recovery", translatable("Median time to recovery"), "down"),
    ("escalated", translatable("Still negative (escalated)"), "down"),
    ("cost_per_recovered", translatable("Goodwill cost per recovered customer"), "down"),
    ("reopened", translatable("Cases reopened"), "down"),
)


def headline(sums: dict[str, int], median_seconds: float | None) -> dict[str, dict]:
    """The headline figures from a period's sums: each a value with its numerator and
    denominator, and the counters whose cases its drill-down links list (`metric` for the
    figure, `of` for its denominator)."""

    def rate(num: str, den: str, metric: str = "", of: str = "") -> dict:
        return {**Rate(sums[num], sums[den]).as_dict(), "metric": metric or num, "of": of or den}

    cost = sums["gesture_cost_cents"]
    return {
        "csat": rate("csat_positive", "csat_n", "responded", "responded"),
        "nps": {"value": nps(sums["nps_promoters"], sums["nps_detractors"], sums["nps_n"]),
                "numerator": sums["nps_promoters"] - sums["nps_detractors"],
                "denominator": sums["nps_n"], "metric": "responded", "of": "responded",
                "small_sample": sums["nps_n"] < SMALL_SAMPLE},
        "ces": {"value": ces(sums["ces_sum"], sums["ces_n"]), "numerator": sums["ces_sum"],
                "denominator": sums["ces_n"], "metric": "responded", "of": "responded",
                "small_sample": sums["ces_n"] < SMALL_SAMPLE},
        "response": rate("responded", "delivered"),
        "negative": rate("negative", "responded"),
        "recovery": rate("recovered", "negative"),
        "median_recovery": {"value": median_seconds, "numerator": None,
                            "denominator": sums["recovered"], "metric": "recovered",
                            "of": "recovered", "small_sample": sums["recovered"] < SMALL_SAMPLE},
        "escalated": rate("escalated", "negative"),
        "cost_per_recovered": {"value": cost / 100 / sums["recovered"] if sums["recovered"]
                               else None, "numerator": cost, "denominator": sums["recovered"],
                               "metric": "gesture", "of": "recovered",
                               "small_sample": sums["recovered"] < SMALL_SAMPLE},
        "reopened": rate("reopened", "closed"),
    }  # fmt: skip


def period_headline(filters: Filters) -> dict[str, dict]:
    """The period's headline figures and the previous period's, with the sums they come from
    (what the dashboard's headline shows for the same filters): {"sums", "previous_sums",
    "headline", "previous"}."""
    now, before = sums(filters)[""][""], sums(filters.previous())[""][""]
    medians = median_recovery_seconds(filters)
    return {"sums": now, "previous_sums": before, "headline": headline(now, medians[0]),
            "previous": headline(before, medians[1])}  # fmt: skip


def rising_reasons(filters: Filters, limit: int = 3) -> list[dict]:
    """The reasons named more often than in the period before, the biggest rise first (the
    dashboard's reasons table's rows)."""
    rising = [row for row in reasons(filters, "negative", True) if row["rising"]]
    rising.sort(key=lambda row: (-(row["negative"] - row["previous"]), row["label"]))
    return rising[:limit]


def overdue_clause(now: datetime) -> Any:
    """SQL: an open recovery that is overdue: a task not completed by its due time (what the
    lead's queue flags as overdue), or its check-in's answer deadline passed (the queue
    lists such a recovery as open, without the overdue flag)."""
    late_task = (
        sa.exists()
        .where(
            RecoveryTask.recovery_id == Recovery.id,
            RecoveryTask.completed_at.is_(None),
            RecoveryTask.due_at < now,
        )
        .correlate(Recovery)
    )
    return sa.and_(
        Recovery.status == RecoveryStatus.OPEN,
        sa.or_(late_task, Recovery.answer_deadline_at < now),
    )


def overdue_recoveries(now: datetime, team: str = "", agent: str = "") -> int:
    """How many open recoveries are overdue now (of a team's or agent's cases when given)."""
    query = sa.select(sa.func.count(Recovery.id)).where(overdue_clause(now))
    if team or agent:
        query = query.join(Case, Case.id == Recovery.case_id)
        if team:
            query = query.where(Case.team == team)
        if agent:
            query = query.where(Case.agent_name == agent)
    return int(db.session.scalar(query) or 0)
