"""Training the dissatisfaction risk model (followup.risk scores with it): the answered
closed rounds of this deployment, labelled by their first answer's verdict, each with the
features its close kept; a scikit-learn logistic regression fitted on the older 80% and
measured on the newest 20% against the rules and the model scoring now. Only the worker's
nightly job imports this module (scikit-learn costs a process about 100 MB and seconds to
load); the console's "Train now" enqueues that job."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sqlalchemy.exc import IntegrityError

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
LOCK_KEY = 0x7269736B  # "risk": PostgreSQL advisory lock held while a version is trained


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
    """Train the next model version on the closed cases answered so far and measure it on
    rounds it did not train on; its version, or None when nothing was trained: too few
    answers (fewer than FOLLOWUP_RISK_MIN_ANSWERS rounds, or fewer than 20 of either class),
    the older 80% or the newest 20% holding one class only, or another training running at
    the same moment (PostgreSQL's advisory lock, else the version's unique key). Trains on
    the older 80% of the rounds by close time and measures on the newest 20%: ROC AUC of the
    model, of the rules and of the model active now on the same rounds, Brier scores and the
    model's calibration. The new version scores closing cases only if its AUC beats both the
    rules' and the active model's; when it does not beat the rules and the active model does
    not either (measured again on these newer rounds), the active model is retired and the
    rules score. Flushes; the caller commits."""
    if not _exclusive():
        return None
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
    if len(np.unique(y_train)) < 2 or len(np.unique(y_test)) < 2:
        return None  # nothing to fit, or no ranking to measure
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
    auc = float(roc_auc_score(y_test, predicted))
    rules_auc = float(roc_auc_score(y_test, by_rules))
    active_auc = _active_auc([r.features for r in rounds[cut:]], y_test)
    beats_rules = auc > rules_auc
    better = beats_rules and (active_auc is None or auc > active_auc)
    # The active model no better than the rules on these newer rounds: the rules score again.
    retire = not beats_rules and active_auc is not None and active_auc <= rules_auc
    model = RiskModel(
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
    try:
        with db.session.begin_nested():
            model.version = _next_version()
            if better or retire:
                db.session.execute(
                    sa.update(RiskModel).where(RiskModel.active.is_(True)).values(active=False)
                )
            db.session.add(model)
    except IntegrityError:
        return None  # another training took this version number first: its model stands
    return model.version


def _exclusive() -> bool:
    """The training's lock for this transaction, only tried (PostgreSQL; SQLite has one writer
    anyway): False when another training holds it."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    held = db.session.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    return bool(held)


def _next_version() -> int:
    return (db.session.scalar(sa.select(sa.func.max(RiskModel.version))) or 0) + 1


def _active_auc(features: list[dict[str, float]], observed: np.ndarray) -> float | None:
    """The ROC AUC of the model scoring now on these rounds (None without one); a model whose
    scores are not all finite numbers ranks as chance, 0.5 (a corrupt row: never kept)."""
    active = risk.active_model()
    if active is None:
        return None
    scorer = risk.Scorer.of(active)
    scores = np.array([scorer.score(found) for found in features])
    if not np.isfinite(scores).all():
        return 0.5
    return float(roc_auc_score(observed, scores))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
