"""The template editor: list, create, edit, live preview, test send; every bad input refused
with a 4xx naming the field, nothing stored half-way, nothing a lead writes ever executed."""

import json
import re
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from followup.channels.base import PermanentSendError
from followup.extensions import db
from followup.models import AuditEntry, Cadence, CadenceStep, MessageTemplate, User
from followup.models.base import utcnow
from followup.rendering import PARTS
from tests.support.console import csrf_token

NEW = "/admin/templates/new"
GOOD = {
    "name": "Check-in",
    "key": "check-in_2",
    "email_subject": "Hi {{ customer.first_name }}",
    "email_html": "<p>Hello {{ customer.name }}, about {{ case.subject }}</p>",
    "email_text": "Hello {{ customer.name }}",
    "sms_text": "Hi {{ customer.first_name }}, case {{ case.number }}",
}


def post(client, path: str, data: dict, form_page: str | None = None):
    """A form post with the CSRF token of the page the form is on."""
    return client.post(path, data={"csrf_token": csrf_token(client, form_page or path), **data})


def preview(client, body, headers=None, page="/admin/templates/new"):
    token = csrf_token(client, page)
    return client.post(
        "/admin/templates/preview", json=body, headers={"X-CSRFToken": token, **(headers or {})}
    )


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(MessageTemplate))


def saved(key: str) -> MessageTemplate | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == key))


def audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def outbox(app) -> list[dict]:
    path = Path(app.config["DEV_OUTBOX_PATH"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def an_id(key: str = "thank_you") -> int:
    return saved(key).id


# The list


def test_the_list_shows_each_template_and_the_current_cadences_using_it(as_lead, seeded):
    thank_you = saved("thank_you")
    old = Cadence(name="Old version of Standard", superseded_at=utcnow())
    old.steps.append(CadenceStep(position=0, name="x", template=thank_you))
    db.session.add(old)
    db.session.commit()

    page = as_lead.get("/admin/templates").get_data(as_text=True)

    link = f'<a href="/admin/templates/{thank_you.id}">Thank you</a>'
    row = re.search(rf"<tr>\s*<td>{link}.*?</tr>", page, re.S).group(0)
    assert "<code>thank_you</code>" in row
    assert "Demo, Standard" in row and "Old version" not in page
    assert "Recovery" in page  # the apology's cadence
    assert 'href="/admin/templates/new"' in page


def test_a_manager_sees_the_list_and_the_editor_read_only(as_manager, seeded):
    assert 'href="/admin/templates/new"' not in as_manager.get("/admin/templates").get_data(
        as_text=True
    )
    page = as_manager.get(f"/admin/templates/{an_id()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<fieldset disabled>" in html
    assert ">Save</button>" not in html and "Send a test" not in html
    assert as_manager.get(NEW).status_code == 200  # read-only, like every configuration page


def test_a_manager_may_not_save_or_test_send(as_manager, seeded):
    template_id = an_id()
    page = f"/admin/templates/{template_id}"
    before = saved("thank_you").email_subject
    edit = post(as_manager, page, {**GOOD, "email_subject": "Changed"})
    create = post(as_manager, NEW, GOOD)
    send = post(as_manager, f"{page}/test-send", {"channel": "email"}, form_page=page)
    assert (edit.status_code, create.status_code, send.status_code) == (403, 403, 403)
    assert saved("thank_you").email_subject == before and saved(GOOD["key"]) is None
    assert audits("test_send") == [] and audits("update") == []


# Create and edit


def test_a_lead_creates_a_template_with_a_translation(as_lead, app):
    response = post(
        as_lead, NEW,
        {**GOOD, "es_sms_text": "Hola {{ customer.first_name }}\r\nGracias", "es_email_text": ""},
    )  # fmt: skip
    template = saved(GOOD["key"])
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/templates/{template.id}"
    assert (template.name, template.email_subject, template.sms_text) == (
        "Check-in", GOOD["email_subject"], GOOD["sms_text"],
    )  # fmt: skip
    # Only the parts a translation has are kept: the others fall back to English.
    assert template.translations == {"es": {"sms_text": "Hola {{ customer.first_name }}\nGracias"}}
    [entry] = audits("create")
    assert (entry.entity, entry.entity_id, entry.actor) == (
        "message_template", str(template.id), "lead@example.com",
    )  # fmt: skip
    assert entry.after["sms_text"] == GOOD["sms_text"] and entry.before is None
    page = as_lead.get(response.headers["Location"]).get_data(as_text=True)
    assert "Template “Check-in” saved." in page
    assert "Edits apply to every message not yet sent, including ones already planned" in page


def test_a_lead_edits_a_template_and_the_audit_keeps_what_changed(as_lead, seeded):
    template = saved("thank_you")
    page = f"/admin/templates/{template.id}"
    html, subject = template.email_html, template.email_subject
    response = post(as_lead, page, {
        "name": "Thanks", "email_subject": "Thanks, {{ customer.first_name }}",
        "email_html": html, "email_text": template.email_text, "sms_text": template.sms_text,
        **{f"es_{part}": text for part, text in template.translations["es"].items()},
        "key": "renamed",  # ignored: a key never changes
    })  # fmt: skip
    assert response.status_code == 303
    template = saved("thank_you")
    assert (template.name, template.email_subject) == (
        "Thanks",
        "Thanks, {{ customer.first_name }}",
    )
    assert saved("renamed") is None
    [entry] = audits("update")
    assert entry.before == {"name": "Thank you", "email_subject": subject}
    assert set(entry.after) == {"name", "email_subject"}


def test_a_spanish_part_can_be_emptied_to_use_the_english_one(as_lead, seeded):
    template = saved("thank_you")
    data = {"name": template.name, **{part: getattr(template, part) for part in PARTS}}
    data.update({f"es_{part}": "" for part in PARTS})  # what a browser sends for empty fields
    assert post(as_lead, f"/admin/templates/{template.id}", data).status_code == 303
    assert "es" not in saved("thank_you").translations
    assert set(saved("thank_you").translations) == {"fr", "de", "pt-BR"}  # the others kept


def test_script_tags_are_stored_as_text_and_shown_escaped(as_lead, app):
    script = "<script>alert(1)</script>"
    data = {
        **GOOD,
        "name": f"Evil {script}",
        "email_subject": f"Hi {script}",
        "email_html": f"<p>Hi</p>{script}",
        "email_text": script,
        "sms_text": script,
    }
    response = post(as_lead, NEW, data)
    assert response.status_code == 303
    template = saved(GOOD["key"])
    assert (template.name, template.email_html, template.sms_text) == (
        f"Evil {script}", f"<p>Hi</p>{script}", script,
    )  # fmt: skip
    for path in ("/admin/templates", response.headers["Location"]):
        page = as_lead.get(path).get_data(as_text=True)
        assert script not in page
        assert "Evil &lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The preview runs the lead's HTML only in a sandboxed iframe, as an escaped srcdoc.
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame and "&lt;script&gt;alert(1)&lt;/script&gt;" in frame
    # The text part and the SMS are escaped like any text.
    assert '<pre class="text-part" id="preview-text">&lt;script&gt;' in page


@pytest.mark.parametrize(
    "field, source, line, reason",
    [
        ("email_html", "<p>Hi</p>\n{{ customer.name", 2, "unexpected end of template"),
        ("sms_text", "{% for %}", 1, "Expected an expression"),
        ("email_subject", "{{ ''.__class__.__mro__ }}", None, "unsafe"),
        ("email_text", "{{ case.__init__.__globals__ }}", None, "unsafe"),
        ("email_text", "{{ nonsense }}", None, "'nonsense' is undefined"),
        ("es_sms_text", "Hola\n\n{% if %}", 3, "Expected an expression"),
        ("email_text", "{{ 1 / 0 }}", None, "ZeroDivisionError"),
    ],
)
def test_a_broken_or_hostile_template_is_refused_naming_the_part_and_line(
    as_lead, seeded, field, source, line, reason
):
    before = count()
    response = post(as_lead, NEW, {**GOOD, field: source})
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert before == count() and saved(GOOD["key"]) is None
    if field == "email_text" and reason == "ZeroDivisionError":  # beyond what the check names
        assert reason in page and "There is a problem" in page
        return
    error = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', page, re.S)
    assert error, page
    assert reason.lower() in error.group(1).lower()
    if line:
        assert f"line {line}:" in error.group(1)
    assert f'<a href="#{field}">' in page  # the summary links to the field
    assert 'aria-invalid="true"' in page


def test_an_edit_with_a_problem_changes_nothing(as_lead, seeded):
    template = saved("csat_checkin")
    response = post(as_lead, f"/admin/templates/{template.id}", {
        "name": "Changed", "email_subject": "x", "email_html": "{{ survey.nope }}",
    })  # fmt: skip
    assert response.status_code == 422
    assert "has no attribute" in response.get_data(as_text=True)
    db.session.expire_all()
    assert saved("csat_checkin").name == "CSAT check-in" and audits("update") == []


def test_an_edit_may_not_empty_a_part_a_current_cadence_sends(as_lead, seeded):
    checkin = saved("csat_checkin")
    parts = {part: getattr(checkin, part) for part in PARTS}
    response = post(as_lead, f"/admin/templates/{checkin.id}", {
        "name": checkin.name, **parts, "sms_text": "",
    })  # fmt: skip
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    # The Standard and Demo cadences send their check-in by the customer's preferred channel.
    assert "cadence 'Standard', step 'check-in' can go by SMS but template 'CSAT check-in' " \
           "has no SMS body" in page  # fmt: skip
    assert saved("csat_checkin").sms_text == checkin.sms_text and audits("update") == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "n" * 201, "200 characters"),
        ("name", "  ", "This field is required"),
        ("key", "k" * 101, "100 characters"),
        ("key", "Bad Key!", "lower-case letters, digits, - and _"),
        ("key", "", "This field is required"),
        ("email_subject", "s" * 501, "500 characters"),
        ("sms_text", "x" * 100_001, "100000 characters"),
        ("es_email_html", "x" * 100_001, "100000 characters"),
        ("email_text", "nul\x00byte", "NUL character"),
        ("preview_language", "it", "Not a valid choice"),
    ],
)
def test_oversize_and_malformed_fields_are_refused(as_lead, app, field, value, message):
    response = post(as_lead, NEW, {**GOOD, field: value})
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert error and message in error.group(1)
    assert count() == 0


