"""SendGrid's signed Event Webhook through the test client: signatures, timestamps, malformed
batches, de-duplication, delivery status order, suppressions and the timeline."""

import base64
import json
import time

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from followup import delivery
from followup.extensions import db
from followup.models import CaseEvent, Message, ProviderEvent, Suppression
from tests.support.cases import close, sweep_and_dispatch
from tests.support.signing import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    sendgrid_public_key,
    sendgrid_signature,
)

URL = "/webhooks/sendgrid/events"
EMAIL_ONLY = {
    "external_id": "W-1",
    "subject": "Late parcel",
    "customer": {"name": "Ana Lima", "email": "ana@example.com"},
}


@pytest.fixture
def private_key(app):
    key = ec.generate_private_key(ec.SECP256R1())
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = sendgrid_public_key(key)
    return key


@pytest.fixture
def post(client, private_key):
    """POST a batch signed now (or with what the test overrides)."""

    def post_events(events=None, body=None, timestamp=None, signature=None, key=private_key):
        body = body if body is not None else json.dumps(events).encode()
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        signature = signature if signature is not None else sendgrid_signature(key, timestamp, body)
        headers = {SENDGRID_SIGNATURE: signature, SENDGRID_TIMESTAMP: timestamp}
        return client.post(URL, data=body, headers=headers, content_type="application/json")

    return post_events


@pytest.fixture
def sent_email(client, seeded) -> Message:
    """A case closed for an email-only customer: the thank-you sent, check-in and reminder
    still scheduled to the same address."""
    close(client, seeded["auth"], EMAIL_ONLY)
    sweep_and_dispatch()
    return db.session.scalar(sa.select(Message).where(Message.status == "sent"))


def event(message_id, name: str, event_id: str, **fields) -> dict:
    return {
        "email": "ana@example.com",
        "timestamp": int(time.time()),
        "event": name,
        "sg_event_id": event_id,
        "sg_message_id": "sg-1.filter",
        "followup_message_id": str(message_id),
        **fields,
    }


