"""The outbox: one row per planned message, the source of truth for every send."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import db
from followup.models.base import UTCDateTime, utcnow

MESSAGE_STATUSES = ("scheduled", "sending", "sent", "failed", "cancelled", "suppressed")
PENDING_STATUSES = ("scheduled", "sending")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("cadence_steps.id"))
    round: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(320))
    condition: Mapped[str] = mapped_column(String(20), default="always")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A claim is a lease: the sweep sets both; a dispatch job acts only on its own claim.
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    step = relationship("CadenceStep")
    case = relationship("Case")
    customer = relationship("Customer")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "step": self.step.name if self.step else None,
            "round": self.round,
            "channel": self.channel,
            "recipient": self.recipient,
            "due_at": self.due_at.isoformat(),
            "status": self.status,
            "attempts": self.attempts,
            "provider_id": self.provider_id,
            "error": self.error,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }
