"""JSON request bodies and their validation errors, for the API and the intake webhooks: the
body read as a JSON object or a pydantic model, a list's ?limit=, and BadRequest, answered as
JSON naming each bad field."""

import json

from flask import request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from followup.cases import CaseError
from followup.extensions import db
from followup.models.base import row_id
from followup.web.errors import json_error

BODY_ERRORS = {
    400: ("Malformed JSON", None),
    413: ("Payload too large", None),
    422: ("A field is missing or invalid; `fields` names each one", None),
}


MAX_LIMIT = 500
# The ?limit= of the API's lists, as the OpenAPI document describes it.
LIMIT = (
    f"at most this many (1-{MAX_LIMIT}, default 100)",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
)


class BadRequest(Exception):
    def __init__(self, status: int, error: str, message: str, fields=None):
        self.status, self.error, self.message, self.fields = status, error, message, fields


def bad_request(error: BadRequest):
    db.session.rollback()
    return json_error(error.status, error.error, error.message, error.fields)


def conflict(error: IntegrityError):
    """Another request wrote the same case or customer (a unique id) at the same moment and
    committed first: the sender sends it again (it then finds what the other one wrote)."""
    db.session.rollback()
    message = "another request wrote the same case or customer at the same moment; send it again"
    return json_error(409, "conflict", message)


def case_error(error: CaseError):
    db.session.rollback()
    if error.field:
        fields = [{"field": error.field, "problem": error.message}]
        return json_error(422, "validation_failed", f"{error.field}: {error.message}", fields)
    return json_error(409, "conflict", error.message)


def row_or_404(model, raw_id: str, what: str):
    """The row whose id a path gives, else a 404 JSON naming it (an id that is not a number,
    or beyond the integer columns' range, is simply not there)."""
    ident = row_id(raw_id)
    row = db.session.get(model, ident) if ident else None
    if row is None:
        raise BadRequest(404, "not_found", f"no {what} {raw_id!r}")
    return row


def limit_arg() -> int:
    """A list's ?limit=: a whole number from 1 to MAX_LIMIT (100 when absent), else a 422."""
    raw = request.args.get("limit", "100")
    # Bounded before int(): a number of thousands of digits is past Python's conversion limit.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(
            422, "validation_failed", f"limit must be a whole number from 1 to {MAX_LIMIT}"
        )
    return int(raw)


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
    except RecursionError:  # the decoder gives up near a thousand levels of nesting
        raise BadRequest(400, "malformed_json", "the body's JSON is nested too deep") from None
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
