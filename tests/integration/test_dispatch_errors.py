"""Send-time errors through the real SDKs against the emulator: transient ones are retried
with backoff up to the limit, permanent ones fail at once, each with its reason on the timeline."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import outbox
from followup.extensions import db
from followup.models import CaseEvent, Message, Suppression
from followup.models.base import utcnow


@pytest.fixture
def providers(app, real_providers, seeded, client):
    app.config.update(
        MAX_ATTEMPTS=3,
        RETRY_BASE_SECONDS=60,
        SEND_TIMEOUT=1,
    )
    body = {
        "external_id": "E-1",
        "subject": "Login trouble",
        "customer": {"name": "Ana", "email": "ana@example.com", "phone": "+14155550123"},
    }
    client.post("/api/v1/cases", json=body, headers=seeded["auth"])
    client.post("/api/v1/cases/E-1/close", headers=seeded["auth"])
    return real_providers


def run_sweep(at=None) -> list[dict]:
    tokens = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0, now=at)
    return [outbox.dispatch(token) for token in tokens]


def thank_you() -> Message:
    db.session.expire_all()
    return db.session.scalar(sa.select(Message).order_by(Message.id).limit(1))


def events(kind: str) -> list[dict]:
    return list(db.session.scalars(sa.select(CaseEvent.detail).where(CaseEvent.kind == kind)))


@pytest.mark.parametrize(
    ("fault", "accepted_copies"),
    [
        ({"status": 503}, 1),
        ({"status": 429}, 1),
        ({"status": 500}, 1),
        # A read timeout is ambiguous: the provider took the first copy after we gave up.
        ({"latency_ms": 1500, "rate": 0.0}, 2),
    ],
    ids=["503", "429", "500", "timeout"],
)
def test_transient_errors_are_retried_with_backoff_then_sent(providers, fault, accepted_copies):
    providers.set_faults(**{"rate": 1.0, "times": 1, **fault})
    before = utcnow()
    assert run_sweep()[0]["retry"] == 1
    message = thank_you()
    assert (message.status, message.attempts) == ("scheduled", 1)
    assert timedelta(seconds=45) < message.due_at - before < timedelta(seconds=75)
    [retry] = events("message.retry_scheduled")
    assert retry["attempt"] == 1 and retry["reason"]

    assert run_sweep() == []  # not yet due
    assert run_sweep(at=utcnow() + timedelta(minutes=2))[0]["sent"] == 1
    message = thank_you()
    assert (message.status, message.attempts, message.error) == ("sent", 2, None)
    accepted = [r for r in providers.requests("sendgrid") if r["status"] == 202]
    assert len(accepted) == accepted_copies


def test_a_permanent_error_fails_at_once_with_the_providers_code(providers):
    providers.set_faults(rate=1.0, status=400, code=21211, providers=["twilio"])
    run_sweep(at=utcnow() + timedelta(hours=25))
    sms = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    assert (sms.status, sms.attempts) == ("failed", 1)
    [failed] = events("message.failed")
    assert failed["code"] == "21211"
    assert failed["reason"].startswith("21211: ")
    assert len(providers.requests("twilio")) == 1  # never retried


def test_a_number_that_cannot_take_texts_gets_the_check_in_by_email(providers):
    providers.set_faults(rate=1.0, status=400, code=21614, providers=["twilio"])
    at = utcnow() + timedelta(hours=25)
    run_sweep(at=at)
    [fallback] = events("message.fallback_to_email")
    run_sweep(at=at)
    email = db.session.get(Message, fallback["email_message_id"])
    assert (email.channel, email.status, email.step.name) == ("email", "sent", "check-in")
    [request] = [r for r in providers.requests("sendgrid") if "/s/" in r["text"]]
    assert request["recipient"] == "ana@example.com"


def test_a_carrier_opt_out_at_send_time_stops_every_later_text(providers):
    providers.set_faults(rate=1.0, status=400, code=21610, providers=["twilio"])
    run_sweep(at=utcnow() + timedelta(hours=25))
    row = db.session.scalar(sa.select(Suppression))
    assert (row.channel, row.address, row.reason) == ("sms", "+14155550123", "carrier_opt_out")


def test_retries_stop_at_the_limit_and_the_reason_is_on_the_timeline(providers):
    providers.set_faults(rate=1.0, status=503, providers=["sendgrid"])
    at = utcnow()
    for _ in range(3):
        run_sweep(at=at)
        at += timedelta(hours=2)
    message = thank_you()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.error.startswith("gave up after 3 attempts: SendGrid 503")
    assert len(events("message.retry_scheduled")) == 2
    assert len(events("message.failed")) == 1
    run_sweep(at=at + timedelta(days=1))
    assert len(providers.requests("sendgrid")) == 3  # nothing after the limit


def test_wrong_credentials_fail_without_retry(providers, app):
    app.config["SENDGRID_API_KEY"] = "SG.wrong.key"
    run_sweep()
    message = thank_you()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "SendGrid 401" in message.error


def test_the_sent_message_records_the_providers_id(providers):
    run_sweep(at=utcnow() + timedelta(hours=25))
    sent = db.session.scalars(
        sa.select(Message).where(Message.status == "sent").order_by(Message.id)
    ).all()
    recorded = {r["provider_id"] for r in providers.requests() if r["status"] in (201, 202)}
    assert [m.provider for m in sent] == ["sendgrid", "twilio"]
    assert {m.provider_id for m in sent} == recorded
    sms = providers.requests("twilio")[0]["body"]
    assert sms["StatusCallback"] == f"http://followup.test/webhooks/twilio/status?m={sent[1].id}"
    assert "http://followup.test/s/" in sms["Body"]
    email = providers.requests("sendgrid")[0]["body"]
    unsubscribe = email["headers"]["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://followup.test/u/") and unsubscribe.endswith(">")
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in email["content"][0]["value"]  # the text part's footer link
