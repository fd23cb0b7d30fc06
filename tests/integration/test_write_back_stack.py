"""Helpdesk write-back on the real stack (worker and sweep processes, the real SDKs and
connectors against the emulator), once per helpdesk: answers and changed answers given on
the survey page and by SMS, and the recovery's outcomes (the gesture, its task done), appear
on the ticket once each while the helpdesk fails (5xx) and then applies writes but loses its
answers; the generic connector's events are signed, one per write."""

import re

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from followup.extensions import db
from followup.models import Cadence, OutboundCall, RecoveryTask
from followup.models.base import utcnow
from followup.recovery_queue import complete_task
from followup.setup import add_cadence
from tests.support.answers import post_signed
from tests.support.console import csrf_token_in
from tests.support.waiting import wait_until

SECRET = "whsec_" + "S" * 32
PHONE = "+14155550123"
STATUS = {"zendesk": "solved", "freshdesk": 4}
WRITE = {"zendesk": "PUT", "freshdesk": "POST", "generic": "POST"}
PROVIDER = {"zendesk": "zendesk", "freshdesk": "freshdesk", "generic": "webhook"}


@pytest.fixture(params=["zendesk", "freshdesk", "generic"])
def helpdesk(request):
    return request.param


@pytest.fixture
def stack_env(emulator, helpdesk):
    return {
        "HELPDESK": helpdesk,
        "HELPDESK_WEBHOOK_URL": f"{emulator.url}/hooks/helpdesk",
        "HELPDESK_WEBHOOK_SECRET": SECRET,
        "ZENDESK_BASE_URL": emulator.url,
        "ZENDESK_EMAIL": emulator.zendesk_email,
        "ZENDESK_API_TOKEN": emulator.zendesk_api_token,
        "FRESHDESK_BASE_URL": emulator.url,
        "FRESHDESK_API_KEY": emulator.freshdesk_api_key,
    }


@pytest.fixture
def check_in_at_close(app, seeded, real_providers, stack_env):
    """A check-in at close on the customer's preferred channel; answers come through this
    process's app, which gets the stack's helpdesk settings."""
    app.config.update(stack_env)
    db.session.execute(sa.update(Cadence).values(is_default=False))
    add_cadence("Now", "close", [("check-in", 0, "preferred", "csat_checkin", "csat", "always")],
                is_default=True)  # fmt: skip
    db.session.commit()
    return seeded


def open_case(client, auth, emulator, helpdesk, number: str, customer: dict) -> None:
    if helpdesk in STATUS:
        emulator.add_ticket(helpdesk, number, status=STATUS[helpdesk])
    body = {"external_id": f"T-{number}", "ticket_id": number, "subject": "Parcel",
            "customer": customer}  # fmt: skip
    assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
    assert client.post(f"/api/v1/cases/T-{number}/close", headers=auth).status_code == 202


def survey_token(emulator) -> str | None:
    for email in emulator.requests("sendgrid"):
        if email["status"] == 202 and (
            found := re.search(r"/s/([A-Za-z0-9_-]{20,})", email["text"])
        ):
            return found.group(1)
    return None


def on_page(client, token: str, score: int, comment: str) -> None:
    page = client.get(f"/s/{token}").get_data(as_text=True)
    form = {"csrf_token": csrf_token_in(page), "score": str(score), "comment": comment}
    assert client.post(f"/s/{token}", data=form).status_code == 303


def by_text(client, emulator, body: str) -> None:
    form = {"From": PHONE, "To": "+15005550006", "Body": body, "MessageSid": f"SM{body[:1]}x"}
    reply = post_signed(client, "/webhooks/twilio/sms", form, emulator.twilio_auth_token)
    assert reply.status_code == 200


def settled() -> bool:
    db.session.rollback()
    pending = sa.select(sa.func.count(OutboundCall.id)).where(OutboundCall.status == "pending")
    return db.session.scalar(pending) == 0


def notes_on(emulator, helpdesk: str, number: str) -> list[str]:
    """The bodies of the private notes on a ticket (the generic connector: its events)."""
    if helpdesk == "generic":
        bodies = {}
        for hook in emulator.requests("webhook"):
            event = Webhook(SECRET).verify(hook["raw"], hook["headers"])
            if event["type"] == "case.note" and event["case"]["ticket_id"] == number:
                bodies[hook["headers"]["Webhook-Id"]] = event["note"]  # repeats share the id
        return list(bodies.values())
    ticket = emulator.ticket(helpdesk, number)
    if helpdesk == "zendesk":
        return [comment["body"] for comment in ticket["comments"] if not comment["public"]]
    return [note["body"].replace("<br>", "\n") for note in ticket["notes"] if note["private"]]


def test_answers_changes_and_outcomes_reach_the_ticket_once_each(
    client, check_in_at_close, emulator, stack, helpdesk
):
    auth = check_in_at_close["auth"]
    open_case(client, auth, emulator, helpdesk, "801", {"name": "Ana", "email": "ana@example.com"})
    open_case(client, auth, emulator, helpdesk, "802", {"name": "Bo", "phone": PHONE})
    stack.start("worker")
    stack.start("sweep")
    wait_until(lambda: survey_token(emulator) and emulator.requests("twilio"), 180, "check-ins")
    token = survey_token(emulator)

    emulator.set_faults(providers=[PROVIDER[helpdesk]], status=503, rate=1, times=4)
    on_page(client, token, 2, "Slow")
    by_text(client, emulator, "4 fine")
    wait_until(lambda: emulator.faults()["rate"] == 0, 180, "the helpdesk failing 4 times")

    emulator.set_faults(providers=[PROVIDER[helpdesk]], methods=[WRITE[helpdesk]], applied=True,
                        rate=1, times=3, status=500)  # fmt: skip
    on_page(client, token, 4, "Sorted after all")
    by_text(client, emulator, "5 great now")
    task = db.session.scalar(sa.select(RecoveryTask))  # the handwritten note the 2 brought
    complete_task(task.id, "Note posted", "lead@example.com", utcnow())
    db.session.commit()
    wait_until(lambda: emulator.faults()["rate"] == 0, 180, "3 writes applied and lost")
    wait_until(settled, 180, "every write-back")

    assert set(db.session.scalars(sa.select(OutboundCall.status))) == {"done"}
    first_lines = [note.splitlines()[0] for note in notes_on(emulator, helpdesk, "801")]
    assert sorted(first_lines) == sorted([
        "Customer feedback: 2/5, negative (web)",
        "Goodwill gesture: Handwritten note, issued",
        "Recovery task done: Handwritten note for Ana (lead@example.com): Note posted",
        "Customer feedback (changed): 4/5, positive (web)",
    ])  # fmt: skip
    first_lines = [note.splitlines()[0] for note in notes_on(emulator, helpdesk, "802")]
    assert sorted(first_lines) == [
        "Customer feedback (changed): 5/5, positive (sms)",
        "Customer feedback: 4/5, positive (sms)",
    ]
    if helpdesk == "zendesk":
        assert emulator.ticket("zendesk", "801")["tags"] == ["followup_csat_4"]
        assert emulator.ticket("zendesk", "802")["tags"] == ["followup_csat_5"]
