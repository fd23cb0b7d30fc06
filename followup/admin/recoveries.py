"""Console pages: the recovery queue. Each recovery with what the customer said, what was done
and its tasks (time left, overdue first), a form to complete each open task with its outcome
(and the recovery's root cause, optionally), the root cause of each ended recovery (flagged
while none is recorded, with a form to record or change it), the open proactive outreach
tasks (followup.proactive: soonest due first, each with its outcome form), and the leads'
open alerts with a button to acknowledge each. Reading needs "read"; completing, recording
and acknowledging need "configure"."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from followup import proactive, root_causes
from followup.admin import bp
from followup.extensions import db
from followup.models import Alert, Case, ProactiveTask, Recovery, RecoveryTask, RootCause
from followup.models.base import utcnow
from followup.models.proactive import ProactiveOutcome
from followup.models.recovery import RECOVERY_STATUSES, AlertAudience, RecoveryStatus
from followup.outbound import acknowledge_alert
from followup.proactive import ProactiveError
from followup.recovery_queue import NEEDS_ROOT_CAUSE, complete_task, queue_entries
from followup.root_causes import MAX_NOTE, RootCauseError
from followup.web.forms import choices_of, clean_text
from followup.web.pages import found, when
from surveys.responses import MAX_TEXT

STATUSES = (*RECOVERY_STATUSES, NEEDS_ROOT_CAUSE, "all")
STATUS_LABELS = {
    RecoveryStatus.OPEN: _l("open"),
    RecoveryStatus.RECOVERED: _l("recovered"),
    RecoveryStatus.ESCALATED: _l("escalated"),
    RecoveryStatus.WITHDRAWN: _l("withdrawn"),
    NEEDS_ROOT_CAUSE: _l("root cause needed"),
    "all": _l("all"),
}
SHOWN = 200  # recoveries on the page, those with the most urgent tasks first
NOTE_LENGTH = Length(
    max=MAX_NOTE, message=_l("Keep the note to %(count)s characters or fewer", count=MAX_NOTE)
)
NOT_LISTED = _l("Choose a root cause from the list")


class CompleteTaskForm(FlaskForm):
    outcome = TextAreaField(
        _l("Outcome"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Say what was done")),
            Length(
                max=MAX_TEXT,
                message=_l("Keep it to %(count)s characters or fewer", count=MAX_TEXT),
            ),
        ],
    )
    root_cause = SelectField(_l("Root cause (optional)"), validate_choice=False)
    root_cause_note = TextAreaField(
        _l("Root cause note (optional)"), filters=[clean_text], validators=[NOTE_LENGTH]
    )


OUTCOME_LABELS = {
    ProactiveOutcome.REACHED: _l("Reached the customer"),
    ProactiveOutcome.LEFT_MESSAGE: _l("Left a message"),
    ProactiveOutcome.NO_ANSWER: _l("No answer"),
    ProactiveOutcome.DECLINED: _l("The customer declined"),
}


class ProactiveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=choices_of(OUTCOME_LABELS))
    note = TextAreaField(
        _l("Note (optional)"),
        filters=[clean_text],
        validators=[Length(max=proactive.MAX_NOTE,
                           message=_l("Keep the note to %(count)s characters or fewer",
                                      count=proactive.MAX_NOTE))],
    )  # fmt: skip


def proactive_form(task_id: int, formdata=None) -> ProactiveForm:
    form = ProactiveForm(formdata=formdata)
    for name in ("outcome", "note"):
        form[name].id = form[name].label.field_id = f"proactive-{name}-{task_id}"
    return form


class RootCauseForm(FlaskForm):
    root_cause = SelectField(_l("Root cause"), validate_choice=False)
    root_cause_note = TextAreaField(
        _l("Note (optional)"), filters=[clean_text], validators=[NOTE_LENGTH]
    )


def _name_fields(form, suffix: str) -> None:
    """Ids that name the task or recovery, so each form on the page (and the error summary's
    link) points at its own fields."""
    for name in ("outcome", "root_cause", "root_cause_note"):
        if name in form:
            field = form[name]
            field.id = field.label.field_id = f"{name.replace('_', '-')}-{suffix}"


def _cause_choices(form, blank: str, current: RootCause | None, active=None) -> None:
    form.root_cause.choices = {"": blank, **root_causes.choices(current, active)}


def _cause_listed(form) -> bool:
    """Whether the chosen cause is one the form offers (a blank one is, where offered)."""
    form.root_cause.data = form.root_cause.data or ""  # a form without the field: blank
    if form.root_cause.data not in form.root_cause.choices:
        form.root_cause.errors = [*form.root_cause.errors, NOT_LISTED]
        return False
    return True


def task_form(
    task_id: int, formdata=None, current: RootCause | None = None, active=None
) -> CompleteTaskForm:
    """The form of one task, with the recovery's root cause to record (optional; blank
    keeps the current one)."""
    form = CompleteTaskForm(formdata=formdata)
    _name_fields(form, f"task-{task_id}")
    form.outcome.id = form.outcome.label.field_id = f"outcome-{task_id}"
    keep = _("Keep: %(cause)s", cause=current.name) if current else _("Record it later")
    _cause_choices(form, keep, current, active)
    return form


def cause_form(
    recovery_id: int, formdata=None, current: RootCause | None = None, note=None, active=None
):
    """The form that records (or changes) an ended recovery's root cause."""
    form = RootCauseForm(formdata=formdata)
    if formdata is None and current is not None:
        form.root_cause.data, form.root_cause_note.data = current.key, note
    _name_fields(form, f"recovery-{recovery_id}")
    _cause_choices(form, _("Choose a root cause"), current, active)
    return form


