"""Helpdesk intake: POST /webhooks/zendesk and /webhooks/freshdesk take the ticket webhooks a
Zendesk trigger or a Freshdesk automation sends (the JSON bodies the README gives), with an
API key of scope intake (or full) as `Authorization: Bearer <key>`.

A solved or closed ticket creates or updates its case (external id "zendesk-<id>" or
"freshdesk-<id>") and closes it, planning its follow-ups once; a ticket back in the agents'
hands reopens a case we know is closed; any other status is answered and ignored. Fields are
validated by the intake API's CaseIn, with problems named where the webhook put them; a
requester with a valid email address and a malformed phone number is taken by email (the
phone dropped, with a note on the timeline and in the answer), and a malformed risk signal is
dropped the same way (the close goes through; the API refuses one with 422). The requester
is matched to a known customer as the API's are (followup.cases.upsert_customer).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import jsonify
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from followup.cases import CaseError, close_case, record_event, reopen_case, upsert_case
from followup.extensions import db
from followup.models import Case
from followup.models.base import utcnow
from followup.models.cases import CaseStatus, EventKind
from followup.models.users import ApiScope
from followup.risk import CASE_SIGNALS
from followup.web.api_keys import authenticate
from followup.web.case_input import CaseIn, normalise_email, normalise_phone
from followup.web.json_body import (
    BadRequest,
    bad_request,
    case_error,
    conflict,
    invalid,
    read_json,
    validated,
)
from followup.webhooks import bp

bp.register_error_handler(BadRequest, bad_request)
bp.register_error_handler(CaseError, case_error)
# The same new ticket or requester, delivered twice at once: the helpdesk sends it again.
bp.register_error_handler(IntegrityError, conflict)

# Both helpdesks' priorities (Freshdesk says Medium) as ours; others leave the case's as it is.
PRIORITIES = {
    "low": "low",
    "normal": "normal",
    "medium": "normal",
    "high": "high",
    "urgent": "urgent",
}
TAG_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Helpdesk:
    name: str
    envelope: str  # the body's object that holds the ticket
    fields: dict[str, str]  # CaseIn field path -> the ticket's field (path) that carries it
    status: str  # the ticket's field that holds its status
    closing: frozenset[str]
    reopening: frozenset[str]

    def path(self, field: str) -> str:
        """Where the webhook's body holds a CaseIn field."""
        return f"{self.envelope}.{self.fields[field]}"

    def paths(self) -> dict[str, str]:
        """Every CaseIn field's path in the webhook's body (to name them in a 422)."""
        paths = {field: self.path(field) for field in self.fields}
        return paths | {"external_id": paths["ticket_id"]}


ZENDESK = Helpdesk(
    name="zendesk",
    envelope="ticket",
    fields={
        "ticket_id": "id",
        "subject": "title",
        "priority": "priority",
        "tags": "tags",
        "team": "group",
        "customer.external_id": "requester.id",
        "customer.name": "requester.name",
        "customer.email": "requester.email",
        "customer.phone": "requester.phone",
        "agent.name": "assignee.name",
        "agent.email": "assignee.email",
        # Risk signals, named as Zendesk's ticket metrics are (a {"calendar": n, "business":
        # n} object is read by its calendar minutes).
        "reopen_count": "metrics.reopens",
        "customer_replies": "metrics.replies",
        "resolution_minutes": "metrics.full_resolution_time_in_minutes",
        "first_response_minutes": "metrics.reply_time_in_minutes",
    },
    status="status",
    closing=frozenset({"solved", "closed"}),
    reopening=frozenset({"new", "open", "pending", "hold"}),
)
FRESHDESK = Helpdesk(
    name="freshdesk",
    envelope="freshdesk_webhook",
    fields={
        "ticket_id": "ticket_id",
        "subject": "ticket_subject",
        "priority": "ticket_priority",
        "tags": "ticket_tags",
        "team": "ticket_group_name",
        "customer.name": "ticket_contact_name",
        "customer.email": "ticket_contact_email",
        "customer.phone": "ticket_contact_phone",
        "agent.name": "ticket_agent_name",
        "agent.email": "ticket_agent_email",
        "reopen_count": "ticket_reopen_count",
        "customer_replies": "ticket_customer_replies",
        "resolution_minutes": "ticket_resolution_minutes",
        "first_response_minutes": "ticket_first_response_minutes",
    },
    status="ticket_status",
    closing=frozenset({"resolved", "closed"}),
    reopening=frozenset({"open", "pending"}),
)


def _value(ticket: dict, path: str):
    """The ticket's field at a dotted path; None when absent or an empty placeholder."""
    value = ticket
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ids, when the helpdesk sends them as numbers
    return None if value in (None, "") else value


def _signal(ticket: dict, path: str):
    """A risk signal at a dotted path: a number as the helpdesk sent it, one its placeholder
    rendered as a string of (at most 18) digits, or an object's calendar minutes (Zendesk's
    metrics); None when absent or empty. Anything else goes on as it is, for
    drop_malformed_signals to drop with a note."""
    value = _value(ticket, path)
    if isinstance(value, dict):
        value = _value(value, "calendar")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return value


