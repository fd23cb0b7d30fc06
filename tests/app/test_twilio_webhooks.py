"""Twilio webhooks signed by the real RequestValidator: answers by text, STOP/START/HELP,
delivery status callbacks; forged, unsigned and malformed requests refused."""

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from followup.extensions import db
from followup.models import CaseEvent, Message, Response, Suppression, SurveyInvitation
from followup.models.base import utcnow
from followup.webhooks.twilio import record_delivery
from surveys.sms import keyword
from tests.support.answers import PHONE, TWILIO_TOKEN, post_signed, text_in
from tests.support.cases import CASE, close


def the_response() -> Response | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response))


# Keywords (scores: tests/unit/test_sms_scores.py)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("STOP", "stop"),
        (" stop ", "stop"),
        ("Stop.", "stop"),
        ("unsubscribe!", "stop"),
        ("StopAll", "stop"),
        ("end", "stop"),
        ("quit", "stop"),
        ("cancel", "stop"),
        ("revoke", "stop"),
        ("optout", "stop"),
        ("start", "start"),
        ("YES", "start"),
        ("unstop", "start"),
        ("help", "help"),
        ("Info?", "help"),
        ("please stop texting", None),
        ("5", None),
    ],
)
def test_keywords(body, expected):
    assert keyword(body) == expected


# Answers by text


def test_a_positive_reply_records_the_answer_and_thanks(client, checked_in):
    reply = text_in(client, "5 - quick and kind")
    assert "Thank you for your answer" in reply
    answer = the_response()
    assert (answer.score, answer.comment, answer.channel) == (5, "quick and kind", "sms")
    invitation = db.session.scalar(sa.select(SurveyInvitation))
    assert answer.invitation_id == invitation.id and invitation.message_id == checked_in.id
    reminder = db.session.scalar(sa.select(Message).where(Message.condition == "no_answer"))
    assert reminder.status == "cancelled"


def test_a_negative_score_gets_one_question_whose_reply_is_the_comment(client, checked_in):
    assert "What went wrong?" in text_in(client, "2")
    assert "look into it" in text_in(client, "Nobody called me back")
    answer = the_response()
    assert (answer.score, answer.comment) == (2, "Nobody called me back")
    assert text_in(client, "hello?") == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert the_response().comment == "Nobody called me back"


def test_an_unreadable_reply_gets_one_clarifying_text_never_a_loop(client, checked_in):
    assert "reply with a number from 1 to 5" in text_in(client, "it was fine I guess")
    assert "<Message>" not in text_in(client, "what?")
    assert the_response() is None
    kinds = db.session.scalars(sa.select(CaseEvent.kind)).all()
    assert kinds.count("sms.unreadable") == 2
    assert "Thank you" in text_in(client, "4")
    assert the_response().score == 4


def test_a_redelivered_reply_is_handled_once(client, checked_in):
    form = {"From": PHONE, "Body": "2", "MessageSid": "SMsame"}
    first = post_signed(client, "/webhooks/twilio/sms", form)
    again = post_signed(client, "/webhooks/twilio/sms", form)
    assert "What went wrong?" in first.get_data(as_text=True)
    assert "<Message>" not in again.get_data(as_text=True)
    assert db.session.scalars(sa.select(CaseEvent.kind)).all().count("response.recorded") == 1


def test_a_reply_from_a_number_without_an_open_survey_records_nothing(client, checked_in):
    assert "<Message>" not in text_in(client, "5", phone="+14155550999")
    assert the_response() is None


# Opt-out keywords


def test_stop_opts_the_number_out_at_once_and_suppresses_pending_texts(client, seeded, twilio):
    body = {**CASE, "external_id": "O-2"}
    close(client, seeded["auth"], body)  # the check-in text is planned, not sent yet
    reply = text_in(client, " Stop. ")
    assert "no more texts" in reply
    [row] = db.session.scalars(sa.select(Suppression)).all()
    assert (row.channel, row.address, row.reason) == ("sms", PHONE, "stop")
    sms = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    assert sms.status == "suppressed"
    event = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.kind == "message.suppressed"))
    assert event.message_id == sms.id and PHONE not in event.detail["reason"]
    # a later case for the same number asks by email instead of text
    plan = close(client, seeded["auth"], {**CASE, "external_id": "O-3"}).json["messages"]
    assert [(m["step"], m["channel"]) for m in plan] == [
        ("thank-you", "email"), ("check-in", "email"), ("reminder", "email")
    ]  # fmt: skip


