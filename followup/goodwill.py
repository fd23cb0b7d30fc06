"""Goodwill gestures: choosing one by the lead's rules, issuing it within its monthly budget
(a code drawn once from its pool, a credit posted to the business's system, or a task for a
person), and the code pools themselves.

Each operation flushes; the caller commits.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from followup import write_back
from followup.cases import record_event
from followup.extensions import db
from followup.models import (
    Case,
    Gesture,
    GestureType,
    GoodwillCode,
    Recovery,
    RecoveryRule,
    RecoveryTask,
    Response,
)
from followup.models.cases import EventKind
from followup.models.recovery import (
    AlertAudience,
    AlertKind,
    CallKind,
    GestureKind,
    GestureStatus,
    WebhookEvent,
)
from followup.outbound import emit, plan_call, raise_alert
from surveys.scoring import mentions

MAX_CODE_LENGTH = 100
MAX_CODES = 50_000  # codes per upload (the API's and the console's)
MAX_CODES_BYTES = 5 * 1024 * 1024  # an upload's size


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the reasons picked, the case's priority, the customer's tags
    (tiers, segments) and, in their words, what would make it right."""

    reasons: frozenset[str]
    priority: str
    customer_tags: frozenset[str]
    asked: str

    @classmethod
    def of(cls, case: Case, response: Response) -> "Facts":
        asked = " ".join(
            part for part in ((response.answers or {}).get("make_right"), response.comment) if part
        )
        return cls(
            reasons=frozenset(response.reason_codes or []),
            priority=case.priority,
            customer_tags=frozenset(tag.lower() for tag in case.customer.tags or []),
            asked=asked,
        )


def rule_matches(rule: RecoveryRule, facts: Facts) -> bool:
    """Every condition the rule sets holds (an empty list holds for anything)."""
    return (
        (not rule.reasons or bool(facts.reasons & set(rule.reasons)))
        and (not rule.priorities or facts.priority in rule.priorities)
        and (
            not rule.customer_tags
            or bool(facts.customer_tags & {t.lower() for t in rule.customer_tags})
        )
        and (not rule.asked or mentions(facts.asked, rule.asked))
    )


def month_start(now: datetime) -> datetime:
    """The start of the calendar month, in the deployment's time zone, that `now` falls in."""
    local = now.astimezone(current_app.config["SMS_HOURS"].zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent_this_month(gesture_type_id: int, now: datetime) -> int:
    return db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Gesture.cost_cents), 0)).where(
            Gesture.gesture_type_id == gesture_type_id,
            Gesture.issued_at >= month_start(now),
            Gesture.status != GestureStatus.FAILED,
        )
    ).scalar_one()


def unused_codes(gesture_type_id: int) -> int:
    return db.session.execute(
        sa.select(sa.func.count(GoodwillCode.id)).where(
            GoodwillCode.gesture_type_id == gesture_type_id, GoodwillCode.issued_at.is_(None)
        )
    ).scalar_one()


