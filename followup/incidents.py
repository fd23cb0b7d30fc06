"""Incident pause: a lead (or a status page tool) declares an incident, a time window and a
segment of cases (case tags, teams, source channels; all empty: every case). Surveys of the
cases that close inside the window and match the segment are held: their planned messages
that carry a survey (check-ins, reminders) are suppressed, "paused for incident", on each
case's timeline and counted (IncidentHold). A thank-you without a survey still goes, and a
recovery's messages (to a customer who answered already) are never held.

Two places hold: closing a case during an active incident plans its survey steps suppressed
at once (close_case), and the dispatch-time check (outbox_checks.still_due) holds a due
survey of a case that closed inside any incident's window, which catches the messages planned
before the incident was declared (or before its start was known). Held surveys are dropped,
never sent late: after the incident ends, a case that closed during it still gets no survey
that round; a case closing after the end gets its own as normal.

An incident may name an apology cadence: a case closing in it gets that cadence (its
lineage's current version) instead of its own, and its messages are not held. Only cases
closing after the declaration get it: a case that closed inside a backdated window, before
the incident was declared, has its surveys held at dispatch but is sent no apology (its
round was planned already; planning a second cadence for it afterwards would go around the
frequency cap and the round's idempotency keys).

An incident declared without a planned end counts as ended OPEN_ENDED_LIMIT (7 days) after
its start if nobody ends it, and one active for more than a day without a planned end raises
one manager alert (followup.incident_alerts, from the sweep). An API caller may give the status
page's own id (external_id): declaring again with it answers the incident declared already.

Operations flush and audit; the caller commits.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import selectinload

from followup import audit
from followup.cadences import case_facts
from followup.extensions import db
from followup.models import Cadence, Case, Incident, IncidentHold, Message
from followup.models.base import moment
from followup.models.cadences import CadencePurpose
from followup.models.incidents import OPEN_ENDED_LIMIT, SEGMENT_FIELDS
from followup.models.messages import MessageStatus

HELD = "paused for incident"
HOLDS = cast(sa.Table, IncidentHold.__table__)
MAX_NAME = 200
MAX_VALUES = 50  # per segment list
MAX_VALUE_CHARS = 100
# A window a person means: it starts at most this long ago or ahead, and lasts at most this.
MAX_PAST = timedelta(days=30)
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=90)
MAX_EXTERNAL_ID = 200
AUDITED = ("name", "external_id", "starts_at", "planned_end_at", "ended_at", *SEGMENT_FIELDS,
           "apology_cadence_id")  # fmt: skip


class IncidentError(ValueError):
    """An incident that cannot be declared or ended as asked: `field` names the input (a
    422), None: the incident as it is (a 409)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def clean_values(name: str, values: Iterable[str] | None) -> list[str]:
    """A segment list as stored: trimmed, lower-cased, blanks and repeats dropped, order kept;
    IncidentError naming the list when it is too long or a value is."""
    cleaned: list[str] = []
    for raw in values or ():
        value = str(raw).strip()
        if len(value) > MAX_VALUE_CHARS or "\x00" in value:
            raise IncidentError(name, f"each value is text of at most {MAX_VALUE_CHARS} characters")
        value = value.lower()
        if value and value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_VALUES:
        raise IncidentError(name, f"at most {MAX_VALUES} values")
    return cleaned


def as_utc(
    moment: datetime | None, zone: str | None = None, field: str = "starts_at"
) -> datetime | None:
    """A moment in UTC: an aware one converted, a naive one (a time entered in the console)
    read in the zone named (the organisation's). IncidentError naming the field (a
    ValueError, so a pydantic validator may call it) when it has no UTC form."""
    if moment is None:
        return None
    try:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone or "UTC"))
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise IncidentError(field, "is out of range") from None


