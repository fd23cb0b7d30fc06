"""The kudos aggregate: a customer's praise (a positive first answer with a comment) or a
recovered customer, credited to the case's agent and team as the case had them, one per case
round and kind. A lead stars one to share it with the team."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class KudoKind(StrEnum):
    """Kudo.kind: praise (a positive answer with a comment) or recovered (a negative answer
    turned positive by the recovery loop)."""

    PRAISE = "praise"
    RECOVERED = "recovered"


KUDO_KINDS = values(KudoKind)


class Kudo(Model):
    __tablename__ = "kudos"
    __table_args__ = (
        UniqueConstraint("case_id", "round", "kind"),
        Index("ix_kudos_created_at", "created_at"),
        Index("ix_kudos_team_created_at", "team", "created_at"),
        # An agent's own kudos, newest first (followup.agents.case_clause: either side).
        Index("ix_kudos_agent_email_created_at", "agent_email", "created_at"),
        Index("ix_kudos_agent_name_created_at", "agent_name", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # KudoKind
    # The answer it quotes (the first answer, or the recovery check-in's).
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    # The agent and team as the case had them when the kudo was made.
    agent_name: Mapped[str | None] = mapped_column(String(200))
    agent_email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    # The customer's words, as text (erasure and retention redact them).
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Shared with the team by a lead.
    starred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starred_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def agent(self) -> str:
        return self.agent_name or self.agent_email or ""
