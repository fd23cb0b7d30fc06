"""Training the dissatisfaction risk model (followup.risk scores with it): the answered
closed rounds of this deployment, labelled by their first answer's verdict, each with the
features its close kept; a scikit-learn logistic regression fitted on the older 80% and
measured on the newest 20% against the rules. Only the worker's nightly job imports this
module (scikit-learn costs a process about 100 MB and seconds to load); the console's
"Train now" enqueues that job."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from followup import risk
from followup.extensions import db
from followup.models import CaseEvent, Response, Survey
from followup.models.cases import EventKind
from followup.models.proactive import ProactiveTask
from followup.models.risk import RiskModel
from surveys.scoring import verdict

CALIBRATION_BINS = 10
PAGE = 2000  # close lines read at a time (their cases' answers in one query each)
RANDOM_STATE = 0


@dataclass(frozen=True)
class Round:
    closed_at: datetime
    case_id: int
    round: int
    features: dict[str, float]
    negative: bool


def answered_rounds(now: datetime) -> list[Round]:
    """The newest FOLLOWUP_RISK_MAX_ROUNDS closed rounds of the last FOLLOWUP_RISK_TRAIN_DAYS
    days whose close kept its risk features and whose survey was answered, oldest close
    first, each labelled by its first answer's verdict (the dashboard's negativity); rounds
    given a proactive task are left out (treated: their answer says what the outreach did,
    not what the case was). Read newest first, PAGE closes at a time, until enough."""
    since = now - timedelta(days=current_app.config["RISK_TRAIN_DAYS"])
    wanted = current_app.config["RISK_MAX_ROUNDS"]
    rounds: list[Round] = []
    after: tuple[datetime, int] | None = None
    while len(rounds) < wanted:
        query = (
            sa.select(CaseEvent.id, CaseEvent.case_id, CaseEvent.at, CaseEvent.detail)
            .where(CaseEvent.kind == EventKind.CASE_CLOSED, CaseEvent.at >= since,
                   CaseEvent.at < now)
            .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
            .limit(PAGE)
        )  # fmt: skip
        if after is not None:
            query = query.where(sa.tuple_(CaseEvent.at, CaseEvent.id) < after)
        page = db.session.execute(query).all()
        if not page:
            break
        after = (page[-1].at, page[-1].id)
        rounds.extend(_labelled(page)[: wanted - len(rounds)])
    rounds.sort(key=lambda r: (r.closed_at, r.case_id, r.round))
    return rounds


def _labelled(page: Sequence[Any]) -> list[Round]:
    """The answered, untreated rounds of a page of close lines (newest first), labelled."""
    closes: dict[tuple[int, int], tuple[datetime, dict]] = {}
    for row in page:
        detail: dict = row.detail if isinstance(row.detail, dict) else {}
        kept, number = detail.get("risk"), detail.get("round")
        if isinstance(kept, dict) and isinstance(kept.get("features"), dict) and number:
            closes.setdefault((row.case_id, number), (row.at, kept["features"]))
    case_ids = {case_id for case_id, _ in closes}
    if not case_ids:
        return []
    treated = set(
        db.session.execute(
            sa.select(ProactiveTask.case_id, ProactiveTask.round).where(
                ProactiveTask.case_id.in_(case_ids)
            )
        ).all()
    )
    first: dict[tuple[int, int], Any] = {}
    for row in db.session.execute(
        sa.select(Response.case_id, Response.round, Response.score, Response.comment,
                  Survey.negative_min, Survey.negative_max, Survey.positive_min,
                  Survey.positive_max, Survey.negative_keywords)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.case_id.in_(case_ids), Response.recovery_id.is_(None))
        .order_by(Response.created_at, Response.id)
    ):  # fmt: skip
        first.setdefault((row.case_id, row.round), row)
    rounds = []
    for key, (at, found) in closes.items():
        answer = first.get(key)
        if answer is None or key in treated:
            continue
        negative = verdict(answer, answer.score, answer.comment) == "negative"
        rounds.append(Round(at, key[0], key[1], found, negative))
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
    x = risk.vector([r.features for r in rounds], risk.FEATURES)
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
    by_rules = np.array([risk.rules_score(r.features) for r in rounds[cut:]])
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
            features=list(risk.FEATURES),
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
