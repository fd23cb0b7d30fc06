"""The dashboard's figures read from the rollups (the smallest figure rollup that has the
dimensions asked for, the smallest reasons rollup likewise, RoundFact) for a set of Filters:
headline sums for the period and the one before, breakdowns by agent, team, channel,
cadence and reason, weekly trends, the recovery funnel, top reasons and the median time to
recovery. Every query aggregates in SQL (GROUP BY); Python only shapes the sums.

The reason filter: the rollups have no reason dimension, so a reason narrows the reasons
table (and the drill-down links) only; the other figures are those of all reasons. The page
and the JSON say so (`REASON_SCOPE`)."""

import math
import operator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import sqlalchemy as sa

from followup.dashboard.filters import Filters
from followup.extensions import db
from followup.metrics import SMALL_SAMPLE, Rate, ces, median, nps
from followup.models import Cadence, Survey
from followup.models.figures import (
    COUNTERS,
    DailyReasonTotal,
    RoundFact,
    reason_rollup_for,
    rollup_for,
)

REASON_SCOPE = "The reason filter narrows the reasons table and the case lists only."
BREAKDOWNS = ("agent", "team", "channel", "cadence")
TREND_WEEKS = 12
# Breakdown columns: key -> (label, numerator counter, denominator counter).
COLUMNS = {
    "response": ("Response rate", "responded", "delivered"),
    "csat": ("CSAT", "csat_positive", "csat_n"),
    "negative": ("Negative", "negative", "responded"),
    "recovery": ("Recovery rate", "recovered", "negative"),
}
SORTS = ("name", "closed", *COLUMNS)


def rollup_where(model, filters: Filters, start: date, end: date) -> list:
    """The clauses that narrow a rollup (or RoundFact) to these days and the filters'
    dimensions."""
    clauses = [model.day >= start, model.day <= end]
    clauses += [getattr(model, name) == value for name, value in filters.dimensions().items()]
    return clauses


@cache  # the same expressions for every request
def _sum_columns(model) -> list:
    return [sa.func.coalesce(sa.func.sum(getattr(model, c)), 0).label(c) for c in COUNTERS]


def sums(filters: Filters, dimensions: tuple[str, ...] = ()) -> dict[str, dict[str, dict]]:
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


def cadence_names(lineages) -> dict[str, str]:
    """The current version's name of each cadence lineage."""
    rows = db.session.execute(
        sa.select(Cadence.lineage, Cadence.name).where(
            Cadence.lineage.in_(list(lineages)), Cadence.superseded_at.is_(None)
        )
    )
    return dict(rows.all())


@dataclass
class Row:
    """One breakdown row: its key, label, counts and rates."""

    key: str
    label: str
    counts: dict[str, int]
    rates: dict[str, Rate] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "counts": self.counts,
                "rates": {k: r.as_dict() for k, r in self.rates.items()}}  # fmt: skip


def sort_rows(rows: list[Row], sort: str, descending: bool) -> list[Row]:
    """Rows ordered by a column; a rate's small samples come after the ranked rows."""
    if sort == "name":
        return sorted(rows, key=lambda r: r.label.lower(), reverse=descending)
    if sort == "closed":
        return sorted(rows, key=lambda r: r.counts["closed"], reverse=descending)
    ranked = [r for r in rows if not r.rates[sort].small]
    small = [r for r in rows if r.rates[sort].small]
    ranked.sort(key=lambda r: r.rates[sort].value, reverse=descending)
    small.sort(key=lambda r: r.label.lower())
    return ranked + small


def breakdown(filters: Filters, dimension: str, sort: str, descending: bool) -> list[Row]:
    """The rows of one breakdown, in order."""
    return rows_of(dimension, sums(filters, (dimension,))[dimension], sort, descending)


def rows_of(dimension: str, by_value: dict[str, dict], sort: str, descending: bool,
            names: dict[str, str] | None = None) -> list[Row]:  # fmt: skip
    """Breakdown rows from a dimension's sums (cadences named by their current version:
    `names`, else read)."""
    if names is None:
        names = cadence_names(by_value) if dimension == "cadence" else {}
    rows = []
    for key, counts in by_value.items():
        label = names.get(key, key) or "(none)"
        rates = {col: Rate(counts[num], counts[den]) for col, (_, num, den) in COLUMNS.items()}
        rows.append(Row(key, label, counts, rates))
    return sort_rows(rows, sort, descending)


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
        return tuple(float(value) if value is not None else None for value in row)
    found = db.session.execute(sa.select(current, seconds).where(*clauses)).all()
    return (median([value for now, value in found if now]),
            median([value for now, value in found if not now]))  # fmt: skip


FUNNEL = (  # (counter, label, the step its conversion is counted from)
    ("closed", "Cases closed", None),
    ("invited", "Invited to a survey", "closed"),
    ("responded", "Answered", "invited"),
    ("negative", "Negative answer", "responded"),
    ("gesture", "Goodwill gesture issued", "negative"),
    ("checkin_answered", "Check-in answered", "gesture"),
    ("recovered", "Recovered", "negative"),
    ("escalated", "Escalated (still negative)", "negative"),
)


def funnel(sums: dict[str, int]) -> list[dict]:
    return [{"metric": counter, "label": label, "count": sums[counter], "of": base,
             "conversion": Rate(sums[counter], sums[base]) if base else None}
            for counter, label, base in FUNNEL]  # fmt: skip


HEADLINES = (  # key, label, better when "up" or "down"
    ("csat", "CSAT", "up"),
    ("nps", "NPS", "up"),
    ("ces", "CES (effort, 1-7)", "down"),
    ("response", "Response rate", "up"),
    ("negative", "Negative answers", "down"),
    ("recovery", "Recovery rate", "up"),
    ("median_recovery", "Median time to recovery", "down"),
    ("escalated", "Still negative (escalated)", "down"),
    ("cost_per_recovered", "Goodwill cost per recovered customer", "down"),
    ("reopened", "Cases reopened", "down"),
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


def options(filters: Filters, shown: dict | None = None) -> dict[str, list]:
    """The values the filter form offers: those of the period (and the chosen value,
    always); the figures already shown (breakdowns, reasons, their labels) give them when
    no filter narrows them."""
    unnarrowed = shown is not None and not filters.dimensions()
    if unnarrowed:
        found = {name: {row.key for row in rows} - {""}
                 for name, rows in shown["breakdowns"].items()}  # fmt: skip
    else:
        every = Filters(start=filters.start, end=filters.end)  # unnarrowed: every choice
        found = {name: set(values) - {""} for name, values in sums(every, BREAKDOWNS).items()}
    for name in BREAKDOWNS:
        if getattr(filters, name):
            found[name].add(getattr(filters, name))
    cadences = shown["labels"]["cadence"] if unnarrowed else cadence_names(found["cadence"])
    if unnarrowed and not filters.reason:
        reason_values = {row["reason"] for row in shown["reasons"] if row["negative"]}
    else:
        named = sa.select(DailyReasonTotal.reason).where(
            DailyReasonTotal.day >= filters.start, DailyReasonTotal.day <= filters.end
        )
        reason_values = set(db.session.scalars(named.distinct()))
    if filters.reason:
        reason_values.add(filters.reason)
    labels = shown["labels"]["reason"] if shown is not None else reason_labels()
    surveys = db.session.execute(sa.select(Survey.id, Survey.name).order_by(Survey.name)).all()
    return {
        "team": sorted((v, v) for v in found["team"]),
        "agent": sorted((v, v) for v in found["agent"]),
        "channel": sorted((v, v) for v in found["channel"]),
        "cadence": sorted(((v, cadences.get(v, v)) for v in found["cadence"]), key=lambda o: o[1]),
        "survey": [(str(i), name) for i, name in surveys],
        "reason": sorted(((v, labels.get(v) or v) for v in reason_values), key=lambda o: o[1]),
    }


def figures(filters: Filters, sort: str = "closed", descending: bool = True) -> dict:
    """Everything the page shows, for the filters."""
    current, previous = sums(filters, BREAKDOWNS), sums(filters.previous(), ("channel",))
    now, before = current[""][""], previous[""][""]
    labels = {"cadence": cadence_names(current["cadence"]), "reason": reason_labels()}
    by = {name: rows_of(name, current[name], sort, descending,
                        labels["cadence"] if name == "cadence" else None)
          for name in BREAKDOWNS}  # fmt: skip
    medians = median_recovery_seconds(filters)
    previous_channels = previous["channel"]
    return {
        "sums": now,
        "previous_sums": before,
        "headline": headline(now, medians[0]),
        "previous": headline(before, medians[1]),
        "response_by_channel": [
            {
                "channel": row.key or "(none)",
                "key": row.key,
                "rate": row.rates["response"],
                "previous": Rate(
                    previous_channels.get(row.key, {}).get("responded", 0),
                    previous_channels.get(row.key, {}).get("delivered", 0),
                ),
            }
            for row in sorted(by["channel"], key=lambda r: r.key)
        ],  # fmt: skip
        "breakdowns": by,
        "reasons": reasons(filters, sort, descending, labels["reason"]),
        "trends": trends(filters),
        "funnel": funnel(now),
        "labels": labels,  # cadences' names and reasons' labels, for the filter form
    }
