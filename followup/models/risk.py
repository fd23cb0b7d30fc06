"""The dissatisfaction risk models trained on this deployment's closed cases (followup.risk):
one row per version, with what it scores with (feature names, the standardisation's means and
scales, the logistic regression's coefficients and intercept, as JSON, never pickled) and how
it measured on the cases it did not train on. The newest version marked active scores; a
version is stored even when it loses to the rules, so admins see every attempt."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow


class RiskModel(Model):
    """One trained version. `calibration` is a list of {"low", "high", "predicted", "observed",
    "n"} bins over the held-out cases; `features` names the coefficients in order."""

    __tablename__ = "risk_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(default=False)
    train_rounds: Mapped[int] = mapped_column(Integer)
    test_rounds: Mapped[int] = mapped_column(Integer)
    negatives: Mapped[int] = mapped_column(Integer)
    auc: Mapped[float | None] = mapped_column(Float)
    rules_auc: Mapped[float | None] = mapped_column(Float)
    brier: Mapped[float | None] = mapped_column(Float)
    rules_brier: Mapped[float | None] = mapped_column(Float)
    calibration: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    features: Mapped[list[str]] = mapped_column(JSON)
    coefficients: Mapped[list[float]] = mapped_column(JSON)
    intercept: Mapped[float] = mapped_column(Float)
    means: Mapped[list[float]] = mapped_column(JSON)
    scales: Mapped[list[float]] = mapped_column(JSON)