def reload(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def timeline(message_id: int) -> list[tuple[str, dict]]:
    rows = db.session.execute(
        sa.select(CaseEvent.kind, CaseEvent.detail)
        .where(CaseEvent.message_id == message_id, CaseEvent.kind != "message.sent")
        .order_by(CaseEvent.id)
    )
    return [tuple(row) for row in rows]


# Refused before anything is read


def test_every_event_is_refused_while_no_key_is_configured(app, client):
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = None
    answer = client.post(URL, json=[])
    assert answer.status_code == 403
    assert answer.json["error"] == "not_configured"
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured" in answer.json["message"]


def test_a_missing_signature_is_refused(client, private_key):
    answer = client.post(URL, json=[], headers={SENDGRID_TIMESTAMP: str(int(time.time()))})
    assert (answer.status_code, answer.json["error"]) == (403, "signature_missing")


@pytest.mark.parametrize("age", [301, -301, 10**9])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(post, age):
    answer = post([], timestamp=str(int(time.time()) - age))
    assert (answer.status_code, answer.json["error"]) == (403, "stale_timestamp")


@pytest.mark.parametrize("timestamp", ["soon", "1e9", "-5", "１２３", "9" * 40])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(post, timestamp):
    assert post([], timestamp=timestamp).status_code == 403


def test_a_signature_by_another_key_is_refused(post, sent_email):
    forger = ec.generate_private_key(ec.SECP256R1())
    answer = post([event(sent_email.id, "bounce", "e1")], key=forger)
    assert (answer.status_code, answer.json["error"]) == (403, "invalid_signature")
    assert db.session.scalar(sa.select(sa.func.count(Suppression.id))) == 0


def test_a_changed_body_or_timestamp_breaks_the_signature(post, private_key):
    now = str(int(time.time()))
    signature = sendgrid_signature(private_key, now, b"[]")
    assert post(body=b"[ ]", timestamp=now, signature=signature).status_code == 403
    assert post(body=b"[]", timestamp=str(int(now) - 1), signature=signature).status_code == 403
    assert post(body=b"[]", timestamp=now, signature=signature).status_code == 200


@pytest.mark.parametrize(
    "signature", ["not base64!", "abc", "QUJD", base64.b64encode(b"\x30\x00").decode(), "é"]
)
def test_a_malformed_signature_is_refused_not_an_error(post, signature):
    answer = post([], signature=signature)
    assert (answer.status_code, answer.json["error"]) == (403, "invalid_signature")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[{", "malformed_json"),
        (b'{"event": "delivered"}', "malformed_body"),
        (b'"delivered"', "malformed_body"),
        (b"\xff\xfe[]", "malformed_body"),
    ],
)
def test_a_signed_body_that_is_not_a_json_array_is_a_400(post, body, error):
    answer = post(body=body)
    assert (answer.status_code, answer.json["error"]) == (400, error)


def test_a_batch_over_one_megabyte_is_a_413(post):
    answer = post(body=b"[" + b" " * (1024 * 1024) + b"]")
    assert answer.status_code == 413
    assert answer.json["error"] == "request_entity_too_large"


def test_only_post_is_accepted(client):
    answer = client.get(URL)
    assert (answer.status_code, answer.json["error"]) == (405, "method_not_allowed")


# Applied


def test_delivered_then_opened_then_clicked_move_the_status_forward(post, sent_email):
    answer = post(
        [
            event(sent_email.id, "processed", "e0"),
            event(sent_email.id, "delivered", "e1"),
            event(sent_email.id, "open", "e2"),
            event(sent_email.id, "click", "e3", url="https://example.com/x"),
        ]
    )
    assert answer.status_code == 200
    assert answer.json == {
        "received": 4, "applied": 3, "duplicate": 0, "ignored": 1, "invalid": 0
    }  # fmt: skip
    message = reload(sent_email.id)
    assert message.delivery_status == "clicked"
    assert message.delivery_updated_at is not None
    assert [kind for kind, _ in timeline(sent_email.id)] == [
        "message.delivered", "message.opened", "message.clicked"
    ]  # fmt: skip
    assert timeline(sent_email.id)[-1][1] == {
        "provider": "sendgrid", "event": "click", "url": "https://example.com/x"
    }  # fmt: skip


def test_a_status_never_moves_backwards(post, sent_email):
    post([event(sent_email.id, "open", "e1")])
    answer = post([event(sent_email.id, "delivered", "e2"), event(sent_email.id, "open", "e3")])
    assert answer.json["applied"] == 0 and answer.json["ignored"] == 2
    assert reload(sent_email.id).delivery_status == "opened"
    assert [kind for kind, _ in timeline(sent_email.id)] == ["message.opened"]


def test_a_redelivered_event_is_applied_once(post, sent_email):
    batch = [event(sent_email.id, "delivered", "same"), event(sent_email.id, "delivered", "same")]
    assert post(batch).json == {
        "received": 2, "applied": 1, "duplicate": 1, "ignored": 0, "invalid": 0
    }  # fmt: skip
    assert post(batch).json["duplicate"] == 2
    assert db.session.scalar(sa.select(sa.func.count(ProviderEvent.id))) == 1
    assert [kind for kind, _ in timeline(sent_email.id)] == ["message.delivered"]


def test_a_bounce_suppresses_the_address_and_what_is_planned_for_it(post, sent_email):
    bounce = event(
        sent_email.id, "bounce", "e1", reason="550 5.1.1 mailbox unknown", status="5.1.1",
        type="bounce",
    )  # fmt: skip
    assert post([bounce]).json["applied"] == 1
    message = reload(sent_email.id)
    assert (message.delivery_status, message.delivery_error_code) == ("bounced", "5.1.1")
    [row] = db.session.scalars(sa.select(Suppression))
    assert (row.channel, row.address, row.reason, row.detail) == (
        "email", "ana@example.com", "bounce", "550 5.1.1 mailbox unknown"
    )  # fmt: skip
    pending = db.session.scalars(
        sa.select(Message.status).where(Message.id != sent_email.id).order_by(Message.id)
    ).all()
    assert pending == ["suppressed", "suppressed"]
    kinds = db.session.scalars(
        sa.select(CaseEvent.kind).where(CaseEvent.case_id == message.case_id)
    ).all()
    assert kinds.count("message.suppressed") == 2
    assert timeline(sent_email.id) == [
        ("message.bounced", {"provider": "sendgrid", "event": "bounce", "type": "bounce",
                             "reason": "550 5.1.1 mailbox unknown", "status": "5.1.1"})
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["spamreport", "unsubscribe", "group_unsubscribe", "dropped"])
def test_complaints_unsubscribes_and_drops_suppress_the_address(post, sent_email, name):
    assert post([event(sent_email.id, name, "e1")]).json["applied"] == 1
    [row] = db.session.scalars(sa.select(Suppression))
    assert (row.address, row.reason, row.detail) == (
        "ana@example.com", name, f"SendGrid reported {name}"
    )  # fmt: skip
    expected = "message.failed" if name == "dropped" else f"message.{name}"
    assert [kind for kind, _ in timeline(sent_email.id)] == [expected]


def test_events_for_unknown_messages_and_junk_events_are_acknowledged(post, sent_email):
    answer = post(
        [
            event(999999, "bounce", "e1"),
            event("not-ours", "bounce", "e2"),
            event("9" * 40, "bounce", "e3"),
            {k: v for k, v in event(sent_email.id, "delivered", "e4").items() if k != "event"},
            event(sent_email.id, "delivered", "bad\x00id"),
            "delivered",
            None,
            {"sg_event_id": ["e5"], "event": "delivered"},
        ]
    )
    assert answer.status_code == 200
    assert answer.json == {
        "received": 8, "applied": 0, "duplicate": 0, "ignored": 3, "invalid": 5
    }  # fmt: skip
    assert db.session.scalar(sa.select(sa.func.count(Suppression.id))) == 0
    assert reload(sent_email.id).delivery_status is None


def test_control_characters_in_sendgrid_text_are_dropped(post, sent_email):
    post([event(sent_email.id, "bounce", "e1", reason="bad\x00 mailbox\n", status={"x": 1})])
    [row] = db.session.scalars(sa.select(Suppression))
    assert row.detail == "bad mailbox"
    assert reload(sent_email.id).delivery_error_code is None


def test_a_concurrent_delivery_of_the_same_event_is_counted_as_a_duplicate(
    post, sent_email, monkeypatch
):
    """Another request commits the event between our duplicate check and our commit."""
    post([event(sent_email.id, "delivered", "e1")])
    real = delivery.handled_before
    calls = []

    def not_seen_the_first_time(provider, event_ids):
        calls.append(event_ids)
        return set() if len(calls) == 1 else real(provider, event_ids)

    monkeypatch.setattr("followup.webhooks.sendgrid.handled_before", not_seen_the_first_time)
    answer = post([event(sent_email.id, "delivered", "e1")])
    assert answer.status_code == 200
    assert answer.json["duplicate"] == 1 and len(calls) == 2
    assert [kind for kind, _ in timeline(sent_email.id)] == ["message.delivered"]
