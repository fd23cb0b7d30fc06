"""Comment themes (followup.themes): a theme groups comments that say the same thing, named by
its most telling words (or by the lead who renamed it), with its centroid for assigning new
comments; and each comment's embedding (followup.embeddings) with the theme it is in. A theme
is never deleted: a rebuild that finds it no more retires it, a merge points it at its target,
a split retires it and records the parts' origin."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow

MAX_NAME = 200  # a theme's name, characters (a lead's or its telling words)


class ThemeStatus(StrEnum):
    """Theme.status: live, merged (into another theme) or retired (by a rebuild or a split)."""

    LIVE = "live"
    MERGED = "merged"
    RETIRED = "retired"


class Theme(Model):
    """One theme. `named_by` is the lead who named it (a rebuild keeps that name); unset, the
    theme is named by its words and a rebuild renames it. `words` are its most telling words,
    best first; `examples` the ids of the (at most 3) responses nearest its centroid;
    `centroid` the unit mean of its members' vectors (float32 bytes); `size` its comments."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    named_by: Mapped[str | None] = mapped_column(String(320))
    words: Mapped[list] = mapped_column(JSON, default=list)
    examples: Mapped[list] = mapped_column(JSON, default=list)
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"))
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def live(self) -> bool:
        return self.retired_at is None and self.merged_into_id is None

    @property
    def status(self) -> ThemeStatus:
        if self.merged_into_id:
            return ThemeStatus.MERGED
        return ThemeStatus.RETIRED if self.retired_at else ThemeStatus.LIVE


class CommentEmbedding(Model):
    """A non-empty comment's vector (float32 bytes, unit length) by `model`, embedded at
    `embedded_at`, `text_hash` the SHA-256 (hex) of the comment text embedded (an answer
    changed after it is embedded again only when its text differs; unset: unknown, embedded
    again), and its theme (unset: unassigned until a rebuild finds it one). An emptied comment
    (erasure, retention) loses its row."""

    __tablename__ = "comment_embeddings"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)
    model: Mapped[str] = mapped_column(String(100))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    embedded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_hash: Mapped[str | None] = mapped_column(String(64))
