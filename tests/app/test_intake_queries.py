"""What the intake API and the survey page cost in database round trips (counted with a
SQLAlchemy event listener, never timed): a create, a close, a case GET and the survey page each
issue a fixed, small number of statements whatever the case holds; an API key's "last used" is
written at most once a minute; the OpenAPI document is built once per process; the survey
page's faster widgets make exactly the markup WTForms' make."""

import re

import pytest
import sqlalchemy as sa
from markupsafe import Markup
from wtforms.widgets import html_params as wtforms_html_params

from followup.api import openapi
from followup.api_keys import create_api_key
from followup.extensions import db
from followup.models import ApiKey, OrganisationSettings
from followup.models.users import ApiScope
from followup.organisation import forget
from followup.web.forms import html_params as fast_html_params
from tests.support.cases import API_CASE, CASE, close
from tests.support.images import png
from tests.support.links import link_tokens
from tests.support.statements import statements

# A create: the key, the case, the customer (by identity, email or phone, in one) and its
# opt-outs; the INSERTs of both, of the customer's identity and of the timeline's line.
CREATE_MAX = 8
# A close: the key, the case with its customer and cadence, the risk's read (the customer's
# earlier answers, recoveries and opt-outs, the case's reopens and the active risk model, in
# one), the cadences, the incidents in force, the UPDATE, the exclusions, the frequency cap,
# the opt-outs, the steps and the plan it answers; then its INSERTs (the messages in one on
# PostgreSQL, one each on SQLite, and the timeline's line).
CLOSE_MAX_NOT_INSERTS = 11
GET_MAX = 7
# The survey page: its invitation with everything it shows, and the organisation's settings
# (brand and languages) by primary key.
SURVEY_PAGE_MAX = 2


@pytest.fixture
def intake_auth(seeded):
    _, key = create_api_key("helpdesk", ApiScope.INTAKE)
    db.session.commit()
    return {"Authorization": f"Bearer {key}"}


def _warm(client, auth) -> None:
    """A first request: the key's "last used" is written now, not in the counted requests."""
    client.get("/api/v1/cases/NOPE", headers=auth)


def test_a_create_issues_a_fixed_number_of_statements(client, intake_auth):
    _warm(client, intake_auth)
    for number in range(3):
        body = {**API_CASE, "external_id": f"Q-{number}",
                "customer": {**API_CASE["customer"], "external_id": f"q-{number}"}}  # fmt: skip
        with statements() as issued:
            response = client.post("/api/v1/cases", json=body, headers=intake_auth)
        assert response.status_code == 201, response.json
        assert len(issued) <= CREATE_MAX, issued
        assert response.json["case"]["external_id"] == f"Q-{number}"
        assert response.json["customer"]["email_opted_out"] is False


def test_a_close_issues_a_fixed_number_of_statements(client, intake_auth):
    _warm(client, intake_auth)
    assert client.post("/api/v1/cases", json=CASE, headers=intake_auth).status_code == 201
    with statements() as issued:
        response = client.post("/api/v1/cases/O-1/close", headers=intake_auth)
    assert response.status_code == 202, response.json
    inserts = [s for s in issued if s.lstrip().upper().startswith("INSERT")]
    assert len(issued) - len(inserts) <= CLOSE_MAX_NOT_INSERTS, issued
    assert len(inserts) <= len(response.json["messages"]) + 1, inserts
    assert response.json["case"]["status"] == "closed"
    assert response.json["case"]["round"] == 1
    assert response.json["case"]["cadence"] == "Standard"
    steps = [m["step"] for m in response.json["messages"]]
    assert len(steps) >= 3 and all(steps), steps
    # Closing again plans nothing new and answers the same plan.
    again = client.post("/api/v1/cases/O-1/close", headers=intake_auth)
    assert again.status_code == 200
    assert again.json["messages"] == response.json["messages"]


def test_a_case_get_issues_a_fixed_number_of_statements_however_many_messages(
    client, seeded, intake_auth
):
    auth = seeded["auth"]
    _warm(client, auth)
    assert close(client, intake_auth).status_code == 202
    with statements() as issued:
        response = client.get("/api/v1/cases/O-1", headers=auth)
    assert response.status_code == 200
    assert len(response.json["messages"]) >= 3
    assert all(message["step"] for message in response.json["messages"])
    assert len(issued) <= GET_MAX, issued


def test_the_survey_page_is_two_statements(client, seeded):
    token = link_tokens(client, seeded["auth"])["survey"]
    with statements() as issued:
        page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "Broken &lt;b&gt;kettle&lt;/b&gt;" in page.text
    assert len(issued) <= SURVEY_PAGE_MAX, issued


def test_the_survey_page_never_reads_the_logo_bytes(client, seeded):
    db.session.add(OrganisationSettings(
        id=1, default_language="en", languages=[], sender_name="", accent_colour="",
        logo=png(240, 80), logo_type="image/png", logo_width=240, logo_height=80,
        footer_address="", privacy_url="",
    ))  # fmt: skip
    db.session.commit()
    forget()
    token = link_tokens(client, seeded["auth"])["survey"]
    with statements() as issued:
        page = client.get(f"/s/{token}")
    assert page.status_code == 200 and 'src="/brand/logo?v=' in page.text
    assert not [s for s in issued if re.search(r"organisation_settings\.logo\b", s)], issued


def test_last_used_is_written_at_most_once_a_minute(client, seeded):
    auth = seeded["auth"]
    for _ in range(3):
        with statements() as issued:
            assert client.get("/api/v1/cases/NOPE", headers=auth).status_code == 404
        writes = [s for s in issued if s.lstrip().upper().startswith("UPDATE API_KEYS")]
        assert len(writes) <= 1
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == "tests"))
    assert key.last_used_at is not None
    with statements() as issued:
        assert client.get("/api/v1/cases/NOPE", headers=auth).status_code == 404
    assert not [s for s in issued if s.lstrip().upper().startswith("UPDATE")], issued


def test_the_openapi_document_is_built_once_per_process(client, monkeypatch):
    built = []
    real = openapi.document

    def counting():
        built.append(1)
        return real()

    monkeypatch.setattr(openapi, "document", counting)
    openapi.document_json.cache_clear()
    try:
        answers = [client.get("/api/v1/openapi.json") for _ in range(3)]
    finally:
        openapi.document_json.cache_clear()
    assert len(built) == 1
    assert all(a.status_code == 200 and a.mimetype == "application/json" for a in answers)
    assert answers[0].json == real()
    assert {a.data for a in answers} == {answers[0].data}


@pytest.mark.parametrize(
    "attributes",
    [
        {"id": "score-0", "name": "score", "type": "radio", "value": 1, "checked": True},
        {"id": "r-1", "name": "reasons", "type": "checkbox", "value": "late", "checked": False,
         "required": True},
        {"class_": "a b", "data_x_y": "<b>\"'&", "aria_described_by": "x-hint", "for_": "x"},
        {"value": Markup('<i>"quoted"</i>'), "title": None, "rows": 4, "data_n": 0},
        {"value": "ünï ☃ \x00", "name": "answers"},
        {"value": 'say "hi" & <go>', "rows": -4, "cols": 0, "disabled": True, "x": 2.5},
    ],
)  # fmt: skip
def test_the_survey_widgets_render_exactly_as_wtforms(attributes):
    assert fast_html_params(**attributes) == wtforms_html_params(**attributes)
    assert isinstance(fast_html_params(**attributes), Markup)
