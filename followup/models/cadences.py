"""The cadence aggregate: cadences, their steps and the message templates steps use."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class StepChannel(StrEnum):
    """CadenceStep.channel; "answered": the channel the customer answered on (the steps of a
    recovery cadence)."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    PREFERRED = "preferred"
    ANSWERED = "answered"


class CadencePurpose(StrEnum):
    """Cadence.purpose: a close cadence plans the follow-ups of a closed case; the recovery
    cadence plans what follows a negative answer (apology, recovery check-in, reminder)."""

    CLOSE = "close"
    RECOVERY = "recovery"


class StepCondition(StrEnum):
    """CadenceStep.condition and Message.condition. no_answer: only while the step's survey is
    unanswered; negative / positive: only when the round's latest answer is (a check-in after
    an unhappy or a happy answer)."""

    ALWAYS = "always"
    NO_ANSWER = "no_answer"
    NEGATIVE = "negative"
    POSITIVE = "positive"


STEP_CHANNELS = values(StepChannel)
CADENCE_PURPOSES = values(CadencePurpose)
STEP_CONDITIONS = values(StepCondition)
# What a close cadence's rules may look at; an empty list matches any value.
CADENCE_RULE_FIELDS = ("priorities", "tags", "teams", "sources", "segments")


class MessageTemplate(Model):
    """One message in both channel forms: an email (subject, HTML, text) and an SMS body."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email_subject: Mapped[str] = mapped_column(String(500), default="")
    email_html: Mapped[str] = mapped_column(Text, default="")
    email_text: Mapped[str] = mapped_column(Text, default="")
    sms_text: Mapped[str] = mapped_column(Text, default="")
    # WhatsApp: the approved content template (Twilio Content API, "HX" + 32 hex) that carries
    # a business-initiated message, and its ContentVariables as lines "1: {{ customer.first_name }}"
    # (each value rendered like a text part).
    whatsapp_content_sid: Mapped[str] = mapped_column(String(34), default="", server_default="")
    whatsapp_variables: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The same parts in other languages: {"es": {"email_subject": ..., "sms_text": ...}}.
    translations: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Cadence(Model):
    """One version of a cadence. Versions are never changed once a case may have used them:
    an edit writes the next version (same `lineage`) and marks this one superseded, so what
    was planned for closed cases keeps its steps. The current version is the one not
    superseded; an archived cadence takes no new cases."""

    __tablename__ = "cadences"
    __table_args__ = (
        UniqueConstraint("lineage", "version"),
        # One current version per name.
        Index(
            "uq_cadences_current_name",
            "name",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20), default=CadencePurpose.CLOSE)
    is_default: Mapped[bool] = mapped_column(default=False)
    # Close cadences with rules are tried in this order; the first whose rules all match a
    # closed case takes it, else the default does.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {"priorities": [...], "tags": [...], "teams": [...], "sources": [...], "segments": [...]}
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # Local hours texts of this cadence may go out in, like "09:00-18:00"; unset: the
    # deployment's FOLLOWUP_SMS_HOURS.
    sms_hours: Mapped[str | None] = mapped_column(String(11))
    # At most one survey per customer in this many days; unset: FOLLOWUP_SURVEY_CAP_DAYS.
    survey_cap_days: Mapped[int | None] = mapped_column(Integer)
    # An experiment: this share (percent) of the customers whose cases this cadence takes
    # get the cadence of this lineage instead (variant B), chosen at random, sticky per
    # customer.
    experiment_lineage: Mapped[str | None] = mapped_column(String(32))
    experiment_share: Mapped[int] = mapped_column(Integer, default=50)
    # Proactive outreach (followup.proactive): a case this cadence takes gets a task for a
    # person with this title ("Call the customer before the survey"), due this many hours
    # after the close; unset: no task. Meant with a "min_risk" rule.
    proactive_task: Mapped[str | None] = mapped_column(String(300))
    proactive_due_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(320))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    steps: Mapped[list["CadenceStep"]] = relationship(
        order_by="CadenceStep.position", cascade="all, delete-orphan"
    )


class CadenceStep(Model):
    __tablename__ = "cadence_steps"
    __table_args__ = (UniqueConstraint("cadence_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cadence_id: Mapped[int] = mapped_column(ForeignKey("cadences.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20), default=StepChannel.EMAIL)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    condition: Mapped[str] = mapped_column(String(20), default=StepCondition.ALWAYS)
    business_days: Mapped[bool] = mapped_column(default=False)

    template: Mapped[MessageTemplate] = relationship()
    survey = relationship("Survey")
