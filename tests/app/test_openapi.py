"""The OpenAPI document states what the API enforces: what it enumerates or constrains is
exactly what the views accept, and what it calls valid is not refused."""

import re
from zoneinfo import available_timezones

import pytest

from tests.support.cases import API_CASE

GOOD_CSV = ["A1", "A1\nB2\n", "code\nA1\r\nB2", "CODE\ncode", "x" * 100, "ñandú 10 €"]
BAD_CSV = ["", "\n", "code", "Code\n", " code ", "A1\n\x01B", "x" * 101, "A\x00", "\ufeff"]


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


def query_schema(document, path: str, name: str) -> dict:
    parameters = document["paths"][path]["get"]["parameters"]
    return next(p["schema"] for p in parameters if p["name"] == name)


def test_the_recovery_queue_status_is_one_of_those_it_takes(client, seeded, document):
    schema = query_schema(document, "/api/v1/recoveries", "status")
    assert schema["enum"] == [
        "open", "recovered", "escalated", "withdrawn", "needs_root_cause", "all"]  # fmt: skip
    for status in schema["enum"]:
        response = client.get(f"/api/v1/recoveries?status={status}", headers=seeded["auth"])
        assert response.status_code == 200, status
    refused = client.get("/api/v1/recoveries?status=closed", headers=seeded["auth"])
    assert refused.status_code == 422


def test_the_alerts_audience_is_one_of_those_it_takes(client, seeded, document):
    schema = query_schema(document, "/api/v1/alerts", "audience")
    assert schema["enum"] == ["lead", "manager"]
    for audience in schema["enum"]:
        response = client.get(f"/api/v1/alerts?audience={audience}", headers=seeded["auth"])
        assert response.status_code == 200, audience
    assert client.get("/api/v1/alerts?audience=agent", headers=seeded["auth"]).status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/recoveries", "/api/v1/alerts"])
def test_limit_is_a_whole_number_in_its_range(client, seeded, document, path):
    schema = query_schema(document, path, "limit")
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, 500)
    for limit, status in [(1, 200), (500, 200), (0, 422), (501, 422)]:
        response = client.get(f"{path}?limit={limit}", headers=seeded["auth"])
        assert response.status_code == status, limit


def test_time_zones_are_those_of_the_zone_database(client, seeded, document):
    schemas = document["components"]["schemas"]
    for model in ("CaseIn", "CustomerIn"):
        timezone = schemas[model]["properties"]["timezone"]["anyOf"][0]
        assert set(timezone["enum"]) == available_timezones(), model
    auth = seeded["auth"]
    for external_id, zone in [("TZ-1", "Pacific/Chatham"), ("TZ-2", "America/Argentina/Salta")]:
        body = {**API_CASE, "external_id": external_id, "timezone": zone}
        body["customer"] = {**API_CASE["customer"], "timezone": zone}
        response = client.post("/api/v1/cases", json=body, headers=auth)
        assert response.status_code == 201, zone
    refused = client.post("/api/v1/cases", json={**API_CASE, "timezone": "Mars/Olympus"},
                          headers=auth)  # fmt: skip
    assert refused.status_code == 422


def csv_is_valid(schema: dict, body: str) -> bool:
    return re.search(schema["pattern"], body) is not None and not re.search(
        schema["not"]["pattern"], body
    )


def test_the_codes_upload_states_the_csv_it_takes(client, seeded, document):
    body = document["paths"]["/api/v1/goodwill/{key}/codes"]["post"]["requestBody"]
    schema = body["content"]["text/csv"]["schema"]
    auth = {**seeded["auth"], "Content-Type": "text/csv"}
    for csv in GOOD_CSV:
        assert csv_is_valid(schema, csv), csv
        response = client.post("/api/v1/goodwill/discount-10/codes", data=csv, headers=auth)
        assert response.status_code == 200, csv
    for csv in BAD_CSV:
        assert not csv_is_valid(schema, csv), csv
        response = client.post("/api/v1/goodwill/discount-10/codes", data=csv, headers=auth)
        assert response.status_code == 422, csv


def test_a_code_longer_than_a_csv_field_is_refused_not_a_server_error(client, seeded):
    auth = {**seeded["auth"], "Content-Type": "text/csv"}
    response = client.post("/api/v1/goodwill/discount-10/codes", data="x" * 200_000, headers=auth)
    assert response.status_code == 422


def matches(schema: dict, value: str) -> bool:
    """A string against a schema's pattern and its `not` patterns (as the document states)."""
    refused = schema.get("not", {})
    return re.search(schema["pattern"], value) is not None and not any(
        re.search(p["pattern"], value) for p in refused.get("anyOf", [refused])
    )


def test_a_new_case_states_its_customer_and_an_address(document):
    schemas = document["components"]["schemas"]
    assert "customer" in schemas["CaseIn"]["required"]
    assert [branch["required"] for branch in schemas["CustomerIn"]["anyOf"]] == [
        ["email"],
        ["phone"],
    ]


def test_emails_phones_and_filled_texts_as_the_api_takes_them(client, seeded, document):
    customer = document["components"]["schemas"]["CustomerIn"]["properties"]
    email, phone = customer["email"]["anyOf"][0], customer["phone"]["anyOf"][0]
    tag = customer["tags"]["anyOf"][0]["items"]
    assert phone["format"] == "phone"
    for value, valid in [("ana@example.com", True), ("ana@shop.test", False),
                         ("ana@SHOP.LOCAL", False), ("ana@[10.0.0.1]", False)]:  # fmt: skip
        assert matches(email, value) is valid, value
        body = {**API_CASE, "customer": {"email": value}}
        assert (client.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code
                in ((200, 201) if valid else (422,))), value  # fmt: skip
    for value, valid in [("vip", True), (" vip ", True), ("\n", False), ("\x85", False)]:
        assert matches(tag, value) is valid, repr(value)
        body = {**API_CASE, "tags": [value], "source_channel": value}
        assert (client.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code
                in ((200, 201) if valid else (422,))), repr(value)  # fmt: skip


def test_a_blank_customer_id_is_no_id_not_a_server_error(client, seeded):
    for n in (1, 2):
        body = {
            "external_id": f"BLANK-{n}",
            "customer": {"external_id": " ", "email": f"b{n}@x.io"},
        }
        assert client.post("/api/v1/cases", json=body, headers=seeded["auth"]).status_code == 201
