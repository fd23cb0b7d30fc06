"""The root causes a lead records when a recovery ends (what went wrong: a product defect, a
policy, an agent's knowledge ...), from a list the admin keeps. A cause is never deleted, only
deactivated, so the recoveries that name it keep their history; the recovery holds the latest
cause recorded (followup.models.recovery.Recovery.root_cause_id), its timeline each one."""

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow


class RootCause(Model):
    """One cause on the admin's list: its key never changes (the helpdesk note and exports
    name it), its name may; the list is shown in `position` order."""

    __tablename__ = "root_causes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