def case_fields(helpdesk: Helpdesk, ticket: dict) -> dict:
    """CaseIn's fields from a ticket webhook: external ids prefixed with the helpdesk's name,
    priorities as ours, tags from a space- or comma-separated string."""
    number = _value(ticket, helpdesk.fields["ticket_id"])
    if not (isinstance(number, str) and number.isascii() and number.isdigit()):
        problem = {
            "field": helpdesk.path("ticket_id"),
            "problem": "the ticket's number is required",
        }
        raise invalid([problem])
    data: dict = {"external_id": f"{helpdesk.name}-{number}"}
    for field, source in helpdesk.fields.items():
        value = _value(ticket, source)
        if field == "priority" and value is not None:
            value = PRIORITIES.get(str(value).lower())
        elif field == "tags" and isinstance(value, str):
            value = [tag for tag in TAG_SEPARATORS.split(value) if tag]
        elif field == "customer.external_id" and value is not None:
            value = f"{helpdesk.name}-{value}"
        elif field in CASE_SIGNALS:
            value = _signal(ticket, source)
        if value is not None:
            group, _, name = field.rpartition(".")
            (data.setdefault(group, {}) if group else data)[name] = value
    return data


def drop_malformed_phone(helpdesk: Helpdesk, data: dict) -> list[dict]:
    """A contact with a valid email address and a malformed phone number is taken by email:
    the phone is dropped, with a note saying so (without a valid email, CaseIn refuses it)."""
    customer = data.get("customer") or {}
    phone, email = customer.get("phone"), customer.get("email")
    if (
        phone is None
        or not _normalises(normalise_email, email)
        or _normalises(normalise_phone, phone)
    ):
        return []
    del customer["phone"]
    field = helpdesk.path("customer.phone")
    return [
        {
            "field": field,
            "note": "not a valid phone number: dropped, the customer is reached by email",
        }
    ]


# What CaseIn takes for each risk signal (a whole number in its range, or None).
_SIGNAL_TYPES = {name: TypeAdapter(CaseIn.model_fields[name].annotation) for name in CASE_SIGNALS}


def drop_malformed_signals(helpdesk: Helpdesk, data: dict) -> list[dict]:
    """Risk signals CaseIn would refuse are dropped (left unset: the risk reads them as not
    reported), each with a note: an optional signal does not hold up the ticket's close."""
    notes = []
    for name, adapter in _SIGNAL_TYPES.items():
        if name not in data:
            continue
        try:
            adapter.validate_python(data[name])
        except ValidationError:
            del data[name]
            notes.append(
                {
                    "field": helpdesk.path(name),
                    "note": "not a whole number in the accepted range: dropped, the risk "
                    "score reads it as not reported",
                }
            )
    return notes


def _normalises(normalise: Callable[[str], str | None], value) -> bool:
    """Whether a normaliser takes this value (a string, not over the longest an address is)."""
    if not isinstance(value, str) or len(value) > 320:
        return False
    try:
        return normalise(value) is not None
    except ValueError:
        return False


def intake(helpdesk: Helpdesk):
    refused = authenticate(ApiScope.INTAKE)
    if refused is not None:
        return refused
    ticket = read_json().get(helpdesk.envelope)
    if not isinstance(ticket, dict):
        raise invalid([{"field": helpdesk.envelope, "problem": "an object is required"}])
    status = str(ticket.get(helpdesk.status) or "").strip().lower()
    data = case_fields(helpdesk, ticket)
    now = utcnow()
    if status in helpdesk.closing:
        phone_notes = drop_malformed_phone(helpdesk, data)
        signal_notes = drop_malformed_signals(helpdesk, data)
        notes = phone_notes + signal_notes
        valid = validated(CaseIn, data, helpdesk.paths())
        case, _ = upsert_case(valid.model_dump(exclude_unset=True))
        for note in phone_notes:
            record_event(case.id, EventKind.CUSTOMER_PHONE_DROPPED, note, at=now)
        for note in signal_notes:
            record_event(case.id, EventKind.CASE_SIGNAL_DROPPED, note, at=now)
        planned = close_case(case, None, now)
        answer = {"action": "closed" if planned else "already_closed", "case": case.to_dict()}
        if notes:
            answer["notes"] = notes
    elif status in helpdesk.reopening:
        case = db.session.scalar(sa.select(Case).where(Case.external_id == data["external_id"]))
        if case is None or case.status != CaseStatus.CLOSED:
            answer = {"action": "ignored", "reason": f"no closed case {data['external_id']}"}
        else:
            cancelled = reopen_case(case, now)
            answer = {"action": "reopened", "case": case.to_dict(), "cancelled": cancelled}
    else:
        reason = f"status {status!r} neither closes nor reopens a case"
        answer = {"action": "ignored", "reason": reason}
    db.session.commit()
    return jsonify(answer)


@bp.post("/zendesk")
def zendesk():
    return intake(ZENDESK)


@bp.post("/freshdesk")
def freshdesk():
    return intake(FRESHDESK)
