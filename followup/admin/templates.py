"""Console pages for message templates: the list (with the current cadences using each),
create and edit every part in each language, checked on sample data before anything is
stored; a live preview (JSON, for the editor's script) and a test send to yourself through
the configured channel."""

import sqlalchemy as sa
from babel import Locale
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from followup import audit
from followup.admin import accepts_up_to, bp
from followup.cadences import channel_problems
from followup.channels import channel_for
from followup.channels.base import OutgoingMessage, SendError
from followup.extensions import db
from followup.languages import LANGUAGES
from followup.models import Cadence, CadenceStep, MessageTemplate
from followup.rendering import (
    PARTS,
    RenderedMessage,
    TemplateProblem,
    render,
    sample_context,
    template_problems,
)
from followup.segments import sms_segments
from followup.web.case_input import normalise_phone
from followup.web.console import needs

LABELS = {
    "email_subject": "Email subject",
    "email_html": "Email HTML",
    "email_text": "Email text",
    "sms_text": "SMS body",
}
LIMITS = {"email_subject": 500, "email_html": 100_000, "email_text": 100_000, "sms_text": 100_000}
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != "en")
LANGUAGE_NAMES = {language: Locale.parse(language).get_display_name("en") for language in LANGUAGES}
AUDITED = ("key", "name", *PARTS, "translations")
# Eight parts of up to 100,000 characters each are more than the site's request limit allows.
EDITOR_REQUEST_BYTES = 4 * 1024 * 1024


def field_name(language: str, part: str) -> str:
    """The form field of a part: sms_text in English, es_sms_text in Spanish."""
    return part if language == "en" else f"{language}_{part}"


def _text(value: str | None) -> str:
    """A textarea's value with the browser's CRLF line ends made plain newlines."""
    return (value or "").replace("\r\n", "\n")


def _stripped(value: str | None) -> str:
    return (value or "").strip()


def _no_nul(_form, field) -> None:
    """No column keeps a NUL character."""
    if "\x00" in (field.data or ""):
        raise ValidationError("must not contain a NUL character")


class TemplateForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=200), _no_nul], filters=[_stripped]
    )
    key = StringField(
        "Key",
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(r"^[a-z0-9_-]+$", message="use lower-case letters, digits, - and _ only"),
        ],
        filters=[_stripped],
    )
    preview_language = SelectField("Preview in", choices=LANGUAGE_NAMES, default="en")


for _language in LANGUAGES:
    for _part in PARTS:
        _label = LABELS[_part]
        if _language != "en":
            _label += f" ({LANGUAGE_NAMES[_language]})"
        setattr(
            TemplateForm,
            field_name(_language, _part),
            (StringField if _part == "email_subject" else TextAreaField)(
                _label, validators=[Length(max=LIMITS[_part]), _no_nul], filters=[_text]
            ),
        )


class TestSendForm(FlaskForm):
    channel = SelectField("Send", choices={"email": "An email to me", "sms": "A text to"})
    phone = TelField(
        "Phone number",
        validators=[Length(max=40)],
        filters=[_stripped],
        description="International form, like +14155550123",
    )
    language = SelectField("Language", choices=LANGUAGE_NAMES, default="en")


@bp.get("/templates")
def templates():
    rows = db.session.scalars(sa.select(MessageTemplate).order_by(MessageTemplate.name)).all()
    used: dict[int, list] = {}
    for template_id, name, archived_at in db.session.execute(
        sa.select(CadenceStep.template_id, Cadence.name, Cadence.archived_at)
        .join(Cadence, Cadence.id == CadenceStep.cadence_id)
        .where(Cadence.superseded_at.is_(None))
        .distinct()
        .order_by(Cadence.name)
    ):
        used.setdefault(template_id, []).append((name, archived_at is not None))
    return render_template("admin/templates/list.html", rows=rows, used=used)


