"""The recovery aggregate: the goodwill catalogue (gesture types, code pools, rules), each
case round's recovery with its one gesture and its tasks, alerts for people, and the outbound
calls (helpdesk reopens, credits, event webhooks, alert hooks) that carry it to other systems."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class GestureKind(StrEnum):
    """GestureType.kind."""

    CODE = "code"
    CREDIT = "credit"
    TASK = "task"


class GestureStatus(StrEnum):
    """Gesture.status: issued; a credit is requested until the business's system confirms it
    (or failed)."""

    ISSUED = "issued"
    REQUESTED = "requested"
    FAILED = "failed"


class RecoveryStatus(StrEnum):
    """Recovery.status."""

    OPEN = "open"
    RECOVERED = "recovered"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"


class AlertAudience(StrEnum):
    """Alert.audience: the lead queue or the managers."""

    LEAD = "lead"
    MANAGER = "manager"


class AlertKind(StrEnum):
    """Alert.kind."""

    RECOVERY_STARTED = "recovery.started"
    RECOVERY_ESCALATED = "recovery.escalated"
    POOL_EMPTY = "pool.empty"
    POOL_LOW = "pool.low"
    BUDGET_REACHED = "budget.reached"
    HELPDESK_FAILED = "helpdesk.failed"
    CREDIT_FAILED = "credit.failed"
    THRESHOLD = "threshold.breached"  # a manager's alert rule (followup.alert_rules)
    INCIDENT_OPEN = "incident.open"  # active a day with no planned end (incident_alerts)


class CallKind(StrEnum):
    """OutboundCall.kind; helpdesk reopens a ticket, helpdesk_note writes an answer or a
    recovery outcome on it; alert_hook is Slack-compatible; staff_email goes to a console
    user."""

    EVENT = "event"
    CREDIT = "credit"
    HELPDESK = "helpdesk"
    HELPDESK_NOTE = "helpdesk_note"
    ALERT_HOOK = "alert_hook"
    ALERT_EMAIL = "alert_email"
    STAFF_EMAIL = "staff_email"  # to a console user: kudos, digests (outbound.email_staff)


class CallStatus(StrEnum):
    """OutboundCall.status."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its customer's data was erased before it went


class WebhookEvent(StrEnum):
    """The type of an event webhook (an OutboundCall of kind event)."""

    RESPONSE_CREATED = "response.created"
    RECOVERY_STARTED = "recovery.started"
    GESTURE_ISSUED = "gesture.issued"
    CASE_REOPENED = "case.reopened"
    RECOVERY_SUCCEEDED = "recovery.succeeded"
    RECOVERY_FAILED = "recovery.failed"
    CUSTOMER_ERASED = "customer.erased"


GESTURE_KINDS = values(GestureKind)
RECOVERY_STATUSES = values(RecoveryStatus)


