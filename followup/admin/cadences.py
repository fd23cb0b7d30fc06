"""Console pages for cadences: the list (in the order cases are matched), a version's page
with its preview on a sample case, create, edit (a new version), duplicate, archive and the
default. The forms are in cadence_forms; the rules in followup.cadence_versions and
followup.cadence_drafts."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from followup import audit
from followup.admin import bp
from followup.admin.cadence_forms import (
    CONDITION_LABELS,
    PRIORITY_LABELS,
    CadenceForm,
    delay_text,
    fill,
    preview_choices,
    read_steps,
    set_choices,
    settings_of,
)
from followup.cadence_drafts import SAMPLE, latest, preview_lines
from followup.cadence_versions import (
    CadenceConflict,
    create,
    describe,
    duplicate,
    make_default,
    name_taken,
    save_version,
    set_archived,
    taking_cases,
)
from followup.cadences import proactive_problem, step_problems
from followup.experiments import current_version, experiment_problem
from followup.extensions import db
from followup.models import Cadence, Case
from followup.models.base import utcnow
from followup.web.console import needs
from followup.web.pages import found, query_text


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
    set_choices(form, purpose)
    if form.add_step.data:
        form.steps.append_entry()
        set_choices(form, purpose)
        return _editor(form, purpose, cadence)
    valid = form.validate()
    steps, drafts, problems = read_steps(form)
    for field, message in problems:
        field.errors = [*field.errors, message]
    summary = [message for _step, message in step_problems(drafts, _)]
    if purpose != "close":
        form.min_risk.data, form.proactive_task.data = None, ""
    late = proactive_problem(
        (form.proactive_task.data or "").strip(), form.proactive_due_hours.data or 24, drafts, _
    )
    if late:
        form.proactive_due_hours.errors = [*form.proactive_due_hours.errors, late]
        valid = False
    if valid and name_taken(form.name.data, cadence.lineage if cadence else None):
        form.name.errors = [*form.name.errors, _("another cadence has this name")]
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
    settings = settings_of(form)
    if form.show_preview.data:
        case, lines, names, surveys = preview_lines(settings, steps, form.preview_case.data)
        return _editor(form, purpose, cadence, preview_case=case, lines=lines,
                       template_names=names, survey_names=surveys)  # fmt: skip
    return _save(settings, steps, purpose, cadence)


def _save(settings: dict, steps: list[dict], purpose: str, cadence: Cadence | None):
    """Save a new cadence, or a new version of `cadence`, audited; then to its page."""
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
        return render_template("error.html", title=_("Not saved"), message=str(error)), 409
    db.session.commit()
    if cadence is not None and saved is cadence:
        flash(_("Nothing changed."))
    else:
        flash(_("Saved %(name)s, version %(version)s.", name=saved.name, version=saved.version))
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
        priority_labels=PRIORITY_LABELS,
        condition_labels=CONDITION_LABELS,
        delay_text=delay_text,
    )


@bp.route("/cadences/new", methods=["GET", "POST"])
@needs("configure")
def cadence_new():
    purpose = "recovery" if request.args.get("purpose") == "recovery" else "close"
    form = CadenceForm()
    if request.method == "POST":
        return _submit(form, purpose, None)
    form.steps.append_entry()
    form.steps.append_entry()
    set_choices(form, purpose)
    return _editor(form, purpose, None)


@bp.get("/cadences/<int:cadence_id>")
def cadence(cadence_id: int):
    cadence = found(Cadence, cadence_id)
    case_key = query_text("case", 200) or SAMPLE
    settings = {name: getattr(cadence, name) for name in ("sms_hours", "survey_cap_days")}
    case, lines, names, surveys = preview_lines(settings, list(cadence.steps), case_key)
    versions = list(
        db.session.scalars(
            sa.select(Cadence).where(Cadence.lineage == cadence.lineage).order_by(Cadence.version)
        )
    )
    return render_template(
        "admin/cadences/show.html",
        cadence=cadence,
        latest=latest(cadence),
        versions=versions,
        priority_labels=PRIORITY_LABELS,
        condition_labels=CONDITION_LABELS,
        delay_text=delay_text,
        preview_choices=preview_choices(),
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
        return redirect(url_for("admin.cadence_edit", cadence_id=latest(cadence).id))
    form = CadenceForm()
    if request.method == "POST":
        return _submit(form, cadence.purpose, cadence)
    fill(form, cadence)
    set_choices(form, cadence.purpose)
    return _editor(form, cadence.purpose, cadence)


# What a button's flash says once its change is done.
DONE = {
    "duplicate": lambda name: _("%(name)s: duplicated.", name=name),
    "archive": lambda name: _("%(name)s: archived.", name=name),
    "unarchive": lambda name: _("%(name)s: unarchived.", name=name),
    "make_default": lambda name: _("%(name)s: made the default.", name=name),
}


def _act(cadence_id: int, action: str, change) -> object:
    """A small change from a button (CSRF-checked by CSRFProtect like every POST)."""
    cadence = found(Cadence, cadence_id)
    if cadence.superseded_at is not None:
        return render_template(
            "error.html", title=_("Not changed"), message=_("Change the current version instead.")
        ), 409
    before = {"is_default": cadence.is_default, "archived": cadence.archived_at is not None}
    try:
        result = change(cadence)
    except CadenceConflict as error:
        db.session.rollback()
        return render_template("error.html", title=_("Not changed"), message=str(error)), 409
    target = result or cadence
    after = {"is_default": cadence.is_default, "archived": cadence.archived_at is not None}
    if result is None:
        audit.record(action, "cadence", cadence.lineage, cadence.name, before, after)
    else:
        audit.record(action, "cadence", target.lineage, f"{target.name} from {cadence.name}",
                     after=describe(target))  # fmt: skip
    db.session.commit()
    flash(DONE[action](target.name))
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
