"""Customers matched across sources: a requester from Zendesk or Freshdesk whose external id
is new but whose email (else phone) is known is that customer, with the new id recorded as
another identity, so the frequency cap holds across sources; a malformed phone number next
to a valid email is dropped with a note; a write raced by another request answers 409."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, CaseEvent, Customer, CustomerIdentity, Message
from followup.models.base import utcnow
from tests.support.run import DB_BACKEND
from tests.support.waiting import answer_while_another_inserts

ANA = {"external_id": "cust-1", "name": "Ana Lima", "email": "ana@example.com"}


def zendesk(ticket: str = "4711", **requester) -> dict:
    requester = {"id": "9001", "name": "Ana L.", "email": "ana@example.com", **requester}
    return {"ticket": {"id": ticket, "status": "Solved", "title": "Late", "requester": requester}}


def freshdesk(ticket: int = 812, **contact) -> dict:
    fields = {"ticket_contact_name": "Ana Lima", "ticket_contact_email": "ana@example.com"}
    return {"freshdesk_webhook": {"ticket_id": ticket, "ticket_status": "Resolved",
                                  "ticket_subject": "Refund", **fields, **contact}}  # fmt: skip


def webhook(client, seeded, helpdesk: str, body: dict):
    return client.post(f"/webhooks/{helpdesk}", json=body, headers=seeded["auth"])


def api_close(client, seeded, external_id: str, customer: dict) -> list[dict]:
    body = {"external_id": external_id, "subject": "Late", "customer": customer}
    assert client.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code == 201
    return client.post(f"/api/v1/cases/{external_id}/close", headers=seeded["auth"]).json[
        "messages"
    ]


def plan(external_id: str) -> list[Message]:
    return db.session.scalars(
        sa.select(Message)
        .join(Case, Case.id == Message.case_id)
        .where(Case.external_id == external_id)
        .order_by(Message.id)
    ).all()


def statuses(external_id: str) -> list[str]:
    return [message.status for message in plan(external_id)]


def identities() -> dict[str, int]:
    rows = db.session.execute(sa.select(CustomerIdentity.external_id, CustomerIdentity.customer_id))
    return dict(rows.all())


def customers() -> list[Customer]:
    return db.session.scalars(sa.select(Customer).order_by(Customer.id)).all()


def test_a_zendesk_requester_with_a_known_email_is_the_same_customer_surveyed_once(client, seeded):
    assert [m["status"] for m in api_close(client, seeded, "A-1", ANA)] == ["scheduled"] * 3

    answer = webhook(client, seeded, "zendesk", zendesk())

    assert answer.status_code == 200 and answer.json["action"] == "closed"
    [ana] = customers()
    assert (ana.external_id, ana.name, ana.email) == ("cust-1", "Ana L.", "ana@example.com")
    assert identities() == {"cust-1": ana.id, "zendesk-9001": ana.id}
    assert statuses("zendesk-4711") == ["scheduled", "suppressed", "suppressed"]
    assert {m.customer_id for m in plan("zendesk-4711")} == {ana.id}
    assert plan("zendesk-4711")[1].error.startswith("frequency cap")
    # The requester's next ticket finds her by her Zendesk id, whatever email it carries.
    again = webhook(client, seeded, "zendesk", zendesk("4712", email="ana@new.example.com"))
    assert again.status_code == 200
    [ana] = customers()
    assert ana.email == "ana@new.example.com" and len(identities()) == 2


def test_a_freshdesk_contact_then_a_zendesk_requester_with_its_email_are_one_customer(
    client, seeded
):
    assert webhook(client, seeded, "freshdesk", freshdesk()).json["action"] == "closed"
    [ana] = customers()
    assert ana.external_id is None and identities() == {}

    assert webhook(client, seeded, "zendesk", zendesk()).json["action"] == "closed"

    [ana] = customers()
    assert ana.external_id == "zendesk-9001"  # her first id
    assert identities() == {"zendesk-9001": ana.id}
    assert statuses("freshdesk-812") == ["scheduled"] * 3
    assert statuses("zendesk-4711") == ["scheduled", "suppressed", "suppressed"]


def test_a_requester_without_a_known_email_is_matched_by_phone(client, seeded):
    api_close(client, seeded, "A-1", {**ANA, "email": None, "phone": "+14155550123"})

    body = zendesk(email="", phone="+1 (415) 555-0123")
    assert webhook(client, seeded, "zendesk", body).json["action"] == "closed"

    [ana] = customers()
    assert identities() == {"cust-1": ana.id, "zendesk-9001": ana.id}
    capped = [m.step_id for m in plan("zendesk-4711") if (m.error or "").startswith("frequency")]
    assert capped and not [m for m in plan("A-1") if (m.error or "").startswith("frequency")]


def test_an_email_match_wins_over_a_phone_match_and_new_people_are_new_customers(client, seeded):
    api_close(client, seeded, "A-1", {**ANA, "phone": "+14155550123"})
    api_close(client, seeded, "B-1", {"external_id": "cust-2", "email": "bo@example.com"})

    body = zendesk(email="bo@example.com", phone="+14155550123")
    assert webhook(client, seeded, "zendesk", body).json["action"] == "closed"
    new = zendesk("4712", id="9002", email="cy@example.com")
    assert webhook(client, seeded, "zendesk", new).json["action"] == "closed"

    ana, bo, cy = customers()
    assert identities() == {"cust-1": ana.id, "cust-2": bo.id, "zendesk-9001": bo.id,
                            "zendesk-9002": cy.id}  # fmt: skip
    assert cy.external_id == "zendesk-9002"
    assert statuses("zendesk-4712") == ["scheduled"] * 3


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
def test_a_malformed_phone_next_to_a_valid_email_is_dropped_with_a_note(client, seeded, helpdesk):
    body = (
        zendesk(phone="call me <b>maybe</b>")
        if helpdesk == "zendesk"
        else freshdesk(ticket_contact_phone="555")
    )
    answer = webhook(client, seeded, helpdesk, body)

    assert answer.status_code == 200 and answer.json["action"] == "closed"
    field = "ticket.requester.phone" if helpdesk == "zendesk" else (
        "freshdesk_webhook.ticket_contact_phone")  # fmt: skip
    note = "not a valid phone number: dropped, the customer is reached by email"
    assert answer.json["notes"] == [{"field": field, "note": note}]
    [ana] = customers()
    assert (ana.email, ana.phone) == ("ana@example.com", None)
    events = db.session.scalars(sa.select(CaseEvent).order_by(CaseEvent.id)).all()
    dropped = [e.detail for e in events if e.kind == "customer.phone_dropped"]
    assert dropped == answer.json["notes"]
    assert len(statuses(answer.json["case"]["external_id"])) == 3


def test_a_malformed_phone_leaves_a_known_customers_number_as_it_was(client, seeded):
    api_close(client, seeded, "A-1", {**ANA, "phone": "+14155550123"})

    assert webhook(client, seeded, "zendesk", zendesk(phone="12")).status_code == 200

    [ana] = customers()
    assert ana.phone == "+14155550123"


@pytest.mark.parametrize(
    ("requester", "fields"),
    [
        ({"email": "ana@", "phone": "555"}, {"ticket.requester.email", "ticket.requester.phone"}),
        ({"email": None, "phone": "555"}, {"ticket.requester.phone"}),
        ({"email": ["ana@example.com"], "phone": {"n": 1}}, {"ticket.requester.email"}),
    ],
)
def test_a_contact_without_a_valid_email_or_phone_is_refused_naming_them(
    client, seeded, requester, fields
):
    answer = webhook(client, seeded, "zendesk", zendesk(**requester))

    assert answer.status_code == 422 and answer.json["error"] == "validation_failed"
    assert fields <= {f["field"] for f in answer.json["fields"]}, answer.json
    assert customers() == [] and identities() == {}


@pytest.mark.skipif(DB_BACKEND != "postgres", reason="needs PostgreSQL's row locks")
@pytest.mark.parametrize("source", ["api", "zendesk"])
def test_an_identity_recorded_at_the_same_moment_gets_409_then_the_retry_matches(
    app, seeded, source
):
    """Another request records the requester's id for the same customer and commits while
    this one waits on the unique index: 409 (the sender sends it again), never 500."""
    client = app.test_client()
    api_close(client, seeded, "A-1", ANA)
    ana_id = customers()[0].id
    db.session.commit()
    if source == "api":
        path, body = (
            "/api/v1/cases",
            {"external_id": "A-2", "customer": {**ANA, "external_id": "x-1"}},
        )
    else:
        path, body = "/webhooks/zendesk", zendesk()
    identity = "x-1" if source == "api" else "zendesk-9001"

    identity_row = {"customer_id": ana_id, "external_id": identity, "created_at": utcnow()}
    answer = answer_while_another_inserts(
        app,
        CustomerIdentity.__table__,
        identity_row,
        lambda: app.test_client().post(path, json=body, headers=seeded["auth"]),
    )
    assert answer.status_code == 409 and answer.json["error"] == "conflict"
    again = app.test_client().post(path, json=body, headers=seeded["auth"])
    assert again.status_code in (200, 201), again.json
    assert [c.id for c in customers()] == [ana_id]
    assert identities() == {"cust-1": ana_id, identity: ana_id}
