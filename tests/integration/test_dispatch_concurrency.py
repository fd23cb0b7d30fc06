"""Sends in flight (issue 14), through the real SDKs against the emulator answering slowly: a
dispatch keeps up to FOLLOWUP_SEND_CONCURRENCY calls in flight and never more; each message
is `sending`, committed, before its call reaches the provider; a job starts no send after
half its lease and gives the rest back; a 429's Retry-After holds the provider back for the
whole process; texts keep to the sender's pace, shared by every worker through Redis, and go
back unsent while Redis cannot say it; a job stopped mid-dispatch records the calls it made."""

import threading

import pytest
import sqlalchemy as sa
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

from followup import outbox
from followup.extensions import db
from followup.models import CadenceStep, Message
from followup.models.base import utcnow
from followup.setup import add_cadence
from tests.support.waiting import wait_until

LATENCY = 0.4  # seconds the emulator takes to answer


@pytest.fixture
def providers(app, real_providers, seeded):
    app.config.update(
        SEND_CONCURRENCY=4,
        SEND_TIMEOUT=5,
        EMAIL_BATCHING=False,  # one request per email: these tests count calls
    )
    add_cadence("Texts", "close", [("check-in", 0, "sms", "csat_checkin", "csat", "always")])
    db.session.commit()
    return seeded


def close_cases(client, auth, count: int, texts: bool = False) -> None:
    """Cases closed now: each with a thank-you email due now (or, with texts, a check-in text);
    their later steps wait days."""
    for n in range(count):
        contact = {"phone": f"+1415555{n:04d}"} if texts else {"email": f"c{n}@example.com"}
        body = {
            "external_id": f"C-{n}",
            "subject": "Parcel",
            "customer": {"name": "Ana", **contact},
        }
        assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
        close = {"cadence": "Texts"} if texts else {}
        response = client.post(f"/api/v1/cases/C-{n}/close", json=close, headers=auth)
        assert response.status_code == 202


def claimed_batches() -> list[str]:
    tokens: list[str] = []
    outbox.sweep(lambda channel, token: tokens.append(token), queued_batches=0)
    return tokens


def arrivals(emulator, provider: str) -> list[float]:
    return sorted(r["at"] for r in emulator.requests(provider))


def due_now() -> list[Message]:
    """The messages of the steps due at close (the later steps wait days), as committed."""
    db.session.rollback()  # read what other connections committed
    first_steps = Message.step.has(CadenceStep.delay_seconds == 0)
    return list(db.session.scalars(sa.select(Message).where(first_steps)))


def statuses() -> dict[str, str]:
    return {m.recipient: m.status for m in due_now()}


def test_calls_overlap_up_to_the_concurrency_and_never_beyond(client, providers, emulator):
    close_cases(client, providers["auth"], 12)
    emulator.set_faults(latency_ms=LATENCY * 1000)
    [token] = claimed_batches()
    assert outbox.dispatch(token)["sent"] == 12
    at = arrivals(emulator, "sendgrid")
    ids = {r["custom_args"]["followup_message_id"] for r in emulator.requests("sendgrid")}
    assert len(at) == len(ids) == 12
    # The fifth call waits for the first answer: never more than four in flight ...
    assert all(at[i + 4] - at[i] >= LATENCY - 0.05 for i in range(len(at) - 4))
    # ... and four were in flight together: all arrived before the first answer.
    assert at[3] - at[0] < LATENCY
    assert set(statuses().values()) == {"sent"}


def test_each_message_is_sending_and_committed_before_its_call(app, client, providers, emulator):
    close_cases(client, providers["auth"], 6)
    emulator.set_faults(latency_ms=2000)  # calls held at the provider while we look
    [token] = claimed_batches()
    db.session.commit()
    results = []

    def dispatch_elsewhere():
        with app.app_context():
            results.append(outbox.dispatch(token))

    thread = threading.Thread(target=dispatch_elsewhere)
    thread.start()
    try:
        wait_until(lambda: len(emulator.requests("sendgrid")) == 4, 10, "four calls in flight")
        called = {r["recipient"] for r in emulator.requests("sendgrid")}
        now = statuses()
        assert {to for to, status in now.items() if status == "sending"} == called
        assert {status for to, status in now.items() if to not in called} == {"scheduled"}
    finally:
        thread.join(30)
    assert results[0]["sent"] == 6 and set(statuses().values()) == {"sent"}


