"""The template editor's WTForms forms: name, key and every part in each language (a
part's field named by template_editing.field_name), the preview's language, and the test
send; filled from a template and read back as a transient one."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from followup.languages import LANGUAGES, OTHER_LANGUAGES, language_name, other_languages_in_use
from followup.models import MessageTemplate
from followup.rendering import PARTS
from followup.template_editing import field_name
from followup.web.forms import choices_of

LABELS = {
    "email_subject": _l("Email subject"),
    "email_html": _l("Email HTML"),
    "email_text": _l("Email text"),
    "sms_text": _l("SMS body"),
    "whatsapp_content_sid": _l("WhatsApp content SID"),
    "whatsapp_variables": _l("WhatsApp variables"),
}
LIMITS = {"email_subject": 500, "email_html": 100_000, "email_text": 100_000, "sms_text": 100_000,
          "whatsapp_content_sid": 34, "whatsapp_variables": 100_000}  # fmt: skip
# The parts on one line (the others are text areas).
ONE_LINE = ("email_subject", "whatsapp_content_sid")
# Each language's name in the console's language, as the page is rendered.
LANGUAGE_NAMES = {language: LazyString(language_name, language) for language in LANGUAGES}


def _shown_languages() -> list:
    """The language choices of the preview and the test send: English and the languages in
    use, as the editor shows their fields."""
    return choices_of({language: LANGUAGE_NAMES[language]
                       for language in ("en", *other_languages_in_use())})  # fmt: skip


def _text(value: str | None) -> str:
    """A textarea's value with the browser's CRLF line ends made plain newlines."""
    return (value or "").replace("\r\n", "\n")


def _stripped(value: str | None) -> str:
    return (value or "").strip()


def _no_nul(_form, field) -> None:
    """No column keeps a NUL character."""
    if "\x00" in (field.data or ""):
        raise ValidationError(_("must not contain a NUL character"))


class TemplateForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), _no_nul], filters=[_stripped]
    )
    key = StringField(
        _l("Key"),
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(r"^[a-z0-9_-]+$", message=_l("use lower-case letters, digits, - and _ only")),
        ],
        filters=[_stripped],
    )
    preview_language = SelectField(_l("Preview in"), default="en")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview_language.choices = _shown_languages()


for _language in LANGUAGES:
    for _part in PARTS:
        _label = LABELS[_part]
        if _language != "en":
            _label = _l("%(part)s (%(language)s)", part=_label, language=LANGUAGE_NAMES[_language])
        setattr(
            TemplateForm,
            field_name(_language, _part),
            (StringField if _part in ONE_LINE else TextAreaField)(
                _label,
                validators=[Length(max=LIMITS[_part]), _no_nul],
                filters=[_stripped if _part == "whatsapp_content_sid" else _text],
            ),
        )


class TestSendForm(FlaskForm):
    channel = SelectField(
        _l("Send"),
        choices=choices_of(
            {
                "email": _l("An email to me"),
                "sms": _l("A text to"),
                "whatsapp": _l("A WhatsApp message to"),
            }  # fmt: skip
        ),
    )
    phone = TelField(
        _l("Phone number"),
        validators=[Length(max=40)],
        filters=[_stripped],
        description=_l("International form, like +14155550123"),
    )
    language = SelectField(_l("Language"), default="en")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = _shown_languages()


def form_data(template: MessageTemplate) -> dict:
    data = {"name": template.name, **{part: getattr(template, part) for part in PARTS}}
    for language, parts in (template.translations or {}).items():
        data.update({field_name(language, part): text for part, text in parts.items()})
    return data


def part_fields(form: TemplateForm) -> list:
    return [form[field_name(language, part)] for language in LANGUAGES for part in PARTS]


def template_of(form: TemplateForm, key: str) -> MessageTemplate:
    """A transient template of the form's parts (never added to the session); a translation
    keeps only the parts it has, so the others fall back to English."""
    translations = {}
    for language in OTHER_LANGUAGES:
        parts = {part: form[field_name(language, part)].data for part in PARTS}
        if any(parts.values()):
            translations[language] = {part: text for part, text in parts.items() if text}
    return MessageTemplate(
        key=key,
        name=form.name.data or "",
        translations=translations,
        **{part: form[part].data for part in PARTS},
    )