def test_a_request_beyond_the_editors_limit_is_refused_whole(as_lead, app):
    response = post(as_lead, NEW, {**GOOD, "email_html": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413 and count() == 0


def test_a_duplicate_key_is_refused_on_the_key(as_lead, seeded):
    response = post(as_lead, NEW, {**GOOD, "key": "thank_you"})
    assert response.status_code == 422
    assert 'id="key-error">' in response.get_data(as_text=True)
    assert "another template has this key" in response.get_data(as_text=True)
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(MessageTemplate.key == "thank_you")) == 1
    )


def test_unknown_ids_are_404(as_lead, seeded):
    page = f"/admin/templates/{an_id()}"
    assert as_lead.get("/admin/templates/999999").status_code == 404
    assert post(as_lead, "/admin/templates/999999", GOOD, form_page=page).status_code == 404
    send = post(as_lead, "/admin/templates/999999/test-send", {"channel": "email"}, page)
    assert send.status_code == 404
    assert as_lead.get("/admin/templates/abc").status_code == 404


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_missing_or_forged_csrf_token_is_400_and_nothing_is_stored(as_lead, seeded, app, token):
    data = {**GOOD, **({"csrf_token": token} if token else {})}
    before = count()
    assert as_lead.post(NEW, data=data).status_code == 400
    template_id = an_id()
    edit = as_lead.post(f"/admin/templates/{template_id}", data={**data, "name": "Changed"})
    send = as_lead.post(f"/admin/templates/{template_id}/test-send", data={"channel": "email"})
    assert (edit.status_code, send.status_code) == (400, 400)
    assert count() == before and saved("thank_you").name == "Thank you"
    assert outbox(app) == [] and audits("test_send") == []
    headers = {"X-CSRFToken": token} if token else {}
    assert as_lead.post("/admin/templates/preview", json=GOOD, headers=headers).status_code == 400


def test_the_preview_button_renders_without_saving(as_lead, app):
    response = post(as_lead, NEW, {**GOOD, "sms_text": "é" * 161, "preview": "1"})
    assert response.status_code == 200 and count() == 0
    page = response.get_data(as_text=True)
    assert "Hi Ana" in page  # the subject on sample data
    assert "2 segments, GSM-7, 161 characters" in page
    assert "&lt;p&gt;Hello Ana Lima, about Parcel never arrived&lt;/p&gt;" in page  # srcdoc


