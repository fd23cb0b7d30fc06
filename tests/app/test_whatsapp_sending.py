"""WhatsApp sending through the real twilio SDK against the emulator: a customer who prefers
WhatsApp gets the check-in as the template's content template in their language, free-form
only inside the 24-hour window, by SMS (then email) when the number is not on WhatsApp, nothing
once opted out of WhatsApp, and at the hours texts may go; the editor and the API refuse what
WhatsApp would."""

import json
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from followup.cadences import SendingHours, channel_problems
from followup.channels import provider_for
from followup.config import load_settings
from followup.extensions import db
from followup.models import CaseEvent, Customer, Message, MessageTemplate, SurveyInvitation
from followup.models.base import utcnow
from followup.rendering import VARIABLE_CHARS, variable_value
from followup.suppressions import suppress
from tests.support.cases import CASE, close, sweep_and_dispatch
from tests.support.console import csrf_token
from tests.support.waiting import wait_until

SID = "HX" + "a1" * 16
SID_ES = "HX" + "b2" * 16
PHONE = "+14155550123"
CHECK_IN_DUE = timedelta(hours=24, minutes=1)


@pytest.fixture
def whatsapp(app, emulator, seeded):
    """Email, SMS and WhatsApp through the emulator; the check-in template has a content
    template in English and in Spanish."""
    app.config.update(emulator.settings(), TWILIO_WHATSAPP_FROM="+15005550007")
    check_in = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "csat_checkin")
    )
    check_in.whatsapp_content_sid = SID
    check_in.whatsapp_variables = "1: {{ customer.first_name }}\n2: {{ case.subject }}"
    check_in.translations = {
        **check_in.translations,
        "es": {
            **check_in.translations.get("es", {}),
            "whatsapp_content_sid": SID_ES,
            "whatsapp_variables": "1: {{ case.subject }}",
        },  # fmt: skip
    }
    db.session.commit()
    emulator.add_content_template(SID)
    emulator.add_content_template(SID_ES)
    return emulator


def close_for(client, seeded, external_id="W-1", **customer):
    """A case of a customer who prefers WhatsApp, closed on the standard cadence."""
    person = {"name": "Ana Lima", "email": "ana@example.com", "phone": PHONE,
              "preferred_channel": "whatsapp", **customer}  # fmt: skip
    body = {**CASE, "external_id": external_id, "customer": person}
    response = close(client, seeded["auth"], body)
    assert response.status_code == 202, response.json
    return response.json


def twilio_requests(emulator) -> list[dict]:
    return emulator.requests("twilio")


def events(kind: str) -> list[dict]:
    return list(db.session.scalars(sa.select(CaseEvent.detail).where(CaseEvent.kind == kind)))


def test_the_check_in_goes_as_the_content_template_with_its_variables_in_the_customers_language(
    client, seeded, whatsapp
):
    plan = close_for(client, seeded, locale="es-MX")
    assert [m["channel"] for m in plan["messages"]] == ["email", "whatsapp", "email"]
    # Newlines, tabs and runs of spaces are refused by WhatsApp: they are collapsed.
    db.session.execute(sa.text("UPDATE cases SET subject = :s"), {"s": "Broken\n\tkettle     x"})
    db.session.commit()
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)
    [sent] = [r for r in twilio_requests(whatsapp) if r["status"] == 201]
    assert (sent["body"]["To"], sent["body"]["From"]) == (
        f"whatsapp:{PHONE}",
        "whatsapp:+15005550007",
    )
    assert sent["content_sid"] == SID_ES  # Spanish, with Spanish's own variables
    assert json.loads(sent["content_variables"]) == {"1": "Broken kettle x"}
    assert "Body" not in sent["body"]
    assert sent["status_callback"].startswith("http://followup.test/webhooks/twilio/status?m=")
    row = db.session.scalar(sa.select(Message).where(Message.channel == "whatsapp"))
    assert (row.status, row.provider) == ("sent", "twilio")
    assert row.body == f'[content {SID_ES}] {{"1": "Broken kettle x"}}'


@pytest.mark.parametrize(
    "rendered, sent",
    [
        ("", "-"),  # WhatsApp refuses an empty value
        (" \n\t ", "-"),
        ("Ana\r\nLima\u2028x", "Ana Lima x"),
        ("a" * (VARIABLE_CHARS + 500), "a" * VARIABLE_CHARS),
        ("b " * VARIABLE_CHARS, ("b " * VARIABLE_CHARS)[:VARIABLE_CHARS]),
    ],
    ids=["empty", "blank", "line breaks", "over-long", "over-long words"],
)
def test_a_variable_value_is_never_empty_multi_line_or_over_whatsapps_limit(rendered, sent):
    assert variable_value(rendered) == sent


