"""Personal data: one customer's export, their erasure, and retention's redaction of cases
closed longer ago than FOLLOWUP_RETENTION_DAYS.

Redacting a case removes the customer's words and addresses from every row of it (answers'
comments and free text, the case subject, timeline details, message recipients, errors,
subjects and bodies, alerts, tasks (an open proactive outreach task is cancelled), outbound
calls, kudos and the kudos emails and weekly digests that quoted them) and leaves every
figure as it was: scores, bands, reasons, statuses and times stay. A comment that made an
answer negative by one of the survey's keywords keeps those keywords only (the lead's words,
not the customer's), so its verdict and the rebuilt rollups do not change; the comments'
embeddings go, and the comment themes forget them (followup.themes.forget). Suppressions
keep the address hash only, so an opted-out address is never messaged again.

Operations flush; the caller commits (retention commits each batch).
"""

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from markupsafe import escape

from followup import audit, digests, kudos, proactive, themes
from followup.case_history import case_history
from followup.cases import cancel_pending, record_event
from followup.extensions import db
from followup.models import (
    Alert,
    Case,
    CaseEvent,
    Customer,
    CustomerIdentity,
    Kudo,
    Message,
    OutboundCall,
    ProactiveTask,
    Recovery,
    RecoveryTask,
    Response,
    Suppression,
    SurveyInvitation,
    UnsubscribeLink,
)
from followup.models.cases import CaseStatus, EventKind
from followup.models.customers import CONTACT_CHANNELS, address_hash
from followup.models.recovery import CallKind, CallStatus, WebhookEvent
from followup.models.surveys import QuestionKind
from followup.outbound import emit
from surveys.scoring import mentions

REDACTED = "[redacted]"
RETENTION_BATCH = 200  # cases redacted per transaction
# Keys of timeline details and outbound-call payloads whose values are the customer's own
# words or addresses: blanked wherever they appear.
PERSONAL_KEYS = frozenset(
    {"address", "answers", "body", "comment", "email", "make_right", "name", "outcome",
     "phone", "subject", "text", "to"}
)  # fmt: skip
CHOICES = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


def customer_by_external_id(external_id: str) -> Customer | None:
    """The customer known by this external id (any of their identities); None once erased."""
    return db.session.scalar(
        sa.select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.external_id == external_id)
    )


def identities(customer: Customer) -> list[str]:
    """Every external id the customer is known by, the first one first."""
    return list(
        db.session.scalars(
            sa.select(CustomerIdentity.external_id)
            .where(CustomerIdentity.customer_id == customer.id)
            .order_by(CustomerIdentity.id)
        )
    )


def export(customer: Customer, now: datetime, actor: str | None = None) -> dict:
    """Everything held about the customer as one JSON document: identities, details,
    suppression state, and each case with its messages (their template, and what each sent
    one said, its links replaced), answers, recoveries (gestures and tasks), proactive outreach
    tasks and timeline. On the audit log."""
    cases = db.session.scalars(
        sa.select(Case).where(Case.customer_id == customer.id).order_by(Case.id)
    ).all()
    suppressions = []
    for channel in CONTACT_CHANNELS:
        if address := customer.address(channel):
            row = _suppression(channel, address)
            if row is not None:
                since = row.created_at.isoformat()
                suppressions.append(
                    {"channel": channel, "address": address, "reason": row.reason, "since": since}
                )
    documents = []
    for case in cases:
        history = case_history(case, now)
        documents.append(
            {
                "case": case.to_dict(),
                "messages": [
                    m.to_dict()
                    | {
                        "template": m.step.template.key if m.step else None,
                        "subject": m.subject,
                        "body": m.body,
                    }
                    for m in history.messages
                ],
                "responses": [r.to_dict() for r in history.responses],
                "recoveries": history.recoveries,
                "proactive_tasks": [
                    proactive.document(task, now, case.external_id)
                    for task in db.session.scalars(
                        sa.select(ProactiveTask)
                        .where(ProactiveTask.case_id == case.id)
                        .order_by(ProactiveTask.id)
                    )
                ],
                "timeline": [e.to_dict() for e in history.timeline],
            }
        )
    audit.record("export", "customer", customer.id, f"customer #{customer.id} exported",
                 actor=actor)  # fmt: skip
    return {
        "exported_at": now.isoformat(),
        "customer": customer.to_dict() | {"created_at": customer.created_at.isoformat()},
        "identities": identities(customer),
        "suppressions": suppressions,
        "cases": documents,
    }


