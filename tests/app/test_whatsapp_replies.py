"""WhatsApp messages on Twilio's signed webhook: an answer by text, then by a quick-reply
button; STOP and START for the WhatsApp channel alone; read receipts; bad input refused."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import (
    CadenceStep,
    Case,
    CaseEvent,
    Customer,
    Message,
    Response,
    Suppression,
    Survey,
)
from followup.models.base import utcnow
from followup.setup import ensure_standard_setup
from surveys.invitations import invitations_for
from tests.support.answers import PHONE, SURVEY_SECRET, post_signed, text_in
from tests.support.cases import sweep_and_dispatch

SENDER = f"whatsapp:{PHONE}"
_sids = iter(range(10**6))


@pytest.fixture
def whatsapp_check_in(twilio):
    """A customer on WhatsApp whose check-in went out there (its invitation on the WhatsApp
    channel), with a later WhatsApp message and a text still planned."""
    ensure_standard_setup()
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    customer = Customer(name="Ana Lima", email="ana@example.com", phone=PHONE,
                        preferred_channel="whatsapp", locale="es")  # fmt: skip
    case = Case(external_id="W-1", customer=customer, subject="Kettle", status="closed", round=1)
    db.session.add(case)
    db.session.flush()

    def message(key: str, channel: str, status: str, due_in: timedelta) -> Message:
        row = Message(case_id=case.id, customer_id=customer.id, round=1, channel=channel,
                      recipient=PHONE, due_at=utcnow() + due_in, status=status,
                      idempotency_key=f"wa-{key}", provider_id=f"SM{key}")  # fmt: skip
        db.session.add(row)
        return row

    check_in = message("check-in", "whatsapp", "sent", timedelta(0))
    later = {
        channel: message(f"later-{channel}", channel, "scheduled", timedelta(days=2))
        for channel in ("whatsapp", "sms")
    }
    db.session.flush()
    invitations_for([(check_in, survey)], SURVEY_SECRET, utcnow(), 14)
    db.session.commit()
    return {"check_in": check_in, "later": later, "customer_id": customer.id}


def whatsapp_in(client, body: str = "", **fields) -> str:
    """A WhatsApp message from the customer through the signed webhook: the TwiML answer."""
    form = {"From": SENDER, "To": "whatsapp:+15005550006", "Body": body,
            "MessageSid": f"SMwa{next(_sids)}", **fields}  # fmt: skip
    reply = post_signed(client, "/webhooks/twilio/sms", form)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_data(as_text=True)


def the_answer() -> tuple | None:
    db.session.expire_all()
    answer = db.session.scalar(sa.select(Response))
    return answer and (answer.score, answer.comment, answer.channel)


def test_an_answer_then_a_button_changes_it(client, whatsapp_check_in):
    assert "Gracias" in whatsapp_in(client, "4 - amable")  # the customer's language
    assert the_answer() == (4, "amable", "whatsapp")
    customer = db.session.get(Customer, whatsapp_check_in["customer_id"])
    assert utcnow() - customer.whatsapp_inbound_at < timedelta(minutes=1)  # the 24 h window
    whatsapp_in(client, "Excelente", ButtonPayload="5", ButtonText="Excelente")
    assert the_answer() == (5, "amable", "whatsapp")  # a button changes the score alone
    whatsapp_in(client, "Excelente", ButtonPayload="csat_4")
    assert the_answer() == (4, "amable", "whatsapp")
    assert "<Message>" not in text_in(client, "1")  # a text answers no WhatsApp check-in
    assert the_answer() == (4, "amable", "whatsapp")
    kinds = db.session.scalars(sa.select(CaseEvent.kind)).all()
    assert kinds.count("response.recorded") == 1 and kinds.count("response.changed") == 2


def test_a_button_answers_the_check_in_it_was_tapped_on_while_it_is_open(client, whatsapp_check_in):
    check_in, newer = whatsapp_check_in["check_in"], whatsapp_check_in["later"]["whatsapp"]
    newer.status = "sent"
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    invitations_for([(newer, survey)], SURVEY_SECRET, utcnow(), 14)
    db.session.commit()
    whatsapp_in(client, ButtonPayload="2", OriginalRepliedMessageSid=check_in.provider_id)
    whatsapp_in(client, ButtonPayload="5", OriginalRepliedMessageSid="SMunknown")  # the newest
    db.session.expire_all()
    scores = {r.invitation.message_id: r.score for r in db.session.scalars(sa.select(Response))}
    assert scores == {check_in.id: 2, newer.id: 5}


def test_stop_opts_out_of_whatsapp_alone_and_start_opts_back_in(client, whatsapp_check_in):
    assert "No recibirás más mensajes de WhatsApp" in whatsapp_in(client, " Stop. ")
    [row] = db.session.scalars(sa.select(Suppression)).all()
    assert (row.channel, row.address, row.reason) == ("whatsapp", PHONE, "stop")
    later = whatsapp_check_in["later"]
    db.session.expire_all()
    assert (later["whatsapp"].status, later["sms"].status) == ("suppressed", "scheduled")
    assert "STOP" in whatsapp_in(client, "start")
    assert db.session.scalars(sa.select(Suppression)).all() == []


def status_callback(client, message: Message, status: str, code: str = ""):
    form = {"MessageSid": message.provider_id, "MessageStatus": status, "ErrorCode": code}
    return post_signed(client, f"/webhooks/twilio/status?m={message.id}", form)


def test_a_read_receipt_moves_the_status_forward_only(client, whatsapp_check_in):
    check_in = whatsapp_check_in["check_in"]
    assert status_callback(client, check_in, "delivered").json == {"updated": True}
    assert status_callback(client, check_in, "read").json == {"updated": True}
    assert status_callback(client, check_in, "delivered").json == {"updated": False}
    db.session.expire_all()
    assert check_in.delivery_status == "read"
    kinds = db.session.scalars(sa.select(CaseEvent.kind)).all()
    assert kinds.count("message.read") == 1 and kinds.count("message.delivered") == 1
    refused = whatsapp_check_in["later"]["whatsapp"]
    refused.provider_id = "SMrefused"
    db.session.commit()
    assert status_callback(client, refused, "failed").json == {"updated": True}
    assert status_callback(client, refused, "read").json == {"updated": False}  # never read


def test_an_answered_steps_whatsapp_message_falls_back_to_sms_then_email(client, whatsapp_check_in):
    check_in = whatsapp_check_in["check_in"]
    check_in.step = db.session.scalar(
        sa.select(CadenceStep).where(CadenceStep.channel == "answered").limit(1)
    )
    db.session.commit()
    status_callback(client, check_in, "undelivered", "63003")  # not on WhatsApp
    by_sms = db.session.scalar(
        sa.select(Message).where(Message.idempotency_key == "wa-check-in:sms")
    )
    assert (by_sms.channel, by_sms.recipient) == ("sms", PHONE)
    by_sms.status, by_sms.provider_id = "sent", "SMfallback"
    db.session.commit()
    status_callback(client, by_sms, "failed", "21614")  # a landline: on to email
    by_email = db.session.scalar(
        sa.select(Message).where(Message.idempotency_key == "wa-check-in:sms:email")
    )
    assert (by_email.channel, by_email.recipient) == ("email", "ana@example.com")


def test_bad_senders_payloads_and_signatures_are_refused(client, whatsapp_check_in):
    bad = [
        {"Body": "4"},
        {"From": "whatsapp:+" + "1" * 400, "Body": "4"},
        {"From": "whatsapp:", "Body": "4"},
        {"From": "whatsapp:+1 415 555 0123", "Body": "4"},  # not E.164 as Twilio sends it
        {"From": "whatsapp:+1415555012\x00", "Body": "4"},
        {"From": "whatsapp:٤١٥٥٥٥٠١٢٣", "Body": "4"},
        {"From": SENDER, "ButtonPayload": "4" * 201},
        {"From": SENDER, "ButtonPayload": "4", "OriginalRepliedMessageSid": "SM" + "a" * 63},
    ]
    for form in bad:
        reply = post_signed(client, "/webhooks/twilio/sms", {**form, "MessageSid": "SMbad"})
        assert reply.status_code == 400, form
    forged = {"From": SENDER, "Body": "STOP", "MessageSid": "SMforged"}
    assert post_signed(client, "/webhooks/twilio/sms", forged, token="other").status_code == 403
    assert "Gracias" in whatsapp_in(client, "4/5 " + "x" * 60_000)  # a long text: read, cut
    assert the_answer()[:2] == (4, "x" * 2000)
    assert db.session.scalars(sa.select(Suppression)).all() == []


def test_a_reminders_fallback_is_not_sent_once_the_customer_answered(client, whatsapp_check_in):
    reminder = whatsapp_check_in["later"]["whatsapp"]  # a "preferred" reminder sent on WhatsApp
    reminder.step = db.session.scalar(
        sa.select(CadenceStep).where(CadenceStep.channel == "preferred").limit(1)
    )
    reminder.condition, reminder.status, reminder.provider_id = "no_answer", "sent", "SMreminder"
    db.session.commit()
    whatsapp_in(client, "5")  # answered the check-in
    status_callback(client, reminder, "undelivered", "63003")
    by_key = sa.select(Message).where(Message.idempotency_key == "wa-later-whatsapp:sms")
    assert db.session.scalar(by_key).condition == "no_answer"
    sweep_and_dispatch()
    fallback = db.session.scalar(by_key)
    assert (fallback.status, fallback.error) == ("cancelled", "answered")