def in_zone(moment: datetime, zone: str) -> str:
    """A moment as the organisation reads it, in its zone: 2026-03-02 14:05."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def window_problem(
    starts_at: datetime, planned_end_at: datetime | None, now: datetime
) -> tuple[str, str] | None:
    """(field, problem) when the window is not one a person means: it ends before it starts,
    starts more than 30 days ago or a year ahead, or lasts more than 90 days."""
    if starts_at < now - MAX_PAST:
        return "starts_at", f"must be at most {MAX_PAST.days} days ago"
    if starts_at > now + MAX_AHEAD:
        return "starts_at", f"must be at most {MAX_AHEAD.days} days ahead"
    if planned_end_at is not None:
        if planned_end_at <= starts_at:
            return "ends_at", "must be after the start"
        if planned_end_at - starts_at > MAX_LENGTH:
            return "ends_at", f"an incident lasts at most {MAX_LENGTH.days} days"
    return None


def apology_choices() -> list[tuple[int, str]]:
    """(id, name) of the close cadences an incident may send instead: the current versions
    that take cases, by name."""
    return [
        (ident, name)
        for ident, name in db.session.execute(
            sa.select(Cadence.id, Cadence.name)
            .where(
                Cadence.purpose == CadencePurpose.CLOSE,
                Cadence.superseded_at.is_(None),
                Cadence.archived_at.is_(None),
            )
            .order_by(Cadence.name)
        )
    ]


def declare(
    name: str,
    starts_at: datetime | None,
    planned_end_at: datetime | None,
    segment: dict[str, Iterable[str] | None],
    apology_cadence_id: int | None,
    now: datetime,
    actor: str | None = None,
    external_id: str | None = None,
) -> Incident:
    """A new incident (starting now unless a start is given), audited; IncidentError naming
    the field that is wrong, with nothing written. An external_id taken already makes the
    flush fail (IntegrityError): the caller reads that incident (by_external_id)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise IncidentError("name", f"enter a name of 1 to {MAX_NAME} characters")
    external_id = (external_id or "").strip() or None
    if external_id is not None and (len(external_id) > MAX_EXTERNAL_ID or "\x00" in external_id):
        raise IncidentError("external_id", f"text of at most {MAX_EXTERNAL_ID} characters")
    starts_at = (starts_at or now).astimezone(UTC)
    planned_end_at = planned_end_at.astimezone(UTC) if planned_end_at else None
    problem = window_problem(starts_at, planned_end_at, now)
    if problem:
        raise IncidentError(*problem)
    lists = {key: clean_values(key, segment.get(key)) for key in SEGMENT_FIELDS}
    if apology_cadence_id is not None and apology_cadence_id not in dict(apology_choices()):
        raise IncidentError(
            "apology_cadence_id", f"no current close cadence has id {apology_cadence_id}"
        )
    incident = Incident(
        name=name,
        external_id=external_id,
        starts_at=starts_at,
        planned_end_at=planned_end_at,
        apology_cadence_id=apology_cadence_id,
        created_at=now,
        created_by=actor or _signed_in() or "system",
        **lists,
    )
    db.session.add(incident)
    db.session.flush()
    audit.record("create", "incident", incident.id, f"incident {name!r} declared", None,
                 audit.snapshot(incident, AUDITED), actor=actor)  # fmt: skip
    return incident


def by_external_id(external_id: str) -> Incident | None:
    """The incident declared with this status page id, if any (none has one that could not
    be stored)."""
    external_id = external_id.strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID or "\x00" in external_id:
        return None
    return db.session.scalar(
        sa.select(Incident)
        .options(selectinload(Incident.apology_cadence))
        .where(Incident.external_id == external_id)
    )


