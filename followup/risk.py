"""The dissatisfaction risk of a closing case: the signals it is read from (what the helpdesk
reports, CASE_SIGNALS, and what the product knows of the customer), the rules that score it
until this deployment has enough answers, and the model trained nightly on its own closed
cases (versioned, measured on cases it did not train on).

One function, `features`, turns a case into the numbers both the rules and the model read;
close_case keeps them on the round's timeline line (case.closed detail "risk"), and training
reads them back from there, so what is scored is what was trained on. The model is a
scikit-learn logistic regression over standardised log1p(features), stored as JSON (never
pickled) and scored here in numpy."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app

from followup.extensions import db
from followup.models import Case, CaseEvent, Recovery, Response, Survey
from followup.models.cases import EventKind, Priority
from followup.models.proactive import ProactiveTask
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
    "earlier_negative",  # the customer's earlier negative first answers (any case)
    "earlier_recoveries",  # the customer's earlier recoveries (any case)
    "opted_out",  # 1 when an address of the customer is suppressed (email or SMS)
)
PRIORITY_LEVELS = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


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
CALIBRATION_BINS = 10
RANDOM_STATE = 0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def rules_score(features: dict[str, float]) -> float:
    """The rules' risk (0-1) for these features."""
    return _sigmoid(RULES_BASE + sum(rule.points for rule in RULES if rule.applies(features)))


def features(case: Case, now: datetime) -> dict[str, float]:
    """The case's risk features as of now (before its close is written): the helpdesk's
    signals and what this product knows: the customer's earlier negative first answers and
    recoveries, their opt-outs, the times this case was reopened here. Four indexed queries."""
    customer = case.customer

    def hours(minutes: int | None) -> float:
        return round(minutes / 60, 3) if minutes else 0.0

    earlier = db.session.execute(
        sa.select(Response.survey_id, Response.score, Response.comment)
        .join(Case, Case.id == Response.case_id)
        .where(
            Case.customer_id == case.customer_id,
            Response.recovery_id.is_(None),
            Response.created_at < now,
        )
    ).all()
    surveys = _surveys({row.survey_id for row in earlier})
    negative = sum(
        verdict(surveys[row.survey_id], row.score, row.comment) == "negative" for row in earlier
    )
    recoveries = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Recovery)
        .where(Recovery.customer_id == case.customer_id, Recovery.started_at < now)
    )
    reopened = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CASE_REOPENED)
    ) if case.id is not None else 0  # fmt: skip
    return {
        "reopen_count": float(case.reopen_count or 0),
        "reopened_here": float(reopened or 0),
        "resolution_hours": hours(case.resolution_minutes),
        "customer_replies": float(case.customer_replies or 0),
        "first_response_hours": hours(case.first_response_minutes),
        "priority": float(PRIORITY_LEVELS.get(case.priority or Priority.NORMAL, 1)),
        "earlier_negative": float(negative),
        "earlier_recoveries": float(recoveries or 0),
        "opted_out": 1.0 if customer is not None and customer.opted_out_channels() else 0.0,
    }


def _surveys(ids: set[int]) -> dict[int, Survey]:
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(sa.select(Survey).where(Survey.id.in_(ids)))}


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
        x = _vector([features], self.names)[0]
        z = float(((x - self.means) / self.scales) @ self.coefficients) + self.intercept
        return _sigmoid(z)


_scorers: dict[tuple[int, int], Scorer] = {}  # (model id, version): its scorer


def active_model() -> RiskModel | None:
    """The newest active model version, or None (the rules score)."""
    return db.session.scalar(
        sa.select(RiskModel).where(RiskModel.active.is_(True)).order_by(RiskModel.version.desc())
    )