def _draw_code(gesture_type: GestureType, now: datetime) -> str | None:
    """Take the pool's oldest unused code (never one another transaction is taking)."""
    row = db.session.execute(
        sa.select(GoodwillCode)
        .where(GoodwillCode.gesture_type_id == gesture_type.id, GoodwillCode.issued_at.is_(None))
        .order_by(GoodwillCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar()
    if row is None:
        return None
    row.issued_at = now
    db.session.flush()
    return row.code


def _pool_alerts(gesture_type: GestureType, case_id: int, now: datetime) -> None:
    """Alert the leads when a pool reaches its low level and when it runs dry (once per
    upload: the key carries the newest code's id)."""
    left = unused_codes(gesture_type.id)
    newest = db.session.scalar(
        sa.select(sa.func.max(GoodwillCode.id)).where(
            GoodwillCode.gesture_type_id == gesture_type.id
        )
    )
    if left == 0:
        raise_alert(
            f"pool_empty:{gesture_type.id}:{newest}",
            AlertAudience.LEAD,
            AlertKind.POOL_EMPTY,
            f"No {gesture_type.name} codes left",
            "Upload more codes to keep offering this gesture.",
            case_id,
            now,
        )
    elif left <= gesture_type.low_codes:
        raise_alert(
            f"pool_low:{gesture_type.id}:{newest}",
            AlertAudience.LEAD,
            AlertKind.POOL_LOW,
            f"{gesture_type.name} codes running low: {left} left",
            "Upload more codes soon.",
            case_id,
            now,
        )


def unavailable(gesture_type: GestureType, now: datetime) -> str | None:
    """Why this gesture cannot be issued now (inactive, budget reached, nothing to give)."""
    if not gesture_type.active:
        return "not offered any more"
    budget = gesture_type.monthly_budget_cents
    if budget is not None:
        spent = spent_this_month(gesture_type.id, now)
        if spent + gesture_type.cost_cents > budget:
            return f"monthly budget reached ({spent / 100:.2f} of {budget / 100:.2f} spent)"
    if gesture_type.kind == GestureKind.CODE and unused_codes(gesture_type.id) == 0:
        return "no unused codes in the pool"
    if gesture_type.kind == GestureKind.CREDIT and not (
        gesture_type.webhook_url and current_app.config["EVENTS_WEBHOOK_SECRET"]
    ):
        return "no credit webhook (webhook URL and EVENTS_WEBHOOK_SECRET) is set up"
    return None


def issue_gesture(recovery: Recovery, response: Response, now: datetime) -> Gesture | None:
    """Issue the gesture of the first rule that matches and can be given; note each one
    passed over. None when the rules give nothing, or nothing available: then a person
    chooses (a task)."""
    case = recovery.case
    facts = Facts.of(case, response)
    rules = db.session.scalars(
        sa.select(RecoveryRule).where(RecoveryRule.active.is_(True)).order_by(RecoveryRule.position)
    )
    passed_over = []
    for rule in rules:
        if not rule_matches(rule, facts):
            continue
        recovery.rule_name = rule.name
        if rule.gesture_type_id is None:
            record_event(case.id, EventKind.GESTURE_NONE, {"rule": rule.name}, at=now)
            return None
        # One issuer per gesture type at a time, so two recoveries never both take the last
        # of a budget (PostgreSQL row lock; SQLite has one writer anyway).
        gesture_type = db.session.execute(
            sa.select(GestureType).where(GestureType.id == rule.gesture_type_id).with_for_update()
        ).scalar_one()
        reason = unavailable(gesture_type, now)
        if reason is None:
            gesture = _issue(recovery, gesture_type, now)
            if gesture is not None:
                return gesture
            reason = "no unused codes in the pool"
        passed_over.append(f"{gesture_type.name}: {reason}")
        record_event(
            case.id,
            EventKind.GESTURE_UNAVAILABLE,
            {"rule": rule.name, "gesture": gesture_type.key, "reason": reason},
            at=now,
        )
        if "budget" in reason:
            raise_alert(
                f"budget:{gesture_type.id}:{month_start(now):%Y-%m}",
                AlertAudience.LEAD,
                AlertKind.BUDGET_REACHED,
                f"{gesture_type.name}: monthly budget reached",
                reason,
                case.id,
                now,
            )
    if passed_over:
        _add_task(
            recovery,
            "Choose a goodwill gesture by hand (" + "; ".join(passed_over) + ")",
            None,
            24,
            now,
        )
    return None


def _issue(recovery: Recovery, gesture_type: GestureType, now: datetime) -> Gesture | None:
    case = recovery.case
    code = None
    if gesture_type.kind == GestureKind.CODE:
        code = _draw_code(gesture_type, now)
        if code is None:
            return None
    gesture = Gesture(
        recovery_id=recovery.id,
        gesture_type_id=gesture_type.id,
        code=code,
        cost_cents=gesture_type.cost_cents,
        status=GestureStatus.REQUESTED
        if gesture_type.kind == GestureKind.CREDIT
        else GestureStatus.ISSUED,
        issued_at=now,
    )
    db.session.add(gesture)
    db.session.flush()
    if gesture_type.kind == GestureKind.CODE:
        _pool_alerts(gesture_type, case.id, now)
    elif gesture_type.kind == GestureKind.CREDIT:
        customer = case.customer
        credit = {
            "id": f"credit_{gesture.id}",
            "amount_cents": gesture_type.value_cents,
            "currency": gesture_type.currency,
            "reason": f"Goodwill credit after feedback on case {case.external_id}",
            "case": {"external_id": case.external_id, "ticket_id": case.ticket_id},
            "customer": {
                "external_id": customer.external_id,
                "email": customer.email,
                "phone": customer.phone,
                "name": customer.name,
            },
        }
        plan_call(
            CallKind.CREDIT,
            f"credit:{recovery.id}",
            {"url": gesture_type.webhook_url, "gesture_id": gesture.id, "credit": credit},
            case.id,
            now,
        )
    else:
        _add_task(
            recovery,
            f"{gesture_type.name} for {case.customer.name or 'the customer'}",
            gesture_type.assignee,
            gesture_type.due_hours,
            now,
        )
    detail = {
        "gesture": gesture_type.key,
        "kind": gesture_type.kind,
        "name": gesture_type.name,
        "code": code,
        "cost_cents": gesture.cost_cents,
        "rule": recovery.rule_name,
    }
    record_event(case.id, EventKind.GESTURE_ISSUED, detail, at=now)
    write_back.plan_outcome(
        case.id,
        "gesture",
        recovery.id,
        f"Goodwill gesture: {gesture_type.name}"
        f"{f' (code {code})' if code else ''}, {gesture.status}",
        now,
    )
    emit(
        WebhookEvent.GESTURE_ISSUED,
        str(recovery.id),
        {"case": case.external_id, **detail},
        case.id,
        now,
    )
    return gesture


def _add_task(recovery: Recovery, title: str, assignee: str | None, hours: int, now) -> None:
    case = recovery.case
    task = RecoveryTask(
        recovery_id=recovery.id,
        case_id=case.id,
        title=title[:300],
        assignee=assignee or case.agent_email or case.agent_name,
        due_at=now + timedelta(hours=hours),
        created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    record_event(
        case.id,
        EventKind.TASK_CREATED,
        {
            "task_id": task.id,
            "title": task.title,
            "assignee": task.assignee,
            "due_at": task.due_at.isoformat(),
        },
        at=now,
    )


def _csv_rows(text: str):
    """The CSV's rows; ValueError when the csv module cannot read it (a field over its limit)."""
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as error:
        raise ValueError(f"the CSV cannot be read: {error}") from None


def parse_codes(text: str) -> list[str]:
    """Codes from an uploaded CSV: the first column of each row, a header row ("code") and
    blank rows skipped, duplicates within the file kept once. ValueError naming the row of a
    code that is too long or holds a control character."""
    codes = []
    for number, row in enumerate(_csv_rows(text), start=1):
        code = row[0].strip() if row else ""
        if not code or (number == 1 and code.lower() == "code"):
            continue
        if len(code) > MAX_CODE_LENGTH:
            raise ValueError(f"row {number}: a code is at most {MAX_CODE_LENGTH} characters")
        if any(ord(char) < 32 or ord(char) == 127 for char in code):
            raise ValueError(f"row {number}: the code holds a control character")
        codes.append(code)
    return list(dict.fromkeys(codes))


def add_codes(gesture_type: GestureType, codes: list[str], now: datetime) -> dict[str, int]:
    """Add codes to a pool; those already in it (used or not) are skipped, never reissued."""
    known = set(
        db.session.scalars(
            sa.select(GoodwillCode.code).where(
                GoodwillCode.gesture_type_id == gesture_type.id, GoodwillCode.code.in_(codes)
            )
        )
    )
    new = [code for code in codes if code not in known]
    if new:
        db.session.execute(
            sa.insert(GoodwillCode),
            [{"gesture_type_id": gesture_type.id, "code": c, "uploaded_at": now} for c in new],
        )
    return {
        "added": len(new),
        "skipped": len(codes) - len(new),
        "unused": unused_codes(gesture_type.id),
    }
