"""Intake API views: parse and validate, call the case operations, commit, answer JSON. Each
view needs the API key scope its operation declares (followup.api.openapi)."""

import re

import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from followup.api import bp
from followup.api.documents import case_document
from followup.api.openapi import document_json, operation
from followup.api.schemas import CaseDocument, CloseIn, ClosePlan, ReopenResult
from followup.cases import (
    CaseError,
    close_case,
    current_plan,
    reopen_case,
    upsert_case,
)
from followup.extensions import csrf, db
from followup.models import Case
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.web.api_keys import AUTH_ERRORS, authenticate
from followup.web.case_input import EXTERNAL_ID_PATTERN, CaseIn
from followup.web.json_body import (
    BODY_ERRORS,
    BadRequest,
    bad_request,
    case_error,
    conflict,
    parse_body,
)

csrf.exempt(bp)
bp.register_error_handler(BadRequest, bad_request)
bp.register_error_handler(CaseError, case_error)
bp.register_error_handler(IntegrityError, conflict)

CASE_ERRORS = {**AUTH_ERRORS, 404: ("No case with that external id", None)}


@bp.before_request
def require_api_key():
    """Each view needs a key of the scope its operation declares: full when it declares none,
    no key for the OpenAPI document."""
    view = current_app.view_functions.get(request.endpoint or "")
    scope = getattr(view, "api_scope", ApiScope.FULL)
    return None if scope is None else authenticate(scope)


def find_case(external_id: str) -> Case:
    case = None
    if re.match(EXTERNAL_ID_PATTERN, external_id):
        case = db.session.scalar(
            sa.select(Case)
            .options(joinedload(Case.customer), joinedload(Case.cadence))
            .where(Case.external_id == external_id)
        )
    if case is None:
        raise BadRequest(404, "not_found", f"no case with external id {external_id!r}")
    return case


@operation("post", "/api/v1/cases",
           "Create or update a case and its customer (its messages, responses, recoveries and "
           "timeline only for a key that may read)", body=CaseIn, scope=ApiScope.INTAKE,
           responses={200: ("Updated", CaseDocument), 201: ("Created", CaseDocument),
                      **AUTH_ERRORS, **BODY_ERRORS,
                      409: ("Another request wrote the same case or customer at the same "
                            "moment; send it again", None)})  # fmt: skip
@bp.post("/cases")
def upsert():
    data = parse_body(CaseIn)
    case, created = upsert_case(data.model_dump(exclude_unset=True))
    # The answer is read before the commit, which would expire every row it shows (and the
    # key) and read each again: what the transaction wrote is what it commits.
    if g.api_key.allows(ApiScope.READ):
        document = case_document(case)
    else:
        document = {"case": case.to_dict(), "customer": case.customer.to_dict()}
    db.session.commit()
    return jsonify(document), 201 if created else 200


@operation("get", "/api/v1/cases/{external_id}",
           "The case, its customer, every message, every response and the timeline",
           scope=ApiScope.READ,
           responses={200: ("The case document", CaseDocument), **CASE_ERRORS})  # fmt: skip
@bp.get("/cases/<external_id>")
def show(external_id: str):
    return jsonify(case_document(find_case(external_id)))


@operation("post", "/api/v1/cases/{external_id}/close",
           "Close the case and plan its follow-ups (closing a closed case plans nothing new)",
           body=CloseIn, body_required=False, scope=ApiScope.INTAKE,
           responses={200: ("Already closed: the existing plan", ClosePlan),
                      202: ("Closed: follow-ups planned", ClosePlan),
                      **CASE_ERRORS, **BODY_ERRORS,
                      422: ("No cadence of that name, or a field is invalid", None)})  # fmt: skip
@bp.post("/cases/<external_id>/close")
def close(external_id: str):
    case = find_case(external_id)
    data = parse_body(CloseIn, required=False)
    planned = close_case(case, data.cadence, utcnow())
    body = {  # read before the commit (see upsert)
        "case": case.to_dict(),
        "planned": planned,
        "messages": [m.to_dict() for m in current_plan(case)],
    }
    db.session.commit()
    return jsonify(body), 202 if planned else 200


@operation("post", "/api/v1/cases/{external_id}/reopen",
           "Reopen the case and cancel its pending follow-ups", scope=ApiScope.INTAKE,
           responses={200: ("Reopened", ReopenResult), 409: ("The case is not closed", None),
                      **CASE_ERRORS})  # fmt: skip
@bp.post("/cases/<external_id>/reopen")
def reopen(external_id: str):
    case = find_case(external_id)
    cancelled = reopen_case(case, utcnow())
    db.session.commit()
    return jsonify({"case": case.to_dict(), "cancelled": cancelled})


@operation("get", "/api/v1/openapi.json", "This document", scope=None,
           responses={200: ("The OpenAPI 3.1 document", None)})  # fmt: skip
@bp.get("/openapi.json")
def openapi():
    return current_app.response_class(document_json(), mimetype="application/json")
