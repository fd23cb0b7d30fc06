"""The audit log: who changed which piece of configuration, when, with the values before
and after (a configuration change and its audit entry commit together)."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow


class AuditEntry(Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Kept as written at the time: a renamed or removed user's entries still say who.
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(30))  # create, update, archive, upload, ...
    entity: Mapped[str] = mapped_column(String(30))  # cadence, template, survey, ...
    entity_id: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(500), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
