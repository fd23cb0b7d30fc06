"""Incidents: an outage window and the segment of cases it touches (case tags, teams, source
channels; all empty: every case). Surveys of the cases that close inside the window are held
(followup.incidents); IncidentHold notes each message held, for the counts."""

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class IncidentState(StrEnum):
    """Where an incident's window is, now (not stored: from its times)."""

    PLANNED = "planned"  # starts later
    ACTIVE = "active"
    ENDED = "ended"


INCIDENT_STATES = values(IncidentState)
# What an incident's segment may look at, as the cases carry them (matched without regard
# to case): each non-empty list must share a value with the case.
SEGMENT_FIELDS = ("tags", "teams", "sources")
# An incident declared without a planned end counts as ended this long after its start if
# nobody ends it (a status page tool that never sends its end must not hold surveys for
# ever); a longer one is declared with a planned end (at most 90 days).
OPEN_ENDED_LIMIT = timedelta(days=7)


class Incident(Model):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The status page's own id for it, when an API caller gave one: a declaration sent again
    # with the same one answers the incident declared already.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The planned end, when one was given; ended_at when someone ended it ("end now"). The
    # window ends at the earlier of the two; without a planned end, OPEN_ENDED_LIMIT after
    # its start at the latest. Ended before its start: called off, it covers nothing.
    planned_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Lower-cased values, each list empty for "any".
    tags: Mapped[list] = mapped_column(JSON, default=list)
    teams: Mapped[list] = mapped_column(JSON, default=list)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    # A close cadence (the version chosen; its lineage's current version runs) that cases
    # closing in the incident get instead of their own, not held.
    apology_cadence_id: Mapped[int | None] = mapped_column(ForeignKey("cadences.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    ended_by: Mapped[str | None] = mapped_column(String(320))

    apology_cadence = relationship("Cadence")

    @property
    def ends_at(self) -> datetime:
        """When the window ends: the earlier of the planned end and the end, or of the end
        and the open-ended limit."""
        bound = self.planned_end_at or self.starts_at + OPEN_ENDED_LIMIT
        return min(bound, self.ended_at) if self.ended_at is not None else bound

    @property
    def called_off(self) -> bool:
        """Ended before it started: it never covered anything."""
        return self.ends_at <= self.starts_at

    def state(self, now: datetime) -> IncidentState:
        if self.ends_at <= now:
            return IncidentState.ENDED
        return IncidentState.PLANNED if self.starts_at > now else IncidentState.ACTIVE

    def covers(self, moment: datetime) -> bool:
        """Whether the moment is inside the window (its start included, its end not)."""
        return self.starts_at <= moment < self.ends_at


class IncidentHold(Model):
    """One planned survey message an incident held (suppressed): what its counts count."""

    __tablename__ = "incident_holds"
    # The health page and /metrics count the holds of the last 24 hours.
    __table_args__ = (Index("ix_incident_holds_at", "at"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
