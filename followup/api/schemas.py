"""Request and response shapes of the intake API (pydantic); the OpenAPI document uses them.
The case as it comes in (CaseIn) is followup.web.case_input, shared with the helpdesk
webhooks."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from followup.goodwill import MAX_CODE_LENGTH
from followup.models.base import values
from followup.models.cases import CASE_STATUSES, PRIORITIES, EventKind
from followup.models.messages import MESSAGE_STATUSES, DeliveryStatus
from followup.models.recovery import (
    GESTURE_KINDS,
    RECOVERY_STATUSES,
    AlertAudience,
    AlertKind,
    GestureStatus,
)
from followup.text import is_text
from followup.web.case_input import FILLED, Strict, Text200

ALERT_AUDIENCES = values(AlertAudience)

# The codes upload as parse_codes reads it: one code a line (its first CSV column), an
# optional "code" header; a code has no control character, no space around it and at most
# MAX_CODE_LENGTH characters. (A CSV with more columns is read too; this is its plain form.)
_EDGE = r'[^\s",\x00-\x1f\x7f-\x9f\ufeff]'
_INSIDE = r'[^",\x00-\x1f\x7f-\x9f]'
_CODE = rf"{_EDGE}(?:{_INSIDE}{{0,{MAX_CODE_LENGTH - 2}}}{_EDGE})?"
CODES_CSV = {
    "type": "string",
    "description": "One code a line (the first column of a CSV), an optional `code` header",
    "pattern": rf"^(?:[Cc][Oo][Dd][Ee]\r?\n)?{_CODE}(?:\r?\n{_CODE})*(?:\r?\n)?$",
    "not": {"pattern": r"^\s*[Cc][Oo][Dd][Ee]\s*$"},  # the header alone holds no code
}


class CloseIn(Strict):
    cadence: Text200 | None = Field(
        None,
        description="The name of a current cadence (any case); the default cadence if absent. "
        "Which names exist is data, not this document: an unknown one is a 422.",
    )


class CustomerOut(Strict):
    external_id: str | None
    name: str
    email: str | None
    phone: str | None
    locale: str | None
    timezone: str | None
    preferred_channel: Literal["email", "sms", "whatsapp"] | None
    tags: list[str]
    email_opted_out: bool
    sms_opted_out: bool
    whatsapp_opted_out: bool


class AgentOut(Strict):
    name: str | None
    email: str | None


class CaseOut(Strict):
    external_id: str
    ticket_id: str | None
    subject: str
    agent: AgentOut
    team: str | None
    priority: Literal[PRIORITIES]  # type: ignore[valid-type]
    tags: list[str]
    source_channel: str | None
    timezone: str | None
    status: Literal[CASE_STATUSES]  # type: ignore[valid-type]
    closed_at: datetime | None
    round: int
    cadence: str | None
    escalated_at: datetime | None = Field(
        description="When feedback stayed negative and a person took over."
    )
    reopen_count: int | None
    resolution_minutes: int | None
    customer_replies: int | None
    first_response_minutes: int | None
    risk: "RiskOut | None" = Field(
        description="The last round's dissatisfaction risk, when it closed (docs/risk.md)."
    )


class RiskOut(Strict):
    score: float = Field(ge=0, le=1, description="The chance of a negative first answer.")
    source: str = Field(description='What scored it: "rules" or "model N".')


class MessageOut(Strict):
    id: int
    step: str | None
    round: int
    channel: Literal["email", "sms", "whatsapp"]
    recipient: str | None
    due_at: datetime
    status: Literal[MESSAGE_STATUSES]  # type: ignore[valid-type]
    attempts: int
    provider_id: str | None
    error: str | None
    sent_at: datetime | None
    delivery_status: Literal[values(DeliveryStatus)] | None = Field(  # type: ignore[valid-type]
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
    kind: Literal[values(EventKind)]  # type: ignore[valid-type]
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
    status: Literal[values(GestureStatus)]  # type: ignore[valid-type]
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


class RootCauseOut(Strict):
    key: str
    name: str
    active: bool = Field(description="False once the admin took it off the list.")
    note: str | None
    by: str | None = Field(description="Who recorded it (the latest change).")
    at: datetime | None


class RecoveryOut(Strict):
    id: int
    status: Literal[RECOVERY_STATUSES]  # type: ignore[valid-type]
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
    ended: bool = Field(description="Recovered, escalated, or a task of it completed.")
    root_cause_needed: bool = Field(
        description="Ended without a root cause, and one is asked for (not for the recoveries "
        "that had ended before root causes were)."
    )
    root_cause: RootCauseOut | None = Field(description="The latest root cause recorded.")


class RecoveryQueue(Strict):
    recoveries: list[RecoveryOut]


class CaseDocument(Strict):
    """The case and its customer; its history too, except to an intake key's upsert."""

    case: CaseOut
    customer: CustomerOut
    messages: list[MessageOut] = []
    responses: list[ResponseOut] = []
    recoveries: list[RecoveryOut] = []
    timeline: list[EventOut] = []


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


