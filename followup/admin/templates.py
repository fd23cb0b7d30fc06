"""Console pages for message templates: the list (with the current cadences using each),
create and edit every part in each language, checked on sample data before anything is
stored; a live preview (JSON, for the editor's script; for those who may save) and a test
send to yourself through the configured channel (a few a minute and a day per user). The
forms are in template_forms, the rules in followup.template_editing, the limits on what a
template may cost in followup.template_limits."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from followup import audit
from followup.admin import accepts_up_to, bp
from followup.admin.template_forms import (
    LANGUAGE_NAMES,
    OTHER_LANGUAGES,
    TemplateForm,
    TestSendForm,
    form_data,
    part_fields,
    template_of,
)
from followup.channels import channel_for
from followup.channels.base import OutgoingMessage, SendError
from followup.extensions import db, limiter
from followup.languages import LANGUAGES, other_languages_in_use
from followup.models import MessageTemplate
from followup.models.customers import PHONE_CHANNELS
from followup.rendering import PARTS, message_language, sample_context
from followup.template_editing import (
    field_name,
    key_taken,
    located_problems,
    needed_by_cadences,
    preview,
    try_render,
    used_by,
)
from followup.template_limits import time_limit
from followup.web.case_input import normalise_phone
from followup.web.console import needs
from followup.web.pages import found
from followup.web.security_headers import shows_email_html

AUDITED = ("key", "name", *PARTS, "translations")
# Eight parts of up to 100,000 characters each are more than the site's request limit allows.
EDITOR_REQUEST_BYTES = 4 * 1024 * 1024
# Test sends go to any number or address the user gives: a few, and counted per user.
TEST_SEND_LIMITS = "5 per minute;20 per day"


@bp.get("/templates")
def templates():
    rows = db.session.scalars(sa.select(MessageTemplate).order_by(MessageTemplate.name)).all()
    return render_template("admin/templates/list.html", rows=rows, used=used_by())


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
    template = found(MessageTemplate, template_id)
    form = TemplateForm(data=form_data(template))
    del form.key  # a template's key is how cadences and the code find it: never changed
    if request.method == "GET":
        return _editor(form, template)
    return _submit(form, template)


@bp.post("/templates/preview")
@accepts_up_to(EDITOR_REQUEST_BYTES)  # every part at its full length
@needs("configure")  # rendering what the user writes costs: only those who may save it
def template_preview():
    """The parts as the editor holds them (JSON: field names to text, and "language"),
    rendered on sample data, with the SMS segments; 422 with the same and the problems
    when there are any (a template that costs too much is one, found within a second)."""
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
        for f in part_fields(form)
        if f.errors
    ]
    if too_long:
        return {"problems": too_long}, 422
    shown = preview(template_of(form, "preview"), language)
    return shown, 422 if shown["problems"] else 200


def _test_sender() -> str:
    return f"test-send:{current_user.get_id()}"


def _sent(response) -> bool:
    """Whether the test went to the provider (sent or refused by it): those count."""
    return response.status_code in (303, 502)


@bp.post("/templates/<int:template_id>/test-send")
@limiter.limit(
    TEST_SEND_LIMITS,
    key_func=_test_sender,
    deduct_when=_sent,
    error_message=lambda: _(
        "You have sent as many tests as you may for now (5 a minute, 20 a day). Try again later."
    ),
)
def template_test_send(template_id: int):
    template = found(MessageTemplate, template_id)
    test_form = TestSendForm()
    to = current_user.email
    if test_form.validate_on_submit() and test_form.channel.data in PHONE_CHANNELS:
        try:
            to = normalise_phone(test_form.phone.data)
        except ValueError as error:
            test_form.phone.errors.append(str(error))
        if to is None:
            test_form.phone.errors.append(_("enter the number to send the test to"))
    form = TemplateForm(data=form_data(template), formdata=None)
    del form.key
    if test_form.errors:
        return _editor(form, template, test_form=test_form, status=422)
    channel = test_form.channel.data
    language = message_language(template, channel, test_form.language.data)
    context = sample_context(current_app.config["ORGANISATION_NAME"], language)
    name = current_user.name.strip() or context["customer"]["name"]  # yours, not Ana's
    context["customer"].update(name=name, first_name=name.split()[0], email=current_user.email)
    with time_limit():  # the render, and the editor's preview if it cannot be
        rendered, problems = try_render(template, channel, context)
        if rendered is None:
            return _editor(form, template, test_form=test_form, status=422, summary=problems)
    if channel in PHONE_CHANNELS:
        current_user.phone = to
    sender = channel_for(channel, current_app.config)
    outgoing = OutgoingMessage(
        message_id=0,  # no message of a case: provider events for it are ignored
        channel=channel,
        to=to,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        # WhatsApp: the language's content template, else free-form (refused outside the
        # 24 hours after the number last wrote to the WhatsApp sender)
        content_sid=rendered.content_sid,
        content_variables=rendered.content_variables_json,
    )
    try:
        provider_id, reason = sender.send(outgoing), None
    except SendError as error:
        provider_id, reason = None, error.reason
    with force_locale("en"):  # the audit log keeps its entries in English
        outcome = (
            f"Sent to {to} (provider id {provider_id})."
            if reason is None
            else f"Not sent to {to}: {reason}"
        )
        summary = f"{template.name}: test {channel} in {LANGUAGE_NAMES[language]}. {outcome}"
    audit.record(
        "test_send", "message_template", template.id, summary,
        after={"channel": channel, "to": to, "language": language, "provider": sender.provider},
    )  # fmt: skip
    db.session.commit()
    if reason is not None:
        failure = _("Not sent to %(to)s: %(reason)s", to=to, reason=reason)
        return _editor(form, template, test_form=test_form, status=502, send_failure=failure)
    flash(_("Sent to %(to)s (provider id %(id)s).", to=to, id=provider_id))
    return redirect(url_for("admin.template_edit", template_id=template.id), code=303)


def _submit(form: TemplateForm, template: MessageTemplate | None):
    """Save (or, with the Preview button, only preview) the submitted parts: 422 and nothing
    stored when a field or the template itself has a problem. The checks and the preview
    share one time limit."""
    with time_limit():
        return _checked_submit(form, template)


def _checked_submit(form: TemplateForm, template: MessageTemplate | None):
    valid = form.validate()
    candidate = template_of(form, template.key if template else form.key.data)
    summary = []
    problems = None
    if not any(f.errors for f in part_fields(form)):
        problems = located_problems(candidate)
        for problem in problems:
            message = problem["reason"]
            if problem["line"]:
                message = _("line %(line)s: %(problem)s", line=problem["line"], problem=message)
            language = problem["part"].partition(".")[0]
            if language in OTHER_LANGUAGES:
                message = _(
                    "%(problem)s (in %(language)s)",
                    problem=message,
                    language=LANGUAGE_NAMES[language],
                )
            if problem["field"] is None:
                summary.append(problem["message"])
            else:
                form[problem["field"]].errors = [*form[problem["field"]].errors, message]
            valid = False
    if template is not None and valid:
        summary += needed_by_cadences(template, candidate)
        valid = not summary
    if template is None and valid and key_taken(candidate.key):
        form.key.errors = [*form.key.errors, _("another template has this key")]
        valid = False
    status = 200 if valid else 422
    if "preview" in request.form or not valid:
        return _editor(form, template, status, summary, candidate, problems=problems)
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
        form.key.errors = [*form.key.errors, _("another template has this key")]
        return _editor(form, None, status=422, candidate=candidate)
    after = audit.snapshot(template, AUDITED)
    if before != after:
        audit.record("update" if before else "create", "message_template", template.id,
                     template.name, before, after)  # fmt: skip
    db.session.commit()
    if before != after:
        flash(_("Template “%(name)s” saved.", name=template.name))
    else:
        flash(_("Nothing changed."))
    return redirect(url_for("admin.template_edit", template_id=template.id), code=303)


def _editor(
    form: TemplateForm,
    template: MessageTemplate | None,
    status: int = 200,
    summary: list[str] | None = None,
    candidate: MessageTemplate | None = None,
    test_form: TestSendForm | None = None,
    send_failure: str | None = None,
    problems: list[dict] | None = None,
):
    """The editor page, with the server-side preview of what it shows (the saved template,
    or the submitted parts when they were sent; their problems when they were found)."""
    candidate = candidate or template_of(form, template.key if template else "new")
    language = form.preview_language.data if form.preview_language.data in LANGUAGES else "en"
    if test_form is None and template is not None:
        test_form = TestSendForm(formdata=None, data={"phone": current_user.phone or ""})
    page = render_template(
        "admin/templates/edit.html",
        form=form,
        template=template,
        summary=summary or [],
        preview=preview(candidate, language, problems),
        test_form=test_form,
        send_failure=send_failure,
        # English and the languages in use; the others' fields are not sent, so an edit
        # keeps their stored text (the form is filled from the template first).
        languages=("en", *other_languages_in_use()),
        language_names=LANGUAGE_NAMES,
        parts=PARTS,
        field_name=field_name,
    )
    shows_email_html()  # the preview's srcdoc frame runs under this page's policy
    return page, status
