"""Case operations: intake (create or update), close (plan a round), reopen (cancel), timeline.

Each operation changes rows and flushes; the caller commits.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from followup import incidents, proactive, risk
from followup.cadences import PlannedMessage, cadence_hours, case_facts, plan_round, rules_match
from followup.experiments import assign
from followup.extensions import db
from followup.models import (
    Cadence,
    CadenceStep,
    Case,
    CaseEvent,
    Customer,
    CustomerIdentity,
    Incident,
    Message,
    SurveyExclusion,
)
from followup.models.base import utcnow
from followup.models.cadences import CadencePurpose
from followup.models.cases import CaseStatus, EventKind
from followup.models.messages import PENDING_STATUSES, MessageStatus


class CaseError(Exception):
    """An operation that cannot apply to the case as it is (HTTP 409 or 422)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


_INSERT_EVENT = sa.insert(cast(sa.Table, CaseEvent.__table__))  # built once: every case writes


def record_event(
    case_id: int, kind: EventKind, detail: dict | None = None, message_id=None, at=None
):
    """Add a line to the case's timeline (a plain INSERT: the dispatch loop writes many)."""
    db.session.execute(
        _INSERT_EVENT,
        {
            "case_id": case_id,
            "kind": kind,
            "detail": detail or {},
            "message_id": message_id,
            "at": at or utcnow(),
        },
    )


# The intake's lookups, their statements built once (the values looked up are parameters).
# A customer is the one known by the payload's external id (an identity from any source),
# else the one with its email, else with its phone: one query, each branch on an index.
_MATCHES = sa.union_all(
    sa.select(CustomerIdentity.customer_id.label("id"), sa.literal(0).label("rank")).where(
        CustomerIdentity.external_id == sa.bindparam("external_id")
    ),
    sa.select(Customer.id, sa.literal(1)).where(Customer.email == sa.bindparam("email")),
    sa.select(Customer.id, sa.literal(2)).where(Customer.phone == sa.bindparam("phone")),
).subquery()
_CUSTOMER_MATCH = (
    sa.select(Customer, _MATCHES.c.rank)
    .join(_MATCHES, _MATCHES.c.id == Customer.id)
    .order_by(_MATCHES.c.rank, Customer.id)
    .limit(1)
)
_CASE_BY_EXTERNAL_ID = sa.select(Case).where(Case.external_id == sa.bindparam("external_id"))


def find_customer(data: dict) -> tuple[Customer | None, bool]:
    """The existing customer this payload describes (by external id, else email, else phone)
    and whether the payload's external id is already one of theirs."""
    values = {field: data.get(field) for field in ("external_id", "email", "phone")}
    found = db.session.execute(_CUSTOMER_MATCH, values).first()
    return (found[0], found.rank == 0) if found else (None, False)


def upsert_customer(data: dict) -> Customer:
    """Create or update the customer a payload describes. A new external id of a customer
    found by email or phone is recorded as another of their identities; `external_id` stays
    their first one. A field absent or null changes nothing, except preferred_channel: null
    clears it (the customer no longer has a preference)."""
    customer, known_by_id = find_customer(data)
    if customer is None:
        customer = Customer()
        db.session.add(customer)
    external_id = data.get("external_id")
    if external_id and not known_by_id:
        db.session.add(CustomerIdentity(customer=customer, external_id=external_id))
        customer.external_id = customer.external_id or external_id
    for field in ("name", "email", "phone", "locale", "timezone", "tags"):
        if data.get(field) is not None:
            setattr(customer, field, data[field])
    if "preferred_channel" in data:
        customer.preferred_channel = data["preferred_channel"]
    if not customer.email and not customer.phone:
        raise CaseError("needs an email address or a phone number", field="customer")
    return customer


def upsert_case(data: dict) -> tuple[Case, bool]:
    """Create or update a case (and its customer) from validated intake data."""
    case = db.session.scalar(_CASE_BY_EXTERNAL_ID, {"external_id": data["external_id"]})
    created = case is None
    if created and not data.get("customer"):
        raise CaseError("is required when creating a case", field="customer")
    customer = upsert_customer(data["customer"]) if data.get("customer") else None
    if case is None:
        case = Case(external_id=data["external_id"], tags=[])
        db.session.add(case)
    if customer is not None:
        case.customer = customer
    agent = data.get("agent") or {}
    for field, value in (
        ("ticket_id", data.get("ticket_id")),
        ("subject", data.get("subject")),
        ("team", data.get("team")),
        ("priority", data.get("priority")),
        ("tags", data.get("tags")),
        ("source_channel", data.get("source_channel")),
        ("timezone", data.get("timezone")),
        ("agent_name", agent.get("name")),
        # Lower-case, as the agent links and their index compare it (intake normalises it
        # already; other callers may not).
        ("agent_email", agent["email"].lower() if agent.get("email") else agent.get("email")),
        *((signal, data.get(signal)) for signal in risk.CASE_SIGNALS),
    ):
        if value is not None:
            setattr(case, field, value)
    db.session.flush()
    record_event(case.id, EventKind.CASE_CREATED if created else EventKind.CASE_UPDATED)
    return case, created