def test_start_opts_back_in_and_help_names_the_sender(client, twilio, seeded):
    text_in(client, "STOP")
    assert "again" in text_in(client, "unstop")
    assert db.session.scalars(sa.select(Suppression)).all() == []
    help_text = text_in(client, "help")
    assert "Acme Support" in help_text and "STOP" in help_text


# Signatures and bad input


def test_unsigned_forged_and_wrongly_keyed_requests_are_refused(client, twilio):
    form = {"From": PHONE, "Body": "STOP", "MessageSid": "SM1"}
    assert client.post("/webhooks/twilio/sms", data=form).status_code == 403
    forged = client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403 and forged.is_json
    assert post_signed(client, "/webhooks/twilio/sms", form, token="other").status_code == 403
    tampered = {**form, "Body": "START"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://followup.test/webhooks/twilio/sms", form
    )
    response = client.post(
        "/webhooks/twilio/sms", data=tampered, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
    assert db.session.scalars(sa.select(Suppression)).all() == []


def test_without_twilio_configured_every_request_is_refused(client, app):
    app.config["TWILIO_AUTH_TOKEN"] = None
    assert client.post("/webhooks/twilio/sms", data={"From": PHONE}).status_code == 403


def test_a_signed_request_without_a_sender_is_a_400(client, twilio):
    assert post_signed(client, "/webhooks/twilio/sms", {"Body": "5"}).status_code == 400


# Delivery status callbacks


def status_callback(client, message: Message, status: str, error_code: str | None = None):
    form = {"MessageSid": message.provider_id, "MessageStatus": status}
    if error_code:
        form["ErrorCode"] = error_code
    return post_signed(client, f"/webhooks/twilio/status?m={message.id}", form)


def test_status_moves_forward_only(client, checked_in):
    assert status_callback(client, checked_in, "delivered").json == {"updated": True}
    assert status_callback(client, checked_in, "sent").json == {"updated": False}
    db.session.expire_all()
    assert checked_in.delivery_status == "delivered"
    kinds = db.session.scalars(sa.select(CaseEvent.kind)).all()
    assert kinds.count("message.delivered") == 1 and "message.sent" in kinds


def test_error_21610_opts_the_number_out(client, checked_in):
    status_callback(client, checked_in, "undelivered", "21610")
    row = db.session.scalar(sa.select(Suppression))
    assert (row.address, row.reason) == (PHONE, "carrier_opt_out")


def test_a_landline_falls_back_to_email_once(client, checked_in):
    status_callback(client, checked_in, "undelivered", "21614")
    record_delivery(checked_in, "failed", "21614", utcnow())  # a second report: no second email
    db.session.commit()
    fallback = db.session.scalars(
        sa.select(Message).where(Message.idempotency_key.endswith(":email"))
    ).all()
    assert [(m.channel, m.recipient, m.status) for m in fallback] == [
        ("email", CASE["customer"]["email"], "scheduled")
    ]


def test_status_callbacks_for_unknown_or_mismatched_messages(client, checked_in):
    assert post_signed(client, "/webhooks/twilio/status?m=999", {"MessageSid": "SMx",
                       "MessageStatus": "delivered"}).status_code == 404  # fmt: skip
    mismatched = post_signed(client, f"/webhooks/twilio/status?m={checked_in.id}",
                             {"MessageSid": "SMother", "MessageStatus": "delivered"})  # fmt: skip
    assert mismatched.status_code == 404
    assert post_signed(client, "/webhooks/twilio/status?m=abc", {"MessageStatus": "sent"}
                       ).status_code == 400  # fmt: skip


def test_behind_a_trusted_proxy_the_forwarded_url_is_the_signed_one(app, app_config):
    from followup import create_app

    proxied = create_app({**app_config, "TRUSTED_PROXIES": 1, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                          "PUBLIC_BASE_URL": "http://internal:8000"})  # fmt: skip
    form = {"From": PHONE, "Body": "HELP", "MessageSid": "SMproxy"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "https://sms.example.com/webhooks/twilio/sms", form
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "sms.example.com",
    }
    with proxied.app_context():
        reply = proxied.test_client().post("/webhooks/twilio/sms", data=form, headers=headers)
        assert reply.status_code == 200 and "STOP" in reply.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    direct = create_app({**app_config, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN})
    with direct.app_context():
        refused = direct.test_client().post("/webhooks/twilio/sms", data=form, headers=headers)
        assert refused.status_code == 403  # forwarded headers are not trusted by default
        db.session.remove()
        db.engine.dispose()
