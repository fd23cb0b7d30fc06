"""The cadence aggregate: cadences, their steps and the message templates steps use."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import db
from followup.models.base import UTCDateTime, utcnow

# "answered": the channel the customer answered on (the steps of a recovery cadence).
STEP_CHANNELS = ("email", "sms", "preferred", "answered")
# A close cadence plans the follow-ups of a closed case; the recovery cadence plans what
# follows a negative answer (apology, recovery check-in, reminder).
CADENCE_PURPOSES = ("close", "recovery")
STEP_CONDITIONS = ("always", "no_answer")


class MessageTemplate(db.Model):
    """One message in both channel forms: an email (subject, HTML, text) and an SMS body."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email_subject: Mapped[str] = mapped_column(String(500), default="")
    email_html: Mapped[str] = mapped_column(Text, default="")
    email_text: Mapped[str] = mapped_column(Text, default="")
    sms_text: Mapped[str] = mapped_column(Text, default="")
    # The same parts in other languages: {"es": {"email_subject": ..., "sms_text": ...}}.
    translations: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Cadence(db.Model):
    __tablename__ = "cadences"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="close")
    is_default: Mapped[bool] = mapped_column(default=False)
    # Local hours texts of this cadence may go out in, like "09:00-18:00"; unset: the
    # deployment's FOLLOWUP_SMS_HOURS.
    sms_hours: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list["CadenceStep"]] = relationship(
        order_by="CadenceStep.position", cascade="all, delete-orphan"
    )


class CadenceStep(db.Model):
    __tablename__ = "cadence_steps"
    __table_args__ = (UniqueConstraint("cadence_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cadence_id: Mapped[int] = mapped_column(ForeignKey("cadences.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    condition: Mapped[str] = mapped_column(String(20), default="always")
    business_days: Mapped[bool] = mapped_column(default=False)

    template: Mapped[MessageTemplate] = relationship()
    survey = relationship("Survey")
