"""The helpdesk connectors against the emulator's Zendesk, Freshdesk and webhook endpoints:
what each call does to the ticket, which failures a retry may cure, and a reopen planned as
an outbound call."""

from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from standardwebhooks import Webhook

from followup.cases import upsert_case
from followup.connectors import connector_for
from followup.connectors.base import CallError, Ticket, answer_field
from followup.connectors.notes import with_marker
from followup.extensions import db
from followup.models import CaseEvent
from followup.outbound import claim_calls, plan_call, run_calls

SECRET = "whsec_" + "C" * 32
KEY = "helpdesk:reopen:41"
NOTE = 'Feedback stayed negative: <2/5> & "nobody called".\nGesture: a call-back.'
MARKED = with_marker(NOTE, KEY)  # the note as it reaches the ticket: its last line the marker
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens on the discard port


def ticket(ticket_id: str = "123") -> Ticket:
    return Ticket(
        "zendesk-" + ticket_id,
        ticket_id,
        "Parcel never arrived",
        "Ana Lima",
        "ana@example.com",
        "+447700900123",
    )


def connector(helpdesk: str, emu, **settings):
    config = {
        "HELPDESK": helpdesk,
        "SEND_TIMEOUT": 5,
        "ALLOW_PRIVATE_TARGETS": True,  # the emulator is on loopback
        "HELPDESK_WEBHOOK_URL": f"{emu.url}/hooks/helpdesk",
        "HELPDESK_WEBHOOK_SECRET": SECRET,
        "ZENDESK_BASE_URL": emu.url,
        "ZENDESK_EMAIL": emu.zendesk_email,
        "ZENDESK_API_TOKEN": emu.zendesk_api_token,
        "FRESHDESK_BASE_URL": emu.url,
        "FRESHDESK_API_KEY": emu.freshdesk_api_key,
        **settings,
    }
    return connector_for(config)


def now() -> datetime:
    return datetime.now(UTC)


def test_no_helpdesk_no_connector(emulator):
    assert connector("none", emulator) is None
    assert [connector(h, emulator).name for h in ("generic", "zendesk", "freshdesk")] == [
        "generic",
        "zendesk",
        "freshdesk",
    ]


def test_zendesk_reopens_a_solved_ticket_with_a_private_comment(emulator):
    emulator.add_ticket("zendesk", "123", status="solved", requester_id=7, subject="Parcel")

    result = connector("zendesk", emulator).reopen(ticket(), NOTE, KEY, now())

    assert result == {"helpdesk": "zendesk", "ticket_id": "123", "action": "reopened"}
    found = emulator.ticket("zendesk", "123")
    assert found["status"] == "open"
    assert found["comments"] == [{"body": MARKED, "public": False}]
    calls = emulator.requests("zendesk")
    assert [(r["method"], r["path"], r["status"]) for r in calls] == [
        ("GET", "/api/v2/tickets/123.json", 200),
        ("GET", "/api/v2/tickets/123/comments.json?page%5Bsize%5D=100", 200),
        ("PUT", "/api/v2/tickets/123.json", 200),
    ]
    user, password = f"{emulator.zendesk_email}/token", emulator.zendesk_api_token
    assert calls[0]["headers"]["Authorization"] == requests.auth._basic_auth_str(user, password)


def test_zendesk_follows_up_a_closed_ticket_once_per_key(emulator):
    emulator.add_ticket("zendesk", "123", status="closed", requester_id=7, subject="Parcel")
    zendesk = connector("zendesk", emulator)

    first = zendesk.reopen(ticket(), NOTE, KEY, now())
    again = zendesk.reopen(ticket(), NOTE, KEY, now())  # a retry after a lost answer

    assert first == again
    assert first["action"] == "follow_up_created" and first["ticket_id"] == "123"
    follow_up = emulator.ticket("zendesk", first["follow_up_id"])
    assert follow_up["via_followup_source_id"] == 123
    assert follow_up["requester_id"] == 7 and follow_up["subject"] == "Parcel"
    assert follow_up["comments"] == [{"body": MARKED, "public": False}]
    assert emulator.ticket("zendesk", "123")["status"] == "closed"
    creates = [r for r in emulator.requests("zendesk") if r["method"] == "POST"]
    assert [r["headers"]["Idempotency-Key"] for r in creates] == [KEY, KEY]
    assert {r["provider_id"] for r in creates} == {first["follow_up_id"]}

    other = zendesk.reopen(ticket(), NOTE, "helpdesk:reopen:42", now())
    assert other["follow_up_id"] != first["follow_up_id"]