@bp.route("/templates/new", methods=["GET", "POST"])
@accepts_up_to(EDITOR_REQUEST_BYTES)  # every part at its full length
def template_new():
    form = TemplateForm()
    if request.method == "GET":
        return _editor(form, None)
    return _submit(form, None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@accepts_up_to(EDITOR_REQUEST_BYTES)  # every part at its full length
def template_edit(template_id: int):
    template = db.get_or_404(MessageTemplate, template_id)
    form = TemplateForm(data=_form_data(template))
    del form.key  # a template's key is how cadences and the code find it: never changed
    if request.method == "GET":
        return _editor(form, template)
    return _submit(form, template)


@bp.post("/templates/preview")
@accepts_up_to(EDITOR_REQUEST_BYTES)  # every part at its full length
@needs("read")
def template_preview():
    """The parts as the editor holds them (JSON: field names to text, and "language"),
    rendered on sample data, with the SMS segments and any problems."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        return {"error": "a JSON object of the template's parts (strings) is expected"}, 400
    language = body.get("language", "en")
    if language not in LANGUAGES:
        return {"error": f"language must be one of {', '.join(LANGUAGES)}"}, 400
    form = TemplateForm(formdata=MultiDict(body), meta={"csrf": False})
    form.validate()
    too_long = [
        {
            "field": f.name,
            "part": f.name,
            "line": None,
            "reason": f.errors[0],
            "message": f"{f.label.text}: {f.errors[0]}",
        }
        for f in _part_fields(form)
        if f.errors
    ]
    if too_long:
        return {"problems": too_long}, 422
    return _preview(_candidate(form, "preview"), language)


@bp.post("/templates/<int:template_id>/test-send")
def template_test_send(template_id: int):
    template = db.get_or_404(MessageTemplate, template_id)
    test_form = TestSendForm()
    to = current_user.email
    if test_form.validate_on_submit() and test_form.channel.data == "sms":
        try:
            to = normalise_phone(test_form.phone.data)
        except ValueError as error:
            test_form.phone.errors.append(str(error))
        if to is None:
            test_form.phone.errors.append("enter the number to send the text to")
    form = TemplateForm(data=_form_data(template), formdata=None)
    del form.key
    if test_form.errors:
        return _editor(form, template, test_form=test_form, status=422)
    channel, language = test_form.channel.data, test_form.language.data
    context = sample_context(current_app.config["ORGANISATION_NAME"], language)
    name = current_user.name.strip() or context["customer"]["name"]  # yours, not Ana's
    context["customer"].update(name=name, first_name=name.split()[0], email=current_user.email)
    rendered, problems = _rendered(template, channel, context)
    if rendered is None:
        return _editor(form, template, test_form=test_form, status=422, summary=problems)
    if channel == "sms":
        current_user.phone = to
    sender = channel_for(channel, current_app.config)
    outgoing = OutgoingMessage(
        message_id=0,  # no message of a case: provider events for it are ignored
        channel=channel,
        to=to,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )
    try:
        provider_id, failure = sender.send(outgoing), None
        outcome = f"Sent to {to} (provider id {provider_id})."
    except SendError as error:
        failure = outcome = f"Not sent to {to}: {error.reason}"
    audit.record(
        "test_send", "message_template", template.id,
        f"{template.name}: test {channel} in {LANGUAGE_NAMES[language]}. {outcome}",
        after={"channel": channel, "to": to, "language": language, "provider": sender.provider},
    )  # fmt: skip
    db.session.commit()
    if failure:
        return _editor(form, template, test_form=test_form, status=502, send_failure=failure)
    flash(outcome)
    return redirect(url_for("admin.template_edit", template_id=template.id), code=303)


def _form_data(template: MessageTemplate) -> dict:
    data = {"name": template.name, **{part: getattr(template, part) for part in PARTS}}
    for language, parts in (template.translations or {}).items():
        data.update({field_name(language, part): text for part, text in parts.items()})
    return data


def _part_fields(form: TemplateForm) -> list:
    return [form[field_name(language, part)] for language in LANGUAGES for part in PARTS]


def _candidate(form: TemplateForm, key: str) -> MessageTemplate:
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


def _problems(template: MessageTemplate) -> list[TemplateProblem]:
    return template_problems(template, current_app.config["ORGANISATION_NAME"])


def _rendered(
    template: MessageTemplate, channel: str, context: dict
) -> tuple[RenderedMessage | None, list[str]]:
    """The message, or None and why it cannot be rendered."""
    try:
        return render(template, channel, context), []
    except Exception as error:  # a sandboxed template may raise anything
        return None, [f"The {channel} cannot be rendered: {type(error).__name__}: {error}"]


def _problem_field(problem: TemplateProblem, template: MessageTemplate) -> str | None:
    """The form field a problem belongs on: a translated part's own field, or the English
    field when the translation has no such part (it renders the English one)."""
    language, _, part = problem.part.rpartition(".")
    if part not in PARTS:
        return None
    if language and part in (template.translations or {}).get(language, {}):
        return field_name(language, part)
    return part


def _located_problems(template: MessageTemplate) -> list[dict]:
    """The template's problems (as JSON values), each with the form field it belongs on and
    only once: a translation without a part repeats the English part's problems."""
    located, seen = [], set()
    for problem in _problems(template):
        field = _problem_field(problem, template)
        if (field, problem.line, problem.reason) in seen:
            continue
        seen.add((field, problem.line, problem.reason))
        located.append({"field": field, "part": problem.part, "line": problem.line,
                        "reason": problem.reason, "message": str(problem)})  # fmt: skip
    return located


def _preview(template: MessageTemplate, language: str) -> dict:
    """The template rendered on sample data in a language: email, SMS with its segments, and
    the problems of every part (as JSON values)."""
    context = sample_context(current_app.config["ORGANISATION_NAME"], language)
    email, email_problems = _rendered(template, "email", context)
    sms, sms_problems = _rendered(template, "sms", context)
    problems = _located_problems(template)
    if not problems:  # only this language's sample context breaks it, if anything does
        problems = [{"field": None, "part": None, "line": None, "reason": r, "message": r}
                    for r in email_problems + sms_problems]  # fmt: skip
    return {
        "language": language,
        "email": email and {"subject": email.subject, "html": email.html, "text": email.text},
        "sms": sms and {"body": sms.text, **sms_segments(sms.text)._asdict()},
        "problems": problems,
    }


def _needed_by_cadences(template: MessageTemplate, candidate: MessageTemplate) -> list[str]:
    """What this edit would take away that a current cadence's step still needs."""
    parts = frozenset(part for part in PARTS if getattr(candidate, part))
    steps = db.session.execute(
        sa.select(Cadence.name, CadenceStep.name, CadenceStep.channel)
        .join(CadenceStep, CadenceStep.cadence_id == Cadence.id)
        .where(
            CadenceStep.template_id == template.id,
            Cadence.superseded_at.is_(None),
            Cadence.archived_at.is_(None),
        )
    )
    return [
        f"cadence {cadence!r}, step {step!r} {problem}"
        for cadence, step, channel in steps
        for problem in channel_problems(channel, candidate.name or template.name, parts)
    ]


def _submit(form: TemplateForm, template: MessageTemplate | None):
    """Save (or, with the Preview button, only preview) the submitted parts: 422 and nothing
    stored when a field or the template itself has a problem."""
    valid = form.validate()
    candidate = _candidate(form, template.key if template else form.key.data)
    summary = []
    if not any(f.errors for f in _part_fields(form)):
        for problem in _located_problems(candidate):
            message = f"line {problem['line']}: " if problem["line"] else ""
            message += problem["reason"]
            language = problem["part"].partition(".")[0]
            if language in OTHER_LANGUAGES:
                message += f" (in {LANGUAGE_NAMES[language]})"
            if problem["field"] is None:
                summary.append(problem["message"])
            else:
                form[problem["field"]].errors = [*form[problem["field"]].errors, message]
            valid = False
    if template is not None and valid:
        summary += _needed_by_cadences(template, candidate)
        valid = not summary
    if template is None and valid and _key_taken(candidate.key):
        form.key.errors = [*form.key.errors, "another template has this key"]
        valid = False
    status = 200 if valid else 422
    if "preview" in request.form or not valid:
        return _editor(form, template, status=status, summary=summary, candidate=candidate)
    before = audit.snapshot(template, AUDITED) if template else None
    if template is None:
        template = MessageTemplate(key=candidate.key)
        db.session.add(template)
    for name in ("name", *PARTS, "translations"):
        setattr(template, name, getattr(candidate, name))
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # the same key saved at the same moment
        db.session.rollback()
        form.key.errors = [*form.key.errors, "another template has this key"]
        return _editor(form, None, status=422, candidate=candidate)
    after = audit.snapshot(template, AUDITED)
    if before != after:
        audit.record("update" if before else "create", "message_template", template.id,
                     template.name, before, after)  # fmt: skip
    db.session.commit()
    flash(f"Template “{template.name}” saved." if before != after else "Nothing changed.")
    return redirect(url_for("admin.template_edit", template_id=template.id), code=303)


def _key_taken(key: str) -> bool:
    query = sa.select(MessageTemplate.id).where(MessageTemplate.key == key)
    return db.session.scalar(query) is not None


def _editor(
    form: TemplateForm,
    template: MessageTemplate | None,
    status: int = 200,
    summary: list[str] | None = None,
    candidate: MessageTemplate | None = None,
    test_form: TestSendForm | None = None,
    send_failure: str | None = None,
):
    """The editor page, with the server-side preview of what it shows (the saved template,
    or the submitted parts when they were sent)."""
    candidate = candidate or _candidate(form, template.key if template else "new")
    language = form.preview_language.data if form.preview_language.data in LANGUAGES else "en"
    if test_form is None and template is not None:
        test_form = TestSendForm(formdata=None, data={"phone": current_user.phone or ""})
    page = render_template(
        "admin/templates/edit.html",
        form=form,
        template=template,
        summary=summary or [],
        preview=_preview(candidate, language),
        test_form=test_form,
        send_failure=send_failure,
        languages=LANGUAGES,
        language_names=LANGUAGE_NAMES,
        parts=PARTS,
        field_name=field_name,
    )
    return page, status
