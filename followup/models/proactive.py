"""The proactive outreach aggregate: a task for a person to reach out to a customer whose case
closed with a risk a cadence's "risk at least" rule asks for (ProactiveTask), and the rounds a
deterministic holdout kept from it (ProactiveHoldout), the comparison group the dashboard counts
them against (followup.proactive)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class ProactiveOutcome(StrEnum):
    """ProactiveTask.outcome: what the person recorded; cancelled is the product's own (the
    case reopened before anyone reached out)."""

    REACHED = "reached"
    LEFT_MESSAGE = "left_message"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    CANCELLED = "cancelled"


PROACTIVE_OUTCOMES = values(ProactiveOutcome)
# What a person may record when completing a task (not cancelled).
RECORDED_OUTCOMES = tuple(o for o in PROACTIVE_OUTCOMES if o != ProactiveOutcome.CANCELLED)


class ProactiveTask(Model):
    """Reach out to the customer of a case round before its survey: one per case round, with
    an assignee (the case's agent) and a due time; completing it records the outcome."""

    __tablename__ = "proactive_tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "round"),
        # The queue: open tasks by due time.
        Index("ix_proactive_tasks_open", "completed_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    cadence_id: Mapped[int] = mapped_column(ForeignKey("cadences.id"))
    risk_score: Mapped[float | None] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(300))
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(320))
    outcome: Mapped[str | None] = mapped_column(String(20))  # ProactiveOutcome
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    case = relationship("Case")
    cadence = relationship("Cadence")


class ProactiveHoldout(Model):
    """A case round a proactive cadence's rule matched but the holdout kept from it (it took
    the next matching cadence or the default): untreated, the honest comparison group."""

    __tablename__ = "proactive_holdouts"
    __table_args__ = (UniqueConstraint("case_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    # The proactive cadence it would have had.
    cadence_id: Mapped[int] = mapped_column(ForeignKey("cadences.id"))
    risk_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    case = relationship("Case")
    cadence = relationship("Cadence")
