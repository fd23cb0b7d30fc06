"""The OpenAPI document, generated from the routes' declared operations and pydantic models;
an operation's declaration also sets the API key scope its view needs."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from followup.api.schemas import ErrorOut
from followup.models.users import ApiScope

SCOPES = (
    "An API key as `Authorization: Bearer <key>`. Each key has a scope: `intake` creates, "
    "closes and reopens cases (and takes the helpdesk webhooks), `read` reads (every GET but "
    "the incidents'), `incidents` declares, reads and ends incidents (a status page tool), "
    "`full` does everything. Each operation names the scope it needs; a key without it gets "
    "a 403, a missing, unknown or revoked key a 401."
)


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/cases/{external_id}
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    scope: ApiScope | None  # the key's scope it needs; None: no key
    body_required: bool = True
    params: list[str] = field(default_factory=list)
    query: dict[str, tuple[str, dict]] = field(default_factory=dict)  # name: description, schema
    csv_body: dict | None = None  # the schema of a text/csv upload instead of a JSON body


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, summary: str, responses: dict, scope: ApiScope | None,
              body=None, body_required=True, query=None, csv_body=None) -> Callable:  # fmt: skip
    """Declare a route's contract next to it; the document lists exactly these, and the view
    needs an API key of `scope` (None: no key; a view declaring none needs full). `query`
    maps each query parameter to its description and JSON schema, made from the values the
    view checks (one_of); `csv_body` is the schema of a text/csv body."""
    params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    OPERATIONS.append(
        Operation(
            method.lower(),
            path,
            summary,
            body,
            responses,
            scope,
            body_required,
            params,
            query or {},
            csv_body,
        )  # fmt: skip
    )

    def declare(view):
        view.api_scope = scope
        return view

    return declare


def one_of(values, default: str | None = None) -> dict:
    """The JSON schema of a query parameter that takes one of these values."""
    schema = {"type": "string", "enum": list(values)}
    return schema if default is None else schema | {"default": default}


@cache
def document_json() -> str:
    """The document as JSON, built once per process (about 20 ms of pydantic schema work): the
    operations are all declared when the routes are imported and never change after."""
    return json.dumps(document(), sort_keys=True, separators=(",", ":")) + "\n"


def document() -> dict:
    models = {
        m for op in OPERATIONS for m in [op.body, *(r[1] for r in op.responses.values())] if m
    }
    models.add(ErrorOut)
    refs, schema = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model):
        return refs[(model, "serialization")]

    components = schema.get("$defs", {})
    for body in {op.body for op in OPERATIONS if op.body}:
        _without_nul(ref(body), components)

    paths: dict = {}
    for op in OPERATIONS:
        entry = {"summary": op.summary, "responses": {}}
        parameters = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in op.params
        ] + [
            {"name": name, "in": "query", "required": False, "description": description,
             "schema": query_schema}
            for name, (description, query_schema) in op.query.items()
        ]  # fmt: skip
        if parameters:
            entry["parameters"] = parameters
        if op.csv_body:
            entry["requestBody"] = {
                "required": True,
                "content": {"text/csv": {"schema": op.csv_body}},
            }
        if op.body:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        if op.scope:
            needs = "full" if op.scope == ApiScope.FULL else f"{op.scope} or full"
            entry["description"] = f"Needs an API key of scope {needs}."
            entry["security"] = [{"bearer": [str(op.scope)]}]
        for status, (description, model) in sorted(op.responses.items()):
            response = {"description": description}
            model = model or (ErrorOut if status >= 400 else None)
            if model:
                response["content"] = {"application/json": {"schema": ref(model)}}
            entry["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "followup API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": SCOPES}
            },
        },
    }


def _without_nul(schema, components: dict) -> None:
    """read_json refuses a string holding a NUL character (no column keeps one): each string
    of a JSON request body says so, through the components it refers to."""
    if isinstance(schema, list):
        for item in schema:
            _without_nul(item, components)
    elif isinstance(schema, dict):
        if "$ref" in schema:
            _without_nul(components[schema["$ref"].rsplit("/", 1)[1]], components)
        for value in schema.values():
            _without_nul(value, components)
        if schema.get("type") == "string" and "enum" not in schema:
            nul = {"pattern": r"\x00"}
            schema["not"] = {"anyOf": [schema["not"], nul]} if "not" in schema else nul
