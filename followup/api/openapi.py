"""The OpenAPI document, generated from the routes' declared operations and pydantic models."""

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from followup.api.schemas import ErrorOut


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/cases/{external_id}
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    auth: bool = True
    body_required: bool = True
    params: list[str] = field(default_factory=list)


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, summary: str, responses: dict, body=None, auth=True,
              body_required=True) -> Callable:  # fmt: skip
    """Declare a route's contract next to it; the document lists exactly these."""
    params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    OPERATIONS.append(
        Operation(method.lower(), path, summary, body, responses, auth, body_required, params)
    )
    return lambda view: view


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

    paths: dict = {}
    for op in OPERATIONS:
        entry = {"summary": op.summary, "responses": {}}
        if op.params:
            entry["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in op.params
            ]
        if op.body:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        if op.auth:
            entry["security"] = [{"bearer": []}]
        for status, (description, model) in sorted(op.responses.items()):
            response = {"description": description}
            model = model or (ErrorOut if status >= 400 else None)
            if model:
                response["content"] = {"application/json": {"schema": ref(model)}}
            entry["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "followup intake API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
