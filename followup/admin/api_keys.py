"""Console pages: API keys (admins only). List them (never a secret), create one with a name
and a scope (its key shown on the answer to the form, once), revoke one after a confirmation
(refused from the next request on). Each change is in the audit log."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from followup import audit
from followup.admin import bp
from followup.api_keys import (
    AUDIT_FIELDS,
    MAX_NAME,
    ApiKeyError,
    api_keys,
    create_api_key,
    revoke_api_key,
)
from followup.extensions import db
from followup.models import ApiKey
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.web.console import needs
from followup.web.forms import choices_of, clean_text
from followup.web.pages import found

SCOPE_CHOICES = {
    ApiScope.INTAKE: _l("Intake: create, close and reopen cases; the helpdesk webhooks"),
    ApiScope.READ: _l("Read: cases, the recovery queue, the goodwill catalogue and alerts"),
    ApiScope.FULL: _l(
        "Full: everything, completing tasks, acknowledging alerts and code uploads too"
    ),
}


class NewApiKeyForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[clean_text],
        validators=[InputRequired(message=_l("Name the key")), Length(max=MAX_NAME)],
    )
    scope = SelectField(_l("Scope"), choices=choices_of(SCOPE_CHOICES), default=ApiScope.INTAKE)


@bp.get("/api-keys")
@needs("users")
def api_key_list():
    return render_template("admin/api_keys/list.html", keys=api_keys())


@bp.route("/api-keys/new", methods=["GET", "POST"])
@needs("users")
def api_key_new():
    form = NewApiKeyForm()
    if form.validate_on_submit():
        try:
            api_key, secret = create_api_key(form.name.data, ApiScope(form.scope.data))
        except ApiKeyError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            audit.record(
                "create", "api_key", api_key.id,
                f"Created the API key {api_key.name} ({api_key.prefix}…, {api_key.scope})",
                after=audit.snapshot(api_key, AUDIT_FIELDS),
            )  # fmt: skip
            db.session.commit()
            # The key on this answer only (never a flash: the session cookie is not secret).
            page = render_template("admin/api_keys/created.html", api_key=api_key, key=secret)
            return page, 201
    status = 422 if form.is_submitted() else 200
    return render_template("admin/api_keys/new.html", form=form), status


@bp.get("/api-keys/<int:key_id>/revoke")
@needs("users")
def api_key_confirm_revoke(key_id: int):
    return render_template("admin/api_keys/revoke.html", api_key=found(ApiKey, key_id))


@bp.post("/api-keys/<int:key_id>/revoke")
@needs("users")
def api_key_revoke(key_id: int):
    api_key = found(ApiKey, key_id)
    before = audit.snapshot(api_key, AUDIT_FIELDS)
    if revoke_api_key(api_key, utcnow()):
        audit.record(
            "revoke", "api_key", api_key.id,
            f"Revoked the API key {api_key.name} ({api_key.prefix}…)",
            before, audit.snapshot(api_key, AUDIT_FIELDS),
        )  # fmt: skip
        db.session.commit()
        flash(
            _("Revoked %(name)s (%(prefix)s…): it is refused from now on.",
              name=api_key.name, prefix=api_key.prefix)
        )  # fmt: skip
    return redirect(url_for("admin.api_key_list"), code=303)