def _active_scorer() -> Scorer | None:
    row = db.session.execute(
        sa.select(RiskModel.id, RiskModel.version)
        .where(RiskModel.active.is_(True))
        .order_by(RiskModel.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    key = (row.id, row.version)
    if key not in _scorers:
        _scorers[key] = Scorer.of(db.session.get(RiskModel, row.id))
    return _scorers[key]


def assess(case: Case, now: datetime) -> None:
    """Set the closing round's risk_score, risk_source and risk_features on the case (not
    flushed: close_case writes them with the close)."""
    found = features(case, now)
    scorer = _active_scorer()
    if scorer is None:
        case.risk_score, case.risk_source = round(rules_score(found), 4), "rules"
    else:
        case.risk_score, case.risk_source = round(scorer.score(found), 4), f"model {scorer.version}"
    case.risk_features = found


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


def _vector(rows: list[dict[str, float]], names: tuple[str, ...]) -> np.ndarray:
    """log1p of each feature (all non-negative; missing ones 0), rows x names."""
    values = np.array([[float(row.get(name, 0.0)) for name in names] for row in rows], dtype=float)
    return np.log1p(np.clip(values, 0.0, None)).reshape(len(rows), len(names))


# Training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    closed_at: datetime
    case_id: int
    round: int
    features: dict[str, float]
    negative: bool


def answered_rounds(now: datetime) -> list[Round]:
    """The closed rounds of the last FOLLOWUP_RISK_TRAIN_DAYS days whose close kept its risk
    features and whose survey was answered, oldest close first, each labelled by its first
    answer's verdict (the dashboard's negativity); rounds given a proactive task are left out
    (treated: their answer says what the outreach did, not what the case was)."""
    since = now - timedelta(days=current_app.config["RISK_TRAIN_DAYS"])
    closes: dict[tuple[int, int], tuple[datetime, dict]] = {}
    for case_id, at, detail in db.session.execute(
        sa.select(CaseEvent.case_id, CaseEvent.at, CaseEvent.detail)
        .where(CaseEvent.kind == EventKind.CASE_CLOSED, CaseEvent.at >= since, CaseEvent.at < now)
        .order_by(CaseEvent.at, CaseEvent.id)
    ):
        risk = (detail or {}).get("risk")
        if isinstance(risk, dict) and isinstance(risk.get("features"), dict):
            closes[(case_id, detail.get("round"))] = (at, risk["features"])
    treated = set(db.session.execute(sa.select(ProactiveTask.case_id, ProactiveTask.round)).all())
    first: dict[tuple[int, int], Any] = {}
    for row in db.session.execute(
        sa.select(Response.case_id, Response.round, Response.survey_id, Response.score,
                  Response.comment)
        .where(Response.recovery_id.is_(None), Response.created_at >= since)
        .order_by(Response.created_at, Response.id)
    ):  # fmt: skip
        first.setdefault((row.case_id, row.round), row)
    surveys = _surveys({row.survey_id for row in first.values()})
    rounds = []
    for key, (at, found) in closes.items():
        answer = first.get(key)
        if answer is None or key in treated:
            continue
        negative = verdict(surveys[answer.survey_id], answer.score, answer.comment) == "negative"
        rounds.append(Round(at, key[0], key[1], found, negative))
    rounds.sort(key=lambda r: (r.closed_at, r.case_id, r.round))
    return rounds


def calibration(predicted: np.ndarray, observed: np.ndarray) -> list[dict[str, float]]:
    """Ten equal-width bins of the predicted risk: each bin's mean prediction, observed
    negative rate and count (empty bins left out)."""
    bins = []
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    index = np.clip(np.digitize(predicted, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    for i in range(CALIBRATION_BINS):
        inside = index == i
        n = int(inside.sum())
        if n:
            bins.append({
                "low": round(float(edges[i]), 2),
                "high": round(float(edges[i + 1]), 2),
                "predicted": round(float(predicted[inside].mean()), 4),
                "observed": round(float(observed[inside].mean()), 4),
                "n": n,
            })  # fmt: skip
    return bins


def train(now: datetime) -> int | None:
    """Train the next model version on the closed cases answered so far and keep it when it
    ranks held-out cases better than the rules; its version, or None when there are too few
    answers to train on (fewer than FOLLOWUP_RISK_MIN_ANSWERS rounds, or fewer than 20 of
    either class). Trains on the older 80% of the rounds by close time and measures on the
    newest 20%: ROC AUC of the model and of the rules on the same rounds, Brier scores and
    the model's calibration. Flushes; the caller commits."""
    # scikit-learn only here: the web processes score in numpy and never load it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rounds = answered_rounds(now)
    labels = np.array([r.negative for r in rounds], dtype=int)
    negatives = int(labels.sum())
    if (
        len(rounds) < current_app.config["RISK_MIN_ANSWERS"]
        or negatives < 20
        or len(rounds) - negatives < 20
    ):
        return None
    cut = int(len(rounds) * 0.8)
    x = _vector([r.features for r in rounds], FEATURES)
    x_train, y_train, x_test, y_test = x[:cut], labels[:cut], x[cut:], labels[cut:]
    means = x_train.mean(axis=0)
    scales = x_train.std(axis=0)
    scales[scales == 0] = 1.0
    fitted = LogisticRegression(C=1.0, max_iter=1000, random_state=RANDOM_STATE)
    fitted.fit((x_train - means) / scales, y_train)
    coefficients = fitted.coef_[0]
    intercept = float(fitted.intercept_[0])
    logits = ((x_test - means) / scales) @ coefficients + intercept
    predicted = 1.0 / (1.0 + np.exp(-logits))
    by_rules = np.array([rules_score(r.features) for r in rounds[cut:]])
    both = 0 < y_test.sum() < len(y_test)
    auc = float(roc_auc_score(y_test, predicted)) if both else None
    rules_auc = float(roc_auc_score(y_test, by_rules)) if both else None
    version = (db.session.scalar(sa.select(sa.func.max(RiskModel.version))) or 0) + 1
    better = auc is not None and auc > (rules_auc if rules_auc is not None else 0.5)
    if better:
        db.session.execute(
            sa.update(RiskModel).where(RiskModel.active.is_(True)).values(active=False)
        )
    db.session.add(
        RiskModel(
            version=version,
            trained_at=now,
            active=better,
            train_rounds=cut,
            test_rounds=len(rounds) - cut,
            negatives=negatives,
            auc=_rounded(auc),
            rules_auc=_rounded(rules_auc),
            brier=_rounded(float(brier_score_loss(y_test, predicted))),
            rules_brier=_rounded(float(brier_score_loss(y_test, by_rules))),
            calibration=calibration(predicted, y_test),
            features=list(FEATURES),
            coefficients=[round(float(c), 6) for c in coefficients],
            intercept=round(intercept, 6),
            means=[round(float(m), 6) for m in means],
            scales=[round(float(s), 6) for s in scales],
        )
    )
    db.session.flush()
    return version


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
