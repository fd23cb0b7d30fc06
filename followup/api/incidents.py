"""Incident API views, for a status page tool (API key scope incidents; full covers it):
declare an incident, list them, read one, end one. Declaring and ending are audited, by the
key's name."""

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import g, jsonify, request
from pydantic import AwareDatetime, Field, StringConstraints, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from followup import incidents
from followup.api import bp
from followup.api.openapi import operation
from followup.extensions import db
from followup.incidents import IncidentError
from followup.models import Incident
from followup.models.base import MAX_ID, row_id, utcnow
from followup.models.incidents import INCIDENT_STATES
from followup.models.users import ApiScope
from followup.web.api_keys import AUTH_ERRORS
from followup.web.case_input import FILLED, Strict
from followup.web.json_body import BODY_ERRORS, LIMIT, BadRequest, invalid, limit_arg, parse_body

# The shapes (pydantic). A window's bounds relative to now (and which cadences exist) are
# data the document cannot state: the field descriptions say them, a 422 names the field.
SegmentValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=FILLED)
]
SegmentList = Annotated[list[SegmentValue], Field(max_length=50)]
ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED)
]
EXTERNAL_ID = (
    "only the incident declared with this status page id (none or one)",
    {"type": "string", "maxLength": 200},
)


class SegmentIn(Strict):
    tags: SegmentList = Field([], description="Case tags (any case); empty: any.")
    teams: SegmentList = Field([], description="Teams (any case); empty: any.")
    sources: SegmentList = Field(
        [], description="Source channels: email, chat, phone ... (any case); empty: any."
    )


class IncidentIn(Strict):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=FILLED)
    ]
    external_id: ExternalId | None = Field(
        None,
        description="The status page's own id for the incident (unique): declaring again with "
        "it answers 200 with the incident declared already (the rest of the body is not "
        "read), so a retried declaration makes one incident.",
    )
    starts_at: AwareDatetime | None = Field(
        None, description="When it started (default: now); at most 30 days ago or 366 ahead."
    )
    ends_at: AwareDatetime | None = Field(
        None,
        description="When it is planned to end, after the start and at most 90 days after it; "
        "absent: until ended (POST .../end), and at the latest 7 days after the start.",
    )
    segment: SegmentIn = Field(
        default_factory=SegmentIn,
        description="The cases it touches; each list that is set must match.",
    )
    apology_cadence_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="A current close cadence that cases closing in the incident get instead of "
        "their own (not held), when they close after the declaration (cases that closed in a "
        "backdated window before it are held, not sent the apology). Which ids exist is data: "
        "an unknown one is a 422.",
    )

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return incidents.as_utc(value)  # a moment with no UTC form: a ValueError, a 422


class SegmentOut(Strict):
    tags: list[str]
    teams: list[str]
    sources: list[str]


class CadenceRef(Strict):
    id: int
    name: str


class IncidentOut(Strict):
    id: int
    name: str
    external_id: str | None = Field(description="The status page's id for it, if given.")
    state: Literal[INCIDENT_STATES]  # type: ignore[valid-type]
    starts_at: datetime
    planned_end_at: datetime | None
    ended_at: datetime | None = Field(description="When someone ended it.")
    ends_at: datetime = Field(
        description="The window's end: the earlier of the two; without a planned end, at the "
        "latest 7 days after the start."
    )
    segment: SegmentOut
    apology_cadence: CadenceRef | None
    cases_held: int = Field(description="Cases whose surveys it held.")
    messages_held: int = Field(description="Survey messages it held (suppressed).")
    created_at: datetime
    created_by: str
    ended_by: str | None


class Incidents(Strict):
    incidents: list[IncidentOut]


INCIDENT_ERRORS = {**AUTH_ERRORS, 404: ("No such incident", None)}


def _actor() -> str:
    """Who the audit log names: the request's API key."""
    return f"API key {g.api_key.name!r}"


