"""Changing the goodwill catalogue and the recovery rules from the console: what a gesture
type must keep to, a code file's codes, the catalogue's figures (spend this month, codes
left), the reasons and gestures a rule can name and a rule in plain words (their order is
followup.positions'). Operations flush; the caller audits and commits."""

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import gettext as _

from followup.extensions import db
from followup.goodwill import (
    MAX_CODES,
    MAX_CODES_BYTES,
    parse_codes,
    spent_this_month,
    unavailable,
    unused_codes,
)
from followup.models import GestureType, RecoveryRule, Survey
from followup.models.recovery import GestureKind


def gesture_problems(
    kind: GestureKind, value_cents: int | None, webhook_url: str | None, assignee: str | None
) -> list[tuple[str, str]]:
    """What a gesture type of this kind must not have, as (column, message): a webhook URL
    is a credit's only, a credit is worth something, an assignee is a task's only."""
    problems = []
    if kind != GestureKind.CREDIT and webhook_url:
        problems.append(
            ("webhook_url", _("Only a credit is posted to a webhook URL: leave it empty"))
        )
    if kind == GestureKind.CREDIT and value_cents == 0:
        problems.append(("value_cents", _("Enter what the credit is worth to the customer")))
    if kind != GestureKind.TASK and assignee:
        problems.append(("assignee", _("Only a task has an assignee: leave it empty")))
    return problems


def key_taken(key: str) -> bool:
    return db.session.scalar(sa.select(GestureType.id).where(GestureType.key == key)) is not None


def no_codes(gesture_type: GestureType) -> str | None:
    """Why codes cannot be added to this gesture type, if they cannot."""
    if gesture_type.kind != GestureKind.CODE:
        return _(
            "%(name)s gives no codes: it is a %(kind)s",
            name=gesture_type.name,
            kind=gesture_type.kind,
        )
    return None


def codes_in(data: bytes) -> list[str] | str:
    """The codes of an uploaded CSV file (read up to MAX_CODES_BYTES + 1), or why they
    cannot be taken."""
    if len(data) > MAX_CODES_BYTES:
        return _("The file is too big: at most %(most)s MB", most=MAX_CODES_BYTES // (1024 * 1024))
    try:
        codes = parse_codes(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _("The file must be UTF-8 text (save it as CSV UTF-8)")
    except ValueError as error:
        return _("The file cannot be read: %(problem)s", problem=error)
    if not codes:
        return _("The file holds no codes: put one code in the first column of each row")
    if len(codes) > MAX_CODES:
        return _("At most %(most)s codes per upload: split the file", most=format_number(MAX_CODES))
    return codes


def catalogue_rows(now: datetime) -> list[dict]:
    """Each gesture type with its spend this month (and share of its budget), unused codes
    (a code pool's), whether they are low, and why it cannot be given now."""
    rows = []
    for kind in db.session.scalars(sa.select(GestureType).order_by(GestureType.id)):
        spent = spent_this_month(kind.id, now)
        budget = kind.monthly_budget_cents
        unused = unused_codes(kind.id) if kind.kind == GestureKind.CODE else None
        rows.append(
            {
                "type": kind,
                "spent": spent,
                "percent": round(spent * 100 / budget) if budget else None,
                "unused": unused,
                "low": unused is not None and unused <= kind.low_codes,
                "unavailable": unavailable(kind, now),
            }
        )
    return rows


def reason_labels() -> dict[str, str]:
    """Each reason code of the current surveys with its label (the first survey's)."""
    labels: dict[str, str] = {}
    surveys = db.session.scalars(sa.select(Survey).where(Survey.archived_at.is_(None)))
    for survey in surveys:
        for reason in survey.reasons or []:
            labels.setdefault(reason["code"], reason["label"])
    return labels


def gesture_names() -> dict[int, str]:
    rows = db.session.execute(sa.select(GestureType.id, GestureType.name).order_by(GestureType.id))
    return dict(rows.all())


def describe(
    rule: RecoveryRule,
    reasons: dict[str, str],
    priorities: Mapping[str, object],
    gestures: dict[int, str],
) -> str:
    """What a rule does, in plain words in the console's language: "When the reason is
    'Not solved' → Call-back" (reasons and priorities by their labels)."""

    def either(values, labels: Mapping[str, object] | None = None) -> str:
        return f" {_('or')} ".join(f"'{(labels or {}).get(value, value)}'" for value in values)

    conditions = []
    if rule.reasons:
        conditions.append(_("the reason is %(values)s", values=either(rule.reasons, reasons)))
    if rule.priorities:
        conditions.append(_("the case is %(values)s", values=either(rule.priorities, priorities)))
    if rule.customer_tags:
        conditions.append(_("the customer is tagged %(values)s", values=either(rule.customer_tags)))
    if rule.asked:
        conditions.append(_("they ask for %(values)s", values=either(rule.asked)))
    then = _("apologise and check in only")
    if rule.gesture_type_id is not None:
        then = gestures.get(rule.gesture_type_id, then)
    if not conditions:
        return _("Always → %(gesture)s", gesture=then)
    when = f" {_('and')} ".join(conditions)
    return _("When %(conditions)s → %(gesture)s", conditions=when, gesture=then)


def ordered_rules() -> list[RecoveryRule]:
    return list(db.session.scalars(sa.select(RecoveryRule).order_by(RecoveryRule.position)))