def test_free_form_only_inside_the_24_hour_window_else_by_sms(client, seeded, whatsapp):
    check_in = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "csat_checkin")
    )
    check_in.whatsapp_content_sid, check_in.translations = "", {}
    db.session.commit()
    at = utcnow() + CHECK_IN_DUE
    close_for(client, seeded, "W-1")
    close_for(client, seeded, "W-2", phone="+14155550124", email="bo@example.com")
    # Ana wrote on WhatsApp an hour before the check-in is due; Bo never did.
    for customer in db.session.scalars(sa.select(Customer).where(Customer.phone == PHONE)):
        customer.whatsapp_inbound_at = at - timedelta(hours=1)
    db.session.commit()
    whatsapp.whatsapp_inbound(PHONE)
    sweep_and_dispatch(at=at)
    [free_form] = [r for r in twilio_requests(whatsapp) if r["recipient"].startswith("whatsapp:")]
    assert free_form["status"] == 201 and free_form["body"]["To"] == f"whatsapp:{PHONE}"
    assert "/s/" in free_form["body"]["Body"] and not free_form["content_sid"]
    bo = db.session.scalar(sa.select(Message).where(Message.recipient == "+14155550124",
                                                    Message.channel == "whatsapp"))  # fmt: skip
    assert (bo.status, bo.error.startswith("template 'csat_checkin' has no WhatsApp")) == (
        "failed", True)  # fmt: skip
    [fallback] = events("message.fallback_to_sms")
    assert fallback["code"] == "whatsapp_no_template"
    invited = sa.select(SurveyInvitation.id).where(SurveyInvitation.message_id == bo.id)
    assert db.session.scalar(invited) is None  # failed before its survey invitation was made
    sweep_and_dispatch(at=at)
    [text] = [r for r in twilio_requests(whatsapp) if r["recipient"] == "+14155550124"]
    assert text["status"] == 201 and "/s/" in text["body"]["Body"]


def test_not_on_whatsapp_goes_by_sms_and_with_texts_stopped_by_email(client, seeded, whatsapp):
    whatsapp.not_on_whatsapp(PHONE)
    at = utcnow() + CHECK_IN_DUE
    close_for(client, seeded, "W-1")
    sweep_and_dispatch(at=at)
    [to_sms] = events("message.fallback_to_sms")
    assert to_sms["code"] == "63003"
    sweep_and_dispatch(at=at)
    sms = db.session.get_one(Message, to_sms["sms_message_id"])
    assert (sms.channel, sms.recipient, sms.status, sms.step.name) == (
        "sms", PHONE, "sent", "check-in")  # fmt: skip

    # Another number not on WhatsApp, whose texts are stopped: the check-in goes by email.
    whatsapp.not_on_whatsapp("+14155550124")
    suppress("sms", "+14155550124", "stop_keyword", "STOP", utcnow())
    db.session.commit()
    close_for(client, seeded, "W-2", phone="+14155550124", email="bo@example.com")
    sweep_and_dispatch(at=at)
    [to_email] = events("message.fallback_to_email")
    sweep_and_dispatch(at=at)
    email = db.session.get_one(Message, to_email["email_message_id"])
    assert (email.channel, email.recipient, email.status) == ("email", "bo@example.com", "sent")


def test_opted_out_of_whatsapp_the_preferred_step_is_suppressed_not_sent_elsewhere(
    client, seeded, whatsapp
):
    suppress("whatsapp", PHONE, "stop_keyword", "STOP", utcnow())
    db.session.commit()
    plan = close_for(client, seeded)
    check_in = plan["messages"][1]
    assert (check_in["channel"], check_in["status"]) == ("whatsapp", "suppressed")
    assert check_in["error"] == "customer opted out of WhatsApp"
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)
    assert twilio_requests(whatsapp) == []
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 3  # no fallback row


def test_quiet_hours_move_a_whatsapp_step_and_defer_it_at_send_time(app, client, seeded, whatsapp):
    now = utcnow().replace(second=0, microsecond=0)
    start, end = (now + timedelta(hours=2)).time(), (now + timedelta(hours=3)).time()
    app.config["SMS_HOURS"] = hours = SendingHours(start, end, ZoneInfo("UTC"))
    check_in = close_for(client, seeded)["messages"][1]
    assert check_in["channel"] == "whatsapp"
    assert hours.allows(datetime.fromisoformat(check_in["due_at"]))
    row = db.session.scalar(sa.select(Message).where(Message.channel == "whatsapp"))
    row.due_at, row_id = now, row.id  # as if planned before the hours changed
    db.session.commit()
    sweep_and_dispatch(at=now + timedelta(seconds=5))
    row = db.session.get_one(Message, row_id)
    assert row.status == "scheduled" and hours.allows(row.due_at)
    assert twilio_requests(whatsapp) == []


