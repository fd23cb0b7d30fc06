"""Request and response shapes of the intake API (pydantic); the OpenAPI document uses them."""

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from followup.models.cases import PRIORITIES

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
EXTERNAL_ID_PATTERN = r"^[^\s/\x00-\x1f\x7f]{1,200}$"
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
SourceChannel = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=30)
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=EXTERNAL_ID_PATTERN)]


def normalise_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None


def normalise_phone(value: str | None) -> str | None:
    """E.164, from any international form (+44 20 7946 0958, +1 (415) 555-0123 ...)."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; use the international form, like +14155550123")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def known_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Europe/Paris"
        ) from None
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    external_id: Text200 | None = Field(None, description="The helpdesk's id for the customer.")
    name: Text200 | None = None
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(
        None, max_length=40, description="Any international form; stored as E.164."
    )
    locale: str | None = Field(None, pattern=r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})?$")
    timezone: str | None = Field(None, max_length=64, description="IANA name, like Europe/Paris.")
    tags: list[Tag] | None = Field(
        None, max_length=50, description="Segments, like vip; see FOLLOWUP_NO_SURVEY_TAGS."
    )

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)

    _timezone = field_validator("timezone")(known_timezone)


class AgentIn(Strict):
    name: Text200 | None = None
    email: str | None = Field(None, max_length=320)

    _email = field_validator("email")(normalise_email)


class CaseIn(Strict):
    external_id: ExternalId = Field(
        description="The helpdesk's case or ticket id (no spaces or slashes)."
    )
    ticket_id: ExternalId | None = Field(
        None,
        max_length=100,
        description="The helpdesk's own ticket id, when it differs from external_id.",
    )
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    agent: AgentIn | None = None
    team: Text200 | None = None
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    tags: list[Tag] | None = Field(None, max_length=50)
    source_channel: SourceChannel | None = Field(
        None, description="How the customer reached support (email, chat, phone, web ...)."
    )
    timezone: str | None = Field(
        None, max_length=64, description="Where the case happened; for a customer without one."
    )
    customer: CustomerIn | None = Field(None, description="Required when the case is new.")

    _timezone = field_validator("timezone")(known_timezone)


class CloseIn(Strict):
    cadence: Text200 | None = Field(
        None, description="Cadence name; the default cadence if absent."
    )


class CustomerOut(Strict):
    external_id: str | None
    name: str
    email: str | None
    phone: str | None
    locale: str
    timezone: str | None
    tags: list[str]
    email_opted_out: bool
    sms_opted_out: bool


class AgentOut(Strict):
    name: str | None
    email: str | None


class CaseOut(Strict):
    external_id: str
    ticket_id: str | None
    subject: str
    agent: AgentOut
    team: str | None
    priority: str
    tags: list[str]
    source_channel: str | None
    timezone: str | None
    status: Literal["open", "closed"]
    closed_at: datetime | None
    round: int
    cadence: str | None
    escalated_at: datetime | None = Field(
        description="When feedback stayed negative and a person took over."
    )


class MessageOut(Strict):
    id: int
    step: str | None
    round: int
    channel: Literal["email", "sms"]
    recipient: str | None
    due_at: datetime
    status: Literal["scheduled", "sending", "sent", "failed", "cancelled", "suppressed"]
    attempts: int
    provider_id: str | None
    error: str | None
    sent_at: datetime | None
    delivery_status: str | None = Field(
        description="What the provider reported later: delivered, undelivered, bounced ..."
    )
    delivery_error_code: str | None


class ResponseOut(Strict):
    score: int
    comment: str
    reason_codes: list[str]
    answers: dict
    channel: str
    round: int
    created_at: datetime
    updated_at: datetime


class EventOut(Strict):
    at: datetime
    kind: str
    message_id: int | None
    detail: dict


class FeedbackOut(Strict):
    score: int
    scale_max: int
    comment: str
    reasons: list[str] = Field(description="The labels of the reasons the customer picked.")
    make_right: str = Field(description="What the customer said would make it right.")
    channel: str


class GestureOut(Strict):
    type: str
    name: str
    code: str | None
    status: Literal["issued", "requested", "failed"]
    cost_cents: int


class TaskOut(Strict):
    id: int
    title: str
    assignee: str | None
    due_at: datetime
    seconds_left: int | None = Field(description="Negative when overdue; null once completed.")
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None
    outcome: str | None


class RecoveryOut(Strict):
    id: int
    status: Literal["open", "recovered", "escalated", "withdrawn"]
    case: str
    subject: str
    agent: str | None
    customer: str
    channel: str
    started_at: datetime
    feedback: FeedbackOut
    rule: str | None
    gesture: GestureOut | None
    tasks: list[TaskOut]
    outcome_at: datetime | None
    outcome_reason: str | None


class RecoveryQueue(Strict):
    recoveries: list[RecoveryOut]


class CaseDocument(Strict):
    case: CaseOut
    customer: CustomerOut
    messages: list[MessageOut]
    responses: list[ResponseOut]
    recoveries: list[RecoveryOut]
    timeline: list[EventOut]


class ClosePlan(Strict):
    case: CaseOut
    planned: bool = Field(
        description="False when the case was already closed: nothing new was planned."
    )
    messages: list[MessageOut]


class ReopenResult(Strict):
    case: CaseOut
    cancelled: int


class FieldProblem(Strict):
    field: str
    problem: str


class ErrorOut(Strict):
    error: str
    message: str
    fields: list[FieldProblem] | None = None


class TaskDone(Strict):
    outcome: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    completed_by: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="Who did it.")


class GestureTypeOut(Strict):
    key: str
    name: str
    kind: Literal["code", "credit", "task"]
    offer: str
    offer_translations: dict[str, str] = Field(description="The offer in other languages.")
    cost_cents: int
    monthly_budget_cents: int | None
    spent_this_month_cents: int
    unused_codes: int | None = Field(description="Codes left in the pool (code gestures).")
    active: bool


class Catalogue(Strict):
    gestures: list[GestureTypeOut]


class CodesAdded(Strict):
    added: int
    skipped: int = Field(description="Codes already in the pool (used or not): not added again.")
    unused: int


class AlertOut(Strict):
    id: int
    audience: Literal["lead", "manager"]
    kind: str
    title: str
    detail: str
    case: str | None
    created_at: datetime
    acknowledged_at: datetime | None


class Alerts(Strict):
    alerts: list[AlertOut]
