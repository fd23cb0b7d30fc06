"""Threshold alert rules a manager sets in the console (followup.alert_rules evaluates them)
and each rule's breach state per subject, so a breach raises one alert and the next one only
after the rule has recovered."""

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values
from followup.models.recovery import OutboundCall


class AlertRuleKind(StrEnum):
    """AlertRule.kind: what the rule watches, and what its threshold means."""

    CSAT_BELOW = "csat_below"  # CSAT of the last 7 days below `threshold` %
    CSAT_DROP = "csat_drop"  # ... more than `threshold` points below its trailing 4 weeks
    REASON_BURST = "reason_burst"  # negative answers naming one reason: more than N an hour
    RECOVERIES_OVERDUE = "recoveries_overdue"  # open recoveries overdue: more than N
    # A comment theme's comments of the last 7 days up by at least `threshold` % on the 7
    # days before (or new), with at least `min_answers` of them: one subject per theme.
    THEME_RISING = "theme_rising"


ALERT_RULE_KINDS = values(AlertRuleKind)


def new_token() -> str:
    return secrets.token_hex(8)


class AlertRule(Model):
    """One threshold: a kind, what it is of (everyone, a team or an agent), the threshold
    and, for the CSAT rules, the answers needed in the last 7 days before it says anything
    (for a rising theme, the theme's comments in the last 7 days)."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # AlertRuleKind
    team: Mapped[str] = mapped_column(String(200), default="")  # "": every team
    agent: Mapped[str] = mapped_column(String(200), default="")  # "": every agent
    threshold: Mapped[int] = mapped_column(Integer)
    min_answers: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Random, in every alert key of the rule: a rule made later with the same id (SQLite
    # reuses a deleted row's id) never meets the alerts of the deleted one.
    token: Mapped[str] = mapped_column(String(16), default=new_token)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertBreach(Model):
    """A rule's state for one subject ("" for the rule's figure, a reason code for a burst,
    "theme:<id>" for a rising theme): whether it is in breach now and how many breaches it
    has had (the alert key's number)."""

    __tablename__ = "alert_breaches"
    __table_args__ = (UniqueConstraint("rule_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    subject: Mapped[str] = mapped_column(String(100), default="")
    breaching: Mapped[bool] = mapped_column(default=False)
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Built by migration 0023 with the alert rules: erasure's look for the staff emails (digests,
# daily kudos emails) that quoted a customer's kudos, by kind and a window of creation.
Index("ix_outbound_calls_kind_created_at", OutboundCall.kind, OutboundCall.created_at)
