"""The intake API through the test client: cases, close, reopen, the timeline, bad input."""

import pytest
import sqlalchemy as sa

from followup.api.schemas import CaseDocument, ClosePlan, ReopenResult
from followup.extensions import db
from followup.models import Customer, Message
from followup.models.base import utcnow
from followup.suppressions import suppress
from tests.support.cases import API_CASE


def post_case(client, auth, body=API_CASE):
    return client.post("/api/v1/cases", json=body, headers=auth)


def test_create_then_update_a_case(client, seeded):
    created = post_case(client, seeded["auth"])
    assert created.status_code == 201
    document = CaseDocument.model_validate(created.json)
    assert document.case.status == "open"
    assert document.customer.phone == "+14155550123"
    assert document.customer.email == "ana@example.com"  # compared without regard to case
    assert document.timeline[0].kind == "case.created"

    updated = post_case(client, seeded["auth"], {"external_id": "T-100", "subject": "Parcel late"})
    assert updated.status_code == 200
    assert updated.json["case"]["subject"] == "Parcel late"
    assert updated.json["case"]["tags"] == ["shipping", "refund"]
    assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 1


def test_close_plans_the_default_cadence_once_and_reopen_cancels_it(client, seeded):
    auth = seeded["auth"]
    post_case(client, auth)
    first = client.post("/api/v1/cases/T-100/close", headers=auth)
    assert first.status_code == 202
    plan = ClosePlan.model_validate(first.json)
    assert plan.planned is True
    assert [(m.step, m.channel, m.status) for m in plan.messages] == [
        ("thank-you", "email", "scheduled"),
        ("check-in", "sms", "scheduled"),
        ("reminder", "email", "scheduled"),
    ]
    again = client.post("/api/v1/cases/T-100/close", headers=auth)
    assert again.status_code == 200
    assert again.json["planned"] is False
    assert [m["id"] for m in again.json["messages"]] == [m.id for m in plan.messages]
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 3

    reopened = client.post("/api/v1/cases/T-100/reopen", headers=auth)
    assert reopened.status_code == 200
    assert ReopenResult.model_validate(reopened.json).cancelled == 3
    statuses = db.session.scalars(sa.select(Message.status)).all()
    assert statuses == ["cancelled"] * 3
    assert client.post("/api/v1/cases/T-100/reopen", headers=auth).status_code == 409

    second_round = client.post("/api/v1/cases/T-100/close", headers=auth, json={"cadence": "demo"})
    assert second_round.status_code == 202
    assert second_round.json["case"]["round"] == 2
    assert second_round.json["case"]["cadence"] == "Demo"
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 6

    timeline = [e["kind"] for e in client.get("/api/v1/cases/T-100", headers=auth).json["timeline"]]
    assert timeline == ["case.created", "case.closed", "case.reopened", "case.closed"]


def test_a_customer_without_a_phone_gets_the_check_in_by_email(client, seeded):
    body = {**API_CASE, "customer": {"name": "Bo", "email": "bo@example.com"}}
    post_case(client, seeded["auth"], body)
    plan = client.post("/api/v1/cases/T-100/close", headers=seeded["auth"]).json
    assert [m["channel"] for m in plan["messages"]] == ["email", "email", "email"]


