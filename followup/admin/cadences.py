"""Console pages for cadences: the list (in the order cases are matched), a version's page
with its preview on a sample case, create, edit (a new version), duplicate, archive and the
default."""

import re

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from followup import audit
from followup.admin import bp, found, needs
from followup.cadence_versions import (
    CadenceConflict,
    create,
    describe,
    duplicate,
    make_default,
    name_taken,
    preview,
    save_version,
    set_archived,
    taking_cases,
)
from followup.cadences import SendingHours, StepDraft, step_problems
from followup.experiments import current_version, experiment_problem
from followup.extensions import db
from followup.models import Cadence, Case, Customer, MessageTemplate, Survey
from followup.models.base import utcnow
from followup.models.cadences import CADENCE_RULE_FIELDS
from followup.models.cases import PRIORITIES
from followup.rendering import PARTS
from surveys.forms import MultiCheckboxField

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
CHANNEL_LABELS = {
    "email": "Email",
    "sms": "SMS",
    "preferred": "Customer's preferred (SMS when they have a phone, else email)",
    "answered": "The channel they answered on",
}
CONDITION_LABELS = {
    "always": "Always",
    "no_answer": "Only if the survey is not answered yet (a reminder)",
    "negative": "Only if the last answer was negative",
    "positive": "Only if the last answer was positive",
}
SAMPLE = "sample"
_LIST_ITEM = re.compile(r"^[\w][\w .:/-]{0,99}$")


def split_list(text: str | None) -> list[str]:
    """ "a, b,,c" -> ["a", "b", "c"]: a comma-separated list, blanks dropped, order kept."""
    seen = []
    for item in (text or "").split(","):
        item = item.strip()
        if item and item.lower() not in [s.lower() for s in seen]:
            seen.append(item)
    return seen


def _valid_list(form, field) -> None:
    for item in split_list(field.data):
        if not _LIST_ITEM.match(item):
            raise ValidationError(
                f"{item[:40]!r} is not a tag: use letters, digits, spaces and - _ . : / "
                "(at most 100 characters each)"
            )
    if len(split_list(field.data)) > 50:
        raise ValidationError("at most 50 values")


class StepForm(Form):
    """One row of the steps table; a row with no name and no template is left out."""

    step_name = StringField("Step name", validators=[Optional(), Length(max=100)])
    delay = IntegerField(
        "Delay", default=0, validators=[Optional(), NumberRange(min=0, max=525600)]
    )
    unit = SelectField("Unit", choices={unit: unit for unit in UNITS}, default="minutes")
    business_days = BooleanField("Business days")
    channel = SelectField("Channel")
    template = SelectField("Template")
    survey = SelectField("Survey")
    condition = SelectField("When", choices=CONDITION_LABELS)
    remove = BooleanField("Remove")

    def is_blank(self) -> bool:
        return not (self.step_name.data or "").strip() and not self.template.data


class CadenceForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    position = IntegerField(
        "Order", default=0, validators=[Optional(), NumberRange(min=0, max=10_000)]
    )
    priorities = MultiCheckboxField("Priority is one of", choices={p: p for p in PRIORITIES})
    tags = StringField("Case has one of these tags", validators=[Length(max=2000), _valid_list])
    teams = StringField("Team is one of", validators=[Length(max=2000), _valid_list])
    sources = StringField(
        "Case came in by (source channel)", validators=[Length(max=2000), _valid_list]
    )
    segments = StringField(
        "Customer is in one of these segments (customer tags)",
        validators=[Length(max=2000), _valid_list],
    )
    sms_hours = StringField("Quiet hours: texts only between", validators=[Length(max=11)])
    survey_cap_days = IntegerField(
        "Frequency cap (days)", validators=[Optional(), NumberRange(min=1, max=365)]
    )
    experiment_b = SelectField("B cadence", validate_choice=False)
    experiment_share = IntegerField(
        "B's share (percent)", default=50, validators=[Optional(), NumberRange(min=1, max=99)]
    )
    steps = FieldList(FormField(StepForm), min_entries=1, max_entries=20)
    save = SubmitField("Save")
    add_step = SubmitField("Add a step")
    preview_case = SelectField("Preview with", validate_choice=False)
    show_preview = SubmitField("Preview")

    def validate_sms_hours(self, field) -> None:
        if (field.data or "").strip():
            try:
                SendingHours.parse(field.data, "UTC")
            except ValueError as error:
                raise ValidationError(str(error)) from None