def test_freshdesk_reopens_with_a_private_html_note(emulator):
    emulator.add_ticket("freshdesk", "55", status=5)

    result = connector("freshdesk", emulator).reopen(ticket("55"), NOTE, KEY, now())

    assert result == {"helpdesk": "freshdesk", "ticket_id": "55", "action": "reopened"}
    found = emulator.ticket("freshdesk", "55")
    assert found["status"] == 2
    [note] = found["notes"]
    assert note["private"] is True
    assert note["body"].startswith(
        "Feedback stayed negative: &lt;2/5&gt; &amp; &quot;nobody called&quot;."
        "<br>Gesture: a call-back.<br><br>followup ref "
    )
    calls = emulator.requests("freshdesk")
    assert [(r["method"], r["path"], r["body"]) for r in calls] == [
        ("PUT", "/api/v2/tickets/55", {"status": 2}),
        ("GET", "/api/v2/tickets/55/conversations?page=1&per_page=100", ""),
        ("POST", "/api/v2/tickets/55/notes", {"body": note["body"], "private": True}),
    ]
    key, password = emulator.freshdesk_api_key, "X"
    assert calls[0]["headers"]["Authorization"] == requests.auth._basic_auth_str(key, password)


def test_generic_posts_a_signed_reopen_request(emulator):
    result = connector("generic", emulator).reopen(ticket(), NOTE, KEY, now())

    assert result == {"helpdesk": "generic", "ticket_id": "123", "action": "reopen_requested"}
    [hook] = emulator.requests("webhook")
    assert hook["path"] == "/hooks/helpdesk" and hook["status"] == 200
    assert hook["headers"]["Webhook-Id"] == KEY
    assert Webhook(SECRET).verify(hook["raw"], hook["headers"]) == {
        "type": "case.reopen",
        "case": {
            "external_id": "zendesk-123",
            "ticket_id": "123",
            "subject": "Parcel never arrived",
        },
        "customer": {"name": "Ana Lima", "email": "ana@example.com", "phone": "+447700900123"},
        "note": NOTE,
    }


@pytest.mark.parametrize(
    ("helpdesk", "provider"),
    [("zendesk", "zendesk"), ("freshdesk", "freshdesk"), ("generic", "webhook")],
)
@pytest.mark.parametrize(
    ("status", "transient"), [(503, True), (429, True), (401, False), (404, False), (422, False)]
)
def test_refusals_are_transient_only_when_a_retry_may_help(
    emulator, helpdesk, provider, status, transient
):
    emulator.add_ticket("zendesk", "123", status="solved")
    emulator.add_ticket("freshdesk", "123", status=4)
    emulator.set_faults(providers=[provider], status=status, rate=1, times=2)

    with pytest.raises(CallError) as refused:
        connector(helpdesk, emulator).reopen(ticket(), NOTE, KEY, now())

    assert refused.value.transient is transient
    assert f"HTTP {status}" in refused.value.reason


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
def test_unknown_tickets_and_wrong_credentials_are_permanent(emulator, helpdesk):
    with pytest.raises(CallError) as unknown:
        connector(helpdesk, emulator).reopen(ticket("404"), NOTE, KEY, now())
    assert not unknown.value.transient and "HTTP 404" in unknown.value.reason

    emulator.add_ticket(helpdesk, "123", status="solved" if helpdesk == "zendesk" else 4)
    wrong = {"ZENDESK_API_TOKEN": "wrong", "FRESHDESK_API_KEY": "wrong"}
    with pytest.raises(CallError) as refused:
        connector(helpdesk, emulator, **wrong).reopen(ticket(), NOTE, KEY, now())
    assert not refused.value.transient and "HTTP 401" in refused.value.reason


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
def test_a_ticket_id_that_is_no_ticket_number_is_refused_before_any_call(emulator, helpdesk):
    with pytest.raises(CallError) as refused:
        connector(helpdesk, emulator).reopen(ticket("../users/1"), NOTE, KEY, now())
    assert not refused.value.transient and "not a" in refused.value.reason
    assert emulator.requests() == []


@pytest.mark.parametrize("helpdesk", ["generic", "zendesk", "freshdesk"])
def test_an_unreachable_helpdesk_is_transient(emulator, helpdesk):
    settings = {
        "HELPDESK_WEBHOOK_URL": CLOSED_PORT,
        "ZENDESK_BASE_URL": CLOSED_PORT,
        "FRESHDESK_BASE_URL": CLOSED_PORT,
    }
    with pytest.raises(CallError) as refused:
        connector(helpdesk, emulator, **settings).reopen(ticket(), NOTE, KEY, now())
    assert refused.value.transient and "ConnectionError" in refused.value.reason