def time_left(seconds: int) -> str:
    """ "2 d 3 h left", "overdue by 40 min"."""
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [_("%(count)s d", count=days)] * bool(days)
    parts += [_("%(count)s h", count=hours)] * bool(hours)
    parts += [_("%(count)s min", count=mins)] * bool(mins and not days)
    span = " ".join(parts) or _("under a minute")
    return _("overdue by %(span)s", span=span) if seconds < 0 else _("%(span)s left", span=span)


def _status() -> str:
    status = request.args.get("status", RecoveryStatus.OPEN)
    return status if status in STATUSES else RecoveryStatus.OPEN


def _back(status: str):
    return redirect(
        url_for("admin.recoveries", status=None if status == RecoveryStatus.OPEN else status), 303
    )


def _page(
    status: str,
    forms: dict | None = None,
    problem: str | None = None,
    code: int = 200,
    cause_forms: dict | None = None,
    outreach_forms: dict | None = None,
):
    entries = queue_entries(None if status == "all" else status, utcnow(), SHOWN)
    outreach = proactive.open_tasks(utcnow(), SHOWN)
    outreach_forms = {t["id"]: proactive_form(t["id"]) for t in outreach} | (outreach_forms or {})
    listed = root_causes.causes()  # read once for every form on the page
    current = {cause.key: cause for cause in listed}
    active = {cause.key: cause.name for cause in listed if cause.active}

    def current_of(entry: dict) -> RootCause | None:
        return current[entry["root_cause"]["key"]] if entry["root_cause"] else None

    fresh = {
        task["id"]: task_form(task["id"], current=current_of(entry), active=active)
        for entry in entries
        for task in entry["tasks"]
        if not task["completed_at"]
    }
    forms = fresh | (forms or {})
    fresh_causes = {
        entry["id"]: cause_form(
            entry["id"],
            current=current_of(entry),
            note=entry["root_cause"]["note"] if entry["root_cause"] else None,
            active=active,
        )
        for entry in entries
        if entry["ended"]
    }
    cause_forms = fresh_causes | (cause_forms or {})
    alerts = db.session.execute(
        sa.select(Alert, Case.external_id)
        .outerjoin(Case, Case.id == Alert.case_id)
        .where(Alert.audience == AlertAudience.LEAD, Alert.acknowledged_at.is_(None))
        .order_by(Alert.id.desc())
        .limit(SHOWN)
    ).all()
    return render_template(
        "admin/recoveries.html",
        entries=entries,
        alerts=alerts,
        forms=forms,
        cause_forms=cause_forms,
        outreach=outreach,
        outreach_forms=outreach_forms,
        outcome_labels=OUTCOME_LABELS,
        status=status,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        problem=problem,
        shown=SHOWN,
        time_left=time_left,
        when=when,
    ), code


@bp.get("/recoveries")
def recoveries():
    return _page(_status())