def _refused(error: IncidentError) -> BadRequest:
    if error.field is None:
        return BadRequest(409, "conflict", error.message)
    return invalid([{"field": error.field, "problem": error.message}])


def _find(incident_id: str) -> Incident:
    ident = row_id(incident_id)
    incident = (
        db.session.scalar(
            sa.select(Incident)
            .options(selectinload(Incident.apology_cadence))
            .where(Incident.id == ident)
        )
        if ident
        else None
    )
    if incident is None:
        raise BadRequest(404, "not_found", f"no incident {incident_id!r}")
    return incident


def _document(incident: Incident) -> dict:
    counts = incidents.hold_counts([incident.id]).get(incident.id, (0, 0))
    return incidents.document(incident, counts, utcnow())


@operation("post", "/api/v1/incidents",
           "Declare an incident: surveys of the cases closing in its window and segment are "
           "held (dropped, never sent late), or replaced by its apology cadence",
           body=IncidentIn, scope=ApiScope.INCIDENTS,
           responses={201: ("Declared", IncidentOut),
                      200: ("Declared already with this external_id", IncidentOut),
                      **AUTH_ERRORS, **BODY_ERRORS})  # fmt: skip
@bp.post("/incidents")
def incident_declare():
    data = parse_body(IncidentIn)
    if data.external_id and (known := incidents.by_external_id(data.external_id)):
        return jsonify(_document(known)), 200
    try:
        incident = incidents.declare(
            data.name,
            data.starts_at,
            data.ends_at,
            data.segment.model_dump(),
            data.apology_cadence_id,
            utcnow(),
            actor=_actor(),
            external_id=data.external_id,
        )
    except IncidentError as error:
        raise _refused(error) from None
    except IntegrityError:  # a retry raced this one with the same external_id: it won
        db.session.rollback()
        known = incidents.by_external_id(data.external_id or "")
        if known is None:
            raise
        return jsonify(_document(known)), 200
    document = _document(incident)
    db.session.commit()
    return jsonify(document), 201


@operation("get", "/api/v1/incidents",
           "Incidents, the latest start first, with what each held", scope=ApiScope.INCIDENTS,
           responses={200: ("Incidents", Incidents), **AUTH_ERRORS, 422: ("Bad filter", None)},
           query={"limit": LIMIT, "external_id": EXTERNAL_ID})  # fmt: skip
@bp.get("/incidents")
def incident_list():
    limit = limit_arg()
    external_id = request.args.get("external_id")
    if external_id is not None:  # the one declared with the status page's id, or none
        known = incidents.by_external_id(external_id)
        found = [known] if known else []
    else:
        found = incidents.listing(limit)
    counts = incidents.hold_counts(i.id for i in found)
    now = utcnow()
    return jsonify(
        {"incidents": [incidents.document(i, counts.get(i.id, (0, 0)), now) for i in found]}
    )


@operation("get", "/api/v1/incidents/{incident_id}", "One incident, with what it held",
           scope=ApiScope.INCIDENTS,
           responses={200: ("The incident", IncidentOut), **INCIDENT_ERRORS})  # fmt: skip
@bp.get("/incidents/<incident_id>")
def incident_show(incident_id: str):
    return jsonify(_document(_find(incident_id)))


@operation("post", "/api/v1/incidents/{incident_id}/end",
           "End the incident now: cases closing from now on are surveyed again (those that "
           "closed during it are not)", scope=ApiScope.INCIDENTS,
           responses={200: ("Ended", IncidentOut), **INCIDENT_ERRORS,
                      409: ("The incident has ended already", None)})  # fmt: skip
@bp.post("/incidents/<incident_id>/end")
def incident_end(incident_id: str):
    incident = _find(incident_id)
    try:
        incidents.end(incident, utcnow(), actor=_actor())
    except IncidentError as error:
        raise _refused(error) from None
    document = _document(incident)
    db.session.commit()
    return jsonify(document)
