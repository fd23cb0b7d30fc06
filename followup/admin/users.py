"""Console pages: users (admins only). List them, add one with an initial password, change a
role, an agent's link to their cases (required for the agent role) and a lead's teams (their
weekly digest's), deactivate (their
sessions end at once) or reactivate, reset a password or two-factor sign-in. The system never
loses its last active admin. Every change is in the audit log (never a password)."""

from typing import Literal

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from followup import agents, audit, two_factor
from followup.admin import bp
from followup.extensions import db
from followup.models import User
from followup.models.users import Role
from followup.text import is_text
from followup.users import MAX_PASSWORD, MIN_PASSWORD, UserError, create_user, set_password
from followup.web.console import needs
from followup.web.forms import choices_of, clean_text
from followup.web.pages import found

ROLE_CHOICES = {
    Role.ADMIN: _l("Admin: everything, users included"),
    Role.LEAD: _l("Lead: configuration and the recovery queue"),
    Role.MANAGER: _l("Manager: the dashboard, configuration read-only"),
    Role.AGENT: _l("Agent: their own figures, their customers' words and kudos, nothing else"),
}
USER_FIELDS = ("email", "name", "role", "active", "agent", "teams")
MAX_TEAMS, MAX_TEAM = 50, 200
NEEDS_LINK = _l("An agent needs the agent name or email their cases arrive with")


def _password(label: LazyString) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired(message=_l("Enter a password")),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=_l(
                    "Use %(least)s to %(most)s characters", least=MIN_PASSWORD, most=MAX_PASSWORD
                ),
            ),
        ],
    )


class NewUserForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(message=_l("Enter an email address")), Length(max=320)],
    )
    name = StringField(_l("Name"), filters=[clean_text], validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=choices_of(ROLE_CHOICES), default=Role.LEAD)
    agent = StringField(_l("Agent link"), filters=[clean_text], validators=[Length(max=320)])
    teams = TextAreaField(_l("Teams (a lead's digest)"))
    password = _password(_l("Initial password"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices_of(ROLE_CHOICES))
    agent = StringField(_l("Agent link"), filters=[clean_text], validators=[Length(max=320)])
    teams = TextAreaField(_l("Teams (a lead's digest)"))


def _link(form) -> str | None | Literal[False]:
    """The form's agent link as stored (None when blank), or False after adding the error
    to the field (unreadable, or missing for an agent)."""
    try:
        link = agents.normalise_link(form.agent.data)
    except agents.LinkError as error:
        form.agent.errors.append(_("Use %(what)s", what=error))
        return False
    if link is None and form.role.data == Role.AGENT:
        form.agent.errors.append(NEEDS_LINK)
        return False
    return link


def _teams(form) -> list[str] | Literal[False]:
    """The form's teams as stored (one per line, trimmed, blank lines and repeats dropped),
    or False after adding the error to the field."""
    raw = form.teams.data or ""
    problem = None if is_text(raw) else _("Use readable characters in the team names")
    if problem is None and any(
        (ord(c) < 32 and c not in "\r\n") or 0x7F <= ord(c) < 0xA0 for c in raw
    ):
        problem = _("Remove the control characters from the team names")
    names = list(dict.fromkeys(line.strip() for line in raw.splitlines() if line.strip()))
    if problem is None and len(names) > MAX_TEAMS:
        problem = _("List at most %(count)s teams", count=MAX_TEAMS)
    if problem is None and any(len(name) > MAX_TEAM for name in names):
        problem = _("Keep each team name to %(count)s characters or fewer", count=MAX_TEAM)
    if problem is None and names and form.role.data != Role.LEAD:
        problem = _("Teams narrow a lead's digest: leave them empty for other roles")
    if problem:
        form.teams.errors = [*form.teams.errors, problem]
        return False
    return names


class PasswordForm(FlaskForm):
    password = _password(_l("New password"))


def _role_changed(user: User, link: str | None, teams: list[str]) -> str:
    """The flash after a role change: the role, the agent link and the digest's teams."""
    values = {"email": user.email, "role": user.role, "agent": link}
    if link and teams:
        return ngettext(
            "%(email)s is now %(role)s, linked to the cases of %(agent)s, "
            "digest for %(num)s team.",
            "%(email)s is now %(role)s, linked to the cases of %(agent)s, "
            "digest for %(num)s teams.",
            len(teams), **values,
        )  # fmt: skip
    if teams:
        return ngettext(
            "%(email)s is now %(role)s, digest for %(num)s team.",
            "%(email)s is now %(role)s, digest for %(num)s teams.",
            len(teams), **values,
        )  # fmt: skip
    if link:
        return _("%(email)s is now %(role)s, linked to the cases of %(agent)s.", **values)
    return _("%(email)s is now %(role)s.", **values)


def _last_admin(user: User) -> str:
    return _(
        "%(email)s is the last active admin. Make another user an admin first, so someone can "
        "still manage users.",
        email=user.email,
    )


def _is_last_active_admin(user: User) -> bool:
    """Whether the user is the only active admin; the active admins' rows stay locked until
    the commit (on PostgreSQL), so two admins cannot demote each other at once."""
    admins = db.session.scalars(
        sa.select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    ).all()
    return admins == [user.id]


def _edit_page(user: User, status: int = 200, problem: str | None = None, **forms):
    forms.setdefault("role_form", RoleForm(formdata=None, role=user.role, agent=user.agent or "",
                                           teams="\n".join(user.teams or [])))  # fmt: skip
    forms.setdefault("password_form", PasswordForm(formdata=None))
    return render_template("admin/users/edit.html", user=user, problem=problem, **forms), status


@bp.get("/users")
@needs("users")
def users():
    everyone = db.session.scalars(sa.select(User).order_by(User.active.desc(), User.email))
    return render_template("admin/users/list.html", users=everyone.all())


@bp.route("/users/new", methods=["GET", "POST"])
@needs("users")
def user_new():
    form = NewUserForm()
    valid = form.validate_on_submit()
    link, teams = (_link(form), _teams(form)) if valid else (False, False)
    if link is not False and teams is not False:
        try:
            user = create_user(
                form.email.data, form.role.data, form.password.data, form.name.data or ""
            )
        except UserError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            user.agent, user.teams = link, teams
            audit.record(
                "create", "user", user.id, f"Added {user.email} as {user.role}",
                after=audit.snapshot(user, USER_FIELDS),
            )  # fmt: skip
            db.session.commit()
            flash(
                _("Added %(email)s (%(role)s). Give them their password in person.",
                  email=user.email, role=user.role)
            )  # fmt: skip
            return redirect(url_for("admin.users"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/users/new.html", form=form), status


@bp.get("/users/<int:user_id>")
@needs("users")
def user_edit(user_id: int):
    return _edit_page(found(User, user_id))


@bp.post("/users/<int:user_id>/role")
@needs("users")
def user_role(user_id: int):
    user = found(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _edit_page(user, 422, role_form=form)
    link, teams = _link(form), _teams(form)
    if link is False or teams is False:
        return _edit_page(user, 422, role_form=form)
    if form.role.data == user.role and link == user.agent and teams == (user.teams or []):
        return redirect(url_for("admin.user_edit", user_id=user.id), code=303)
    demoted = form.role.data != user.role and user.role == Role.ADMIN and user.active
    if demoted and _is_last_active_admin(user):
        db.session.rollback()
        return _edit_page(user, 409, _last_admin(user), role_form=form)
    before = audit.snapshot(user, USER_FIELDS)
    user.role, user.agent, user.teams = form.role.data, link, teams
    linked = f", linked to the cases of {link}" if link else ""
    linked += f", digest for {len(teams)} team{'s' * (len(teams) != 1)}" if teams else ""
    audit.record(
        "update", "user", user.id, f"Changed the role of {user.email} to {user.role}{linked}",
        before, audit.snapshot(user, USER_FIELDS),
    )  # fmt: skip
    db.session.commit()
    flash(_role_changed(user, link, teams))
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)


def _set_active(user: User, active: bool) -> None:
    before = audit.snapshot(user, USER_FIELDS)
    user.active = active
    if not active:
        user.session_version = (user.session_version or 0) + 1  # their sessions end now
    audit.record(
        "activate" if active else "deactivate",
        "user",
        user.id,
        f"{'Reactivated' if active else 'Deactivated'} {user.email}",
        before,
        audit.snapshot(user, USER_FIELDS),
    )


@bp.post("/users/<int:user_id>/deactivate")
@needs("users")
def user_deactivate(user_id: int):
    user = found(User, user_id)
    if not user.active:
        return redirect(url_for("admin.user_edit", user_id=user.id), code=303)
    if user.role == Role.ADMIN and _is_last_active_admin(user):
        db.session.rollback()
        return _edit_page(user, 409, _last_admin(user))
    _set_active(user, False)
    db.session.commit()
    flash(_("Deactivated %(email)s: they are signed out and cannot sign in.", email=user.email))
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/reactivate")
@needs("users")
def user_reactivate(user_id: int):
    user = found(User, user_id)
    if not user.active:
        _set_active(user, True)
        db.session.commit()
        flash(_("Reactivated %(email)s: they can sign in again.", email=user.email))
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/password")
@needs("users")
def user_password(user_id: int):
    user = found(User, user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        return _edit_page(user, 422, password_form=form)
    try:
        set_password(user, form.password.data)
    except UserError as error:
        form.password.errors.append(error.message)
        return _edit_page(user, 422, password_form=form)
    audit.record("password_reset", "user", user.id, f"Reset the password of {user.email}")
    db.session.commit()
    if user.id == current_user.id:
        login_user(user)  # a new password ends other sessions, not this one
    flash(_("Set a new password for %(email)s; their other sessions have ended.", email=user.email))
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/two-factor/reset")
@needs("users")
def user_two_factor_reset(user_id: int):
    """For a user who lost their phone and recovery codes: their password alone signs them in
    until they turn two-factor sign-in on again."""
    user = found(User, user_id)
    if user.two_factor or user.totp_secret:
        two_factor.turn_off(user)
        audit.record(
            "two_factor_reset", "user", user.id, f"Reset the two-factor sign-in of {user.email}"
        )
        db.session.commit()
        flash(
            _("Reset the two-factor sign-in of %(email)s: their password alone signs them in.",
              email=user.email)
        )  # fmt: skip
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)