def test_no_send_starts_after_half_the_lease_the_rest_go_back(app, client, providers, emulator):
    app.config.update(LEASE_SECONDS=2, SEND_CONCURRENCY=2)  # sends start for 1 s
    close_cases(client, providers["auth"], 12)
    emulator.set_faults(latency_ms=LATENCY * 1000)
    [token] = claimed_batches()
    counts = outbox.dispatch(token)
    at = arrivals(emulator, "sendgrid")
    assert counts["sent"] == len(at) < 12 and counts["released"] == 12 - len(at)
    assert at[-1] - at[0] < 1.0 + 0.3  # every call started within half the lease
    back = [m for m in due_now() if m.status == "scheduled"]
    assert len(back) == counts["released"]
    assert all(m.claim_token is None and m.attempts == 0 for m in back)
    assert claimed_batches()  # the next sweep takes them


def test_a_429_holds_every_send_of_the_process_for_its_retry_after(client, providers, emulator):
    app = client.application
    app.config.update(SEND_CONCURRENCY=1, RETRY_BASE_SECONDS=60)
    close_cases(client, providers["auth"], 3)
    emulator.set_faults(status=429, rate=1.0, times=1)  # answers Retry-After: 1
    [token] = claimed_batches()
    counts = outbox.dispatch(token)
    at = arrivals(emulator, "sendgrid")
    assert counts == {"sent": 2, "retry": 1, "failed": 0, "skipped": 0, "released": 0}
    assert at[1] - at[0] >= 0.95  # the next message waited out the Retry-After
    [retried] = [m for m in due_now() if m.status == "scheduled"]
    assert retried.attempts == 1 and retried.error.startswith("SendGrid 429")


def test_a_retry_after_beyond_the_lease_gives_the_batch_back_untried(client, providers, emulator):
    app = client.application
    app.config.update(SEND_CONCURRENCY=1, LEASE_SECONDS=1)  # sends start for half a second
    close_cases(client, providers["auth"], 3)
    emulator.set_faults(status=429, rate=1.0, times=1)
    [token] = claimed_batches()
    counts = outbox.dispatch(token)
    assert counts["retry"] == 1 and counts["released"] == 2
    assert len(emulator.requests("sendgrid")) == 1
    untried = [m for m in due_now() if m.attempts == 0]
    assert len(untried) == 2 and all(m.claim_token is None for m in untried)
    assert not claimed_batches()  # not due again before the Retry-After has passed


def test_texts_keep_the_senders_pace_across_workers(app, client, providers, emulator):
    """Two batches dispatched at once, as two workers would: together, five texts a second."""
    app.config.update(TWILIO_MESSAGES_PER_SECOND=5, BATCH_SIZE=4, SEND_CONCURRENCY=8)
    close_cases(client, providers["auth"], 8, texts=True)
    tokens = claimed_batches()
    db.session.commit()
    assert len(tokens) == 2
    results = []

    def dispatch_elsewhere(token):
        with app.app_context():
            results.append(outbox.dispatch(token))

    threads = [threading.Thread(target=dispatch_elsewhere, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r["sent"] for r in results) == 8
    at = arrivals(emulator, "twilio")
    assert len(at) == 8
    # Unpaced, eight calls in flight would all arrive at once; at five a second they span
    # 1.4 s, and no second holds more than five (six arrivals at most, counting both ends).
    assert at[-1] - at[0] >= 1.4 - 0.1
    assert all(at[i + 6] - at[i] > 1.0 for i in range(len(at) - 6))


def test_texts_whose_pace_is_unknown_go_back_unsent(app, client, providers, emulator):
    """Redis keeps the pace: while it does not answer, no text is marked sending or sent."""
    app.config.update(TWILIO_MESSAGES_PER_SECOND=5, REDIS_URL="redis://127.0.0.1:9/0")
    app.extensions.pop("followup_redis", None)  # the app's client, made again for that URL
    close_cases(client, providers["auth"], 3, texts=True)
    [token] = claimed_batches()
    counts = outbox.dispatch(token)
    assert counts["released"] == 3 and counts["sent"] == 0
    assert emulator.requests("twilio") == []
    back = due_now()
    assert all(m.status == "scheduled" and m.attempts == 0 for m in back)
    assert all(m.claim_token is None and m.due_at > utcnow() for m in back)


def test_a_job_stopped_mid_dispatch_still_records_the_calls_it_made(client, providers, emulator):
    """RQ ends a job past its time limit with an exception raised wherever it is: the calls
    already in flight finish and are recorded, so none is made twice."""
    close_cases(client, providers["auth"], 8)
    emulator.set_faults(latency_ms=1500)
    [token] = claimed_batches()
    with pytest.raises(JobTimeoutException):
        with UnixSignalDeathPenalty(1, JobTimeoutException):
            outbox.dispatch(token)
    assert len(emulator.requests("sendgrid")) == 4  # the first four, in flight at the stop
    by_status = {}
    for message in due_now():
        by_status.setdefault(message.status, []).append(message)
    assert len(by_status["sent"]) == 4 and len(by_status["scheduled"]) == 4
    assert all(m.attempts == 0 for m in by_status["scheduled"])
