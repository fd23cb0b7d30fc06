"""Hostile and malformed input on the JSON API (its schema fuzz is tests/app/test_api_fuzz.py;
the public pages and webhooks are swept in test_public_routes_hostile.py): odd case ids in
paths, hostile strings in case fields, wrong content types and methods. A clear 4xx, never a
500."""

import pytest

from tests.support.cases import API_CASE
from tests.support.hostile import PATH_SEGMENTS, STRINGS

FIELD_STRINGS = ["nul", "control", "lone_surrogate", "script", "emoji", "long_10k"]


def test_odd_case_ids_in_paths(client, seeded):
    auth = seeded["auth"]
    for name, external_id in PATH_SEGMENTS.items():
        for method, suffix in (("get", ""), ("post", "/close"), ("post", "/reopen")):
            path = f"/api/v1/cases/{external_id}{suffix}"
            response = getattr(client, method)(path, headers=auth)
            assert response.status_code in (400, 404), (name, method, suffix, response.status_code)
            assert response.is_json


@pytest.mark.parametrize("field", ["subject", "team", "tags"])
@pytest.mark.parametrize("name", FIELD_STRINGS)
def test_hostile_strings_in_case_fields(client, seeded, name, field):
    value = [STRINGS[name]] if field == "tags" else STRINGS[name]
    response = client.post("/api/v1/cases", json={**API_CASE, field: value}, headers=seeded["auth"])
    assert response.status_code in (201, 422), response.json
    if response.status_code == 201 and field == "subject":
        assert response.json["case"]["subject"] == value


def test_non_json_content_types_and_methods(client, seeded):
    auth = seeded["auth"]
    form = client.post("/api/v1/cases", data={"external_id": "x"}, headers=auth)
    assert form.status_code == 400 and form.is_json
    assert client.put("/api/v1/cases", json=API_CASE, headers=auth).status_code == 405
    assert client.get("/api/v1/cases", headers=auth).status_code == 405
    assert client.get("/nothing/here").status_code == 404


def test_odd_customer_ids_in_paths(client, seeded):
    auth = seeded["auth"]
    for name, external_id in PATH_SEGMENTS.items():
        for method, suffix in (("get", "/export"), ("delete", "")):
            response = getattr(client, method)(
                f"/api/v1/customers/{external_id}{suffix}", headers=auth
            )
            assert response.status_code in (400, 404), (name, method, response.status_code)
            assert response.is_json
