"""The signed-in user's own page: their preferences (how they hear of their kudos, the weekly
digest's opt-out, the console's language), two-factor sign-in turned on (a QR code and the secret to
type, confirmed with a code, then ten recovery codes shown once), new recovery codes, and
turning it off (password and code). Wrong codes here are limited per user; every change is
in the audit log."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from followup import audit, two_factor
from followup.admin import bp
from followup.extensions import db, limiter
from followup.languages import languages_in_use, native_name
from followup.models.users import KudosDelivery
from followup.users import MAX_PASSWORD, authenticate
from followup.web.console import needs
from followup.web.forms import choices_of

WRONG_CODE = _l("That code is not right or was used already: wait for the next code in your app.")


def _code_field(label: LazyString) -> StringField:
    return StringField(
        label, validators=[InputRequired(message=_l("Enter the code")), Length(max=40)]
    )


KUDOS_CHOICES = {
    KudosDelivery.DAILY: _l("Once a day: an email with the day's kudos"),
    KudosDelivery.INSTANT: _l("At once: an email for each kudo"),
    KudosDelivery.OFF: _l("No email: I read them in the console"),
}
PREFERENCE_FIELDS = ("kudos_delivery", "weekly_digest", "language")
BROWSER_DEFAULT = ""  # the language choice of no language: the browser's


class PreferencesForm(FlaskForm):
    kudos_delivery = RadioField(_l("Kudos by email"), choices=choices_of(KUDOS_CHOICES))
    weekly_digest = BooleanField(_l("Send me the weekly digest on Mondays"))
    language = SelectField(
        _l("Console language"),
        default=BROWSER_DEFAULT,
        invalid_choice_message=_l("choose one of the languages listed"),
    )


def _preferences_form(**kwargs) -> PreferencesForm:
    """The preferences; the languages offered are those in use (each in its own name), and
    the user's own if it is no longer in use."""
    form = PreferencesForm(**kwargs)
    languages = [*languages_in_use()]
    if (mine := current_user.language) and mine not in languages:
        languages.append(mine)
    form.language.choices = [(BROWSER_DEFAULT, _("Browser default"), {})] + [
        (language, native_name(language), {"lang": language}) for language in languages
    ]
    return form


class ConfirmForm(FlaskForm):
    code = _code_field(_l("Code from your app"))


class CodeForm(FlaskForm):
    code = _code_field(_l("Code from your app, or a recovery code"))


class TurnOffForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(message=_l("Enter your password")), Length(max=MAX_PASSWORD)],
    )
    code = _code_field(_l("Code from your app, or a recovery code"))


def _user_key() -> str:
    # The limiter runs before the sign-in check: a key function must not fail (flask-limiter
    # would take that for Redis being down).
    return f"user:{getattr(current_user, 'id', 'anonymous')}"


# Wrong codes (and passwords) on this page, per user.
per_user = limiter.shared_limit(
    "10 per 15 minutes", scope="two-factor settings", key_func=_user_key, methods=["POST"],
    deduct_when=lambda response: response.status_code == 422,
)  # fmt: skip


def _me():
    """The signed-in User itself (not Flask-Login's proxy), for the ORM."""
    return current_user._get_current_object()


def _account_page(status: int = 200, **forms):
    forms.setdefault("codes_form", CodeForm(formdata=None))
    forms.setdefault("off_form", TurnOffForm(formdata=None))
    me = _me()
    forms.setdefault(
        "preferences_form",
        _preferences_form(
            formdata=None,
            kudos_delivery=me.kudos_delivery,
            weekly_digest=me.weekly_digest,
            language=me.language or BROWSER_DEFAULT,
        ),
    )
    return render_template(
        "admin/account.html",
        required=two_factor.required(_me()),
        codes_left=two_factor.recovery_codes_left(_me()) if current_user.two_factor else 0,
        **forms,
    ), status


def _recovery_codes_page(codes: list[str]):
    return render_template("admin/recovery_codes.html", codes=codes)


@bp.get("/account")
@needs("signed_in")
def account():
    return _account_page()


@bp.post("/account/preferences")
@needs("signed_in")
def account_preferences():
    form = _preferences_form()
    if not form.validate_on_submit():
        return _account_page(422, preferences_form=form)
    me = _me()
    before = audit.snapshot(me, PREFERENCE_FIELDS)
    me.kudos_delivery, me.weekly_digest = form.kudos_delivery.data, bool(form.weekly_digest.data)
    me.language = form.language.data or None
    after = audit.snapshot(me, PREFERENCE_FIELDS)
    if after != before:
        audit.record("preferences", "user", me.id, f"{me.email} changed their email preferences",
                     before, after)  # fmt: skip
    db.session.commit()
    flash(_("Saved your preferences."))
    return redirect(url_for("admin.account"), code=303)


@bp.post("/account/two-factor/start")
@needs("signed_in")
def two_factor_start():
    if not current_user.two_factor:
        two_factor.begin(_me())
        db.session.commit()
    return redirect(url_for("admin.two_factor_confirm"), code=303)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@needs("signed_in")
@per_user
def two_factor_confirm():
    enrolment = two_factor.enrolment(_me(), current_app.config["ORGANISATION_NAME"])
    if enrolment is None:  # on already, or not started
        return redirect(url_for("admin.account"), code=303)
    form = ConfirmForm()
    if form.validate_on_submit():
        codes = two_factor.confirm(_me(), form.code.data)
        if codes is not None:
            audit.record(
                "two_factor_on", "user", current_user.id,
                f"{current_user.email} turned on two-factor sign-in",
            )  # fmt: skip
            db.session.commit()
            return _recovery_codes_page(codes)
        db.session.rollback()
        form.code.errors.append(WRONG_CODE)
    secret, qr_svg = enrolment
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/two_factor_enrol.html", form=form, secret=secret, qr_svg=qr_svg
    ), status


@bp.post("/account/two-factor/recovery-codes")
@needs("signed_in")
@per_user
def recovery_codes_new():
    if not current_user.two_factor:
        return redirect(url_for("admin.account"), code=303)
    form = CodeForm()
    if form.validate_on_submit() and two_factor.check(_me(), form.code.data):
        codes = two_factor.new_recovery_codes(_me())
        audit.record(
            "recovery_codes_new", "user", current_user.id,
            f"{current_user.email} made new recovery codes (the old ones no longer work)",
        )  # fmt: skip
        db.session.commit()
        return _recovery_codes_page(codes)
    db.session.rollback()
    if form.is_submitted() and not form.errors:
        form.code.errors.append(WRONG_CODE)
    return _account_page(422, codes_form=form)


@bp.post("/account/two-factor/off")
@needs("signed_in")
@per_user
def two_factor_off():
    if not current_user.two_factor:
        return redirect(url_for("admin.account"), code=303)
    form = TurnOffForm()
    if form.validate_on_submit():
        if authenticate(current_user.email, form.password.data) is None:
            form.password.errors.append(_("That is not your password."))
        elif not two_factor.check(_me(), form.code.data):
            form.code.errors.append(WRONG_CODE)
        else:
            two_factor.turn_off(_me())
            audit.record(
                "two_factor_off", "user", current_user.id,
                f"{current_user.email} turned off two-factor sign-in",
            )  # fmt: skip
            db.session.commit()
            flash(_("Two-factor sign-in is off: your password alone signs you in."))
            return redirect(url_for("admin.account"), code=303)
    db.session.rollback()
    return _account_page(422, off_form=form)