@bp.post("/recoveries/tasks/<int:task_id>/complete")
def recovery_task_complete(task_id: int):
    task = found(RecoveryTask, task_id)
    recovery = db.session.get_one(Recovery, task.recovery_id)
    status = _status()
    form = task_form(task.id, request.form, recovery.root_cause)
    if not (form.validate_on_submit() & _cause_listed(form)):
        return _page(status, {task.id: form}, code=422)
    try:
        done = complete_task(
            task.id,
            form.outcome.data,
            current_user.email,
            utcnow(),
            form.root_cause.data or None,
            form.root_cause_note.data,
        )
    except RootCauseError as error:
        db.session.rollback()
        field = form.root_cause_note if error.field == "note" else form.root_cause
        field.errors = [*field.errors, error.message[:1].upper() + error.message[1:]]
        return _page(status, {task.id: form}, code=422)
    if done is None:
        db.session.rollback()
        problem = _(
            "“%(title)s” was completed already by %(who)s at %(when)s: %(outcome)s",
            title=task.title,
            who=task.completed_by or _("someone"),
            when=when(task.completed_at),
            outcome=task.outcome,
        )
        return _page(status, problem=problem, code=409)
    db.session.commit()
    if form.root_cause.data:
        flash(
            _("Completed “%(title)s”. Root cause: %(cause)s.",
              title=done.title, cause=recovery.root_cause.name)
        )  # fmt: skip
    else:
        flash(_("Completed “%(title)s”.", title=done.title))
    return _back(status)


@bp.post("/recoveries/proactive/<int:task_id>/complete")
def proactive_task_complete(task_id: int):
    task = found(ProactiveTask, task_id)
    status = _status()
    form = proactive_form(task.id, request.form)
    if not form.validate_on_submit():
        return _page(status, outreach_forms={task.id: form}, code=422)
    try:
        proactive.complete(task, form.outcome.data, form.note.data, current_user.email, utcnow())
    except ProactiveError as error:
        db.session.rollback()
        if error.status == 409:
            problem = _(
                "“%(title)s” was completed already by %(who)s: %(outcome)s.",
                title=task.title,
                who=task.completed_by or _("someone"),
                outcome=task.outcome,
            )
            return _page(status, problem=problem, code=409)
        field = form.note if error.field == "note" else form.outcome
        field.errors = [*field.errors, error.message[:1].upper() + error.message[1:]]
        return _page(status, outreach_forms={task.id: form}, code=422)
    db.session.commit()
    flash(
        _("Completed “%(title)s”: %(outcome)s.",
          title=task.title, outcome=OUTCOME_LABELS[task.outcome])
    )  # fmt: skip
    return _back(status)


@bp.post("/recoveries/<int:recovery_id>/root-cause")
def recovery_root_cause(recovery_id: int):
    recovery = found(Recovery, recovery_id)
    status = _status()
    form = cause_form(recovery.id, request.form, recovery.root_cause)
    if not (form.validate_on_submit() & _cause_listed(form)):
        return _page(status, cause_forms={recovery.id: form}, code=422)
    if not form.root_cause.data:
        form.root_cause.errors = [*form.root_cause.errors, NOT_LISTED]
        return _page(status, cause_forms={recovery.id: form}, code=422)
    try:
        changed = root_causes.record(
            recovery,
            form.root_cause.data,
            form.root_cause_note.data,
            current_user.email,
            utcnow(),
        )
    except RootCauseError as error:
        db.session.rollback()
        if error.status == 409:
            problem = _("Case %(case)s: %(problem)s.",
                        case=recovery.case.external_id, problem=error.message)  # fmt: skip
            return _page(status, problem=problem, code=409)
        field = form.root_cause_note if error.field == "note" else form.root_cause
        field.errors = [*field.errors, error.message[:1].upper() + error.message[1:]]
        return _page(status, cause_forms={recovery.id: form}, code=422)
    db.session.commit()
    case = recovery.case.external_id
    if changed:
        flash(
            _("Case %(case)s: root cause %(cause)s recorded.",
              case=case, cause=recovery.root_cause.name)
        )  # fmt: skip
    else:
        flash(_("Case %(case)s: that root cause and note were recorded already.", case=case))
    return _back(status)


@bp.post("/recoveries/alerts/<int:alert_id>/acknowledge")
def recovery_alert_acknowledge(alert_id: int):
    alert = found(Alert, alert_id)
    acknowledged = acknowledge_alert(alert, utcnow())
    db.session.commit()
    flash(
        _("Acknowledged “%(title)s”.", title=alert.title)
        if acknowledged
        else _("That alert was seen already.")
    )
    return _back(_status())