def test_an_answer_without_the_expected_field_is_transient(emulator, http):
    not_a_ticket = http.get(f"{emulator.url}/_emulator/faults")  # 200, another JSON object
    with pytest.raises(CallError) as refused:
        answer_field(not_a_ticket, "zendesk ticket 123", "ticket", "status")
    assert refused.value.transient and "unexpected answer" in refused.value.reason


def test_the_emulated_helpdesks_refuse_what_the_real_ones_refuse(emulator, http):
    zendesk = f"{emulator.url}/api/v2/tickets"
    zendesk_auth = (f"{emulator.zendesk_email}/token", emulator.zendesk_api_token)
    emulator.add_ticket("zendesk", "1", status="closed")
    emulator.add_ticket("zendesk", "2", status="solved")

    def zendesk_error(method, url, body):
        answer = http.request(method, url, json=body, auth=zendesk_auth)
        assert answer.status_code == 422 and answer.json()["error"] == "RecordInvalid"
        return answer.json()["details"]

    closed = zendesk_error("PUT", f"{zendesk}/1.json", {"ticket": {"status": "open"}})
    assert closed["status"][0]["description"] == "Status: closed prevents ticket update"
    assert "status" in zendesk_error("PUT", f"{zendesk}/2.json", {"ticket": {"status": "gone"}})
    assert "comment" in zendesk_error("PUT", f"{zendesk}/2.json", {"ticket": {"comment": {}}})
    assert "description" in zendesk_error("POST", f"{zendesk}.json", {"ticket": {}})
    assert http.put(f"{zendesk}/2.json", data=b"{", auth=zendesk_auth).status_code == 400
    assert http.get(f"{zendesk}/2.json").status_code == 401
    assert emulator.ticket("zendesk", "2")["status"] == "solved"

    freshdesk = f"{emulator.url}/api/v2/tickets/3"
    freshdesk_auth = (emulator.freshdesk_api_key, "X")
    emulator.add_ticket("freshdesk", "3", status=4)
    bad_status = http.put(freshdesk, json={"status": 9}, auth=freshdesk_auth)
    assert bad_status.status_code == 400
    assert bad_status.json()["errors"][0]["field"] == "status"
    no_body = http.post(f"{freshdesk}/notes", json={"private": True}, auth=freshdesk_auth)
    assert no_body.status_code == 400 and no_body.json()["errors"][0]["field"] == "body"
    assert http.put(freshdesk, json={"status": 2}).status_code == 401
    assert emulator.ticket("freshdesk", "3") == {
        "id": 3,
        "status": 4,
        "subject": "",
        "requester_id": None,
        "custom_fields": {},
        "notes": [],
    }


def test_hooks_record_any_body_and_reset_forgets_tickets(emulator, http):
    alert = http.post(f"{emulator.url}/hooks/alerts", json={"text": "*Escalated*"})
    plain = http.post(f"{emulator.url}/hooks/x/y", data=b"not json")
    assert alert.json() == plain.json() == {"ok": True}
    assert [(r["path"], r["body"], r["raw"]) for r in emulator.requests("webhook")] == [
        ("/hooks/alerts", {"text": "*Escalated*"}, '{"text": "*Escalated*"}'),
        ("/hooks/x/y", "not json", "not json"),
    ]
    assert http.get(f"{emulator.url}/hooks/alerts").status_code == 404

    emulator.add_ticket("zendesk", "1", status="solved")
    emulator.reset()
    assert emulator.ticket("zendesk", "1") is None and emulator.requests() == []


def test_a_planned_reopen_goes_through_the_outbound_calls_to_zendesk(app, emulator):
    app.config.update(
        HELPDESK="zendesk",
        ZENDESK_BASE_URL=emulator.url,
        ZENDESK_EMAIL=emulator.zendesk_email,
        ZENDESK_API_TOKEN=emulator.zendesk_api_token,
    )
    emulator.add_ticket("zendesk", "4711", status="solved", requester_id=7)
    case, _ = upsert_case(
        {
            "external_id": "zendesk-4711",
            "ticket_id": "4711",
            "customer": {"name": "Ana", "email": "ana@example.com"},
        }
    )
    plan_call("helpdesk", "helpdesk:reopen:test", {"note": NOTE}, case.id, now())
    db.session.commit()

    token = claim_calls(now(), 10, 60)
    db.session.commit()
    assert run_calls(token) == {"done": 1, "retry": 0, "failed": 0, "held": 0}

    marked = with_marker(NOTE, "helpdesk:reopen:test")
    assert emulator.ticket("zendesk", "4711")["comments"] == [{"body": marked, "public": False}]
    done = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.kind == "helpdesk.done"))
    assert done.detail == {"helpdesk": "zendesk", "ticket_id": "4711", "action": "reopened"}
