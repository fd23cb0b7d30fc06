"""The dissatisfaction risk of a closing case: the signals it is read from (what the helpdesk
reports, CASE_SIGNALS, and what the product knows of the customer), the rules that score it
until this deployment has enough answers, and the model trained nightly on its own closed
cases (versioned, measured on cases it did not train on).

One statement (`_read`, which `assess` calls) turns a case into the numbers both the rules
and the model read; close_case keeps them on the round's timeline line (case.closed detail
"risk"), and training reads them back from there, so what is scored is what was trained on.
The model is a scikit-learn logistic regression over standardised log1p(features)
(followup.risk_training, which only the worker that trains imports: scikit-learn costs a
process about 100 MB and seconds to load), stored as JSON (never pickled) and scored here in
numpy."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from followup.extensions import db
from followup.models import Case, CaseEvent, Recovery, Response, Suppression, Survey
from followup.models.cases import EventKind, Priority
from followup.models.customers import CONTACT_CHANNELS, address_hash
from followup.models.risk import RiskModel
from surveys.scoring import verdict

# What the intake API and the helpdesk webhooks may report with a case (Case columns).
CASE_SIGNALS = ("reopen_count", "resolution_minutes", "customer_replies", "first_response_minutes")
# The features, in the model's order: all non-negative numbers.
FEATURES = (
    "reopen_count",  # times reopened, as the helpdesk reports
    "reopened_here",  # times this product saw the case reopen (its timeline)
    "resolution_hours",  # the helpdesk's resolution time (0: not reported)
    "customer_replies",
    "first_response_hours",  # the helpdesk's first-response time (0: not reported)
    "priority",  # low 0, normal 1, high 2, urgent 3
    "earlier_negative",  # the customer's earlier negative survey answers (any case)
    "earlier_recoveries",  # the customer's earlier recoveries (any case)
    "opted_out",  # 1 when an address of the customer is suppressed (email, SMS or WhatsApp)
)
PRIORITY_LEVELS: dict[str, int] = {
    Priority.LOW: 0,
    Priority.NORMAL: 1,
    Priority.HIGH: 2,
    Priority.URGENT: 3,
}


@dataclass(frozen=True)
class Rule:
    name: str
    text: str
    applies: Callable[[dict[str, float]], bool]
    points: float


def _reopens(f: dict[str, float]) -> float:
    return max(f.get("reopen_count", 0.0), f.get("reopened_here", 0.0))


# The fallback score until a model beats it: sigmoid(RULES_BASE + the points of the rules that
# apply). With none, 10%; reopened once and resolved in over 3 days, 43%; reopened twice and
# over a week, 67%. docs/risk.md has the table.
RULES_BASE = -2.2
RULES = (
    Rule("reopened", "reopened at least once", lambda f: _reopens(f) >= 1, 1.0),
    Rule("reopened_again", "reopened at least twice", lambda f: _reopens(f) >= 2, 0.5),
    Rule("long_resolution", "resolution took over 3 days",
         lambda f: f.get("resolution_hours", 0) > 72, 0.9),
    Rule("very_long_resolution", "resolution took over 7 days",
         lambda f: f.get("resolution_hours", 0) > 168, 0.5),
    Rule("many_replies", "5 or more customer replies",
         lambda f: f.get("customer_replies", 0) >= 5, 0.6),
    Rule("slow_first_response", "first response after 24 hours",
         lambda f: f.get("first_response_hours", 0) > 24, 0.6),
    Rule("high_priority", "high or urgent priority", lambda f: f.get("priority", 1) >= 2, 0.4),
    Rule("earlier_negative", "an earlier negative answer from the customer",
         lambda f: f.get("earlier_negative", 0) >= 1, 1.0),
    Rule("earlier_recovery", "an earlier recovery of the customer",
         lambda f: f.get("earlier_recoveries", 0) >= 1, 0.5),
    Rule("opted_out", "the customer opted out of a channel", lambda f: f.get("opted_out", 0) >= 1,
         0.3),
)  # fmt: skip


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def rules_score(features: dict[str, float]) -> float:
    """The rules' risk (0-1) for these features."""
    return _sigmoid(RULES_BASE + sum(rule.points for rule in RULES if rule.applies(features)))


