"""Console pages: the recovery queue. Each recovery with what the customer said, what was done
and its tasks (time left, overdue first), a form to complete each open task with its outcome,
and the leads' open alerts with a button to acknowledge each. Reading needs "read"; completing
and acknowledging need "configure"."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from followup.admin import bp, found
from followup.extensions import db
from followup.models import Alert, Case, RecoveryTask
from followup.models.base import utcnow
from followup.models.recovery import RECOVERY_STATUSES, AlertAudience, RecoveryStatus
from followup.recovery_queue import complete_task, queue_entries
from followup.web.forms import clean_text
from followup.web.pages import when
from surveys.responses import MAX_TEXT

STATUSES = (*RECOVERY_STATUSES, "all")
SHOWN = 200  # recoveries on the page, those with the most urgent tasks first


class CompleteTaskForm(FlaskForm):
    outcome = TextAreaField(
        "Outcome",
        filters=[clean_text],
        validators=[
            DataRequired(message="Say what was done"),
            Length(max=MAX_TEXT, message=f"Keep it to {MAX_TEXT} characters or fewer"),
        ],
    )


def task_form(task_id: int, formdata=None) -> CompleteTaskForm:
    """The form of one task; its field's id names the task, so each form on the page (and
    the error summary's link) points at its own field."""
    form = CompleteTaskForm(formdata=formdata)
    form.outcome.id = form.outcome.label.field_id = f"outcome-{task_id}"
    return form


def time_left(seconds: int) -> str:
    """ "2 d 3 h left", "overdue by 40 min"."""
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
    parts += [f"{mins} min"] * bool(mins and not days)
    span = " ".join(parts) or "under a minute"
    return f"overdue by {span}" if seconds < 0 else f"{span} left"


def _status() -> str:
    status = request.args.get("status", RecoveryStatus.OPEN)
    return status if status in STATUSES else RecoveryStatus.OPEN


def _back(status: str):
    return redirect(
        url_for("admin.recoveries", status=None if status == RecoveryStatus.OPEN else status), 303
    )


def _page(status: str, forms: dict | None = None, problem: str | None = None, code: int = 200):
    entries = queue_entries(None if status == "all" else status, utcnow(), SHOWN)
    open_tasks = [
        task["id"] for entry in entries for task in entry["tasks"] if not task["completed_at"]
    ]
    forms = {task_id: task_form(task_id) for task_id in open_tasks} | (forms or {})
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
        status=status,
        statuses=STATUSES,
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
    status = _status()
    form = task_form(task.id, request.form)
    if not form.validate_on_submit():
        return _page(status, {task.id: form}, code=422)
    done = complete_task(task.id, form.outcome.data, current_user.email, utcnow())
    if done is None:
        db.session.rollback()
        problem = (
            f"“{task.title}” was completed already by {task.completed_by or 'someone'} "
            f"at {when(task.completed_at)}: {task.outcome}"
        )
        return _page(status, problem=problem, code=409)
    db.session.commit()
    flash(f"Completed “{done.title}”.")
    return _back(status)


@bp.post("/recoveries/alerts/<int:alert_id>/acknowledge")
def recovery_alert_acknowledge(alert_id: int):
    alert = found(Alert, alert_id)
    acknowledged = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert.id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow())
    ).rowcount
    db.session.commit()
    flash(f"Acknowledged “{alert.title}”." if acknowledged else "That alert was seen already.")
    return _back(_status())
