"""A cadence as the console's editor holds it before it is saved: its steps' values and
drafts (what cadences.step_problems checks) in the order they go out, the case a preview
plans for (a real one, or a sample never saved), a preview's lines with the names they show,
and a lineage's latest version. Nothing here writes."""

import sqlalchemy as sa

from followup.cadence_versions import preview
from followup.cadences import StepDraft
from followup.extensions import db
from followup.models import Cadence, Case, Customer, MessageTemplate, Survey
from followup.models.base import utcnow
from followup.models.cases import Priority
from followup.rendering import PARTS

SAMPLE = "sample"  # the preview's built-in case


def step_drafts(rows: list[dict]) -> tuple[list[dict], list[StepDraft], list[int]]:
    """Steps as written (name, delay_seconds, channel, template_id, survey_id, condition,
    business_days; ids None when none was chosen) as the values to store and their drafts,
    both in the order they go out, and the indexes of the rows whose survey is not there."""
    templates = {t.id: t for t in db.session.scalars(sa.select(MessageTemplate))}
    surveys = {s.id: s for s in db.session.scalars(sa.select(Survey))}
    steps, drafts, unknown = [], [], []
    for index, row in enumerate(rows):
        template = templates.get(row["template_id"])
        survey = surveys.get(row["survey_id"])
        if row["survey_id"] is not None and survey is None:
            unknown.append(index)
        steps.append(
            {
                **row,
                "template_id": template.id if template else None,
                "survey_id": survey.id if survey else None,
            }
        )
        parts = frozenset(p for p in PARTS if template is not None and getattr(template, p))
        drafts.append(
            StepDraft(
                name=row["name"],
                delay_seconds=row["delay_seconds"],
                channel=row["channel"],
                template_name=template.name if template else None,
                template_parts=parts,
                survey_id=survey.id if survey else None,
                survey_name=survey.name if survey else None,
                condition=row["condition"],
            )
        )
    order = sorted(range(len(steps)), key=lambda i: steps[i]["delay_seconds"])
    return [steps[i] for i in order], [drafts[i] for i in order], unknown


def preview_case(key: str | None) -> Case:
    """A real case by external id, or the built-in sample (never saved)."""
    if key and key != SAMPLE:
        case = db.session.scalar(sa.select(Case).where(Case.external_id == key))
        if case is not None:
            return case
    customer = Customer(
        name="Ana Lima", email="ana@example.com", phone="+447700900123",
        timezone="Europe/London", tags=[],
    )  # fmt: skip
    return Case(external_id="SAMPLE-1", subject="Parcel never arrived", customer=customer,
                tags=[], priority=Priority.NORMAL, round=0)  # fmt: skip


def preview_lines(settings: dict, steps: list, case_key: str | None):
    """The case, the preview's lines, and the names of the templates and surveys by id."""
    case = preview_case(case_key)
    lines = preview(settings, steps, case, utcnow())
    names = {t.id: t.name for t in db.session.scalars(sa.select(MessageTemplate))}
    surveys = {s.id: s.name for s in db.session.scalars(sa.select(Survey))}
    return case, lines, names, surveys


def latest(cadence: Cadence) -> Cadence:
    """The current version of the cadence's lineage."""
    current = db.session.scalar(
        sa.select(Cadence).where(
            Cadence.lineage == cadence.lineage, Cadence.superseded_at.is_(None)
        )
    )
    assert current is not None  # the cadence itself, or the version that superseded it
    return current