def _read(case: Case, now: datetime) -> tuple[dict[str, float], tuple | None]:
    """The case's risk features as of now (before its close is written): the helpdesk's
    signals and what this product knows: the customer's earlier negative survey answers (not
    recovery check-ins) and recoveries, their opt-outs, the times this case was reopened
    here; and the active model's (id, version, trained at) or None. One statement: a close
    is held to a fixed number of them (tests/app/test_intake_queries.py). Its row per
    earlier answer of the customer (one row of NULLs without any) carries the counts and the
    active model beside it."""
    customer = case.customer
    answers = (
        sa.select(Response.score, Response.comment, Survey.negative_min, Survey.negative_max,
                  Survey.positive_min, Survey.positive_max, Survey.negative_keywords)
        .join(Case, Case.id == Response.case_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Case.customer_id == case.customer_id, Response.recovery_id.is_(None),
               Response.created_at < now)
        .subquery("answers")
    )  # fmt: skip
    newest_active = (
        sa.select(RiskModel.id)
        .where(RiskModel.active.is_(True))
        .order_by(RiskModel.version.desc())
        .limit(1)
        .scalar_subquery()
    )

    def of_active(column):
        return sa.select(column).where(RiskModel.id == newest_active).scalar_subquery()

    hashes = [
        (channel, address_hash(channel, address))
        for channel in CONTACT_CHANNELS
        if customer is not None and (address := customer.address(channel))
    ]
    opted_out = (
        sa.exists().where(sa.tuple_(Suppression.channel, Suppression.address_hash).in_(hashes))
        if hashes
        else sa.false()
    )
    anchor = sa.select(sa.literal(1).label("one")).subquery("anchor")
    rows = db.session.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(Recovery)
            .where(Recovery.customer_id == case.customer_id, Recovery.started_at < now)
            .scalar_subquery().label("recoveries"),
            sa.select(sa.func.count()).select_from(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CASE_REOPENED)
            .scalar_subquery().label("reopened"),
            opted_out.label("opted_out"),
            of_active(RiskModel.id).label("model_id"),
            of_active(RiskModel.version).label("model_version"),
            of_active(RiskModel.trained_at).label("model_trained_at"),
            *answers.c,
        ).select_from(anchor.outerjoin(answers, sa.true()))
    ).all()  # fmt: skip
    first = rows[0]
    negative = sum(
        row.score is not None and verdict(row, row.score, row.comment) == "negative" for row in rows
    )

    def hours(minutes: int | None) -> float:
        return round(minutes / 60, 3) if minutes else 0.0

    found = {
        "reopen_count": float(case.reopen_count or 0),
        "reopened_here": float(first.reopened or 0),
        "resolution_hours": hours(case.resolution_minutes),
        "customer_replies": float(case.customer_replies or 0),
        "first_response_hours": hours(case.first_response_minutes),
        "priority": float(PRIORITY_LEVELS.get(case.priority or Priority.NORMAL, 1)),
        "earlier_negative": float(negative),
        "earlier_recoveries": float(first.recoveries or 0),
        "opted_out": 1.0 if first.opted_out else 0.0,
    }
    active = None
    if first.model_id is not None:
        trained_at = first.model_trained_at
        active = (first.model_id, first.model_version, str(trained_at))
    return found, active


@dataclass(frozen=True)
class Scorer:
    """An active model's parameters as numpy arrays (cached per model row)."""

    version: int
    names: tuple[str, ...]
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float

    @classmethod
    def of(cls, model: RiskModel) -> "Scorer":
        return cls(
            model.version,
            tuple(model.features),
            np.asarray(model.means, dtype=float),
            np.asarray(model.scales, dtype=float),
            np.asarray(model.coefficients, dtype=float),
            float(model.intercept),
        )

    def score(self, features: dict[str, float]) -> float:
        x = vector([features], self.names)[0]
        z = float(((x - self.means) / self.scales) @ self.coefficients) + self.intercept
        return _sigmoid(z)


_scorers: dict[tuple, Scorer] = {}  # (id, version, trained at): its scorer


def active_model() -> RiskModel | None:
    """The newest active model version, or None (the rules score)."""
    return db.session.scalar(
        sa.select(RiskModel).where(RiskModel.active.is_(True)).order_by(RiskModel.version.desc())
    )


def _scorer(active: tuple) -> Scorer:
    """The scorer of the active model (id, version, trained at), loaded once per process;
    keyed by all three, as a restored database may reuse an id."""
    if active not in _scorers:
        _scorers[active] = Scorer.of(db.session.get_one(RiskModel, active[0]))
    return _scorers[active]


def assess(case: Case, now: datetime) -> None:
    """Set the closing round's risk_score, risk_source and risk_features on the case (not
    flushed: close_case writes them with the close). A model whose score is not a finite
    number (a corrupt stored row) is passed over: the rules score the round."""
    found, active = _read(case, now)
    score, source = rules_score(found), "rules"
    if active is not None:
        scorer = _scorer(active)
        by_model = scorer.score(found)
        if math.isfinite(by_model):
            score, source = by_model, f"model {scorer.version}"
    # Set as if loaded: the next query's autoflush would otherwise write them in an UPDATE of
    # their own before the close's.
    set_committed_value(case, "risk_score", round(score, 4))
    set_committed_value(case, "risk_source", source)
    set_committed_value(case, "risk_features", found)


def close_detail(case: Case) -> dict[str, Any]:
    """What the round's case.closed line keeps of its risk (training reads it back)."""
    if case.risk_score is None:
        return {}
    return {
        "risk": {
            "score": case.risk_score,
            "source": case.risk_source,
            "features": case.risk_features or {},
        }
    }


def vector(rows: list[dict[str, float]], names: tuple[str, ...]) -> np.ndarray:
    """log1p of each feature (all non-negative; missing ones 0), rows x names."""
    values = np.array([[float(row.get(name, 0.0)) for name in names] for row in rows], dtype=float)
    return np.log1p(np.clip(values, 0.0, None)).reshape(len(rows), len(names))