def _unicode_text(value: str | None) -> str | None:
    """Text a database column keeps: no lone surrogate (a JSON \\ud800 escape)."""
    if value is not None and not is_text(value):
        raise ValueError("holds a lone surrogate: not Unicode text")
    return value


RootCauseKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
    Field(description="A key on the root cause list (GET /api/v1/root-causes). Which keys "
          "are on it is data, not this document: an unknown or inactive one is a 422."),
]  # fmt: skip
RootCauseNote = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=1000),
    AfterValidator(_unicode_text),
    Field(description="Optional: what went wrong, in the lead's words (text, never HTML)."),
]
RecordedBy = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED),
    AfterValidator(_unicode_text),
]


class TaskDone(Strict):
    outcome: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=FILLED),
    ]
    completed_by: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED)
    ] = Field(description="Who did it.")
    root_cause: RootCauseKey | None = Field(
        None, description="The recovery's root cause, recorded with the task (optional)."
    )
    root_cause_note: RootCauseNote | None = Field(
        None, description="Only with root_cause (a note without a cause is a 422)."
    )


class ProactiveTaskOut(Strict):
    id: int
    case: str | None = Field(description="The case's external id.")
    round: int = Field(description="The case's close round the task is for.")
    title: str
    risk_score: float | None = Field(description="The round's risk (0-1) when it closed.")
    assignee: str | None
    due_at: datetime
    seconds_left: int | None = Field(description="Negative when overdue; null once completed.")
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None
    outcome: str | None = Field(description="reached, left_message, no_answer, declined, or "
                                "cancelled (the case reopened first).")  # fmt: skip
    note: str | None
    created_at: datetime


class ProactiveTasks(Strict):
    proactive_tasks: list[ProactiveTaskOut]


class ProactiveTaskDone(Strict):
    outcome: Literal["reached", "left_message", "no_answer", "declined"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    completed_by: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED)
    ] = Field(description="Who reached out.")


class RootCauseIn(Strict):
    root_cause: RootCauseKey
    note: RootCauseNote | None = None
    recorded_by: RecordedBy = Field(description="Who records it.")


class RootCauseRecorded(Strict):
    recovery_id: int
    changed: bool = Field(
        description="False when that cause and note were the ones recorded already."
    )
    root_cause: RootCauseOut


class RootCauseListed(Strict):
    key: str
    name: str
    active: bool = Field(description="Offered to leads; an inactive cause stays on recoveries.")
    position: int


class RootCauseList(Strict):
    root_causes: list[RootCauseListed]


class GestureTypeOut(Strict):
    key: str
    name: str
    kind: Literal[GESTURE_KINDS]  # type: ignore[valid-type]
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
    audience: Literal[ALERT_AUDIENCES]  # type: ignore[valid-type]
    kind: Literal[values(AlertKind)]  # type: ignore[valid-type]
    title: str
    detail: str
    case: str | None
    created_at: datetime
    acknowledged_at: datetime | None


class Alerts(Strict):
    alerts: list[AlertOut]


class ExportCustomer(CustomerOut):
    created_at: datetime


class ExportMessage(MessageOut):
    template: str | None = Field(
        description="The key of the template it was rendered from (bodies are not stored)."
    )


class ExportSuppression(Strict):
    channel: Literal["email", "sms", "whatsapp"]
    address: str
    reason: str
    since: datetime


class ExportCase(Strict):
    case: CaseOut
    messages: list[ExportMessage]
    responses: list[ResponseOut]
    recoveries: list[RecoveryOut] = Field(description="With their gestures and tasks.")
    timeline: list[EventOut]


class CustomerExport(Strict):
    """Everything held about one customer (followup.privacy.export)."""

    exported_at: datetime
    customer: ExportCustomer
    identities: list[str] = Field(description="Every external id the customer is known by.")
    suppressions: list[ExportSuppression] = Field(
        description="The customer's addresses on the suppression list."
    )
    cases: list[ExportCase]


class Erased(Strict):
    erased: bool
    cases: int = Field(description="The customer's cases, each redacted.")