def _choices(form: CadenceForm, purpose: str) -> None:
    templates = db.session.execute(
        sa.select(MessageTemplate.id, MessageTemplate.name).order_by(MessageTemplate.name)
    ).all()
    surveys = db.session.execute(
        sa.select(Survey.id, Survey.name).where(Survey.archived_at.is_(None)).order_by(Survey.name)
    ).all()
    channels = dict(CHANNEL_LABELS)
    if purpose != "recovery":
        channels.pop("answered")
    for row in form.steps:
        row.channel.choices = channels
        row.template.choices = {"": "Choose a template", **{str(i): n for i, n in templates}}
        row.survey.choices = {"": "No survey", **{str(i): n for i, n in surveys}}
        # A step may keep the archived survey it already carries.
        if row.survey.data and row.survey.data not in row.survey.choices:
            survey = db.session.get(Survey, int(row.survey.data))
            if survey is not None:
                row.survey.choices[row.survey.data] = f"{survey.name} (archived)"
    form.preview_case.choices = _preview_choices()
    others = {c.lineage: c.name for c in taking_cases("close")}
    # A cadence keeps the B it has, even archived (the experiment pauses meanwhile).
    kept = current_version(form.experiment_b.data) if form.experiment_b.data else None
    if kept is not None and kept.lineage not in others:
        others[kept.lineage] = f"{kept.name} (archived)"
    form.experiment_b.choices = {"": "No experiment", **others}


def _preview_choices() -> dict[str, str]:
    cases = db.session.execute(
        sa.select(Case.external_id, Case.subject, Customer.name)
        .join(Customer, Customer.id == Case.customer_id)
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(30)
    ).all()
    return {
        SAMPLE: "A sample customer (email and phone, Europe/London)",
        **{ext: f"{ext}: {subject or 'no subject'} ({name or 'no name'})"[:120]
           for ext, subject, name in cases},
    }  # fmt: skip


def _delay_parts(seconds: int) -> tuple[int, str]:
    for unit in ("days", "hours", "minutes"):
        if seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return seconds, "seconds"


def _fill(form: CadenceForm, cadence: Cadence) -> None:
    """The form's values from a saved version (on GET)."""
    rules = cadence.rules or {}
    form.name.data = cadence.name
    form.position.data = cadence.position
    form.priorities.data = list(rules.get("priorities", []))
    for field in ("tags", "teams", "sources", "segments"):
        form[field].data = ", ".join(rules.get(field, []))
    form.sms_hours.data = cadence.sms_hours or ""
    form.survey_cap_days.data = cadence.survey_cap_days
    form.experiment_b.data = cadence.experiment_lineage or ""
    form.experiment_share.data = cadence.experiment_share
    while len(form.steps.entries):
        form.steps.pop_entry()
    for step in cadence.steps:
        delay, unit = _delay_parts(step.delay_seconds)
        form.steps.append_entry(
            {
                "step_name": step.name,
                "delay": delay,
                "unit": unit,
                "business_days": step.business_days,
                "channel": step.channel,
                "template": str(step.template_id),
                "survey": str(step.survey_id or ""),
                "condition": step.condition,
            }
        )
    form.steps.append_entry()  # one blank row to add a step without JS


def _drafts(form: CadenceForm) -> tuple[list[dict], list[StepDraft], list[tuple[object, str]]]:
    """The kept rows as step values, their drafts for validation, and row-level problems."""
    templates = {t.id: t for t in db.session.scalars(sa.select(MessageTemplate))}
    surveys = {s.id: s for s in db.session.scalars(sa.select(Survey))}
    steps, drafts, problems = [], [], []
    for row in form.steps:
        if row.remove.data or row.is_blank():
            continue
        name = (row.step_name.data or "").strip() or f"step {len(steps) + 1}"
        template = templates.get(int(row.template.data)) if row.template.data.isdigit() else None
        survey = surveys.get(int(row.survey.data)) if row.survey.data.isdigit() else None
        if row.survey.data and survey is None:
            problems.append((row.survey, "choose a survey from the list"))
        seconds = (row.delay.data or 0) * UNITS.get(row.unit.data, 60)
        steps.append(
            {
                "name": name,
                "delay_seconds": seconds,
                "channel": row.channel.data,
                "template_id": template.id if template else None,
                "survey_id": survey.id if survey else None,
                "condition": row.condition.data,
                "business_days": bool(row.business_days.data),
            }
        )
        parts = frozenset(p for p in PARTS if template is not None and getattr(template, p))
        drafts.append(
            StepDraft(
                name=name,
                delay_seconds=seconds,
                channel=row.channel.data,
                template_name=template.name if template else None,
                template_parts=parts,
                survey_id=survey.id if survey else None,
                survey_name=survey.name if survey else None,
                condition=row.condition.data,
            )
        )
    steps, drafts = _by_delay(steps, drafts)
    return steps, drafts, problems


