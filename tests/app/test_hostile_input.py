"""Hostile and malformed input on every public route: a clear 4xx, never a 500."""

import pytest

from tests.support.cases import API_CASE

ODD_IDS = ["a%00b", "%C0%AF", "x" * 5000, "%F0%9F%92%A9", "..%2F..%2Fetc", "' OR 1=1 --"]


@pytest.mark.parametrize("external_id", ODD_IDS)
def test_odd_case_ids_in_paths(client, seeded, external_id):
    auth = seeded["auth"]
    for method, suffix in (("get", ""), ("post", "/close"), ("post", "/reopen")):
        response = getattr(client, method)(f"/api/v1/cases/{external_id}{suffix}", headers=auth)
        assert response.status_code in (400, 404), (method, suffix, response.status_code)
        assert response.is_json


@pytest.mark.parametrize("token", ODD_IDS + ["%00", "a" * 101])
def test_odd_survey_tokens(client, token):
    assert client.get(f"/s/{token}").status_code == 404
    assert client.get(f"/s/{token}/thanks").status_code == 404
    assert client.post(f"/s/{token}", data={"score": "5"}).status_code in (400, 404)


@pytest.mark.parametrize(
    "field, value",
    [
        ("subject", "nul\x00byte"),
        ("subject", "<script>alert(1)</script>"),
        ("team", "\ud800"),
        ("tags", ["a\x00"]),
    ],
)
def test_hostile_strings_in_case_fields(client, seeded, field, value):
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