def current_cadences(purpose: str = CadencePurpose.CLOSE):
    """The query of a purpose's current cadence versions that take new cases."""
    return sa.select(Cadence).where(
        Cadence.purpose == purpose, Cadence.superseded_at.is_(None), Cadence.archived_at.is_(None)
    )


def choose_cadence(
    name: str | None,
    case: Case,
    held_out: list[Cadence] | None = None,
    matched: list[Cadence] | None = None,
) -> Cadence:
    """The cadence named, else the first (by position) whose rules match the case (added to
    `matched`), else the default. A proactive cadence the holdout keeps this round from
    (followup.proactive) is skipped and added to `held_out`; it may be the default itself,
    which then takes the round as the default (and opens no task)."""
    if name:
        cadence = db.session.scalar(
            current_cadences().where(sa.func.lower(Cadence.name) == name.lower()).limit(1)
        )
        if cadence is None:
            raise CaseError(f"no cadence named {name!r}", field="cadence")
        return cadence
    candidates = db.session.scalars(current_cadences().order_by(Cadence.position, Cadence.id))
    facts = case_facts(case)
    default = None
    for cadence in candidates:
        if cadence.is_default and default is None:
            default = cadence
        if rules_match(cadence.rules, facts):
            if proactive.holds_out(case, cadence):
                if held_out is not None:
                    held_out.append(cadence)
                continue
            if matched is not None:
                matched.append(cadence)
            return cadence
    if default is None:
        raise CaseError(
            "no default cadence is set up; run `followup api-keys create` or name one",
            field="cadence",
        )
    return default


def why_no_survey(case: Case, now: datetime, cap_days: int | None = None) -> str | None:
    """Why this round may carry no survey: the customer or the case is in a segment never
    surveyed (the console's exclusions), or the customer was surveyed (on any of their
    cases) within the last `cap_days` days (the cadence's, else FOLLOWUP_SURVEY_CAP_DAYS)."""
    if case.escalated_at is not None:
        return "feedback stayed negative and a person took over this case"
    tags = {
        "customer_tag": {tag.lower() for tag in case.customer.tags or []},
        "case_tag": {tag.lower() for tag in case.tags or []},
    }
    for field, value in db.session.execute(
        sa.select(SurveyExclusion.field, SurveyExclusion.value).order_by(SurveyExclusion.value)
    ):
        if value in tags.get(field, ()):
            who = "customers" if field == "customer_tag" else "cases"
            return f"{who} tagged {value!r} are not surveyed"
    days = cap_days or current_app.config["SURVEY_CAP_DAYS"]
    others = [
        row.due_at
        for row in recent_surveys(
            {case.customer_id}, (*PENDING_STATUSES, MessageStatus.SENT), now, days
        )
        if (row.case_id, row.round) != (case.id, case.round)
    ]
    if others:
        return f"frequency cap: surveyed on {max(others):%Y-%m-%d}, one survey per {days} days"
    return None


def recent_surveys(customer_ids: set[int], statuses: tuple[str, ...], now: datetime, days: int):
    """Rows (id, customer_id, case_id, round, due_at) of these customers' messages carrying a
    survey, in these statuses, due within the last `days` days (or later): what the
    frequency cap counts, when a case closes and again at send time."""
    since = now - timedelta(days=days)
    return db.session.execute(
        sa.select(Message.id, Message.customer_id, Message.case_id, Message.round, Message.due_at)
        .join(CadenceStep, CadenceStep.id == Message.step_id)
        .where(
            Message.customer_id.in_(customer_ids),
            CadenceStep.survey_id.is_not(None),
            Message.status.in_(statuses),
            Message.due_at >= since,
        )
    ).all()


@dataclass
class _Contact:
    """A customer's addresses and opt-outs, read in one query for a whole round's planning."""

    email: str | None
    phone: str | None
    preferred_channel: str | None
    opted_out_channels: frozenset[str]

    @classmethod
    def of(cls, customer: Customer) -> "_Contact":
        opted_out = frozenset(customer.opted_out_channels())
        return cls(customer.email, customer.phone, customer.preferred_channel, opted_out)

    def opted_out(self, channel: str) -> bool:
        return channel in self.opted_out_channels


