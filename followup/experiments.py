"""Cadence experiments (A/B): which variant a closed case's customer gets (at random, sticky
per customer) and the experiment figures the dashboard shows (response and recovery rates
per variant with their 95% intervals and a plain verdict)."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from followup.extensions import db
from followup.languages import translatable
from followup.metrics import Comparison, Rate, compare, wilson
from followup.models import Cadence
from followup.models.cadences import CadencePurpose
from followup.models.figures import RoundFact, rollup_for

# The counters the figures add up (besides "closed", the variant's cases).
COUNTED = ("delivered", "responded", "negative", "recovered")


def variant_for(customer_id: int, experiment: str, share: int) -> str:
    """ "B" for `share` percent of customers, else "A": a stable hash of the customer and the
    experiment (the A cadence's lineage), so a customer keeps their variant across cases
    while each experiment splits customers afresh."""
    digest = hashlib.sha256(f"{customer_id}:{experiment}".encode()).digest()
    return "B" if int.from_bytes(digest[:8], "big") % 100 < share else "A"


def current_version(lineage: str) -> Cadence | None:
    """A close cadence's current version (archived or not)."""
    return db.session.scalar(
        sa.select(Cadence).where(
            Cadence.lineage == lineage,
            Cadence.purpose == CadencePurpose.CLOSE,
            Cadence.superseded_at.is_(None),
        )
    )


def b_cadence(cadence: Cadence) -> Cadence | None:
    """The current version of the cadence `cadence` tries against, while it takes cases."""
    other = current_version(cadence.experiment_lineage) if cadence.experiment_lineage else None
    return other if other is not None and other.archived_at is None else None


def experiment_problem(lineage: str | None, b_lineage: str) -> str | None:
    """Why the cadence of `lineage` (None: a new one) cannot try the cadence of `b_lineage`
    as its B, if it cannot."""
    other = current_version(b_lineage)
    if other is None:
        return _("choose a cadence from the list")
    if other.lineage == lineage:
        return _("a cadence cannot be its own B: choose another cadence")
    if other.experiment_lineage:
        return _("%(name)s runs an experiment of its own: choose another cadence", name=other.name)
    rival = db.session.scalar(
        sa.select(Cadence.name).where(
            Cadence.experiment_lineage == b_lineage,
            Cadence.superseded_at.is_(None),
            Cadence.lineage != lineage,
        )
    )
    if rival:  # the experiments' figures tell them apart by the cadence each variant ran
        return _(
            "%(rival)s already tries %(name)s: choose another cadence", rival=rival, name=other.name
        )
    return None


def assign(cadence: Cadence, customer_id: int) -> tuple[Cadence, str | None, str | None]:
    """The cadence that runs a round `cadence` took, the round's experiment (the A cadence's
    lineage) and its variant; (cadence, None, None) when `cadence` runs no experiment."""
    other = b_cadence(cadence)
    if other is None:
        return cadence, None, None
    variant = variant_for(customer_id, cadence.lineage, cadence.experiment_share)
    return (other if variant == "B" else cadence), cadence.lineage, variant


@dataclass(frozen=True)
class Measure:
    """One variant's rate with its Wilson 95% interval (None without a denominator)."""

    rate: Rate
    interval: tuple[float, float] | None

    @property
    def text(self) -> str:
        """Like "41% (35-47%) of 250"; "no data yet (0)" without a denominator."""
        if self.interval is None:
            return "no data yet (0)"
        low, high = self.interval
        return f"{self.rate.value:.0%} ({low * 100:.0f}-{high:.0%}) of {self.rate.denominator:,}"


@dataclass(frozen=True)
class Variant:
    label: str  # "A" or "B"
    cadence: Cadence | None  # its current version
    cases: int  # rounds closed in the experiment
    response: Measure  # responded / delivered
    recovery: Measure  # recovered / negative


@dataclass(frozen=True)
class Experiment:
    a: Cadence  # the cadence running it (current version)
    b: Cadence | None  # the cadence it tries (current version)
    share: int  # percent of customers sent to B
    since: datetime  # when the current version chain started trying this B
    variants: tuple[Variant, Variant]
    response_verdict: Comparison
    recovery_verdict: Comparison

    @property
    def paused(self) -> bool:
        return self.b is None or self.b.archived_at is not None or self.a.archived_at is not None


def experiments(
    start: date | None = None, end: date | None = None, dimensions: dict | None = None
) -> list[Experiment]:
    """Every close cadence whose current version runs an experiment, with the figures of the
    rounds closed since it started trying its current B: per variant the response rate
    (responded / delivered invitations) and the recovery rate (recovered / negative first
    answers), each with its Wilson 95% interval, and a verdict per metric
    (followup.metrics.compare). `start` and `end` narrow the rounds to a period (by the day
    they closed), `dimensions` to a team, agent, channel or survey (the rollups' columns:
    {"team": "Billing"}; a cadence is ignored)."""
    running = db.session.scalars(
        sa.select(Cadence)
        .where(
            Cadence.purpose == CadencePurpose.CLOSE,
            Cadence.superseded_at.is_(None),
            Cadence.experiment_lineage.is_not(None),
        )
        .order_by(Cadence.position, Cadence.id)
    )
    return [_experiment(a, start, end, dimensions or {}) for a in running]


def _since(a: Cadence) -> datetime:
    """When the run of A's versions trying its current B began."""
    since = a.created_at
    for version in db.session.scalars(
        sa.select(Cadence).where(Cadence.lineage == a.lineage).order_by(Cadence.version.desc())
    ):
        if version.experiment_lineage != a.experiment_lineage:
            break
        since = version.created_at
    return since


def _experiment(a: Cadence, start: date | None, end: date | None, dimensions: dict) -> Experiment:
    assert a.experiment_lineage is not None  # experiments() passes those that run one
    b = current_version(a.experiment_lineage)
    since = _since(a)
    totals = _totals(a, since, start, end, dimensions)
    va, vb = (
        Variant(
            label=label,
            cadence=cadence,
            cases=totals[label]["closed"],
            response=_measure(totals[label]["responded"], totals[label]["delivered"]),
            recovery=_measure(totals[label]["recovered"], totals[label]["negative"]),
        )
        for label, cadence in (("A", a), ("B", b))
    )
    name_a, name_b = (f"{v.label} ({v.cadence.name})" if v.cadence else v.label for v in (va, vb))
    return Experiment(
        a=a, b=b, share=a.experiment_share, since=since, variants=(va, vb),
        response_verdict=compare(va.response.rate, vb.response.rate, name_a, name_b,
                                 translatable("survey responses")),
        recovery_verdict=compare(va.recovery.rate, vb.recovery.rate, name_a, name_b,
                                 translatable("recovered customers")),
    )  # fmt: skip


def _totals(
    a: Cadence, since: datetime, start: date | None, end: date | None, dimensions: dict
) -> dict[str, dict]:
    """The experiment's counters per variant, its rounds closed since it started (in the
    period and dimensions asked for): those of its first day from their facts, the later
    days' from the rollups, whose rows of A's cadence with variant A and of B's cadence with
    variant B are the experiment's (a cadence is the B of one experiment at a time)."""
    counted = ("closed", *COUNTED)
    totals = {label: dict.fromkeys(counted, 0) for label in ("A", "B")}
    first_day = since.astimezone(UTC).date()
    start = start or first_day
    dimensions = {name: value for name, value in dimensions.items() if name != "cadence"}
    if start <= first_day and (end is None or first_day <= end):
        facts = sa.select(RoundFact.variant, RoundFact.counts).where(
            RoundFact.experiment == a.lineage,
            RoundFact.variant.in_(("A", "B")),
            RoundFact.day == first_day,
            RoundFact.closed_at >= since,
            *(getattr(RoundFact, name) == value for name, value in dimensions.items()),
        )
        for variant, counts in db.session.execute(facts):
            for name in counted:
                totals[variant][name] += (counts or {}).get(name, 0)
    model = rollup_for({"cadence", "variant", *dimensions})
    ran = sa.or_(
        sa.and_(model.cadence == a.lineage, model.variant == "A"),
        sa.and_(model.cadence == a.experiment_lineage, model.variant == "B"),
    )
    clauses = [ran, model.day >= max(start, first_day + timedelta(days=1))]
    clauses += [model.day <= end] if end else []
    clauses += [getattr(model, name) == value for name, value in dimensions.items()]
    sums = [sa.func.sum(getattr(model, name)).label(name) for name in counted]
    for row in db.session.execute(
        sa.select(model.variant, *sums).where(*clauses).group_by(model.variant)
    ):
        for name in counted:
            totals[row.variant][name] += int(getattr(row, name))
    return totals


def _measure(numerator: int, denominator: int) -> Measure:
    rate = Rate(numerator, denominator)
    return Measure(rate, wilson(rate))