def test_opted_out_email_is_planned_as_suppressed_and_on_the_timeline(client, seeded, app):
    body = {**API_CASE, "customer": {"name": "Bo", "email": "bo@example.com"}}
    post_case(client, seeded["auth"], body)
    suppress("email", "bo@example.com", "unsubscribe", "unsubscribed", utcnow())
    db.session.commit()
    customer = client.get("/api/v1/cases/T-100", headers=seeded["auth"]).json["customer"]
    assert (customer["email_opted_out"], customer["sms_opted_out"]) == (True, False)
    plan = client.post("/api/v1/cases/T-100/close", headers=seeded["auth"]).json
    assert {m["status"] for m in plan["messages"]} == {"suppressed"}
    assert {m["error"] for m in plan["messages"]} == {"customer opted out of email"}
    timeline = client.get("/api/v1/cases/T-100", headers=seeded["auth"]).json["timeline"]
    assert [e["kind"] for e in timeline].count("message.suppressed") == 3


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic Zm9vOmJhcg=="},
     {"Authorization": "Bearer "}],
)  # fmt: skip
def test_requests_without_a_valid_key_are_refused(client, seeded, headers):
    response = client.post("/api/v1/cases", json=API_CASE, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json["error"] == "unauthorized"
    assert client.get("/api/v1/cases/T-100", headers=headers).status_code == 401


def customer(**fields):
    return {**API_CASE, "customer": {"name": "Ana", **fields}}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (customer(), "customer", "email address or a phone number"),
        (customer(email="not-an-email"), "customer.email", "not a valid email"),
        (customer(phone="555-0123"), "customer.phone", "not a valid phone number"),
        (customer(phone="+1 415 555"), "customer.phone", "not a valid phone number"),
        (
            customer(email="a@b.co", timezone="Mars/Olympus"),
            "customer.timezone",
            "unknown time zone",
        ),
        (customer(email="a@b.co", locale="english!"), "customer.locale", "pattern"),
        ({**API_CASE, "external_id": ""}, "external_id", "pattern"),
        ({**API_CASE, "external_id": "a/b"}, "external_id", "pattern"),
        ({**API_CASE, "priority": "whenever"}, "priority", "Input should be"),
        ({**API_CASE, "tags": "vip"}, "tags", "valid list"),
        ({**API_CASE, "subject": "x" * 501}, "subject", "at most 500"),
        ({**API_CASE, "ticket_id": "9" * 101}, "ticket_id", "at most 100"),
        ({**API_CASE, "colour": "red"}, "colour", "Extra inputs"),
        ({k: v for k, v in API_CASE.items() if k != "external_id"}, "external_id", "required"),
        ({"external_id": "NEW-1", "subject": "no customer"}, "customer", "required"),
    ],
)
def test_invalid_cases_get_422_naming_the_field(client, seeded, body, field, words):
    response = post_case(client, seeded["auth"], body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_failed"
    problems = {p["field"]: p["problem"] for p in response.json["fields"]}
    assert field in problems
    assert words in problems[field]
    assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 0


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b"\xff\xfe", b"", b"null", b'"text"'])
def test_malformed_json_gets_400(client, seeded, data):
    response = client.post(
        "/api/v1/cases", data=data, headers={**seeded["auth"], "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["error"] == "malformed_json"


def test_oversize_payload_gets_413_json(client, seeded):
    body = {**API_CASE, "subject": "x" * 100_000}
    response = post_case(client, seeded["auth"], body)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


def test_unknown_case_and_unknown_cadence(client, seeded):
    auth = seeded["auth"]
    assert client.get("/api/v1/cases/NOPE", headers=auth).status_code == 404
    assert client.post("/api/v1/cases/NOPE/close", headers=auth).status_code == 404
    assert client.post("/api/v1/cases/NOPE/reopen", headers=auth).status_code == 404
    post_case(client, auth)
    response = client.post("/api/v1/cases/T-100/close", headers=auth, json={"cadence": "Nope"})
    assert response.status_code == 422
    assert response.json["fields"] == [{"field": "cadence", "problem": "no cadence named 'Nope'"}]
    assert client.get("/api/v1/cases/T-100", headers=auth).json["case"]["status"] == "open"
    bad_body = client.post("/api/v1/cases/T-100/close", headers=auth, json={"cadense": "x"})
    assert bad_body.status_code == 422


def test_wrong_methods_and_unknown_api_paths_answer_json(client, seeded):
    response = client.delete("/api/v1/cases/T-100", headers=seeded["auth"])
    assert response.status_code == 405
    assert response.is_json
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    page = client.delete("/s/some-token")
    assert page.status_code == 405
    assert "POST" in page.headers["Allow"]
    response = client.get("/api/v1/nothing-here", headers=seeded["auth"])
    assert response.status_code == 404
    assert response.is_json


def test_openapi_document_lists_exactly_the_api_routes(client, app):
    document = client.get("/api/v1/openapi.json").json
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    routed = {
        (rule.rule.replace("<", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed
    schemas = document["components"]["schemas"]
    assert {"CaseIn", "CaseDocument", "ClosePlan", "ErrorOut"} <= set(schemas)
    for ops in document["paths"].values():
        for op in ops.values():
            for response in op["responses"].values():
                for content in response.get("content", {}).values():
                    name = content["schema"]["$ref"].rsplit("/", 1)[1]
                    assert name in schemas


def close_new_case(client, auth, external_id: str, customer: dict) -> list[dict]:
    post_case(client, auth, {**API_CASE, "external_id": external_id, "customer": customer})
    return client.post(f"/api/v1/cases/{external_id}/close", headers=auth).json["messages"]


def test_one_survey_per_customer_per_30_days_whatever_the_number_of_cases(client, seeded):
    customer = {"external_id": "c-1", "name": "Ana", "email": "ana@example.com"}
    first = close_new_case(client, seeded["auth"], "F-1", customer)
    assert [m["status"] for m in first] == ["scheduled"] * 3
    for external_id in ("F-2", "F-3"):
        again = close_new_case(client, seeded["auth"], external_id, customer)
        assert [(m["step"], m["status"]) for m in again] == [
            ("thank-you", "scheduled"), ("check-in", "suppressed"), ("reminder", "suppressed")
        ]  # fmt: skip
        assert again[1]["error"].startswith("frequency cap: surveyed on ")
    # reopening the first case cancels its survey: the next close may survey again
    client.post("/api/v1/cases/F-1/reopen", headers=seeded["auth"])
    client.post("/api/v1/cases/F-1/close", headers=seeded["auth"])
    plan = client.get("/api/v1/cases/F-1", headers=seeded["auth"]).json["messages"]
    assert [m["status"] for m in plan if m["round"] == 2] == ["scheduled"] * 3


def test_customers_in_an_excluded_segment_get_the_thank_you_but_no_survey(client, seeded):
    customer = {"name": "Vi", "email": "vi@example.com", "tags": ["VIP", "emea"]}
    plan = close_new_case(client, seeded["auth"], "V-1", customer)
    assert [m["status"] for m in plan] == ["scheduled", "suppressed", "suppressed"]
    assert plan[1]["error"] == "customers tagged 'vip' are not surveyed"
    shown = client.get("/api/v1/cases/V-1", headers=seeded["auth"]).json
    assert shown["customer"]["tags"] == ["VIP", "emea"]
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.count("message.suppressed") == 2
