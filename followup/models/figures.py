"""The figures aggregate: one fact row per closed case round (what happened to it, derived
from the raw rows) and daily rollups of those facts by team, agent, channel, cadence,
variant and survey (in full, without the agent, and by team and agent only), kept up to
date by the workers (followup/rollups.py) so the dashboard reads thousands of rows, not
millions."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime

# The counters of a rollup row; a round adds 0 or 1 to each (the sums add its values).
COUNTERS = (
    "closed",  # rounds closed that day
    "invited",  # a survey message went out
    "delivered",  # ... and was not reported failed, bounced or undelivered
    "responded",  # the round's survey was answered
    "csat_n", "csat_positive",  # first answers to CSAT surveys, and their 4s and 5s
    "nps_n", "nps_promoters", "nps_detractors",
    "ces_n", "ces_sum",
    "negative",  # the first answer was negative
    "gesture",  # a goodwill gesture was issued
    "gesture_cost_cents",
    "checkin_answered",  # the recovery check-in was answered
    "recovered",  # a later answer was positive
    "escalated",  # still negative (or silent): a person took over
    "recovery_seconds",  # summed over recovered rounds: first negative answer to recovery
    "reopened",  # the case was reopened after this close
)  # fmt: skip
# Dimensions of the rollups; "" (or 0 for the survey) stands for none.
DIMENSIONS = ("team", "agent", "channel", "cadence", "variant", "survey_id")
# The dimensions the dashboard filters by, carried in the index of recovery times.
RECOVERY_TIME_FILTERS = ("team", "agent", "channel", "cadence", "survey_id")


class RoundFact(Model):
    """What happened to one case round, derived again whenever its case's timeline grows."""

    __tablename__ = "round_facts"
    __table_args__ = (
        UniqueConstraint("case_id", "round"),
        Index("ix_round_facts_day", "day"),
        # The median time to recovery reads only the recovered rounds of a period, and all
        # it needs of them from this index (PostgreSQL: an index-only scan).
        Index(
            "ix_round_facts_recovery_times",
            "day",
            "recovery_seconds",
            postgresql_include=list(RECOVERY_TIME_FILTERS),
            postgresql_where=sa.text("recovery_seconds IS NOT NULL"),
            sqlite_where=sa.text("recovery_seconds IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)  # closed_at's UTC date
    team: Mapped[str] = mapped_column(String(200), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")  # of the survey invitation
    cadence: Mapped[str] = mapped_column(String(200), default="")  # the cadence's lineage
    variant: Mapped[str] = mapped_column(String(1), default="")  # A or B in an experiment
    experiment: Mapped[str] = mapped_column(String(32), default="")  # the A cadence's lineage
    survey_id: Mapped[int] = mapped_column(Integer, default=0)
    survey_kind: Mapped[str] = mapped_column(String(10), default="")
    first_score: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # of the first answer
    # Recovered rounds only: first negative answer to recovery (also counts["recovery_seconds"]).
    recovery_seconds: Mapped[int | None] = mapped_column(Integer)
    # The COUNTERS of this round, as the rollups counted them.
    counts: Mapped[dict] = mapped_column(JSON, default=dict)


class Counters:
    """The COUNTERS as columns of a rollup row."""

    closed: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    responded: Mapped[int] = mapped_column(Integer, default=0)
    csat_n: Mapped[int] = mapped_column(Integer, default=0)
    csat_positive: Mapped[int] = mapped_column(Integer, default=0)
    nps_n: Mapped[int] = mapped_column(Integer, default=0)
    nps_promoters: Mapped[int] = mapped_column(Integer, default=0)
    nps_detractors: Mapped[int] = mapped_column(Integer, default=0)
    ces_n: Mapped[int] = mapped_column(Integer, default=0)
    ces_sum: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    gesture: Mapped[int] = mapped_column(Integer, default=0)
    gesture_cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    checkin_answered: Mapped[int] = mapped_column(Integer, default=0)
    recovered: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    recovery_seconds: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)


class DailyFigure(Counters, Model):
    """The COUNTERS summed over the rounds closed on one day with the same dimensions."""

    __tablename__ = "daily_figures"
    __table_args__ = (
        UniqueConstraint("day", "team", "agent", "channel", "cadence", "variant", "survey_id"),
        # An agent's rows of a period (an agent filter with another dimension), not the
        # period's rows of every agent.
        Index("ix_daily_figures_agent_day", "agent", "day"),
    )
    dimensions = DIMENSIONS

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(200), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")
    cadence: Mapped[str] = mapped_column(String(200), default="")
    variant: Mapped[str] = mapped_column(String(1), default="")
    survey_id: Mapped[int] = mapped_column(Integer, default=0)


class DailyTeamFigure(Counters, Model):
    """DailyFigure without the agent: a tenth of the rows, for every view that neither
    filters nor breaks down by agent."""

    __tablename__ = "daily_team_figures"
    __table_args__ = (
        UniqueConstraint("day", "team", "channel", "cadence", "variant", "survey_id"),
        Index("ix_daily_team_figures_team_day", "team", "day"),  # a team's rows of a period
    )
    dimensions = ("team", "channel", "cadence", "variant", "survey_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")
    cadence: Mapped[str] = mapped_column(String(200), default="")
    variant: Mapped[str] = mapped_column(String(1), default="")
    survey_id: Mapped[int] = mapped_column(Integer, default=0)


class DailyAgentFigure(Counters, Model):
    """DailyFigure by team and agent only: the agent breakdown and agent filter's rows."""

    __tablename__ = "daily_agent_figures"
    __table_args__ = (
        UniqueConstraint("day", "team", "agent"),
        Index("ix_daily_agent_figures_team_day", "team", "day"),  # a team's rows of a period
    )
    dimensions = ("team", "agent")

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(200), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")


class DailyChannelFigure(Counters, Model):
    """DailyFigure without the team and agent: a few rows a day (channels x cadences x
    variants x surveys), for every view that neither filters nor breaks down by either: the
    headline sums, trends and the channel and cadence breakdowns of an unfiltered page."""

    __tablename__ = "daily_channel_figures"
    __table_args__ = (UniqueConstraint("day", "channel", "cadence", "variant", "survey_id"),)
    dimensions = ("channel", "cadence", "variant", "survey_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10), default="")
    cadence: Mapped[str] = mapped_column(String(200), default="")
    variant: Mapped[str] = mapped_column(String(1), default="")
    survey_id: Mapped[int] = mapped_column(Integer, default=0)


# The rollups of the COUNTERS, smallest first: a query reads the first that has every
# dimension it filters or groups by.
FIGURE_ROLLUPS = (DailyChannelFigure, DailyAgentFigure, DailyTeamFigure, DailyFigure)


def rollup_for(needed: Iterable[str]) -> type[Any]:
    """The smallest rollup with all these dimensions (which columns it has depends on them)."""
    return next(model for model in FIGURE_ROLLUPS if set(needed) <= set(model.dimensions))


class DailyReason(Model):
    """Negative first answers naming a reason, by day and the same dimensions."""

    __tablename__ = "daily_reasons"
    __table_args__ = (
        UniqueConstraint(
            "day", "team", "agent", "channel", "cadence", "variant", "survey_id", "reason"
        ),
        Index("ix_daily_reasons_agent_day", "agent", "day"),  # as ix_daily_figures_agent_day
        Index("ix_daily_reasons_team_day", "team", "day"),
    )
    dimensions = DIMENSIONS

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(200), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")
    cadence: Mapped[str] = mapped_column(String(200), default="")
    variant: Mapped[str] = mapped_column(String(1), default="")
    survey_id: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(100))
    negative: Mapped[int] = mapped_column(Integer, default=0)
    recovered: Mapped[int] = mapped_column(Integer, default=0)


class DailyReasonTotal(Model):
    """DailyReason by day and reason only: the reasons of views no dimension narrows, a few
    rows a day instead of one per reason and bucket."""

    __tablename__ = "daily_reason_totals"
    __table_args__ = (UniqueConstraint("day", "reason"),)
    dimensions: tuple[str, ...] = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(100))
    negative: Mapped[int] = mapped_column(Integer, default=0)
    recovered: Mapped[int] = mapped_column(Integer, default=0)


# The rollups of the reasons, smallest first, as FIGURE_ROLLUPS.
REASON_ROLLUPS = (DailyReasonTotal, DailyReason)


def reason_rollup_for(needed: Iterable[str]) -> type[Any]:
    """The smallest reasons rollup with all these dimensions."""
    return next(model for model in REASON_ROLLUPS if set(needed) <= set(model.dimensions))


class FigureState(Model):
    """How far the rollups have read the case timeline (one row, id 1)."""

    __tablename__ = "figure_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
