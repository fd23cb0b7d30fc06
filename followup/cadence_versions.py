"""Changing cadences from the console: a saved edit is a new version (the old one keeps the
steps closed cases planned with), duplicates, archive, the default, and the preview of what a
case would get. Operations flush; the caller audits and commits."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.engine import CursorResult

from followup.cadences import PHONE_CHANNELS, PlannedMessage, cadence_hours, plan_round
from followup.cases import current_cadences, why_no_survey
from followup.extensions import db
from followup.models import Cadence, CadenceStep, Case

# What a version is made of: changing any of these writes a new version.
SETTINGS = (
    "name", "position", "rules", "sms_hours", "survey_cap_days", "experiment_lineage",
    "experiment_share", "proactive_task", "proactive_due_hours",
)  # fmt: skip
STEP_FIELDS = (
    "name", "delay_seconds", "channel", "template_id", "survey_id", "condition", "business_days",
)  # fmt: skip


class CadenceConflict(Exception):
    """A change that cannot be made as asked (HTTP 409)."""


def describe(cadence: Cadence) -> dict:
    """A version's settings and steps as plain values (audit entries, change detection)."""
    return {
        **{name: getattr(cadence, name) for name in SETTINGS},
        "steps": [{f: getattr(step, f) for f in STEP_FIELDS} for step in cadence.steps],
    }


def name_taken(name: str, lineage: str | None) -> bool:
    """Whether another cadence's current version has this name (any case)."""
    query = sa.select(Cadence.id).where(
        Cadence.superseded_at.is_(None), sa.func.lower(Cadence.name) == name.strip().lower()
    )
    if lineage:
        query = query.where(Cadence.lineage != lineage)
    return db.session.scalar(query.limit(1)) is not None


def _build(
    settings: dict, steps: list[dict], purpose: str, lineage: str | None, version: int, by: str
) -> Cadence:
    cadence = Cadence(purpose=purpose, version=version, created_by=by, **settings)
    if lineage:
        cadence.lineage = lineage
    db.session.add(cadence)
    db.session.flush()
    for position, step in enumerate(steps):
        db.session.add(CadenceStep(cadence_id=cadence.id, position=position, **step))
    db.session.flush()
    db.session.refresh(cadence)
    return cadence


def create(settings: dict, steps: list[dict], purpose: str, by: str) -> Cadence:
    return _build(settings, steps, purpose, None, 1, by)


def save_version(current: Cadence, settings: dict, steps: list[dict], by: str, now: datetime):
    """The next version of `current` with these settings and steps (`current` superseded,
    keeping its default and archive flags); `current` itself when nothing changed."""
    if current.superseded_at is not None:
        raise CadenceConflict(
            _("this version was changed since you opened it; edit the current one")
        )
    if describe(current) == {**settings, "steps": steps}:
        return current
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(Cadence)
            .where(Cadence.id == current.id, Cadence.superseded_at.is_(None))
            .values(superseded_at=now, is_default=False)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not won:
        raise CadenceConflict(_("someone saved this cadence at the same moment; open it again"))
    version = _build(settings, steps, current.purpose, current.lineage, current.version + 1, by)
    version.is_default, version.archived_at = current.is_default, current.archived_at
    db.session.refresh(current)
    db.session.flush()
    return version


def duplicate(cadence: Cadence, by: str) -> Cadence:
    """A new cadence (its own lineage) with the same settings and steps, named "Copy of …",
    never the default, ordered last."""
    base = f"Copy of {cadence.name}"[:190]
    name, n = base, 2
    while name_taken(name, None):
        name, n = f"{base} ({n})", n + 1
    last = db.session.scalar(sa.select(sa.func.max(Cadence.position))) or 0
    settings = {**{k: getattr(cadence, k) for k in SETTINGS}, "name": name, "position": last + 1}
    steps = [{f: getattr(step, f) for f in STEP_FIELDS} for step in cadence.steps]
    return _build(settings, steps, cadence.purpose, None, 1, by)


def set_archived(cadence: Cadence, archived: bool, now: datetime) -> None:
    if archived and cadence.is_default:
        raise CadenceConflict(_("this is the default cadence: make another one the default first"))
    cadence.archived_at = now if archived else None
    db.session.flush()


def make_default(cadence: Cadence) -> None:
    """The default of its purpose (only current, unarchived versions can be)."""
    if cadence.archived_at is not None or cadence.superseded_at is not None:
        raise CadenceConflict(_("only a current, unarchived cadence can be the default"))
    db.session.execute(
        sa.update(Cadence)
        .where(Cadence.purpose == cadence.purpose, Cadence.superseded_at.is_(None))
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )
    cadence.is_default = True
    db.session.flush()


def taking_cases(purpose: str) -> list[Cadence]:
    return list(
        db.session.scalars(current_cadences(purpose).order_by(Cadence.position, Cadence.id))
    )


@dataclass(frozen=True)
class PreviewLine:
    step: object  # the step (saved or a draft)
    planned: PlannedMessage
    local_due: datetime  # in the customer's time zone
    moved_by_quiet_hours: bool


def preview(cadence_settings: dict, steps: list, case: Case, now: datetime) -> list[PreviewLine]:
    """What closing this case now would plan with these settings and steps: each message,
    when (in the customer's time zone) and why it would be suppressed. Nothing is written."""
    config = current_app.config
    hours = cadence_hours(SimpleNamespace(**cadence_settings), config["SMS_HOURS"]).in_zone(
        case.customer.timezone or case.timezone
    )
    # The round closing the case would start: its earlier rounds count for the cap.
    next_round = SimpleNamespace(
        id=case.id, round=(case.round or 0) + 1, customer=case.customer,
        customer_id=case.customer_id, tags=case.tags, escalated_at=case.escalated_at,
    )  # fmt: skip
    # next_round has every attribute of a case that why_no_survey reads
    no_surveys = why_no_survey(cast(Case, next_round), now, cadence_settings.get("survey_cap_days"))
    steps = [SimpleNamespace(id=index, **vars_of(step)) for index, step in enumerate(steps)]
    planned = plan_round(
        case.id or 0, next_round.round, case.customer, steps, now, hours, no_surveys
    )
    lines = []
    for step, plan in zip(steps, planned, strict=True):
        raw_due = now + timedelta(seconds=step.delay_seconds)
        lines.append(
            PreviewLine(
                step=step,
                planned=plan,
                local_due=plan.due_at.astimezone(hours.zone),
                moved_by_quiet_hours=plan.channel in PHONE_CHANNELS
                and plan.due_at > raw_due
                and not step.business_days,
            )
        )
    return lines


def vars_of(step) -> dict:
    """A step's fields as a dict, from a saved CadenceStep or a draft dict."""
    if isinstance(step, dict):
        return {f: step[f] for f in STEP_FIELDS}
    return {f: getattr(step, f) for f in STEP_FIELDS}
