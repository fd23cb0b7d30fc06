"""Intake API views: parse and validate, call the case operations, commit, answer JSON."""

import json
import re

import sqlalchemy as sa
from flask import jsonify, request
from pydantic import BaseModel, ValidationError

from followup.api import bp
from followup.api.auth import authenticate
from followup.api.openapi import document, operation
from followup.api.schemas import (
    EXTERNAL_ID_PATTERN,
    CaseDocument,
    CaseIn,
    CloseIn,
    ClosePlan,
    ReopenResult,
)
from followup.cases import (
    CaseError,
    case_document,
    close_case,
    current_plan,
    reopen_case,
    upsert_case,
)
from followup.errors import json_error
from followup.extensions import csrf, db
from followup.models import Case
from followup.models.base import utcnow

csrf.exempt(bp)

AUTH_ERRORS = {401: ("Missing or unknown API key", None)}
CASE_ERRORS = {**AUTH_ERRORS, 404: ("No case with that external id", None)}
BODY_ERRORS = {
    400: ("Malformed JSON", None),
    413: ("Payload too large", None),
    422: ("A field is missing or invalid; `fields` names each one", None),
}


class BadRequest(Exception):
    def __init__(self, status: int, error: str, message: str, fields=None):
        self.status, self.error, self.message, self.fields = status, error, message, fields


@bp.errorhandler(BadRequest)
def bad_request(error: BadRequest):
    db.session.rollback()
    return json_error(error.status, error.error, error.message, error.fields)


@bp.errorhandler(CaseError)
def case_error(error: CaseError):
    db.session.rollback()
    if error.field:
        fields = [{"field": error.field, "problem": error.message}]
        return json_error(422, "validation_failed", f"{error.field}: {error.message}", fields)
    return json_error(409, "conflict", error.message)


@bp.before_request
def require_api_key():
    """Every view but the OpenAPI document needs an API key."""
    return None if request.endpoint == "api.openapi" else authenticate()


def parse_body(model: type[BaseModel], required: bool = True) -> BaseModel:
    """The request body as `model` (an empty one when the body is empty and not required)."""
    data = read_json(required)
    return model() if data is None else validated(model, data)


def read_json(required: bool = True) -> dict | None:
    """The request body's JSON object (None when empty and not required): 400 when it is no
    JSON object, 422 when a string in it holds a NUL character."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise BadRequest(400, "malformed_json", "the request body must be a JSON object")
        return None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(400, "malformed_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "malformed_json", "the request body must be a JSON object")
    for path in _nul_paths(data):
        problem = {"field": path, "problem": "contains a NUL character"}
        raise BadRequest(422, "validation_failed", f"{path}: contains a NUL character", [problem])
    return data


def validated(model: type[BaseModel], data: dict, where: dict[str, str] | None = None) -> BaseModel:
    """`data` as `model`, else 422 naming each bad field; `where` maps the model's field paths
    to where the sender put them (a webhook's own shape)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [
            {
                "field": _sender_path([str(part) for part in problem["loc"]], where or {}),
                "problem": problem["msg"].removeprefix("Value error, "),
            }
            for problem in error.errors(include_url=False, include_input=False)
        ]
        raise invalid(fields) from None


def invalid(fields: list[dict]) -> BadRequest:
    """The 422 for these field problems ({"field", "problem"} each)."""
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    return BadRequest(422, "validation_failed", summary, fields)


def _sender_path(parts: list[str], where: dict[str, str]) -> str:
    """A field's path as the sender wrote it: the longest mapped head of the model's path."""
    for end in range(len(parts), 0, -1):
        head = ".".join(parts[:end])
        if head in where:
            return ".".join([where[head], *parts[end:]])
    return ".".join(parts) or "body"


def _nul_paths(value, path: str = ""):
    """Where a NUL character hides in decoded JSON (no database column can keep one)."""
    if isinstance(value, str) and "\x00" in value:
        yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}")


def find_case(external_id: str) -> Case:
    case = None
    if re.match(EXTERNAL_ID_PATTERN, external_id):
        case = db.session.scalar(sa.select(Case).where(Case.external_id == external_id))
    if case is None:
        raise BadRequest(404, "not_found", f"no case with external id {external_id!r}")
    return case


@operation("post", "/api/v1/cases", "Create or update a case and its customer", body=CaseIn,
           responses={200: ("Updated", CaseDocument), 201: ("Created", CaseDocument),
                      **AUTH_ERRORS, **BODY_ERRORS})  # fmt: skip
@bp.post("/cases")
def upsert():
    data = parse_body(CaseIn)
    case, created = upsert_case(data.model_dump(exclude_unset=True))
    db.session.commit()
    return jsonify(case_document(case)), 201 if created else 200


@operation("get", "/api/v1/cases/{external_id}",
           "The case, its customer, every message, every response and the timeline",
           responses={200: ("The case document", CaseDocument), **CASE_ERRORS})  # fmt: skip
@bp.get("/cases/<external_id>")
def show(external_id: str):
    return jsonify(case_document(find_case(external_id)))


@operation("post", "/api/v1/cases/{external_id}/close",
           "Close the case and plan its follow-ups (closing a closed case plans nothing new)",
           body=CloseIn, body_required=False,
           responses={200: ("Already closed: the existing plan", ClosePlan),
                      202: ("Closed: follow-ups planned", ClosePlan),
                      **CASE_ERRORS, **BODY_ERRORS})  # fmt: skip
@bp.post("/cases/<external_id>/close")
def close(external_id: str):
    case = find_case(external_id)
    data = parse_body(CloseIn, required=False)
    planned = close_case(case, data.cadence, utcnow())
    db.session.commit()
    body = {
        "case": case.to_dict(),
        "planned": planned,
        "messages": [m.to_dict() for m in current_plan(case)],
    }
    return jsonify(body), 202 if planned else 200


@operation("post", "/api/v1/cases/{external_id}/reopen",
           "Reopen the case and cancel its pending follow-ups",
           responses={200: ("Reopened", ReopenResult), 409: ("The case is not closed", None),
                      **CASE_ERRORS})  # fmt: skip
@bp.post("/cases/<external_id>/reopen")
def reopen(external_id: str):
    case = find_case(external_id)
    cancelled = reopen_case(case, utcnow())
    db.session.commit()
    return jsonify({"case": case.to_dict(), "cancelled": cancelled})


@operation("get", "/api/v1/openapi.json", "This document", auth=False,
           responses={200: ("The OpenAPI 3.1 document", None)})  # fmt: skip
@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