def test_the_api_refuses_an_unknown_preferred_channel_and_clears_it_by_null(client, seeded):
    body = {**CASE, "customer": {**CASE["customer"], "preferred_channel": "pigeon"}}
    response = client.post("/api/v1/cases", json=body, headers=seeded["auth"])
    assert response.status_code == 422
    assert "preferred_channel" in json.dumps(response.json)

    def preferred(**customer) -> str | None:
        body = {**CASE, "customer": {**CASE["customer"], **customer}}
        response = client.post("/api/v1/cases", json=body, headers=seeded["auth"])
        assert response.status_code in (200, 201), response.json
        return response.json["customer"]["preferred_channel"]

    assert preferred(preferred_channel="whatsapp") == "whatsapp"
    assert preferred() == "whatsapp"  # left out: kept
    assert preferred(preferred_channel=None) is None  # null: cleared


def test_the_editor_refuses_a_bad_content_sid_or_variable_line_and_keeps_the_input(as_lead, seeded):
    token = csrf_token(as_lead, "/admin/templates/new")
    good = {"csrf_token": token, "name": "WhatsApp check-in", "key": "wa", "sms_text": "Hi",
            "whatsapp_content_sid": SID, "whatsapp_variables": "1: {{ case.team }}"}  # fmt: skip
    bad = {**good, "whatsapp_content_sid": "HX123", "es_whatsapp_variables": "1: a\nfirst: b",
           "fr_whatsapp_variables": "1: {{ customer.nope }}\n1: again"}  # fmt: skip
    response = as_lead.post("/admin/templates/new", data=bad)
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "a content SID is HX and 32 hexadecimal digits" in page
    assert "line 2: write each variable as “N: template”, N from 1 to 99 (in Spanish)" in page
    assert "line 2: variable 1 is set twice (in French)" in page
    # Spanish's variables have no Spanish SID: never sent with English's content template.
    assert "variables are sent only with a content template: set its SID too (in Spanish)" in page
    assert 'value="HX123"' in page and "first: b" in page  # the input is kept
    assert db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == "wa")) is None
    fine = {**good, "whatsapp_variables": "1: {{ customer.first_name }}\n2: {{case.number}}"}
    shown = as_lead.post("/admin/templates/preview", json={**fine, "csrf_token": ""},
                         headers={"X-CSRFToken": token})  # fmt: skip
    assert shown.json["whatsapp"] == {"content_sid": SID, "variables": {"1": "Ana", "2": "ZD-4711"}}
    assert as_lead.post("/admin/templates/new", data=fine).status_code == 303


def test_a_whatsapp_step_needs_a_content_template_or_an_sms_body():
    assert channel_problems("whatsapp", "t", frozenset({"whatsapp_content_sid"})) == []
    assert channel_problems("whatsapp", "t", frozenset({"sms_text"})) == []
    assert channel_problems("whatsapp", "t", frozenset({"email_subject", "email_text"})) == [
        "can go by WhatsApp but template 't' has no WhatsApp content template nor SMS body"
    ]


def test_the_whatsapp_sender_is_checked_at_start_and_needs_the_account(tmp_path):
    account = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    settings = load_settings(tmp_path, {**account, "TWILIO_WHATSAPP_FROM": "whatsapp:+14155550100"})
    assert settings["TWILIO_WHATSAPP_FROM"] == "+14155550100"  # no SMS number needed
    assert provider_for("whatsapp", settings) == "twilio"
    assert provider_for("sms", {**settings, "DEV_OUTBOX": False}) == "none"
    with pytest.raises(SystemExit, match="TWILIO_WHATSAPP_FROM must be a number in E.164"):
        load_settings(tmp_path, {**account, "TWILIO_WHATSAPP_FROM": "0800 WHATSAPP"})
    with pytest.raises(SystemExit, match="missing: TWILIO_ACCOUNT_SID"):
        load_settings(tmp_path, {"TWILIO_AUTH_TOKEN": "t", "TWILIO_WHATSAPP_FROM": "+14155550100"})


def test_accepted_then_reported_not_on_whatsapp_by_the_status_callback_goes_by_sms(
    app, client, seeded, whatsapp
):
    # The emulator posts its signed status callback to its own /hooks/ receiver; the test
    # hands that same request to the app, whose public URL it was signed for.
    app.config["PUBLIC_BASE_URL"] = f"{whatsapp.url}/hooks/app"
    whatsapp.not_on_whatsapp(PHONE, later=True)
    close_for(client, seeded)
    sweep_and_dispatch(at=utcnow() + CHECK_IN_DUE)
    row = db.session.scalar(sa.select(Message).where(Message.channel == "whatsapp"))
    assert row.status == "sent"
    wait_until(lambda: whatsapp.requests("webhook"), timeout=10, what="the status callback")
    [callback] = whatsapp.requests("webhook")
    path = callback["path"].removeprefix("/hooks/app")
    sent = callback["headers"]
    signed = {"X-Twilio-Signature": sent["X-Twilio-Signature"]}
    response = client.post(
        path, data=callback["raw"], content_type=sent["Content-Type"], headers=signed
    )
    assert response.status_code in (200, 204)
    [to_sms] = events("message.fallback_to_sms")
    assert to_sms["code"] == "63003"
    assert db.session.get_one(Message, to_sms["sms_message_id"]).recipient == PHONE