def _by_delay(steps: list[dict], drafts: list[StepDraft]):
    """Steps are kept in the order they go out."""
    order = sorted(range(len(steps)), key=lambda i: steps[i]["delay_seconds"])
    return [steps[i] for i in order], [drafts[i] for i in order]


def _settings(form: CadenceForm) -> dict:
    rules = {"priorities": list(form.priorities.data or [])}
    for field in ("tags", "teams", "sources", "segments"):
        rules[field] = split_list(form[field].data)
    return {
        "name": form.name.data.strip(),
        "position": form.position.data or 0,
        "rules": {field: rules[field] for field in CADENCE_RULE_FIELDS if rules[field]},
        "sms_hours": (form.sms_hours.data or "").strip() or None,
        "survey_cap_days": form.survey_cap_days.data,
        "experiment_lineage": form.experiment_b.data or None,
        "experiment_share": (form.experiment_share.data or 50) if form.experiment_b.data else 50,
    }


def _preview_case(key: str | None) -> Case:
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
                tags=[], priority="normal", round=0)  # fmt: skip


def _preview_lines(settings: dict, steps: list, case_key: str | None):
    case = _preview_case(case_key)
    lines = preview(settings, steps, case, utcnow())
    names = {t.id: t.name for t in db.session.scalars(sa.select(MessageTemplate))}
    surveys = {s.id: s.name for s in db.session.scalars(sa.select(Survey))}
    return case, lines, names, surveys


def _latest(cadence: Cadence) -> Cadence:
    return db.session.scalar(
        sa.select(Cadence).where(
            Cadence.lineage == cadence.lineage, Cadence.superseded_at.is_(None)
        )
    )


def _editor(form: CadenceForm, purpose: str, cadence: Cadence | None, status: int = 200, **extra):
    return render_template(
        "admin/cadences/edit.html",
        form=form,
        purpose=purpose,
        cadence=cadence,
        condition_labels=CONDITION_LABELS,
        **extra,
    ), status


def _submit(form: CadenceForm, purpose: str, cadence: Cadence | None):
    """Handle a POST of the editor: add a row, preview, or validate and save."""
    _choices(form, purpose)
    if form.add_step.data:
        form.steps.append_entry()
        _choices(form, purpose)
        return _editor(form, purpose, cadence)
    valid = form.validate()
    steps, drafts, problems = _drafts(form)
    for field, message in problems:
        field.errors = [*field.errors, message]
    summary = [message for _, message in step_problems(drafts)]
    if valid and name_taken(form.name.data, cadence.lineage if cadence else None):
        form.name.errors = [*form.name.errors, "another cadence has this name"]
        valid = False
    if purpose != "close":
        form.experiment_b.data = ""
    problem = form.experiment_b.data and experiment_problem(
        cadence.lineage if cadence else None, form.experiment_b.data
    )
    if problem:
        form.experiment_b.errors = [*form.experiment_b.errors, problem]
        valid = False
    if not valid or problems or summary:
        return _editor(form, purpose, cadence, 422, step_summary=summary)
    settings = _settings(form)
    if form.show_preview.data:
        case, lines, names, surveys = _preview_lines(settings, steps, form.preview_case.data)
        return _editor(form, purpose, cadence, preview_case=case, lines=lines,
                       template_names=names, survey_names=surveys)  # fmt: skip
    now, by = utcnow(), current_user.email
    try:
        if cadence is None:
            saved = create(settings, steps, purpose, by)
            audit.record("create", "cadence", saved.lineage, saved.name, after=describe(saved))
        else:
            before = describe(cadence)
            saved = save_version(cadence, settings, steps, by, now)
            if saved is not cadence:
                audit.record(
                    "update", "cadence", saved.lineage,
                    f"{saved.name}: version {saved.version}", before, describe(saved),
                )  # fmt: skip
    except CadenceConflict as error:
        db.session.rollback()
        return render_template("error.html", title="Not saved", message=str(error)), 409
    db.session.commit()
    if cadence is not None and saved is cadence:
        flash("Nothing changed.")
    else:
        flash(f"Saved {saved.name}, version {saved.version}.")
    return redirect(url_for("admin.cadence", cadence_id=saved.id), code=303)


@bp.get("/cadences")
def cadences():
    archived = list(
        db.session.scalars(
            sa.select(Cadence)
            .where(Cadence.superseded_at.is_(None), Cadence.archived_at.is_not(None))
            .order_by(Cadence.name)
        )
    )
    return render_template(
        "admin/cadences/list.html",
        close=taking_cases("close"),
        recovery=taking_cases("recovery"),
        archived=archived,
        channel_labels=CHANNEL_LABELS,
        condition_labels=CONDITION_LABELS,
        delay_text=delay_text,
    )