def erase(customer: Customer, now: datetime, actor: str | None = None) -> int:
    """Erase the customer: every case of theirs redacted (planned messages cancelled), their
    identities deleted, name, addresses, time zone and tags cleared, erased_at set; their
    suppressions stay as hashes. Audited (without the customer's details) and sent as the
    customer.erased event. Returns the number of cases."""
    case_ids = list(
        db.session.scalars(sa.select(Case.id).where(Case.customer_id == customer.id)).all()
    )
    _redact(case_ids, [customer], now, "erasure")
    db.session.execute(
        sa.delete(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id)
    )
    customer.name, customer.email, customer.phone, customer.external_id = "", None, None, None
    customer.timezone, customer.tags, customer.erased_at = None, [], now
    summary = f"customer #{customer.id} erased ({len(case_ids)} cases)"
    audit.record("erase", "customer", customer.id, summary, actor=actor)
    data = {"customer_id": customer.id, "cases": _external_ids(case_ids)}
    emit(WebhookEvent.CUSTOMER_ERASED, str(customer.id), data, None, now)
    db.session.flush()
    return len(case_ids)


def redact_expired(now: datetime, days: int, batch: int = RETENTION_BATCH) -> int:
    """Redact up to `batch` cases closed more than `days` ago and not redacted yet, and clear
    the contact details of their customers left without a case that is not (their
    suppressions kept as hashes). Returns how many cases; the caller commits. Another
    process's batch is skipped, not waited for (PostgreSQL), and a batch rolled back is
    simply found again."""
    case_ids = list(
        db.session.scalars(
            sa.select(Case.id)
            .where(*_expired(now, days))
            .order_by(Case.closed_at, Case.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not case_ids:
        return 0
    customers = db.session.scalars(
        sa.select(Customer).where(
            Customer.id.in_(sa.select(Case.customer_id).where(Case.id.in_(case_ids)))
        )
    ).all()
    # Customers with a case not redacted after this batch keep their contact details.
    kept = set(
        db.session.scalars(
            sa.select(Case.customer_id).where(
                Case.customer_id.in_([c.id for c in customers]),
                Case.redacted_at.is_(None),
                Case.id.not_in(case_ids),
            )
        )
    )
    _redact(case_ids, customers, now, "retention", [c for c in customers if c.id in kept])
    for customer in customers:
        if customer.id not in kept:
            customer.name, customer.email, customer.phone = "", None, None
    db.session.flush()
    return len(case_ids)


def retention_counts(days: int | None, now: datetime) -> dict[str, int]:
    """For the health page: cases redacted so far, and those waiting for retention."""
    redacted = db.session.scalar(
        sa.select(sa.func.count(Case.id)).where(Case.redacted_at.is_not(None))
    )
    waiting = None
    if days is not None:
        waiting = db.session.scalar(sa.select(sa.func.count(Case.id)).where(*_expired(now, days)))
    return {"redacted": redacted or 0, "waiting": waiting or 0}


def _expired(now: datetime, days: int) -> tuple:
    """The conditions of a case retention redacts: closed more than `days` ago, not yet."""
    return (
        Case.status == CaseStatus.CLOSED,
        Case.closed_at < now - timedelta(days=days),
        Case.redacted_at.is_(None),
    )


def _suppression(channel: str, address: str) -> Suppression | None:
    return db.session.scalar(
        sa.select(Suppression).where(
            Suppression.channel == channel,
            Suppression.address_hash == address_hash(channel, address),
        )
    )


def _external_ids(case_ids: list[int]) -> list[str]:
    if not case_ids:
        return []
    return list(db.session.scalars(sa.select(Case.external_id).where(Case.id.in_(case_ids))).all())


def _addresses(customers: Iterable[Customer]) -> set[tuple[str, str]]:
    return {(ch, a) for c in customers for ch in CONTACT_CHANNELS if (a := c.address(ch))}


def _redact(
    case_ids: list[int],
    customers: Iterable[Customer],
    now: datetime,
    by: str,
    keeping: Iterable[Customer] = (),
) -> None:
    """Remove the customers' words and addresses from these cases (see the module's doc);
    the suppressions of their addresses keep the hash only, except for the current
    addresses of the customers `keeping` their contact details."""
    customers = list(customers)
    needles = {text for c in customers for text in (c.name, c.email, c.phone) if text}
    addresses = _addresses(customers)
    cancelled = {case_id: cancel_pending(case_id, f"{by}: the customer's data was removed")
                 for case_id in case_ids}  # fmt: skip
    events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id.in_(case_ids))).all()
    messages = db.session.scalars(sa.select(Message).where(Message.case_id.in_(case_ids))).all()
    responses = db.session.scalars(sa.select(Response).where(Response.case_id.in_(case_ids))).all()
    for event in events:
        needles |= set(_personal_values(event.detail))
    for message in messages:
        if message.recipient:
            needles.add(message.recipient)
            addresses.add((message.channel, message.recipient))
    for response in responses:
        survey = response.invitation.survey
        choices = {q["key"] for q in survey.questions or [] if q.get("kind") in CHOICES}
        free = {k: v for k, v in (response.answers or {}).items() if k not in choices}
        needles |= {response.comment, *_strings(free)}
        kept_words = [w for w in survey.negative_keywords or [] if mentions(response.comment, [w])]
        response.comment = ", ".join(kept_words)
        response.answers = {k: v for k, v in (response.answers or {}).items() if k in choices}
    # Their embeddings go too, and they leave their themes' examples (followup.themes).
    themes.forget([response.id for response in responses])
    found_kudos = db.session.scalars(sa.select(Kudo).where(Kudo.case_id.in_(case_ids))).all()
    needles |= {kudo.comment for kudo in found_kudos}
    needles |= {str(escape(text)) for text in needles if text}  # as HTML emails quote them
    scrub = _scrubber(needles)
    _redact_kudos(found_kudos, scrub)
    for event in events:
        event.detail = scrub(event.detail)
    for message in messages:
        message.recipient, message.error = None, scrub(message.error)
        message.subject, message.body = None, None
    for call in db.session.scalars(
        sa.select(OutboundCall).where(OutboundCall.case_id.in_(case_ids))
    ):
        call.payload, call.result, call.error = (
            scrub(call.payload),
            scrub(call.result),
            scrub(call.error),
        )
        if call.status == CallStatus.PENDING:
            call.status, call.claim_token, call.locked_until = CallStatus.CANCELLED, None, None
    for alert in db.session.scalars(sa.select(Alert).where(Alert.case_id.in_(case_ids))):
        alert.title, alert.detail = scrub(alert.title), scrub(alert.detail)
    for task in db.session.scalars(
        sa.select(RecoveryTask).where(RecoveryTask.case_id.in_(case_ids))
    ):
        task.title = scrub(task.title)
        task.outcome = REDACTED if task.outcome else task.outcome
    # A proactive outreach note, like a task's outcome, may quote them; an open task is
    # cancelled (nobody is to reach out to a customer whose data is gone).
    db.session.execute(
        sa.update(ProactiveTask)
        .where(ProactiveTask.case_id.in_(case_ids), ProactiveTask.note.is_not(None))
        .values(note=REDACTED)
        .execution_options(synchronize_session=False)
    )
    proactive.cancel_all_open(case_ids, f"{by}: the customer's data was removed", now)
    for recovery in db.session.scalars(sa.select(Recovery).where(Recovery.case_id.in_(case_ids))):
        recovery.outcome_reason = scrub(recovery.outcome_reason)
        # The lead's root cause note, like a task's outcome, may quote them.
        recovery.root_cause_note = REDACTED if recovery.root_cause_note else None
    for channel, address in addresses - _addresses(keeping):
        if (row := _suppression(channel, address)) is not None:
            row.address, row.detail = None, scrub(row.detail)
    db.session.execute(sa.delete(UnsubscribeLink).where(UnsubscribeLink.case_id.in_(case_ids)))
    db.session.execute(
        sa.update(SurveyInvitation)
        .where(SurveyInvitation.case_id.in_(case_ids), SurveyInvitation.expires_at > now)
        .values(expires_at=now)
    )
    db.session.execute(
        sa.update(Case).where(Case.id.in_(case_ids)).values(subject="", redacted_at=now)
    )
    for case_id in case_ids:
        record_event(case_id, EventKind.CASE_REDACTED,
                     {"by": by, "cancelled": cancelled[case_id]}, at=now)  # fmt: skip
    db.session.flush()


def _redact_kudos(found: Sequence[Kudo], scrub) -> None:
    """The kudos' words removed, and from the daily kudos emails and weekly digests that
    quoted them (they name no one case, so the case's calls do not hold them; they are
    planned within digests.QUOTES_KUDOS_FOR of a kudo, read through the outbound calls'
    (kind, created_at) index). A daily kudos email not sent yet is cancelled; a digest not
    sent yet goes out without their words (it holds every other figure and kudo)."""
    if not found:
        return
    for kudo in found:
        kudo.comment = REDACTED if kudo.comment else ""
    made = [kudo.created_at for kudo in found]
    prefixes = {kudos.DAILY_KEY: True, digests.DIGEST_KEY: False}  # cancelled when pending
    quoting = db.session.scalars(
        sa.select(OutboundCall).where(
            OutboundCall.kind == CallKind.STAFF_EMAIL,
            OutboundCall.created_at >= min(made),
            OutboundCall.created_at <= max(made) + digests.QUOTES_KUDOS_FOR,
            sa.or_(
                *(OutboundCall.key.startswith(f"{CallKind.STAFF_EMAIL}:{prefix}:")
                  for prefix in prefixes)
            ),
        )
    )  # fmt: skip
    for call in quoting:
        payload = dict(call.payload or {})
        for key in ("text", "html"):
            if isinstance(payload.get(key), str):
                payload[key] = scrub(payload[key])
        if payload == call.payload:
            continue
        call.payload = payload  # it quoted them: kept without them
        prefix = call.key.split(":")[1]
        if call.status == CallStatus.PENDING and prefixes.get(prefix, True):
            call.status, call.claim_token, call.locked_until = CallStatus.CANCELLED, None, None


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _personal_values(value: Any) -> list[str]:
    """The strings under PERSONAL_KEYS anywhere in a JSON value."""
    if isinstance(value, dict):
        return [
            s
            for key, item in value.items()
            for s in (_strings(item) if key in PERSONAL_KEYS else _personal_values(item))
        ]
    if isinstance(value, list):
        return [s for item in value for s in _personal_values(item)]
    return []


def _scrubber(needles: set[str]):
    """A function that blanks PERSONAL_KEYS in a JSON value and replaces each needle (whole,
    any case) in its strings with REDACTED."""
    words = sorted({n.strip() for n in needles if n and n.strip()}, key=len, reverse=True)
    pattern = (
        re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, words))})(?!\w)", re.IGNORECASE)
        if words
        else None
    )

    def scrub(value: Any, personal: bool = False) -> Any:
        if isinstance(value, dict):
            return {
                key: scrub(item, personal or key in PERSONAL_KEYS) for key, item in value.items()
            }
        if isinstance(value, list):
            return [scrub(item, personal) for item in value]
        if isinstance(value, str) and value:
            if personal:
                return REDACTED
            return pattern.sub(REDACTED, value) if pattern else value
        return value

    return scrub