class GestureType(Model):
    """A goodwill gesture on offer: a code from a pool (discount, free shipping), an account
    credit posted to the business's system, or a task for a person (note, call-back)."""

    __tablename__ = "gesture_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # GestureKind
    # What the customer is told they get ("10% off your next order", "a $10 credit").
    offer: Mapped[str] = mapped_column(String(200), default="")
    # The offer in other languages: {"es": "un 10 % de descuento en tu próximo pedido"}.
    offer_translations: Mapped[dict] = mapped_column(JSON, default=dict)
    value_cents: Mapped[int] = mapped_column(Integer, default=0)  # a credit's amount
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)  # what one costs the business
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # The most this gesture may cost in a calendar month; unset: no cap.
    monthly_budget_cents: Mapped[int | None] = mapped_column(Integer)
    low_codes: Mapped[int] = mapped_column(Integer, default=10)  # alert at this many unused
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # where credits are posted
    assignee: Mapped[str | None] = mapped_column(String(200))  # tasks; unset: the case's agent
    due_hours: Mapped[int] = mapped_column(Integer, default=24)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GoodwillCode(Model):
    """One code of a gesture's pool; issued to one recovery, never twice."""

    __tablename__ = "goodwill_codes"
    __table_args__ = (
        UniqueConstraint("gesture_type_id", "code"),
        Index("ix_goodwill_codes_unused", "gesture_type_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gesture_type_id: Mapped[int] = mapped_column(ForeignKey("gesture_types.id"))
    code: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryRule(Model):
    """Conditions → a gesture, tried in `position` order; an empty list matches anything. No
    gesture type means: apologise and check in, nothing more."""

    __tablename__ = "recovery_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # survey reason codes
    priorities: Mapped[list] = mapped_column(JSON, default=list)  # case priorities
    customer_tags: Mapped[list] = mapped_column(JSON, default=list)  # tiers, segments
    # Words in what the customer said would make it right ("refund", "call").
    asked: Mapped[list] = mapped_column(JSON, default=list)
    gesture_type_id: Mapped[int | None] = mapped_column(ForeignKey("gesture_types.id"))
    active: Mapped[bool] = mapped_column(default=True)

    gesture_type: Mapped[GestureType | None] = relationship()


class Recovery(Model):
    """What followed a case round's first negative answer, and how it ended: recovered (a
    positive check-in), escalated (still negative, or no answer) or withdrawn (the answer was
    changed to a non-negative one)."""

    __tablename__ = "recoveries"
    __table_args__ = (
        UniqueConstraint("case_id", "round"),
        Index("ix_recoveries_status_deadline", "status", "answer_deadline_at"),
        # The root causes' figures: the causes recorded in a period (with the cause and the
        # status read from the index; the team and agent filters join each to its case by
        # id); the recoveries started in a period that ended without one; and the queue's
        # "root cause needed" (no cause, asked for).
        Index("ix_recoveries_root_cause_at", "root_cause_at", "root_cause_id", "status"),
        Index("ix_recoveries_started_root_cause", "started_at", "root_cause_id", "status"),
        Index("ix_recoveries_root_cause_asked", "root_cause_id", "root_cause_asked", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # the channel the customer answered on
    status: Mapped[str] = mapped_column(String(20), default=RecoveryStatus.OPEN)
    rule_name: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Escalate when the check-in has no answer by then (and nothing is left to send).
    answer_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    # Why it went wrong, recorded by a lead once the recovery ended (followup.root_causes):
    # the latest cause, its note, who and when; the timeline keeps every one recorded, and
    # `root_cause_changes` counts them (each change is written back to the helpdesk once).
    root_cause_id: Mapped[int | None] = mapped_column(ForeignKey("root_causes.id"))
    root_cause_note: Mapped[str | None] = mapped_column(Text)
    root_cause_by: Mapped[str | None] = mapped_column(String(320))
    root_cause_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause_changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # False for the recoveries that had ended before root causes were asked for (migration
    # 0022): never flagged "root cause needed" nor counted as ended without one.
    root_cause_asked: Mapped[bool] = mapped_column(default=True, server_default=true())

    case = relationship("Case")
    root_cause = relationship("RootCause")
    gesture: Mapped["Gesture | None"] = relationship(back_populates="recovery")
    tasks: Mapped[list["RecoveryTask"]] = relationship(order_by="RecoveryTask.due_at")


class Gesture(Model):
    """The one gesture a recovery issued (unique per recovery)."""

    __tablename__ = "gestures"

    id: Mapped[int] = mapped_column(primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("recoveries.id"), unique=True)
    gesture_type_id: Mapped[int] = mapped_column(ForeignKey("gesture_types.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(100))
    cost_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=GestureStatus.ISSUED)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)

    recovery: Mapped[Recovery] = relationship(back_populates="gesture")
    gesture_type: Mapped[GestureType] = relationship()


class RecoveryTask(Model):
    """Something a person does for a recovery (a call-back, a handwritten note, a gesture
    chosen by hand), with an assignee and a due time; completing it records the outcome."""

    __tablename__ = "recovery_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("recoveries.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    title: Mapped[str] = mapped_column(String(300))
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Model):
    """A line in the lead queue (or, for escalations and failures, the managers'); a key
    keeps the same alert from being raised twice."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    audience: Mapped[str] = mapped_column(String(20))  # AlertAudience
    kind: Mapped[str] = mapped_column(String(50))  # AlertKind
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundCall(Model):
    """One HTTP call to another system, kept until it succeeds: a helpdesk reopen, a credit,
    an event webhook, an alert hook. Claimed and retried like the message outbox."""

    __tablename__ = "outbound_calls"
    __table_args__ = (Index("ix_outbound_calls_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # CallKind
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