def delay_text(step) -> str:
    amount, unit = _delay_parts(step.delay_seconds)
    if amount == 0:
        return "at once"
    unit = unit[:-1] if amount == 1 else unit
    return f"after {amount} {'business ' if step.business_days else ''}{unit}"


@bp.route("/cadences/new", methods=["GET", "POST"])
@needs("configure")
def cadence_new():
    purpose = "recovery" if request.args.get("purpose") == "recovery" else "close"
    form = CadenceForm()
    if request.method == "POST":
        return _submit(form, purpose, None)
    form.steps.append_entry()
    form.steps.append_entry()
    _choices(form, purpose)
    return _editor(form, purpose, None)


@bp.get("/cadences/<int:cadence_id>")
def cadence(cadence_id: int):
    cadence = found(Cadence, cadence_id)
    case_key = request.args.get("case", SAMPLE)
    settings = {name: getattr(cadence, name) for name in ("sms_hours", "survey_cap_days")}
    case, lines, names, surveys = _preview_lines(settings, list(cadence.steps), case_key)
    versions = list(
        db.session.scalars(
            sa.select(Cadence).where(Cadence.lineage == cadence.lineage).order_by(Cadence.version)
        )
    )
    return render_template(
        "admin/cadences/show.html",
        cadence=cadence,
        latest=_latest(cadence),
        versions=versions,
        channel_labels=CHANNEL_LABELS,
        condition_labels=CONDITION_LABELS,
        delay_text=delay_text,
        preview_choices=_preview_choices(),
        preview_key=case_key,
        preview_case=case,
        lines=lines,
        template_names=names,
        survey_names=surveys,
        experiment_b=current_version(cadence.experiment_lineage)
        if cadence.experiment_lineage
        else None,
        cases_closed=db.session.scalar(
            sa.select(sa.func.count(Case.id)).where(Case.cadence_id == cadence.id)
        ),
    )


@bp.route("/cadences/<int:cadence_id>/edit", methods=["GET", "POST"])
@needs("configure")
def cadence_edit(cadence_id: int):
    cadence = found(Cadence, cadence_id)
    if cadence.superseded_at is not None and request.method == "GET":
        return redirect(url_for("admin.cadence_edit", cadence_id=_latest(cadence).id))
    form = CadenceForm()
    if request.method == "POST":
        return _submit(form, cadence.purpose, cadence)
    _fill(form, cadence)
    _choices(form, cadence.purpose)
    return _editor(form, cadence.purpose, cadence)


def _act(cadence_id: int, action: str, change) -> object:
    """A small change from a button (CSRF-checked by CSRFProtect like every POST)."""
    cadence = found(Cadence, cadence_id)
    if cadence.superseded_at is not None:
        return render_template(
            "error.html", title="Not changed", message="Change the current version instead."
        ), 409
    before = {"is_default": cadence.is_default, "archived": cadence.archived_at is not None}
    try:
        result = change(cadence)
    except CadenceConflict as error:
        db.session.rollback()
        return render_template("error.html", title="Not changed", message=str(error)), 409
    target = result or cadence
    after = {"is_default": cadence.is_default, "archived": cadence.archived_at is not None}
    if result is None:
        audit.record(action, "cadence", cadence.lineage, cadence.name, before, after)
    else:
        audit.record(action, "cadence", target.lineage, f"{target.name} from {cadence.name}",
                     after=describe(target))  # fmt: skip
    db.session.commit()
    flash(f"{target.name}: {action.replace('_', ' ')} done.")
    return redirect(url_for("admin.cadence", cadence_id=target.id), code=303)


@bp.post("/cadences/<int:cadence_id>/duplicate")
def cadence_duplicate(cadence_id: int):
    return _act(cadence_id, "duplicate", lambda c: duplicate(c, current_user.email))


@bp.post("/cadences/<int:cadence_id>/archive")
def cadence_archive(cadence_id: int):
    return _act(cadence_id, "archive", lambda c: set_archived(c, True, utcnow()))


@bp.post("/cadences/<int:cadence_id>/unarchive")
def cadence_unarchive(cadence_id: int):
    return _act(cadence_id, "unarchive", lambda c: set_archived(c, False, utcnow()))


@bp.post("/cadences/<int:cadence_id>/default")
def cadence_default(cadence_id: int):
    return _act(cadence_id, "make_default", make_default)
