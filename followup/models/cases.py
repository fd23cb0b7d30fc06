"""The case aggregate: a support case, its close rounds and its timeline (CaseEvent)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values
from followup.models.customers import Customer


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


CASE_STATUSES = values(CaseStatus)
PRIORITIES = values(Priority)


class Case(Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    # The helpdesk's own ticket id (Zendesk, Freshdesk), when it differs from external_id.
    ticket_id: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    # An agent user's cases are found by either (followup.agents): both indexed; the email
    # is stored lower-case.
    agent_name: Mapped[str | None] = mapped_column(String(200), index=True)
    agent_email: Mapped[str | None] = mapped_column(String(320), index=True)
    team: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(20), default=Priority.NORMAL)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # How the customer reached support (email, chat, phone, web, social): cadence rules use it.
    source_channel: Mapped[str | None] = mapped_column(String(30))
    # Where the case happened (a store, a region): the sending hours' zone for a customer
    # without one of their own.
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN)
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
    # When erasure or retention removed the customer's words from the case (followup.privacy).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Signals the helpdesk reports with the close (intake API, helpdesk webhooks); unset:
    # not reported. The risk score reads them.
    reopen_count: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    customer_replies: Mapped[int | None] = mapped_column(Integer)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    # The round's dissatisfaction risk (0-1) when it closed, what gave it ("rules" or
    # "model N") and the features it was computed from (what training reads back).
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_source: Mapped[str | None] = mapped_column(String(20))
    risk_features: Mapped[dict | None] = mapped_column(JSON)
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
            "reopen_count": self.reopen_count,
            "resolution_minutes": self.resolution_minutes,
            "customer_replies": self.customer_replies,
            "first_response_minutes": self.first_response_minutes,
            "risk": {"score": self.risk_score, "source": self.risk_source}
            if self.risk_score is not None
            else None,
        }


class EventKind(StrEnum):
    """CaseEvent.kind: every kind of line a case's timeline has. message.<status> lines come
    from a message's status, its delivery status or a SendGrid report (message_event), and
    <call kind>.done / .failed from an outbound call (call_event)."""

    CASE_CREATED = "case.created"
    CASE_UPDATED = "case.updated"
    CASE_CLOSED = "case.closed"
    CASE_REOPENED = "case.reopened"
    # Erasure or retention removed the customer's words and addresses (followup.privacy).
    CASE_REDACTED = "case.redacted"
    # The outbox (MessageStatus and its own steps).
    MESSAGE_SENT = "message.sent"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_CANCELLED = "message.cancelled"
    MESSAGE_SUPPRESSED = "message.suppressed"
    MESSAGE_DEFERRED = "message.deferred"
    MESSAGE_RESENDING = "message.resending"
    MESSAGE_RETRY_SCHEDULED = "message.retry_scheduled"
    MESSAGE_NO_FALLBACK = "message.no_fallback"
    MESSAGE_FALLBACK_TO_EMAIL = "message.fallback_to_email"
    MESSAGE_FALLBACK_TO_SMS = "message.fallback_to_sms"  # a WhatsApp step's number not on it
    # Delivery reports (DeliveryStatus; sent and failed are above).
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_UNDELIVERED = "message.undelivered"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_OPENED = "message.opened"
    MESSAGE_READ = "message.read"
    MESSAGE_CLICKED = "message.clicked"
    # SendGrid reports that suppress the address without a delivery status.
    MESSAGE_SPAMREPORT = "message.spamreport"
    MESSAGE_UNSUBSCRIBE = "message.unsubscribe"
    MESSAGE_GROUP_UNSUBSCRIBE = "message.group_unsubscribe"
    RESPONSE_RECORDED = "response.recorded"
    RESPONSE_CHANGED = "response.changed"
    SMS_UNREADABLE = "sms.unreadable"
    CUSTOMER_UNSUBSCRIBED = "customer.unsubscribed"
    CUSTOMER_PHONE_DROPPED = "customer.phone_dropped"  # a helpdesk sent a malformed number
    CASE_SIGNAL_DROPPED = "case.signal_dropped"  # a helpdesk sent a malformed risk signal
    RECOVERY_STARTED = "recovery.started"
    RECOVERY_NO_CADENCE = "recovery.no_cadence"
    RECOVERY_WITHDRAWN = "recovery.withdrawn"
    RECOVERY_RESUMED = "recovery.resumed"
    RECOVERY_SUCCEEDED = "recovery.succeeded"
    RECOVERY_ESCALATED = "recovery.escalated"
    RECOVERY_ROOT_CAUSE = "recovery.root_cause"  # a lead recorded why it went wrong
    GESTURE_NONE = "gesture.none"
    GESTURE_UNAVAILABLE = "gesture.unavailable"
    GESTURE_ISSUED = "gesture.issued"
    TASK_CREATED = "task.created"
    TASK_COMPLETED = "task.completed"
    ALERT_RAISED = "alert.raised"
    # Outbound calls (CallKind) that gave up, and the helpdesk reopens, write-backs and
    # credits that went through.
    EVENT_FAILED = "event.failed"
    CREDIT_FAILED = "credit.failed"
    HELPDESK_FAILED = "helpdesk.failed"
    HELPDESK_NOTE_FAILED = "helpdesk_note.failed"
    ALERT_HOOK_FAILED = "alert_hook.failed"
    ALERT_EMAIL_FAILED = "alert_email.failed"
    STAFF_EMAIL_FAILED = "staff_email.failed"  # an instant kudos email about the case
    CREDIT_DONE = "credit.done"
    HELPDESK_DONE = "helpdesk.done"
    HELPDESK_NOTE_DONE = "helpdesk_note.done"
    # Proactive outreach (followup.proactive): a task opened for a high-risk round, its
    # outcome recorded (or cancelled by a reopen), or the round kept out by the holdout.
    PROACTIVE_TASK_CREATED = "proactive.task_created"
    PROACTIVE_TASK_COMPLETED = "proactive.task_completed"
    PROACTIVE_HELD_OUT = "proactive.held_out"

    @classmethod
    def message_event(cls, status: str) -> "EventKind":
        """message.<status> for a message status, a delivery status or a SendGrid report;
        ValueError for any other."""
        return cls(f"message.{status}")

    @classmethod
    def call_event(cls, kind: str, outcome: str) -> "EventKind":
        """<kind>.<outcome> for an outbound call that is done or failed; ValueError for any
        other."""
        return cls(f"{kind}.{outcome}")


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