def close_case(case: Case, cadence_name: str | None, now: datetime) -> bool:
    """Close the case and plan its follow-ups; False when it was already closed (nothing new).
    A cadence chosen by its rules or as the default may run an experiment: the customer's
    variant picks the cadence (a cadence named by the caller runs no experiment). The round's
    risk is assessed first: a cadence's rules may ask for a risk at least X."""
    risk.assess(case, now)
    held_out: list[Cadence] = []
    matched: list[Cadence] = []
    cadence = choose_cadence(cadence_name, case, held_out, matched)
    experiment = variant = None
    # A case closing in a declared incident: its surveys are held, or it gets the incident's
    # apology cadence instead of its own (followup.incidents).
    incident = incidents.covering(case, now)
    apology = incidents.apology_cadence(incident) if incident else None
    if apology is not None:
        cadence = apology
    elif not cadence_name:
        cadence, experiment, variant = assign(cadence, case.customer_id)
    # The row as the UPDATE left it, RETURNING into the case (one round trip, not a refresh);
    # no row: another request closed it first (or it was closed), read it as it is.
    customer = case.customer
    won = db.session.execute(
        sa.update(Case)
        .where(Case.id == case.id, Case.status == CaseStatus.OPEN)
        .values(
            status=CaseStatus.CLOSED,
            closed_at=now,
            round=Case.round + 1,
            cadence_id=cadence.id,
            experiment=experiment,
            variant=variant,
            risk_score=case.risk_score,
            risk_source=case.risk_source,
            risk_features=case.risk_features,
        )
        .returning(Case)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar()
    if won is None:
        db.session.refresh(case)
        return False
    # populate_existing left the case's relationships to be loaded again: they are these (and
    # the case keeps them alive in the session, with the cadence's steps the plan names).
    set_committed_value(case, "customer", customer)
    set_committed_value(case, "cadence", cadence)
    sms_hours = cadence_hours(cadence, current_app.config["SMS_HOURS"]).in_zone(
        customer.timezone or case.timezone
    )
    no_surveys = why_no_survey(case, now, cadence.survey_cap_days)
    held = incident if apology is None and no_surveys is None else None
    if held is not None:
        no_surveys = incidents.held_reason(held)
    planned = plan_round(
        case.id, case.round, _Contact.of(customer), cadence.steps, now, sms_hours, no_surveys
    )
    add_planned(case, case.round, planned, now, held=held)
    proactive.route(
        case,
        cadence,
        now,
        held_out[0] if held_out and apology is None else None,
        by_rule=bool(matched) and cadence is matched[0],
    )
    if held is not None:
        incidents.note_held(held, case, now)
    record_event(
        case.id,
        EventKind.CASE_CLOSED,
        {
            "round": case.round,
            "cadence": cadence.name,
            "cadence_id": cadence.id,
            "planned": len(planned),
            **({"experiment": experiment, "variant": variant} if variant else {}),
            **(_incident_detail(incident, apology) if incident else {}),
            **risk.close_detail(case),
        },
        at=now,
    )
    db.session.flush()
    return True


def _incident_detail(incident: Incident, apology: Cadence | None) -> dict:
    """What a close's timeline line says of the incident the case closed in."""
    return {"incident": incident.name, "incident_id": incident.id, "apology": apology is not None}


def add_planned(
    case: Case,
    round_number: int,
    planned: list[PlannedMessage],
    now: datetime,
    recovery_id=None,
    held: Incident | None = None,
) -> None:
    """Write a round's planned messages to the outbox (suppressed ones with their reason on
    the timeline, and the id of the incident `held` when it held them)."""
    for plan in planned:
        message = Message(
            case_id=case.id,
            customer_id=case.customer_id,
            step_id=plan.step_id,
            recovery_id=recovery_id,
            round=round_number,
            channel=plan.channel,
            recipient=plan.recipient,
            condition=plan.condition,
            due_at=plan.due_at,
            status=MessageStatus.SUPPRESSED if plan.suppressed_reason else MessageStatus.SCHEDULED,
            error=plan.suppressed_reason,
            idempotency_key=plan.idempotency_key,
        )
        db.session.add(message)
        if plan.suppressed_reason:
            db.session.flush()
            record_event(
                case.id,
                EventKind.MESSAGE_SUPPRESSED,
                incidents.suppressed_detail(plan.suppressed_reason, held),
                message.id,
                now,
            )
    db.session.flush()


def reopen_case(case: Case, now: datetime) -> int:
    """Reopen a closed case and cancel its pending follow-ups; returns how many."""
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(Case)
            .where(Case.id == case.id, Case.status == CaseStatus.CLOSED)
            .values(status=CaseStatus.OPEN)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(case)
    if not won:
        raise CaseError("the case is not closed")
    cancelled = cancel_pending(case.id, "case reopened")
    proactive.cancel_open(case, now)
    record_event(
        case.id, EventKind.CASE_REOPENED, {"round": case.round, "cancelled": cancelled}, at=now
    )
    db.session.flush()
    return cancelled


def cancel_pending(case_id: int, reason: str, *only) -> int:
    """Cancel a case's scheduled messages (only those matching the `only` conditions, if any)."""
    query = sa.update(Message).where(
        Message.case_id == case_id, Message.status == MessageStatus.SCHEDULED, *only
    )
    return cast(
        CursorResult,
        db.session.execute(
            query.values(status=MessageStatus.CANCELLED, error=reason).execution_options(
                synchronize_session=False
            )
        ),
    ).rowcount


def current_plan(case: Case) -> list[Message]:
    return list(
        db.session.scalars(
            sa.select(Message)
            .where(Message.case_id == case.id, Message.round == case.round)
            .order_by(Message.due_at, Message.id)
        )
    )
