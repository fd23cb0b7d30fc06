"""The issue's check on the real stack (worker and sweep processes, the twilio SDK against the
emulator, PostgreSQL): a customer who prefers WhatsApp gets the check-in as an approved content
template (ContentSid, ContentVariables with the survey link), answers "4" and then with a
quick-reply button, reads it (a read receipt), texts STOP, and gets nothing more: the next
step, due after the STOP, is suppressed and never reaches the emulator. The figures count the
round on the WhatsApp channel."""

import json
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import rollups
from followup.extensions import db
from followup.models import (
    Cadence,
    DailyChannelFigure,
    Message,
    MessageTemplate,
    Response,
    Suppression,
)
from followup.models.base import utcnow
from followup.setup import add_cadence
from tests.support.answers import post_signed
from tests.support.waiting import wait_until

CHECK_IN_SID, FOLLOW_UP_SID = "HX" + "a1" * 16, "HX" + "b2" * 16
WHATSAPP_FROM = "+15005550007"
PHONE = "+14155550123"
CUSTOMER = {"name": "Ana Lima", "email": "ana@example.com", "phone": PHONE,
            "preferred_channel": "whatsapp"}  # fmt: skip


@pytest.fixture
def stack_env():
    return {"TWILIO_WHATSAPP_FROM": WHATSAPP_FROM}


@pytest.fixture
def whatsapp_cadence(app, seeded, emulator):
    """The check-in now on the customer's preferred channel, and a follow-up 30 s later; both
    templates with a content template registered at the emulator. This process's app checks
    Twilio's signatures with the emulator's token."""
    app.config["TWILIO_AUTH_TOKEN"] = emulator.twilio_auth_token
    variables = {
        CHECK_IN_SID: "1: {{ customer.first_name }}\n2: {{ survey.url }}",
        FOLLOW_UP_SID: "1: {{ customer.first_name }}",
    }
    for key, sid in (("csat_checkin", CHECK_IN_SID), ("thank_you", FOLLOW_UP_SID)):
        template = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == key))
        template.whatsapp_content_sid, template.whatsapp_variables = sid, variables[sid]
        emulator.add_content_template(sid)
    db.session.execute(sa.update(Cadence).values(is_default=False))
    add_cadence("WhatsApp", "close", [
        ("check-in", 0, "preferred", "csat_checkin", "csat", "always"),
        ("follow-up", 30, "preferred", "thank_you", None, "always"),
    ], is_default=True)  # fmt: skip
    db.session.commit()
    return seeded


def twilio_records(emulator) -> list[dict]:
    return [r for r in emulator.requests("twilio") if r["status"] == 201]


def whatsapp_in(client, token: str, body: str, sid: str, **fields) -> str:
    form = {"From": f"whatsapp:{PHONE}", "To": f"whatsapp:{WHATSAPP_FROM}", "Body": body,
            "MessageSid": sid, **fields}  # fmt: skip
    reply = post_signed(client, "/webhooks/twilio/sms", form, token=token)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_data(as_text=True)


def fresh(query):
    db.session.rollback()  # the stack's processes commit: read again
    return db.session.scalar(query)


def test_whatsapp_check_in_answers_read_receipt_and_stop(client, whatsapp_cadence, emulator, stack):
    auth, token = whatsapp_cadence["auth"], emulator.twilio_auth_token
    case = {"external_id": "WA-1", "subject": "Broken kettle", "agent": {"name": "Sam Rivera"},
            "customer": CUSTOMER}  # fmt: skip
    assert client.post("/api/v1/cases", json=case, headers=auth).status_code == 201
    plan = client.post("/api/v1/cases/WA-1/close", headers=auth)
    assert plan.status_code == 202
    assert [m["channel"] for m in plan.json["messages"]] == ["whatsapp", "whatsapp"]
    stack.start("worker")
    stack.start("sweep")

    check_in = Message.step.has(name="check-in")
    wait_until(lambda: fresh(sa.select(Message.status).where(check_in)) == "sent", 90,
               "the check-in to be sent")  # fmt: skip
    [sent] = twilio_records(emulator)
    assert sent["recipient"] == f"whatsapp:{PHONE}"
    assert sent["body"]["From"] == f"whatsapp:{WHATSAPP_FROM}" and "Body" not in sent["body"]
    assert sent["content_sid"] == CHECK_IN_SID
    variables = json.loads(sent["content_variables"])
    assert variables["1"] == "Ana"
    assert re.fullmatch(r"http://followup\.test/s/[A-Za-z0-9_-]{20,}", variables["2"])

    assert "Thank you" in whatsapp_in(client, token, "4", "SMwa-1")
    answer = sa.select(Response.score, Response.channel)
    assert db.session.execute(answer).one() == (4, "whatsapp")
    whatsapp_in(client, token, "Excellent", "SMwa-2", ButtonPayload="5", ButtonText="Excellent")
    db.session.rollback()
    assert db.session.execute(answer).one() == (5, "whatsapp")

    callback = sent["status_callback"].removeprefix("http://followup.test")
    for status in ("delivered", "read", "delivered"):
        form = {"MessageSid": sent["provider_id"], "MessageStatus": status}
        assert post_signed(client, callback, form, token=token).status_code == 200
    assert fresh(sa.select(Message.delivery_status).where(check_in)) == "read"

    assert "no more WhatsApp messages" in whatsapp_in(client, token, "STOP", "SMwa-3")
    assert fresh(sa.select(Suppression.channel)) == "whatsapp"
    follow_up = Message.step.has(name="follow-up")
    assert fresh(sa.select(Message.status).where(follow_up)) == "suppressed"
    db.session.execute(sa.update(Message).where(follow_up).values(due_at=utcnow()))
    db.session.commit()  # due now: the sweeps (every second) must leave it alone
    time.sleep(3)
    assert fresh(sa.select(Message.status).where(follow_up)) == "suppressed"
    assert len(twilio_records(emulator)) == 1

    # The figures count WhatsApp as a channel of its own: delivered (read) and answered.
    rollups.refresh(utcnow() + timedelta(minutes=1), lag_seconds=0)
    by_channel = sa.select(DailyChannelFigure.channel, DailyChannelFigure.delivered,
                           DailyChannelFigure.responded)  # fmt: skip
    assert db.session.execute(by_channel).all() == [("whatsapp", 1, 1)]