# The live preview


def test_the_preview_renders_every_part_on_sample_data(as_lead, app):
    response = preview(as_lead, {**GOOD, "language": "en"})
    assert response.status_code == 200
    body = response.json
    assert body["email"]["subject"] == "Hi Ana"
    assert "<p>Hello Ana Lima, about Parcel never arrived</p>" in body["email"]["html"]
    assert body["email"]["text"] == "Hello Ana Lima\n"
    assert body["sms"] == {
        "body": "Hi Ana, case ZD-4711", "encoding": "GSM-7", "count": 1, "length": 20,
    }  # fmt: skip
    assert body["problems"] == []


def test_the_preview_in_spanish_uses_the_translation_and_falls_back_to_english(as_lead, app):
    body = {**GOOD, "es_sms_text": "Hola {{ customer.first_name }}", "language": "es"}
    response = preview(as_lead, body)
    assert response.status_code == 200
    assert response.json["sms"]["body"] == "Hola Ana"
    assert response.json["email"]["subject"] == "Hi Ana"


@pytest.mark.parametrize(
    "sms, encoding, segments, length",
    [
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("€" * 80, "GSM-7", 1, 160),  # an extended character counts twice
        ("Thanks 🙂", "UCS-2", 1, 9),
        ("🙂" * 36, "UCS-2", 2, 72),
    ],
)
def test_the_preview_counts_sms_segments(as_lead, app, sms, encoding, segments, length):
    response = preview(as_lead, {**GOOD, "sms_text": sms})
    assert response.json["sms"] == {
        "body": sms, "encoding": encoding, "count": segments, "length": length,
    }  # fmt: skip


def test_the_preview_names_the_problems_of_broken_input_without_failing(as_lead, app):
    body = {**GOOD, "email_html": "<p>\n{{ customer.name", "es_sms_text": "{{ x.__class__ }}"}
    response = preview(as_lead, body)
    assert response.status_code == 422
    assert response.json["email"] is None  # the email cannot render; the SMS still can
    assert response.json["sms"]["body"] == "Hi Ana, case ZD-4711"
    problems = {p["field"]: p for p in response.json["problems"]}
    assert problems["email_html"]["line"] == 2
    assert problems["email_html"]["message"].startswith("email_html, line 2: unexpected end")
    assert "unsafe" in problems["es_sms_text"]["reason"]


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        ([1, 2], 400),
        ({"sms_text": 5}, 400),
        ({"sms_text": ["a"]}, 400),
        ({"sms_text": "hi", "language": "it"}, 400),
        ({"sms_text": "x" * 100_001}, 422),
        ({"email_subject": "s" * 501}, 422),
        ({"email_text": "a\x00b"}, 422),
    ],
)
def test_the_preview_refuses_malformed_or_oversize_input(as_lead, app, body, status):
    token = csrf_token(as_lead, NEW)
    headers = {"X-CSRFToken": token}
    if isinstance(body, str):
        response = as_lead.post(
            "/admin/templates/preview", data=body, headers=headers, content_type="text/plain"
        )
    else:
        response = as_lead.post("/admin/templates/preview", json=body, headers=headers)
    assert response.status_code == status
    assert response.is_json
    if status == 422:
        [problem] = response.json["problems"]
        assert (
            problem["field"] in body
            and "characters" in problem["message"]
            or "NUL" in (problem["message"])
        )


