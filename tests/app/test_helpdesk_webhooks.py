"""Helpdesk intake through the test client: the bodies a Zendesk trigger and a Freshdesk
automation send (placeholders filled in as the helpdesks render them), repeated, reopened,
refused."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, CaseEvent, Customer, Message
from tests.support.run import DB_BACKEND
from tests.support.waiting import answer_while_another_inserts

ZENDESK = {
    "ticket": {
        "id": "4711",
        "status": "Solved",
        "title": "Parcel never arrived",
        "priority": "High",
        "tags": "shipping refund",
        "group": "Shipping",
        "requester": {
            "id": "9001",
            "name": "Ana Lima",
            "email": "ana@example.com",
            "phone": "+1 (415) 555-0123",
        },
        "assignee": {"name": "Sam Rivera", "email": "sam@acme.com"},
    }
}
FRESHDESK = {
    "freshdesk_webhook": {
        "ticket_id": 812,
        "ticket_status": "Resolved",
        "ticket_subject": "Refund not received",
        "ticket_priority": "Medium",
        "ticket_tags": "billing, refund",
        "ticket_contact_name": "Bo Chen",
        "ticket_contact_email": "bo@example.com",
        "ticket_contact_phone": "",
        "ticket_agent_name": "Lee Park",
        "ticket_agent_email": "lee@acme.com",
        "ticket_group_name": "Billing",
    }
}


def zendesk(status: str = "Solved", **ticket) -> dict:
    return {"ticket": {**ZENDESK["ticket"], "status": status, **ticket}}


def freshdesk(status: str = "Resolved", **ticket) -> dict:
    return {
        "freshdesk_webhook": {**FRESHDESK["freshdesk_webhook"], "ticket_status": status, **ticket}
    }


def post(client, seeded, helpdesk: str, body, **kwargs):
    return client.post(f"/webhooks/{helpdesk}", json=body, headers=seeded["auth"], **kwargs)


def messages(external_id: str) -> list[str]:
    return db.session.scalars(
        sa.select(Message.status)
        .join(Case, Case.id == Message.case_id)
        .where(Case.external_id == external_id)
        .order_by(Message.id)
    ).all()


def test_a_solved_zendesk_ticket_becomes_a_closed_case_with_its_follow_ups(client, seeded):
    answer = post(client, seeded, "zendesk", ZENDESK)

    assert answer.status_code == 200 and answer.json["action"] == "closed"
    case = answer.json["case"]
    assert case["external_id"] == "zendesk-4711" and case["ticket_id"] == "4711"
    assert (case["status"], case["round"], case["cadence"]) == ("closed", 1, "Standard")
    assert case["subject"] == "Parcel never arrived" and case["priority"] == "high"
    assert case["tags"] == ["shipping", "refund"] and case["team"] == "Shipping"
    assert case["agent"] == {"name": "Sam Rivera", "email": "sam@acme.com"}
    customer = db.session.scalar(sa.select(Customer))
    assert customer.external_id == "zendesk-9001" and customer.name == "Ana Lima"
    assert (customer.email, customer.phone) == ("ana@example.com", "+14155550123")
    assert messages("zendesk-4711") == ["scheduled"] * 3


def test_a_resolved_freshdesk_ticket_becomes_a_closed_case_with_its_follow_ups(client, seeded):
    answer = post(client, seeded, "freshdesk", FRESHDESK)

    assert answer.status_code == 200 and answer.json["action"] == "closed"
    case = answer.json["case"]
    assert case["external_id"] == "freshdesk-812" and case["ticket_id"] == "812"
    assert case["priority"] == "normal" and case["tags"] == ["billing", "refund"]
    assert case["team"] == "Billing" and case["agent"]["name"] == "Lee Park"
    customer = db.session.scalar(sa.select(Customer))
    assert (customer.name, customer.email, customer.phone) == ("Bo Chen", "bo@example.com", None)
    assert len(messages("freshdesk-812")) == 3


@pytest.mark.parametrize(
    ("helpdesk", "body", "external_id"),
    [("zendesk", ZENDESK, "zendesk-4711"), ("freshdesk", FRESHDESK, "freshdesk-812")],
)
def test_a_repeated_webhook_plans_nothing_twice(client, seeded, helpdesk, body, external_id):
    assert post(client, seeded, helpdesk, body).json["action"] == "closed"
    again = post(client, seeded, helpdesk, body)

    assert again.status_code == 200 and again.json["action"] == "already_closed"
    assert again.json["case"]["round"] == 1
    assert len(messages(external_id)) == 3
    assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 1


def test_a_closed_zendesk_ticket_closes_too(client, seeded):
    assert post(client, seeded, "zendesk", zendesk("Closed")).json["action"] == "closed"


@pytest.mark.parametrize(
    ("helpdesk", "closing", "reopening", "body"),
    [("zendesk", "Solved", "Open", zendesk), ("freshdesk", "Closed", "Pending", freshdesk)],
)
def test_a_reopened_ticket_reopens_its_case_and_closing_again_plans_a_new_round(
    client, seeded, helpdesk, closing, reopening, body
):
    post(client, seeded, helpdesk, body(closing))

    reopened = post(client, seeded, helpdesk, body(reopening))

    assert reopened.status_code == 200 and reopened.json["action"] == "reopened"
    assert reopened.json["cancelled"] == 3 and reopened.json["case"]["status"] == "open"
    external_id = reopened.json["case"]["external_id"]
    assert messages(external_id) == ["cancelled"] * 3
    again = post(client, seeded, helpdesk, body(reopening))
    assert again.json == {"action": "ignored", "reason": f"no closed case {external_id}"}

    second = post(client, seeded, helpdesk, body(closing))
    assert second.json["action"] == "closed" and second.json["case"]["round"] == 2
    kinds = db.session.scalars(sa.select(CaseEvent.kind).order_by(CaseEvent.id)).all()
    assert [k for k in kinds if k in ("case.closed", "case.reopened")] == [
        "case.closed",
        "case.reopened",
        "case.closed",
    ]


@pytest.mark.parametrize(
    ("helpdesk", "body"),
    [
        ("zendesk", zendesk("Open")),  # a ticket we never saw closed
        ("zendesk", zendesk("Hold", id="1")),
        ("zendesk", zendesk("Deleted")),
        ("freshdesk", freshdesk("Waiting on Customer")),
        ("freshdesk", freshdesk("")),
    ],
)
def test_other_statuses_are_acknowledged_and_ignored(client, seeded, helpdesk, body):
    answer = post(client, seeded, helpdesk, body)

    assert answer.status_code == 200 and answer.json["action"] == "ignored"
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 0


def test_empty_placeholders_and_unknown_priorities_are_left_out(client, seeded):
    body = zendesk(priority="-", tags="", group="", assignee={"name": "", "email": ""})
    body["ticket"]["requester"] = {"id": 77, "name": "Ana", "email": "ana@example.com", "phone": ""}

    case = post(client, seeded, "zendesk", body).json["case"]

    assert case["priority"] == "normal" and case["tags"] == [] and case["team"] is None
    assert case["agent"] == {"name": None, "email": None}
    assert db.session.scalar(sa.select(Customer.external_id)) == "zendesk-77"


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer fu_wrong"}])
def test_requests_without_a_valid_key_are_refused(client, seeded, helpdesk, headers):
    answer = client.post(f"/webhooks/{helpdesk}", json=ZENDESK | FRESHDESK, headers=headers)

    assert answer.status_code == 401 and answer.json["error"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 0


@pytest.mark.parametrize("data", [b"{not json", b"[1]", b"", b'"text"'])
def test_malformed_json_gets_400(client, seeded, data):
    answer = client.post("/webhooks/zendesk", data=data, headers=seeded["auth"])
    assert answer.status_code == 400 and answer.json["error"] == "malformed_json"


@pytest.mark.parametrize(
    ("helpdesk", "body", "field", "words"),
    [
        ("zendesk", {"tickets": {}}, "ticket", "object is required"),
        ("zendesk", zendesk(id=""), "ticket.id", "number is required"),
        ("zendesk", zendesk(id="{{ticket.id}}"), "ticket.id", "number is required"),
        ("freshdesk", freshdesk(ticket_id=None), "freshdesk_webhook.ticket_id", "number"),
        (
            "freshdesk",
            freshdesk(ticket_contact_email="bo@"),
            "freshdesk_webhook.ticket_contact_email",
            "not a valid email address",
        ),
        (
            "zendesk",
            zendesk(requester={"email": "ana@", "phone": "555"}),
            "ticket.requester.phone",
            "not a valid phone number",
        ),
        (
            "zendesk",
            zendesk(assignee={"email": "sam at acme"}),
            "ticket.assignee.email",
            "not a valid email address",
        ),
        ("zendesk", zendesk(tags=[1, 2]), "ticket.tags.0", "string"),
        ("zendesk", zendesk(title="nul\x00"), "ticket.title", "NUL"),
        (
            "zendesk",
            zendesk(requester={"name": "No Contact"}),
            "customer",
            "email address or a phone number",
        ),
    ],
)
def test_bad_fields_get_422_naming_where_the_webhook_put_them(
    client, seeded, helpdesk, body, field, words
):
    answer = post(client, seeded, helpdesk, body)

    assert answer.status_code == 422 and answer.json["error"] == "validation_failed"
    problems = {f["field"]: f["problem"] for f in answer.json["fields"]}
    assert field in problems and words in problems[field], problems
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 0


@pytest.mark.skipif(DB_BACKEND != "postgres", reason="needs PostgreSQL's row locks")
def test_the_same_new_ticket_twice_at_once_gets_409_for_the_one_that_waited(app, seeded):
    """Another transaction inserts the same customer and commits while this webhook waits on
    the unique index: the webhook answers 409 (the helpdesk sends it again), never 500."""
    answer = answer_while_another_inserts(
        app,
        Customer.__table__,
        {"external_id": "zendesk-9001", "email": "ana@example.com"},
        lambda: post(app.test_client(), seeded, "zendesk", ZENDESK),
    )
    assert answer.status_code == 409 and answer.json["error"] == "conflict"
    assert post(app.test_client(), seeded, "zendesk", ZENDESK).json["action"] == "closed"
