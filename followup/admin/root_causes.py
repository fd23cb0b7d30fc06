"""Console pages: the root causes a lead chooses from when a recovery ends (admins only, the
"users" ability: the list shapes what every lead records and what the dashboard counts).
List them in their order with the recoveries that name each, add one (its key never
changes), rename, deactivate or reactivate one (a deactivated cause is no longer offered;
the recoveries that name it keep it), move one up or down. Every change is audited."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from followup import audit, root_causes
from followup.admin import bp
from followup.extensions import db
from followup.models import Recovery, RootCause
from followup.positions import add_last, neighbour, swap_positions
from followup.root_causes import MAX_KEY, MAX_NAME
from followup.web.console import needs
from followup.web.forms import clean_text
from followup.web.pages import found

FIELDS = ("key", "name", "active", "position")
NAME_TAKEN = _l("Another root cause has this name")


def _name_field() -> StringField:
    return StringField(
        _l("Name"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Enter a name")),
            Length(
                max=MAX_NAME, message=_l("Keep it to %(count)s characters or fewer", count=MAX_NAME)
            ),
        ],
    )


class NewRootCauseForm(FlaskForm):
    key = StringField(_l("Key"), filters=[lambda value: value.strip() if value else value])
    name = _name_field()


class RootCauseForm(FlaskForm):
    name = _name_field()
    active = BooleanField(_l("Offered to leads (active)"))


def _list_page(form: NewRootCauseForm | None = None, status: int = 200):
    used = dict(
        db.session.execute(
            sa.select(Recovery.root_cause_id, sa.func.count())
            .where(Recovery.root_cause_id.is_not(None))
            .group_by(Recovery.root_cause_id)
        ).all()
    )
    return render_template(
        "admin/root_causes/index.html",
        causes=root_causes.causes(),
        used=used,
        form=form or NewRootCauseForm(formdata=None),
        max_key=MAX_KEY,
    ), status


@bp.get("/root-causes")
@needs("users")
def root_cause_list():
    return _list_page()


@bp.post("/root-causes")
@needs("users")
def root_cause_new():
    form = NewRootCauseForm()
    valid = form.validate_on_submit()
    problem = root_causes.key_problem(form.key.data or "")
    if problem:
        form.key.errors = [*form.key.errors, problem]
    if valid and root_causes.name_taken(form.name.data):
        form.name.errors = [*form.name.errors, NAME_TAKEN]
    if not valid or form.errors:
        return _list_page(form, 422)
    cause = RootCause(key=form.key.data, name=form.name.data, active=True)
    try:
        add_last(cause)
    except IntegrityError:  # the same key or place, taken at the same moment
        db.session.rollback()
        form.form_errors.append(_("Someone changed the list at the same moment: send it again."))
        return _list_page(form, 409)
    audit.record("create", "root_cause", cause.id, cause.name, None, audit.snapshot(cause, FIELDS))
    db.session.commit()
    flash(_("Added the root cause %(name)s, last in the list.", name=cause.name))
    return redirect(url_for("admin.root_cause_list"), 303)


def _edit_page(cause: RootCause, form: RootCauseForm, status: int = 200):
    return render_template("admin/root_causes/edit.html", cause=cause, form=form), status


@bp.get("/root-causes/<int:cause_id>")
@needs("users")
def root_cause_edit(cause_id: int):
    cause = found(RootCause, cause_id)
    return _edit_page(cause, RootCauseForm(formdata=None, obj=cause))


@bp.post("/root-causes/<int:cause_id>")
@needs("users")
def root_cause_save(cause_id: int):
    cause = found(RootCause, cause_id)
    form = RootCauseForm()
    valid = form.validate_on_submit()
    if valid and root_causes.name_taken(form.name.data, but=cause):
        form.name.errors = [*form.name.errors, NAME_TAKEN]
    if not valid or form.errors:
        return _edit_page(cause, form, 422)
    before = audit.snapshot(cause, FIELDS)
    cause.name, cause.active = form.name.data, form.active.data
    after = audit.snapshot(cause, FIELDS)
    if before != after:
        audit.record("update", "root_cause", cause.id, cause.name, before, after)
    db.session.commit()
    if cause.active:
        flash(_("Saved the root cause %(name)s.", name=cause.name))
    else:
        flash(
            _("Saved the root cause %(name)s. It is no longer offered; recoveries that name it "
              "keep it.", name=cause.name)
        )  # fmt: skip
    return redirect(url_for("admin.root_cause_list"), 303)


@bp.post("/root-causes/<int:cause_id>/move/<any(up, down):direction>")
@needs("users")
def root_cause_move(cause_id: int, direction: str):
    cause = found(RootCause, cause_id)
    other = neighbour(cause, direction)
    back = redirect(url_for("admin.root_cause_list"), 303)
    if other is None:
        if direction == "up":
            flash(_("%(name)s is already first.", name=cause.name))
        else:
            flash(_("%(name)s is already last.", name=cause.name))
        return back
    before = {"position": cause.position}
    try:
        swap_positions(cause, other)
    except IntegrityError:  # the order changed under us
        db.session.rollback()
        flash(_("The order changed at the same moment: check it and move the cause again."))
        return back
    summary = f"{cause.name} moved {direction}, swapping places with {other.name}"
    audit.record("move", "root_cause", cause.id, summary, before, {"position": cause.position})
    db.session.commit()
    if direction == "up":
        flash(_("Moved %(name)s up.", name=cause.name))
    else:
        flash(_("Moved %(name)s down.", name=cause.name))
    return back
