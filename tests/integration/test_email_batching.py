"""SendGrid batching (issue 14), through the real SDK against the emulator, which makes each
personalization's substitutions as SendGrid does: emails of one step that differ only in each
customer's values go as one request, and every recipient gets exactly the email it would
have got alone; a batch refused for good is sent again one email at a time; a transient
error on a batch is retried per message, each on its own timeline."""

import re

import pytest
import sqlalchemy as sa

from followup import outbox
from followup.extensions import db
from followup.models import CaseEvent, Message

NAMES = ["Ana Lopez", "Zoë O'Brien & Co", "Bob <b>", "Kim", "Lee-Ann Fu"]


@pytest.fixture
def closed(app, client, real_providers, seeded):
    """Five cases closed: five thank-you emails due, one template, five customers' values."""
    app.config["EMAIL_BATCHING"] = True
    for n, name in enumerate(NAMES):
        customer = {"name": name, "email": f"c{n}@example.com"}
        body = {"external_id": f"B-{n}", "subject": f"Parcel {n}", "customer": customer}
        assert client.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code == 201
        close = client.post(f"/api/v1/cases/B-{n}/close", headers=seeded["auth"])
        assert close.status_code == 202
    return real_providers


def dispatched() -> dict[str, int]:
    tokens: list[str] = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0)
    [token] = tokens
    return outbox.dispatch(token)


def received(emulator) -> dict[str, dict]:
    """What each recipient got, by address."""
    keys = ("subject", "text", "html", "email_headers", "custom_args")
    return {r["recipient"]: {k: r[k] for k in keys} for r in emulator.requests("sendgrid")}


def sent_again_one_by_one(app) -> None:
    db.session.execute(
        sa.update(Message).where(Message.status == "sent").values(status="scheduled")
    )
    db.session.commit()
    app.config["EMAIL_BATCHING"] = False


def test_one_request_and_each_recipient_gets_what_it_would_alone(app, closed):
    assert dispatched()["sent"] == 5
    batched = closed.requests("sendgrid")
    assert len(batched) == 5 and len({r["raw"] for r in batched}) == 1  # one request
    body = batched[0]["body"]
    assert len(body["personalizations"]) == 5 and "Ana Lopez" not in body["content"][0]["value"]
    together = received(closed)
    db.session.expire_all()
    for message in db.session.scalars(sa.select(Message).where(Message.status == "sent")):
        text = together[message.recipient]["text"]  # each keeps its own
        kept = re.sub(r"http://\S+/u/[\w-]+", "[unsubscribe link]", text)
        assert message.body == kept and "[unsubscribe link]" in kept
        assert message.subject == together[message.recipient]["subject"]

    closed.reset()
    sent_again_one_by_one(app)
    assert dispatched()["sent"] == 5
    alone = received(closed)
    assert len({r["raw"] for r in closed.requests("sendgrid")}) == 5
    assert together == alone
    for n, name in enumerate(NAMES):  # each greeted by name
        assert f"Hi {name.split()[0]}" in together[f"c{n}@example.com"]["text"]
    db.session.expire_all()
    sent = db.session.scalars(sa.select(Message).where(Message.status == "sent"))
    ids = {m.recipient: str(m.id) for m in sent}
    assert {to: got["custom_args"]["followup_message_id"] for to, got in together.items()} == {
        to: ids[to] for to in together
    }


def test_a_batch_refused_for_good_goes_again_one_email_at_a_time(closed):
    closed.set_faults(status=400, rate=1.0, times=1)
    assert dispatched()["sent"] == 5
    statuses = [r["status"] for r in closed.requests("sendgrid")]
    assert statuses == [400] * 5 + [202] * 5  # the batch's five, then five alone
    assert len({r["raw"] for r in closed.requests("sendgrid") if r["status"] == 202}) == 5


def test_a_transient_error_on_a_batch_is_retried_per_message(closed):
    closed.set_faults(status=503, rate=1.0, times=1)
    assert dispatched()["retry"] == 5
    db.session.expire_all()
    retried = db.session.scalars(
        sa.select(CaseEvent.message_id).where(CaseEvent.kind == "message.retry_scheduled")
    ).all()
    assert len(set(retried)) == 5
    messages = db.session.scalars(sa.select(Message)).all()
    assert {m.status for m in messages if m.attempts} == {"scheduled"}
    assert {(m.subject, m.body) for m in messages} == {(None, None)}  # kept once sent only


def test_a_job_takes_a_full_requests_worth_of_emails(app, closed):
    app.config["BATCH_SIZE"] = 2
    batches: list[tuple[str, str]] = []
    outbox.sweep(lambda channel, token: batches.append((channel, token)), queued_batches=0)
    assert len(batches) == 1  # five emails: one job, one request

    db.session.execute(sa.update(Message).values(claim_token=None, locked_until=None))
    db.session.commit()
    app.config["EMAIL_BATCHING"] = False
    batches.clear()
    outbox.sweep(lambda channel, token: batches.append((channel, token)), queued_batches=0)
    assert len(batches) == 3  # one request per email: FOLLOWUP_BATCH_SIZE a job
