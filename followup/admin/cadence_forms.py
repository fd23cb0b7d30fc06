"""The cadence editor's WTForms forms: the settings (name, order, rules with the risk at
least X, the proactive task, quiet hours, cap, experiment), the rows of steps, and the
preview's case; filled from a saved version, read back as its settings and step drafts
(followup.cadence_drafts), and how a delay reads."""

import re

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
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

from followup.cadence_drafts import SAMPLE, step_drafts
from followup.cadence_versions import taking_cases
from followup.cadences import MIN_RISK, SendingHours, StepDraft
from followup.experiments import current_version
from followup.extensions import db
from followup.models import Cadence, Case, Customer, MessageTemplate, Survey
from followup.models.cadences import CADENCE_RULE_FIELDS
from followup.models.cases import PRIORITIES
from followup.text import clean_text
from followup.web.forms import MultiCheckboxField, choices_of

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
CHANNEL_LABELS = {
    "email": _l("Email"),
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "preferred": _l(
        "Customer's preferred (the channel they chose when we have its address; else SMS "
        "when they have a phone, else email)"
    ),
    "answered": _l("The channel they answered on"),
}
CONDITION_LABELS = {
    "always": _l("Always"),
    "no_answer": _l("Only if the survey is not answered yet (a reminder)"),
    "negative": _l("Only if the last answer was negative"),
    "positive": _l("Only if the last answer was positive"),
}
UNIT_LABELS = {
    "seconds": _l("seconds"),
    "minutes": _l("minutes"),
    "hours": _l("hours"),
    "days": _l("days"),
}
PRIORITY_LABELS = {
    "low": _l("low"),
    "normal": _l("normal"),
    "high": _l("high"),
    "urgent": _l("urgent"),
}
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
                _(
                    "%(item)s is not a tag: use letters, digits, spaces and - _ . : / "
                    "(at most 100 characters each)",
                    item=repr(item[:40]),
                )
            )
    if len(split_list(field.data)) > 50:
        raise ValidationError(_("at most 50 values"))


class StepForm(Form):
    """One row of the steps table; a row with no name and no template is left out."""

    class Meta:
        def get_translations(self, form):
            """WTForms' own messages in the page's language, as a FlaskForm's are."""
            return wtforms_translations

    step_name = StringField(
        _l("Step name"), filters=[clean_text], validators=[Optional(), Length(max=100)]
    )
    delay = IntegerField(
        _l("Delay"), default=0, validators=[Optional(), NumberRange(min=0, max=525600)]
    )
    unit = SelectField(_l("Unit"), choices=choices_of(UNIT_LABELS), default="minutes")
    business_days = BooleanField(_l("Business days"))
    channel = SelectField(_l("Channel"))
    template = SelectField(_l("Template"))
    survey = SelectField(_l("Survey"))
    condition = SelectField(_l("When"), choices=choices_of(CONDITION_LABELS))
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        return not (self.step_name.data or "").strip() and not self.template.data


class CadenceForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[clean_text], validators=[InputRequired(), Length(max=200)]
    )
    position = IntegerField(
        _l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=10_000)]
    )
    priorities = MultiCheckboxField(
        _l("Priority is one of"),
        choices=choices_of({p: PRIORITY_LABELS.get(p, p) for p in PRIORITIES}),
    )
    tags = StringField(
        _l("Case has one of these tags"),
        filters=[clean_text],
        validators=[Length(max=2000), _valid_list],
    )
    teams = StringField(
        _l("Team is one of"), filters=[clean_text], validators=[Length(max=2000), _valid_list]
    )
    sources = StringField(
        _l("Case came in by (source channel)"),
        filters=[clean_text],
        validators=[Length(max=2000), _valid_list],
    )
    segments = StringField(
        _l("Customer is in one of these segments (customer tags)"),
        filters=[clean_text],
        validators=[Length(max=2000), _valid_list],
    )
    min_risk = IntegerField(
        _l("Risk at least (percent)"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    proactive_task = StringField(
        _l("Proactive task"), filters=[clean_text], validators=[Length(max=300)]
    )
    proactive_due_hours = IntegerField(
        _l("Task due after (hours)"),
        default=24,
        validators=[Optional(), NumberRange(min=1, max=720)],
    )
    sms_hours = StringField(
        _l("Quiet hours: texts only between"), filters=[clean_text], validators=[Length(max=11)]
    )
    survey_cap_days = IntegerField(
        _l("Frequency cap (days)"), validators=[Optional(), NumberRange(min=1, max=365)]
    )
    experiment_b = SelectField(_l("B cadence"), validate_choice=False)
    experiment_share = IntegerField(
        _l("B's share (percent)"), default=50, validators=[Optional(), NumberRange(min=1, max=99)]
    )
    steps = FieldList(FormField(StepForm), _l("Step"), min_entries=1, max_entries=20)
    save = SubmitField(_l("Save"))
    add_step = SubmitField(_l("Add a step"))
    preview_case = SelectField(_l("Preview with"), validate_choice=False)
    show_preview = SubmitField(_l("Preview"))

    def validate_sms_hours(self, field) -> None:
        if (field.data or "").strip():
            try:
                SendingHours.parse(field.data, "UTC")
            except ValueError as error:
                raise ValidationError(str(error)) from None


def set_choices(form: CadenceForm, purpose: str) -> None:
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
        row.channel.choices = choices_of(channels)
        row.template.choices = {"": _("Choose a template"), **{str(i): n for i, n in templates}}
        row.survey.choices = {"": _("No survey"), **{str(i): n for i, n in surveys}}
        # A step may keep the archived survey it already carries.
        if row.survey.data and row.survey.data not in row.survey.choices:
            survey = db.session.get(Survey, int(row.survey.data))
            if survey is not None:
                row.survey.choices[row.survey.data] = _("%(name)s (archived)", name=survey.name)
    form.preview_case.choices = preview_choices()
    others = {c.lineage: c.name for c in taking_cases("close")}
    # A cadence keeps the B it has, even archived (the experiment pauses meanwhile).
    kept = current_version(form.experiment_b.data) if form.experiment_b.data else None
    if kept is not None and kept.lineage not in others:
        others[kept.lineage] = _("%(name)s (archived)", name=kept.name)
    form.experiment_b.choices = {"": _("No experiment"), **others}


def preview_choices() -> dict[str, str]:
    cases = db.session.execute(
        sa.select(Case.external_id, Case.subject, Customer.name)
        .join(Customer, Customer.id == Case.customer_id)
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(30)
    ).all()
    no_subject, no_name = _("no subject"), _("no name")
    return {
        SAMPLE: _("A sample customer (email and phone, Europe/London)"),
        **{ext: f"{ext}: {subject or no_subject} ({name or no_name})"[:120]
           for ext, subject, name in cases},
    }  # fmt: skip


def _delay_parts(seconds: int) -> tuple[int, str]:
    for unit in ("days", "hours", "minutes"):
        if seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return seconds, "seconds"


def fill(form: CadenceForm, cadence: Cadence) -> None:
    """The form's values from a saved version (on GET)."""
    rules = cadence.rules or {}
    form.name.data = cadence.name
    form.position.data = cadence.position
    form.priorities.data = list(rules.get("priorities", []))
    for field in ("tags", "teams", "sources", "segments"):
        form[field].data = ", ".join(rules.get(field, []))
    form.min_risk.data = rules.get(MIN_RISK)
    form.proactive_task.data = cadence.proactive_task or ""
    form.proactive_due_hours.data = cadence.proactive_due_hours
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


def read_steps(form: CadenceForm) -> tuple[list[dict], list[StepDraft], list[tuple[object, str]]]:
    """The kept rows as step values and their drafts for validation (in the order they go
    out), and row-level problems as (field, message)."""
    rows, kept = [], []
    for row in form.steps:
        if row.remove.data or row.is_blank():
            continue
        kept.append(row)
        rows.append(
            {
                "name": (row.step_name.data or "").strip() or f"step {len(rows) + 1}",
                "delay_seconds": (row.delay.data or 0) * UNITS.get(row.unit.data, 60),
                "channel": row.channel.data,
                "template_id": _chosen(row.template.data),
                "survey_id": _chosen(row.survey.data),
                "condition": row.condition.data,
                "business_days": bool(row.business_days.data),
            }
        )
    steps, step_drafts_, unknown = step_drafts(rows)
    problems = [
        (row.survey, "choose a survey from the list")
        for index, row in enumerate(kept)
        if row.survey.data and (index in unknown or _chosen(row.survey.data) is None)
    ]
    return steps, step_drafts_, problems


def _chosen(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def settings_of(form: CadenceForm) -> dict:
    rules = {"priorities": list(form.priorities.data or [])}
    for field in ("tags", "teams", "sources", "segments"):
        rules[field] = split_list(form[field].data)
    kept = {field: rules[field] for field in CADENCE_RULE_FIELDS if rules[field]}
    if form.min_risk.data is not None:
        kept[MIN_RISK] = form.min_risk.data
    task = " ".join((form.proactive_task.data or "").split()) or None
    return {
        "name": form.name.data.strip(),
        "position": form.position.data or 0,
        "rules": kept,
        "proactive_task": task,
        "proactive_due_hours": (form.proactive_due_hours.data or 24) if task else 24,
        "sms_hours": (form.sms_hours.data or "").strip() or None,
        "survey_cap_days": form.survey_cap_days.data,
        "experiment_lineage": form.experiment_b.data or None,
        "experiment_share": (form.experiment_share.data or 50) if form.experiment_b.data else 50,
    }


def delay_text(step) -> str:
    """How a step's delay reads: "at once", "after 2 business days"."""
    n, unit = _delay_parts(step.delay_seconds)
    if n == 0:
        return _("at once")
    if step.business_days:
        if unit == "days":
            return ngettext("after %(num)d business day", "after %(num)d business days", n)
        if unit == "hours":
            return ngettext("after %(num)d business hour", "after %(num)d business hours", n)
        if unit == "minutes":
            return ngettext("after %(num)d business minute", "after %(num)d business minutes", n)
        return ngettext("after %(num)d business second", "after %(num)d business seconds", n)
    if unit == "days":
        return ngettext("after %(num)d day", "after %(num)d days", n)
    if unit == "hours":
        return ngettext("after %(num)d hour", "after %(num)d hours", n)
    if unit == "minutes":
        return ngettext("after %(num)d minute", "after %(num)d minutes", n)
    return ngettext("after %(num)d second", "after %(num)d seconds", n)
