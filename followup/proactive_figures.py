"""Proactive outreach's figures: for each proactive cadence (its lineage: every version
together), and overall, the case rounds it handled (a task was opened) against the rounds the
holdout kept from it (the same rule matched; followup.proactive): rounds, mean risk, response
rate, CSAT (first answers' 4s and 5s), negative share and recovery rate, each with its Wilson
95% interval, the tasks' outcomes, and plain verdicts on satisfaction and recovery
(followup.metrics.compare). The answers come from the round facts (the rollups' derivation),
so a round closed minutes ago counts with no answer yet."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from followup.experiments import Measure, current_version
from followup.extensions import db
from followup.languages import translatable
from followup.metrics import Comparison, Rate, compare, wilson
from followup.models import Cadence, ProactiveHoldout, ProactiveTask
from followup.models.figures import RoundFact

COUNTED = ("delivered", "responded", "csat_n", "csat_positive", "negative", "recovered")
HANDLED, HELD_OUT = "handled", "held out"
OPEN = "open"
# The arms as the verdicts name them (English; the pages translate them).
HANDLED_CASES, HELD_OUT_CASES = translatable("handled cases"), translatable("held-out cases")


@dataclass
class Arm:
    """One side of the comparison: its rounds' counters, their risks, the tasks' outcomes."""

    label: str
    cases: int = 0
    risk_sum: float = 0.0
    risk_n: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, risk: float | None, counts: dict | None, outcome: str | None = None) -> None:
        self.cases += 1
        if risk is not None:
            self.risk_sum, self.risk_n = self.risk_sum + risk, self.risk_n + 1
        for name in COUNTED:
            self.counts[name] += int((counts or {}).get(name, 0) or 0)
        if self.label == HANDLED:
            key = outcome or OPEN
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def merge(self, other: "Arm") -> None:
        self.cases += other.cases
        self.risk_sum += other.risk_sum
        self.risk_n += other.risk_n
        for name in COUNTED:
            self.counts[name] += other.counts[name]
        for key, value in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + value

    @property
    def mean_risk(self) -> float | None:
        return self.risk_sum / self.risk_n if self.risk_n else None

    def _measure(self, numerator: str, denominator: str) -> Measure:
        rate = Rate(self.counts[numerator], self.counts[denominator])
        return Measure(rate, wilson(rate))

    @property
    def response(self) -> Measure:
        return self._measure("responded", "delivered")

    @property
    def csat(self) -> Measure:
        return self._measure("csat_positive", "csat_n")

    @property
    def negative(self) -> Measure:
        return self._measure("negative", "responded")

    @property
    def recovery(self) -> Measure:
        return self._measure("recovered", "negative")


@dataclass
class Group:
    """A proactive cadence (or every one: `cadence` None) and its two arms."""

    name: str
    cadence: Cadence | None
    handled: Arm = field(default_factory=lambda: Arm(HANDLED))
    held_out: Arm = field(default_factory=lambda: Arm(HELD_OUT))

    @property
    def satisfaction_verdict(self) -> Comparison:
        return compare(self.held_out.csat.rate, self.handled.csat.rate, HELD_OUT_CASES,
                       HANDLED_CASES, translatable("satisfied customers (CSAT)"))  # fmt: skip

    @property
    def recovery_verdict(self) -> Comparison:
        return compare(self.held_out.recovery.rate, self.handled.recovery.rate, HELD_OUT_CASES,
                       HANDLED_CASES, translatable("recovered customers"))  # fmt: skip


def comparison(start: date, end: date) -> list[Group]:
    """The groups of the rounds closed from `start` to `end` (UTC days, inclusive), one per
    proactive cadence lineage (named by its current version), then "All proactive cadences"
    when there are several."""
    groups: dict[str, Group] = {}

    def group_of(lineage: str) -> Group:
        if lineage not in groups:
            current = current_version(lineage)
            name = current.name if current else translatable("a cadence no longer there")
            groups[lineage] = Group(name, current)
        return groups[lineage]

    for model in (ProactiveTask, ProactiveHoldout):
        outcome = ProactiveTask.outcome if model is ProactiveTask else sa.null()
        rows = db.session.execute(
            sa.select(Cadence.lineage, model.risk_score, RoundFact.counts, outcome)
            .join(Cadence, Cadence.id == model.cadence_id)
            .outerjoin(
                RoundFact,
                sa.and_(RoundFact.case_id == model.case_id, RoundFact.round == model.round),
            )
            .where(*_in_period(model, start, end))
        )
        for lineage, risk, counts, done in rows:
            group = group_of(lineage)
            arm = group.handled if model is ProactiveTask else group.held_out
            arm.add(risk, counts, done)
    ordered = sorted(groups.values(), key=lambda g: g.name.lower())
    if len(ordered) > 1:
        total = Group(translatable("All proactive cadences"), None)
        for group in ordered:
            total.handled.merge(group.handled)
            total.held_out.merge(group.held_out)
        ordered.append(total)
    return ordered


def _in_period(model, start: date, end: date) -> list:
    """The rounds closed in the period (created_at is the close), by UTC day."""
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)
    return [model.created_at >= since, model.created_at < until]
