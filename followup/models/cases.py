"""The case aggregate: a support case, its close rounds and its timeline (CaseEvent)."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow
from followup.models.customers import Customer

CASE_STATUSES = ("open", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")


class Case(Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    # The helpdesk's own ticket id (Zendesk, Freshdesk), when it differs from external_id.
    ticket_id: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    agent_name: Mapped[str | None] = mapped_column(String(200))
    agent_email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # How the customer reached support (email, chat, phone, web, social): cadence rules use it.
    source_channel: Mapped[str | None] = mapped_column(String(30))
    # Where the case happened (a store, a region): the sending hours' zone for a customer
    # without one of their own.
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each close starts a new follow-up round; messages and invitations carry it.
    round: Mapped[int] = mapped_column(Integer, default=0)
    cadence_id: Mapped[int | None] = mapped_column(ForeignKey("cadences.id"))
    # The round's experiment (the lineage of the cadence that runs it) and the variant the
    # customer got: A (that cadence) or B.
    experiment: Mapped[str | None] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(1))
    # Set when feedback stayed negative and a person took over: no more automated surveys
    # about this case.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    cadence = relationship("Cadence")

    def to_dict(self) -> dict:
        return {
            "external_id": self.external_id,
            "ticket_id": self.ticket_id,
            "subject": self.subject,
            "agent": {"name": self.agent_name, "email": self.agent_email},
            "team": self.team,
            "priority": self.priority,
            "tags": self.tags,
            "source_channel": self.source_channel,
            "timezone": self.timezone,
            "status": self.status,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "round": self.round,
            "cadence": self.cadence.name if self.cadence else None,
            "escalated_at": self.escalated_at.isoformat() if self.escalated_at else None,
        }


class CaseEvent(Model):
    """One line of a case's timeline: what happened, when, and the details."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(50))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    def to_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "message_id": self.message_id,
            "detail": self.detail,
        }
