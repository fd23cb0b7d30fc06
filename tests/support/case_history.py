"""Generated case history for the risk model: closed, answered rounds inserted in bulk (no
HTTP, a fraction of a second for 600), where a long resolution and reopens cause
dissatisfaction and the other signals are noise. Deterministic for a seed.

The truth: P(negative) = sigmoid(-5.5 + 3 log1p(resolution days) + 1.5 reopens); replies,
first response, priority and earlier answers carry nothing. The rules weigh those noise
signals too and treat resolution as two steps, so a model trained on the history ranks
better than they do."""

import math
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from followup import risk
from followup.extensions import db
from followup.models import (
    Case,
    CaseEvent,
    Customer,
    Response,
    RiskModel,
    Survey,
    SurveyInvitation,
)
from followup.models.base import utcnow
from followup.models.cases import EventKind

PRIORITIES = ("low", "normal", "high", "urgent")


def truth(resolution_hours: float, reopens: int) -> float:
    """The generated history's probability of a negative first answer."""
    z = -5.5 + 3.0 * math.log1p(resolution_hours / 24) + 1.5 * reopens
    return 1.0 / (1.0 + math.exp(-z))


def generated_rounds(n: int, seed: int) -> list[tuple[dict, dict[str, float], bool]]:
    """n rounds as (case signals, risk features, negative), oldest first."""
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        reopens = rng.choices((0, 1, 2, 3), (0.6, 0.25, 0.1, 0.05))[0]
        resolution = max(1, round(rng.lognormvariate(math.log(30 * 60), 1.1)))
        replies = rng.randint(0, 8)
        first = max(1, round(rng.lognormvariate(math.log(4 * 60), 1.2)))
        priority = rng.choices(PRIORITIES, (0.2, 0.5, 0.2, 0.1))[0]
        earlier = rng.choices((0, 1, 2), (0.8, 0.15, 0.05))[0]
        signals = {
            "reopen_count": reopens,
            "resolution_minutes": resolution,
            "customer_replies": replies,
            "first_response_minutes": first,
            "priority": priority,
        }
        features = {
            "reopen_count": float(reopens),
            "reopened_here": 0.0,
            "resolution_hours": round(resolution / 60, 3),
            "customer_replies": float(replies),
            "first_response_hours": round(first / 60, 3),
            "priority": float(PRIORITIES.index(priority)),
            "earlier_negative": float(earlier),
            "earlier_recoveries": 0.0,
            "opted_out": 0.0,
        }
        negative = rng.random() < truth(resolution / 60, reopens)
        made.append((signals, features, negative))
    return made


def insert_history(now: datetime, n: int = 600, seed: int = 17, days: int = 300) -> list[bool]:
    """Insert n closed rounds (one case and customer each), closed in order over `days` days
    ending two days before now, each answered a day after its close (score 1 negative, 5
    not), with its case.closed line holding the rules' risk and the features; their labels,
    oldest first. Commits."""
    rounds = generated_rounds(n, seed)
    survey = Survey(key=f"history-{seed}", name="History", question="How did we do?")
    db.session.add(survey)
    db.session.flush()
    step = timedelta(days=days) / n
    closed = [now - timedelta(days=days + 2) + step * i for i in range(n)]
    customer_ids = _insert(
        Customer, [{"name": f"History {seed}-{i}", "locale": "en"} for i in range(n)]
    )
    case_ids = _insert(Case, [
        {
            "external_id": f"H{seed}-{i}", "customer_id": customer_ids[i], "subject": "",
            "priority": signals["priority"], "tags": [], "status": "closed", "round": 1,
            "closed_at": closed[i], "risk_score": round(risk.rules_score(features), 4),
            "risk_source": "rules", "risk_features": features,
            **{name: signals[name] for name in risk.CASE_SIGNALS},
        }
        for i, (signals, features, _) in enumerate(rounds)
    ])  # fmt: skip
    _insert(CaseEvent, [
        {
            "case_id": case_ids[i], "at": closed[i], "kind": EventKind.CASE_CLOSED,
            "detail": {"round": 1, "cadence": "History", "planned": 0, "risk": {
                "score": round(risk.rules_score(features), 4), "source": "rules",
                "features": features,
            }},
        }
        for i, (_, features, _) in enumerate(rounds)
    ])  # fmt: skip
    invitation_ids = _insert(SurveyInvitation, [
        {
            "survey_id": survey.id, "case_id": case_ids[i], "customer_id": customer_ids[i],
            "round": 1, "channel": "email", "nonce": f"n{seed}-{i}",
            "token_hash": f"history-{seed}-{i}", "expires_at": now + timedelta(days=30),
        }
        for i in range(n)
    ])  # fmt: skip
    _insert(Response, [
        {
            "invitation_id": invitation_ids[i], "case_id": case_ids[i], "survey_id": survey.id,
            "round": 1, "score": 1 if negative else 5, "comment": "", "channel": "email",
            "created_at": closed[i] + timedelta(days=1),
        }
        for i, (_, _, negative) in enumerate(rounds)
    ])  # fmt: skip
    db.session.commit()
    return [negative for _, _, negative in rounds]


def _insert(model, rows: list[dict]) -> list[int]:
    """Insert the rows in one statement; their ids, in the rows' order."""
    return list(
        db.session.scalars(sa.insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    )


def risk_model(version: int = 1, active: bool = True) -> RiskModel:
    """A trained model version as train() would store it (not added): for pages."""
    names = list(risk.FEATURES)
    return RiskModel(
        version=version, trained_at=utcnow(), active=active, train_rounds=480, test_rounds=120,
        negatives=150, auc=0.85, rules_auc=0.814, brier=0.14, rules_brier=0.16,
        calibration=[
            {"low": 0.0, "high": 0.1, "predicted": 0.04, "observed": 0.05, "n": 60},
            {"low": 0.5, "high": 0.6, "predicted": 0.55, "observed": 0.5, "n": 60},
        ],
        features=names, coefficients=[0.1 * i for i in range(len(names))], intercept=-1.5,
        means=[0.5] * len(names), scales=[1.0] * len(names),
    )  # fmt: skip
