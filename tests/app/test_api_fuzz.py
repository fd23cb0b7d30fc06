"""The API against its own OpenAPI document: for every operation, schemathesis sends requests
the document calls valid; none is refused, none gets a 5xx, and each answer has a documented
status and the documented shape. The fixture gives it a key and the rows the paths name."""

import phonenumbers
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from followup.api.openapi import OPERATIONS
from followup.extensions import db
from followup.incidents import declare
from followup.models import Alert, RecoveryTask
from followup.models.base import utcnow
from followup.models.recovery import AlertKind
from followup.outbound import raise_alert
from tests.support.cases import API_CASE

# The document's "phone" format: a number valid in its country's numbering plan, in the
# international forms people write (+44 20 7946 0958) or E.164.
_FORMS = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
schemathesis.openapi.format(
    "phone",
    st.builds(
        phonenumbers.format_number,
        st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS))
        .map(phonenumbers.example_number)
        .filter(lambda number: number is not None),
        st.sampled_from(_FORMS),
    ),
)

CHECKS = [
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
    response_schema_conformance,
]


def unknown_cadence(response) -> bool:
    """Closing with a cadence name no cadence has: which names exist is data the document
    cannot enumerate; the refusal is the 422 the operation lists, in its documented shape."""
    body = response.json() if response.status_code == 422 else {}
    fields = body.get("fields") or [{}]
    return [f.get("field") for f in fields] == ["cadence"] and fields[0]["problem"].startswith(
        "no cadence named"
    )


def incident_data(response) -> bool:
    """Declaring an incident whose window is not one a person means (bounds relative to now,
    an end after the start) or whose apology cadence id no cadence has: data the document
    states in words only; the refusal is the 422 naming those fields."""
    body = response.json() if response.status_code == 422 else {}
    named = {f.get("field") for f in body.get("fields") or [{}]}
    return bool(named) and named <= {"starts_at", "ends_at", "apology_cadence_id"}


def unknown_root_cause(response) -> bool:
    """A root cause key the list does not hold (the document states the key's form; which
    keys exist is data), or a task's root cause note without a cause (stated in words): the
    refusal is the 422 naming root_cause."""
    body = response.json() if response.status_code == 422 else {}
    fields = body.get("fields") or [{}]
    return [f.get("field") for f in fields] == ["root_cause"] and fields[0]["problem"].startswith(
        ("no root cause", "choose the root cause")
    )


LABELS = [f"{op.method.upper()} {op.path}" for op in OPERATIONS]


@pytest.fixture
def api(app, client, seeded, negative_answer):
    """The app's own document, and a row that exists for each path parameter."""
    assert client.post("/api/v1/cases", json=API_CASE, headers=seeded["auth"]).status_code == 201
    recovery = negative_answer(priority="urgent")
    raise_alert("fuzz", "lead", AlertKind.RECOVERY_STARTED, "Fuzz", "", recovery.case_id, utcnow())
    db.session.commit()
    task = db.session.scalar(sa.select(RecoveryTask.id).limit(1))
    alert = db.session.scalar(sa.select(Alert.id).limit(1))
    incident = declare("Fuzz outage", None, None, {"tags": ["fuzz"]}, None, utcnow())
    db.session.commit()
    assert task and alert
    rows = {
        "external_id": API_CASE["external_id"],
        "key": "discount-10",
        "task_id": str(task),
        "alert_id": str(alert),
        "recovery_id": str(recovery.id),
        "incident_id": str(incident.id),
    }
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), rows


@pytest.mark.parametrize("label", LABELS)
def test_what_the_document_calls_valid_is_taken(api, seeded, label):
    schema, rows = api
    operation = schema.find_operation_by_label(label)
    names = {p.name for p in operation.path_parameters}
    strategy = operation.as_strategy(
        path_parameters={name: rows[name] for name in names}, headers=seeded["auth"]
    )

    @given(case=strategy)
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    def call(case):
        response = case.call()
        checks = CHECKS
        if (
            (label.endswith("/close") and unknown_cadence(response))
            or (label == "POST /api/v1/incidents" and incident_data(response))
            or unknown_root_cause(response)
        ):
            checks = [check for check in CHECKS if check is not positive_data_acceptance]
        case.validate_response(response, checks=checks)

    call()