def test_a_preview_beyond_the_limit_is_413(as_lead, app):
    response = preview(as_lead, {"email_html": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413


# Test sends


def test_a_test_email_goes_to_the_lead_with_their_name(as_lead, seeded, app):
    template = saved("csat_checkin")
    page = f"/admin/templates/{template.id}"
    response = post(as_lead, f"{page}/test-send", {"channel": "email", "language": "en"}, page)
    assert response.status_code == 303 and response.headers["Location"] == page
    [mail] = outbox(app)
    assert (mail["channel"], mail["to"], mail["message_id"]) == ("email", "lead@example.com", 0)
    assert mail["subject"] == 'How did we do with "Parcel never arrived"?'
    assert "Hi Test," in mail["text"] and "Hi Test," in mail["html"]
    confirmation = as_lead.get(page).get_data(as_text=True)
    assert f"Sent to lead@example.com (provider id {mail['provider_id']})." in confirmation
    [entry] = audits("test_send")
    assert entry.entity_id == str(template.id)
    assert entry.after == {
        "channel": "email", "to": "lead@example.com", "language": "en", "provider": "dev",
    }  # fmt: skip


def test_a_test_text_goes_to_the_number_given_and_remembers_it(as_lead, users, seeded, app):
    template = saved("csat_checkin")
    page = f"/admin/templates/{template.id}"
    data = {"channel": "sms", "phone": "+1 (415) 555-0123", "language": "es"}
    assert post(as_lead, f"{page}/test-send", data, page).status_code == 303
    [text] = outbox(app)
    assert (text["channel"], text["to"]) == ("sms", "+14155550123")
    assert text["text"].startswith("Hola Test")
    db.session.expire_all()
    assert db.session.get(User, users["lead"].id).phone == "+14155550123"
    assert 'value="+14155550123"' in as_lead.get(page).get_data(as_text=True)


def test_a_test_whatsapp_message_goes_as_the_languages_content_template(as_lead, seeded, app):
    template = saved("csat_checkin")
    sid = "HX" + "c3" * 16
    spanish = {"whatsapp_content_sid": sid, "whatsapp_variables": "1: {{ customer.first_name }}"}
    template.translations = {**template.translations,
                             "es": {**template.translations.get("es", {}), **spanish}}  # fmt: skip
    db.session.commit()
    page = f"/admin/templates/{template.id}"
    for language in ("es", "en"):  # English has no content template: free-form
        data = {"channel": "whatsapp", "phone": "+1 415 555 0123", "language": language}
        assert post(as_lead, f"{page}/test-send", data, page).status_code == 303
    content, free_form = outbox(app)
    assert (content["channel"], content["to"], content["content_sid"]) == (
        "whatsapp", "+14155550123", sid)  # fmt: skip
    assert json.loads(content["content_variables"]) == {"1": "Test"}
    assert "content_sid" not in free_form and free_form["text"].startswith("Hi Test")


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
@pytest.mark.parametrize("phone", ["", "0415 555", "+1 555", "not a number", "+1" + "5" * 40])
def test_a_test_text_to_a_bad_number_is_refused(as_lead, users, seeded, app, phone, channel):
    page = f"/admin/templates/{an_id()}"
    response = post(as_lead, f"{page}/test-send", {"channel": channel, "phone": phone}, page)
    assert response.status_code == 422
    assert re.search(r'id="phone-error">.+</p>', response.get_data(as_text=True))
    assert outbox(app) == [] and audits("test_send") == []
    db.session.expire_all()
    assert db.session.get(User, users["lead"].id).phone is None


def test_a_provider_error_is_shown_on_a_502_page(as_lead, seeded, app, monkeypatch):
    class Refusing:
        provider = "sendgrid"

        def send(self, message):
            raise PermanentSendError("SendGrid 400: to.0.email: Invalid email", code="400")

    monkeypatch.setattr("followup.admin.templates.channel_for", lambda kind, config: Refusing())
    page = f"/admin/templates/{an_id()}"
    response = post(as_lead, f"{page}/test-send", {"channel": "email"}, page)
    assert response.status_code == 502
    html = response.get_data(as_text=True)
    assert "The test was not sent" in html
    assert "Not sent to lead@example.com: SendGrid 400: to.0.email: Invalid email" in html
    [entry] = audits("test_send")
    assert "Not sent" in entry.summary


def test_a_saved_template_that_cannot_render_is_not_sent(as_lead, seeded, app):
    template = saved("thank_you")
    template.sms_text = "{{ 1 / 0 }}"  # saved before it was checked
    db.session.commit()
    page = f"/admin/templates/{template.id}"
    response = post(as_lead, f"{page}/test-send", {"channel": "sms", "phone": "+14155550123"}, page)
    assert response.status_code == 422
    assert "The sms cannot be rendered: ZeroDivisionError" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_a_lead_without_a_name_gets_the_sample_customers(as_lead, users, seeded, app):
    users["lead"].name = "  "
    db.session.commit()
    page = f"/admin/templates/{an_id('csat_checkin')}"
    assert post(as_lead, f"{page}/test-send", {"channel": "email"}, page).status_code == 303
    [mail] = outbox(app)
    assert "Hi Ana," in mail["text"]
