"""The organisation's page (admins only): its brand (logo, accent colour, sender name, footer
address, privacy link; followup.brand has the rules) and its languages (those in use, the
default for a customer whose language is not one of them). A save writes the one settings
row, all of it or nothing, in the audit log."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, StringField, ValidationError

from followup import audit
from followup.admin import accepts_up_to, bp
from followup.brand import (
    MAX_LOGO_BYTES,
    MIN_CONTRAST,
    PAGE_ACCENT,
    Image,
    accent,
    accent_problem,
    checked_logo,
    contrast_ratio,
    footer_address_problem,
    privacy_url_problem,
    sender_name_problem,
    shown_ratio,
    stored_logo,
    version,
)
from followup.extensions import db
from followup.languages import known_languages, language_name, languages_in_use
from followup.models import OrganisationSettings
from followup.organisation import SETTINGS_ID, defaults, forget, organisation
from followup.web.console import needs
from followup.web.forms import MultiCheckboxField, TextAreaField, clean_text

SETTINGS_FIELDS = ("default_language", "languages", "sender_name", "accent_colour",
                   "footer_address", "privacy_url")  # fmt: skip
# A file this large is read and refused with its size on the page; larger, a 413.
UPLOAD_BYTES = 1024 * 1024


def _colour(value):
    return value.strip().lower() if isinstance(value, str) else value


def _lines(value):
    """Plain text of several lines: control characters dropped, one kind of line break."""
    value = clean_text(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _rule(problem):
    """A WTForms validator from one of followup.brand's checks (the reason, or None)."""

    def check(_form, field):
        if reason := problem(field.data or ""):
            raise ValidationError(reason)

    return check


class OrganisationForm(FlaskForm):
    logo = FileField(_l("New logo"))
    remove_logo = BooleanField(_l("Remove the logo"))
    accent_colour = StringField(
        _l("Accent colour"),
        filters=[_colour],
        validators=[_rule(accent_problem)],
    )
    sender_name = StringField(
        _l("Sender name"), filters=[clean_text], validators=[_rule(sender_name_problem)]
    )
    footer_address = TextAreaField(
        _l("Footer address"), filters=[_lines], validators=[_rule(footer_address_problem)]
    )
    privacy_url = StringField(
        _l("Privacy link"), filters=[clean_text], validators=[_rule(privacy_url_problem)]
    )
    languages = MultiCheckboxField(_l("Languages in use"))
    default_language = SelectField(_l("Default language"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = {code: language_name(code) for code in known_languages()}
        self.languages.choices = choices
        self.default_language.choices = choices

    def validate_languages(self, field):
        if not field.data:
            raise ValidationError(_("Choose at least one language."))

    def validate_default_language(self, field):
        if self.languages.data and field.data not in self.languages.data:
            raise ValidationError(_("The default language must be one of the languages in use."))


def _form_of(settings: OrganisationSettings) -> OrganisationForm:
    return OrganisationForm(
        formdata=None,
        accent_colour=settings.accent_colour,
        sender_name=settings.sender_name,
        footer_address=settings.footer_address,
        privacy_url=settings.privacy_url,
        languages=list(languages_in_use()),
        default_language=settings.default_language,
    )


def _page(form: OrganisationForm, status: int = 200):
    settings = organisation()
    image = stored_logo(settings)
    colour = accent(settings, PAGE_ACCENT)
    return render_template(
        "admin/organisation.html",
        form=form,
        settings=settings,
        image=image,
        logo_url=url_for("brand.logo", v=version(settings)) if image else None,
        accent=colour,
        ratio=shown_ratio(contrast_ratio(colour)),
        min_ratio=f"{MIN_CONTRAST}:1",
        max_logo_kb=MAX_LOGO_BYTES // 1024,
    ), status


def _snapshot(settings: OrganisationSettings) -> dict:
    """The audited values: the settings, and the logo as its type and size."""
    values = audit.snapshot(settings, SETTINGS_FIELDS)
    logo = f"{settings.logo_type}, {len(settings.logo or b'')} bytes"
    values["logo"] = logo if settings.logo_type else None
    return values


def _uploaded_logo(form: OrganisationForm) -> tuple[bytes, Image] | None:
    """The chosen file's bytes and image, read once (None when none was chosen, or when it
    cannot be the logo: its problem on the form)."""
    upload = form.logo.data  # flask_wtf's FileField: the request's file when one was chosen
    if upload is None or not upload.filename:
        return None
    try:
        data = upload.read(MAX_LOGO_BYTES + 1)
    finally:
        upload.close()  # a large upload is a temporary file: closed now, not at exit
    image, problem = checked_logo(data, upload.filename)
    if image is None:
        form.logo.errors = [problem]
        return None
    return data, image


@bp.get("/organisation")
@needs("users")
def organisation_page():
    return _page(_form_of(organisation()))


@bp.post("/organisation")
@needs("users")
@accepts_up_to(UPLOAD_BYTES + 64 * 1024)  # the logo and the form around it
def organisation_save():
    form = OrganisationForm()
    valid = form.validate_on_submit()
    logo = _uploaded_logo(form)
    if not valid or form.logo.errors:
        return _page(form, 422)
    settings = db.session.get(OrganisationSettings, SETTINGS_ID)
    if settings is None:
        settings = defaults()
        db.session.add(settings)
    before = _snapshot(settings)
    settings.accent_colour = form.accent_colour.data or ""
    settings.sender_name = form.sender_name.data or ""
    settings.footer_address = form.footer_address.data or ""
    settings.privacy_url = form.privacy_url.data or ""
    settings.languages = [code for code in known_languages() if code in form.languages.data]
    settings.default_language = form.default_language.data
    if logo is not None:
        data, image = logo
        settings.logo, settings.logo_type = data, image.type
        settings.logo_width, settings.logo_height = image.width, image.height
    elif form.remove_logo.data:
        settings.logo = settings.logo_type = settings.logo_width = settings.logo_height = None
    after = _snapshot(settings)
    if after != before:
        settings.updated_by = current_user.email
        audit.record("update", "organisation_settings", SETTINGS_ID,
                     f"{current_user.email} changed the organisation's brand or languages",
                     before, after)  # fmt: skip
    try:
        db.session.commit()
    except IntegrityError:  # another admin made the row at the same moment
        db.session.rollback()
        form.form_errors.append(_("Someone saved these settings at the same moment: save again."))
        return _page(form, 409)
    forget()
    flash(_("Saved the organisation's settings."))
    return redirect(url_for("admin.organisation_page"), code=303)
