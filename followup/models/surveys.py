"""The survey aggregate: surveys, invitations (hashed tokens with expiry) and responses."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class SurveyKind(StrEnum):
    """Survey.kind (their scales and bands: surveys.kinds)."""

    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


class QuestionKind(StrEnum):
    """The kind of an extra question (Survey.questions)."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    TEXT = "text"


class SmsState(StrEnum):
    """SurveyInvitation.sms_state: an SMS conversation asks at most one more thing: comment
    (what went wrong?) or clarify (a reply we could not read); done once that question was
    answered."""

    COMMENT = "comment"
    CLARIFY = "clarify"
    DONE = "done"


SURVEY_KINDS = values(SurveyKind)
QUESTION_KINDS = values(QuestionKind)


class Survey(Model):
    """A survey: its kind and scale, the bands counted negative and positive, the reasons
    offered on a negative answer, extra questions, and its text in other languages."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=SurveyKind.CSAT)
    name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))
    scale_min: Mapped[int] = mapped_column(Integer, default=1)
    scale_max: Mapped[int] = mapped_column(Integer, default=5)
    # Scores counted negative and positive (CSAT 1-2 and 4-5, NPS 0-6 and 9-10, CES 5-7 and
    # 1-3); anything between is neutral.
    negative_min: Mapped[int] = mapped_column(Integer, default=1)
    negative_max: Mapped[int] = mapped_column(Integer, default=2)
    positive_min: Mapped[int] = mapped_column(Integer, default=4)
    positive_max: Mapped[int] = mapped_column(Integer, default=5)
    # Words or phrases that make an answer negative whatever its score ("cancel my account").
    negative_keywords: Mapped[list] = mapped_column(JSON, default=list)
    # [{"code": "slow", "label": "It took too long"}, ...]
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    # Extra questions after the score: [{"key": "rebuy", "kind": "single" | "multiple" |
    # "text", "label": "Would you buy again?", "options": ["Yes", "No"], "required": false}]
    questions: Mapped[list] = mapped_column(JSON, default=list)
    # The customer-facing text in other languages: {"es": {"question": ..., "reasons":
    # {code: label}, "questions": {key: {"label": ..., "options": [...]}}}}.
    translations: Mapped[dict] = mapped_column(JSON, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyInvitation(Model):
    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), unique=True)
    round: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    # The link token is HMAC(secret, nonce); only its SHA-256 is stored for look-ups.
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sms_state: Mapped[str | None] = mapped_column(String(20))  # SmsState
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    survey: Mapped[Survey] = relationship()
    case = relationship("Case")
    customer = relationship("Customer")
    response: Mapped["Response | None"] = relationship(back_populates="invitation")


class Response(Model):
    __tablename__ = "responses"
    # The answers of the last hour (followup.alert_rules' reason bursts), not every answer.
    __table_args__ = (Index("ix_responses_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    round: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(10))
    # The recovery whose check-in this answers; unset for a cadence's own survey.
    recovery_id: Mapped[int | None] = mapped_column(ForeignKey("recoveries.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    invitation: Mapped[SurveyInvitation] = relationship(back_populates="response")

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "comment": self.comment,
            "reason_codes": self.reason_codes,
            "answers": self.answers,
            "channel": self.channel,
            "round": self.round,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