def end(incident: Incident, now: datetime, actor: str | None = None) -> Incident:
    """End the incident now ("end now"): cases closing from now on are surveyed again.
    IncidentError (a 409) when it has ended already."""
    ends = incident.ends_at
    if ends <= now:
        raise IncidentError(None, f"the incident ended already, at {ends.isoformat()}")
    before = audit.snapshot(incident, AUDITED)
    won = cast(
        CursorResult,
        db.session.execute(
            sa.update(Incident)
            .where(Incident.id == incident.id, Incident.ended_at.is_(None))
            .values(ended_at=now, ended_by=actor or _signed_in() or "system")
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(incident)
    if not won:  # another request ended it first
        raise IncidentError(None, "the incident ended already")
    audit.record("update", "incident", incident.id, f"incident {incident.name!r} ended", before,
                 audit.snapshot(incident, AUDITED), actor=actor)  # fmt: skip
    return incident


def _signed_in() -> str | None:
    """The console user's email, else None (audit.record names them the same way)."""
    return current_user.email if getattr(current_user, "is_authenticated", False) else None


def matches(incident: Incident, facts: dict[str, set[str]]) -> bool:
    """Whether a case (its case_facts) is in the incident's segment: each non-empty list
    shares a value with the case's; all empty: every case."""
    return all(
        facts.get(key, set()) & set(getattr(incident, key) or ())
        for key in SEGMENT_FIELDS
        if getattr(incident, key)
    )


def _live(start: datetime, end: datetime) -> list:
    """Where an incident's window overlaps [start, end] (its end: Incident.ends_at, the
    open-ended limit included), called-off ones (ended before they started) left out."""
    return [
        Incident.starts_at <= end,
        sa.or_(Incident.ended_at.is_(None), Incident.ended_at > start),
        sa.or_(Incident.ended_at.is_(None), Incident.ended_at > Incident.starts_at),
        sa.or_(
            Incident.planned_end_at > start,
            sa.and_(
                Incident.planned_end_at.is_(None), Incident.starts_at > start - OPEN_ENDED_LIMIT
            ),
        ),
    ]


def _overlapping(start: datetime, end: datetime):
    """Incidents whose window overlaps [start, end]."""
    return (
        sa.select(Incident)
        .where(*_live(start, end))
        .options(selectinload(Incident.apology_cadence))
        .order_by(Incident.id)
    )


def covering(case: Case, now: datetime) -> Incident | None:
    """The incident (the first declared) a case closing now is in, else None."""
    facts = case_facts(case)
    for incident in db.session.scalars(_overlapping(now, now)):
        if incident.covers(now) and matches(incident, facts):
            return incident
    return None


def apology_cadence(incident: Incident) -> Cadence | None:
    """The current version of the incident's apology cadence, when it has one still taking
    cases."""
    chosen = incident.apology_cadence
    if chosen is None:
        return None
    return db.session.scalar(
        sa.select(Cadence).where(
            Cadence.lineage == chosen.lineage,
            Cadence.superseded_at.is_(None),
            Cadence.archived_at.is_(None),
        )
    )


def held_reason(incident: Incident) -> str:
    return f"{HELD}: {incident.name} (incident {incident.id})"


def suppressed_detail(reason: str, incident: Incident | None) -> dict:
    """A message.suppressed timeline line's detail: the reason, and the incident's id when
    it is the incident's hold (at close time and at dispatch alike)."""
    if incident is not None and reason == held_reason(incident):
        return {"reason": reason, "incident_id": incident.id}
    return {"reason": reason}


def note_held(incident: Incident, case: Case, now: datetime) -> None:
    """Count the round's survey messages a close just planned held for the incident."""
    reason = held_reason(incident)
    held = sa.select(
        Message.id, sa.literal(incident.id), Message.case_id, Message.round, sa.literal(now)
    ).where(
        Message.case_id == case.id,
        Message.round == case.round,
        Message.status == MessageStatus.SUPPRESSED,
        Message.error == reason,
    )
    db.session.execute(
        sa.insert(HOLDS).from_select(["message_id", "incident_id", "case_id", "round", "at"], held)
    )


def _holdable(message: Message) -> bool:
    """A close round's message that carries a survey (not a recovery's)."""
    return message.recovery_id is None and message.step is not None and bool(message.step.survey_id)


@dataclass
class BatchHolds:
    """The incidents that may hold a dispatch batch's messages, read in one query for the
    batch (incidents are few), and the holds noted while it is checked."""

    incidents: Sequence[Incident]
    held: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, messages: Sequence[Message]) -> "BatchHolds":
        closed = [m.case.closed_at for m in messages if _holdable(m) and m.case.closed_at]
        if not closed:
            return cls([])
        return cls(list(db.session.scalars(_overlapping(min(closed), max(closed)))))

    def holding(self, message: Message) -> Incident | None:
        """The incident that holds this message: its case closed inside the window and is in
        the segment, and did not get the incident's apology cadence."""
        if not self.incidents or not _holdable(message):
            return None
        case = message.case
        closed_at = case.closed_at
        if closed_at is None:
            return None
        facts = None
        for incident in self.incidents:
            if not incident.covers(closed_at):
                continue
            facts = facts or case_facts(case)
            if not matches(incident, facts):
                continue
            apology = incident.apology_cadence
            if apology is not None and case.cadence and case.cadence.lineage == apology.lineage:
                continue
            return incident
        return None

    def note(self, message: Message, incident: Incident, now: datetime) -> None:
        self.held.append({"message_id": message.id, "incident_id": incident.id,
                          "case_id": message.case_id, "round": message.round,
                          "at": now})  # fmt: skip

    def write(self) -> None:
        """Insert the holds noted (one statement); the caller commits."""
        if self.held:
            db.session.execute(sa.insert(HOLDS), self.held)
            self.held = []


def hold_counts(ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(cases held, messages held) by incident id, in one query."""
    ids = list(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(
            IncidentHold.incident_id,
            sa.func.count(sa.distinct(IncidentHold.case_id)),
            sa.func.count(IncidentHold.message_id),
        )
        .where(IncidentHold.incident_id.in_(ids))
        .group_by(IncidentHold.incident_id)
    )
    return {incident: (cases, messages) for incident, cases, messages in rows}


def overlapping(start: datetime, end: datetime) -> list[Incident]:
    """The incidents whose window overlaps [start, end), oldest start first, called-off ones
    left out: the dashboard's marks, and for any page or email that shows a period's figures
    (the weekly digest, the agent's page) to say which incidents held surveys in it. One
    query; name, starts_at, ends_at, segment_text(incident) and in_zone() describe each."""
    found = db.session.scalars(_overlapping(start, end)).all()
    return sorted(
        (i for i in found if i.starts_at < end and start < i.ends_at and not i.called_off),
        key=lambda i: (i.starts_at, i.id),
    )


def listing(limit: int) -> list[Incident]:
    """The newest incidents first."""
    return list(
        db.session.scalars(
            sa.select(Incident)
            .options(selectinload(Incident.apology_cadence))
            .order_by(Incident.starts_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    )


def segment_text(incident: Incident) -> str:
    """The segment in words: "teams billing; tags outage" or "every case"."""
    parts = [f"{key} {', '.join(getattr(incident, key))}" for key in SEGMENT_FIELDS
             if getattr(incident, key)]  # fmt: skip
    return "; ".join(parts) or "every case"


def document(incident: Incident, counts: tuple[int, int], now: datetime) -> dict:
    """The incident as the API shows it."""
    apology = incident.apology_cadence

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": incident.id,
        "name": incident.name,
        "external_id": incident.external_id,
        "state": incident.state(now),
        "starts_at": incident.starts_at.isoformat(),
        "planned_end_at": iso(incident.planned_end_at),
        "ended_at": iso(incident.ended_at),
        "ends_at": incident.ends_at.isoformat(),
        "segment": {key: list(getattr(incident, key) or []) for key in SEGMENT_FIELDS},
        "apology_cadence": {"id": apology.id, "name": apology.name} if apology else None,
        "cases_held": counts[0],
        "messages_held": counts[1],
        "created_at": incident.created_at.isoformat(),
        "created_by": incident.created_by,
        "ended_by": incident.ended_by,
    }


def week_marks(
    weeks: Sequence[tuple[date, date]], team: str = ""
) -> tuple[list[Incident], dict[date, list[str]]]:
    """The incidents whose window overlaps these weeks (first day, last day included; UTC
    days), oldest first, and the names of those overlapping each week, by its last day: the
    dashboard's marks on its trends. With a team filter, incidents whose segment names other
    teams only are left out."""
    if not weeks:
        return [], {}

    found = [
        incident
        for incident in overlapping(moment(weeks[0][0]), moment(weeks[-1][1] + timedelta(days=1)))
        if not (team and incident.teams and team.strip().lower() not in incident.teams)
    ]
    marks: dict[date, list[str]] = {}
    for first, last in weeks:
        start, end = moment(first), moment(last + timedelta(days=1))
        names = [i.name for i in found if i.starts_at < end and i.ends_at > start]
        if names:
            marks[last] = names
    return found, marks


def health_counts(now: datetime, since: datetime) -> tuple[int, int]:
    """(incidents active now, survey messages held since `since`), in one query: the health
    page's line."""
    active = sa.select(sa.func.count(Incident.id)).where(*_live(now, now)).scalar_subquery()
    held = (
        sa.select(sa.func.count(IncidentHold.message_id))
        .where(IncidentHold.at >= since)
        .scalar_subquery()
    )
    row = db.session.execute(sa.select(active, held)).one()
    return int(row[0]), int(row[1])
