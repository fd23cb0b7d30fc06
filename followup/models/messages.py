"""The outbox: one row per planned message, the source of truth for every send."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values
from followup.models.cadences import StepCondition


class MessageStatus(StrEnum):
    """Message.status: where the outbox is with a message."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"


MESSAGE_STATUSES = values(MessageStatus)
PENDING_STATUSES = (MessageStatus.SCHEDULED.value, MessageStatus.SENDING.value)
SUBJECT_CHARS = 500  # of a sent email's subject, kept


class DeliveryStatus(StrEnum):
    """Message.delivery_status: what the provider later reports."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    OPENED = "opened"
    READ = "read"  # a WhatsApp message's read receipt
    CLICKED = "clicked"


# The delivery statuses in the order a message moves through them: a report never moves a
# message back (a late "sent" after "delivered" changes nothing), nor sideways (a WhatsApp
# message that failed is never read, one that was read never fails).
DELIVERY_ORDER: dict[str, int] = {
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
    DeliveryStatus.BOUNCED: 4,
    DeliveryStatus.READ: 4,
    DeliveryStatus.OPENED: 5,
    DeliveryStatus.CLICKED: 6,
}


class Message(Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("cadence_steps.id"))
    # Set on the messages a recovery planned (apology, recovery check-in, its reminder).
    recovery_id: Mapped[int | None] = mapped_column(ForeignKey("recoveries.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(320))
    condition: Mapped[str] = mapped_column(String(20), default=StepCondition.ALWAYS)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A claim is a lease: the sweep sets both; a dispatch job acts only on its own claim.
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_error_code: Mapped[str | None] = mapped_column(String(20))
    delivery_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a sent message said (the email's subject; its text part, or the text), its survey
    # and unsubscribe links replaced by placeholders: they are one-time secrets.
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_CHARS))
    body: Mapped[str | None] = mapped_column(Text)
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
            "delivery_status": self.delivery_status,
            "delivery_error_code": self.delivery_error_code,
        }


class ProviderEvent(Model):
    """A provider webhook event already handled (SendGrid's sg_event_id, Twilio's MessageSid),
    so a redelivered event changes nothing."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
