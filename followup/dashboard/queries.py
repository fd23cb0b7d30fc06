"""The dashboard's figures for a set of Filters: headline sums for the period and the one
before, breakdowns by agent, team, channel, cadence and reason, weekly trends, the recovery
funnel, top reasons and the median time to recovery. The sums, headline figures, reasons and
trends come from followup.figures, which the weekly digest and the threshold alert rules
call too (so their numbers are the dashboard's); this module shapes them for the page.

The reason filter: the rollups have no reason dimension, so a reason narrows the reasons
table (and the drill-down links) only; the other figures are those of all reasons. The page
and the JSON say so (`REASON_SCOPE`)."""

from dataclasses import dataclass, field

import sqlalchemy as sa

from followup.dashboard.filters import Filters
from followup.extensions import db
from followup.figures import (  # noqa: F401  (the dashboard's modules read them from here)
    HEADLINES,
    TREND_WEEKS,
    headline,
    median_recovery_seconds,
    reason_labels,
    reasons,
    rollup_where,
    sums,
    trends,
    weeks,
)
from followup.languages import translatable
from followup.metrics import Rate
from followup.models import Cadence, Survey
from followup.models.figures import DailyReasonTotal

# The labels below are English (the JSON and CSV keep them); the page translates them.
REASON_SCOPE = translatable("The reason filter narrows the reasons table and the case lists only.")
BREAKDOWNS = ("agent", "team", "channel", "cadence")
# Breakdown columns: key -> (label, numerator counter, denominator counter).
COLUMNS = {
    "response": (translatable("Response rate"), "responded", "delivered"),
    "csat": (translatable("CSAT"), "csat_positive", "csat_n"),
    "negative": (translatable("Negative"), "negative", "responded"),
    "recovery": (translatable("Recovery rate"), "recovered", "negative"),
}
SORTS = ("name", "closed", *COLUMNS)


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


FUNNEL = (  # (counter, label, the step its conversion is counted from)
    ("closed", translatable("Cases closed"), None),
    ("invited", translatable("Invited to a survey"), "closed"),
    ("responded", translatable("Answered"), "invited"),
    ("negative", translatable("Negative answer"), "responded"),
    ("gesture", translatable("Goodwill gesture issued"), "negative"),
    ("checkin_answered", translatable("Check-in answered"), "gesture"),
    ("recovered", translatable("Recovered"), "negative"),
    ("escalated", translatable("Escalated (still negative)"), "negative"),
)


def funnel(sums: dict[str, int]) -> list[dict]:
    return [{"metric": counter, "label": label, "count": sums[counter], "of": base,
             "conversion": Rate(sums[counter], sums[base]) if base else None}
            for counter, label, base in FUNNEL]  # fmt: skip


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
