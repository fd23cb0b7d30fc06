"""Column types and helpers shared by every model module."""

import hashlib
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator

MAX_ID = 2**31 - 1  # the integer id columns' largest value


def row_id(raw: str) -> int | None:
    """The id a path or query names when a row can have it (ASCII digits, 1 to MAX_ID),
    else None: a larger number names no row, and PostgreSQL refuses to compare it."""
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID)):
        number = int(raw)
        return number if 1 <= number <= MAX_ID else None
    return None


def secret_hash(secret: str) -> str:
    """What a secret's column stores (API keys, link and session tokens, recovery codes): its
    SHA-256 in hex, enough for secrets this random, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """An enum's values as plain strings, in order (for a Literal[...] or a form's choices)."""
    return tuple(member.value for member in enum)


def utcnow() -> datetime:
    return datetime.now(UTC)


def moment(day: date) -> datetime:
    """The start of a UTC day."""
    return datetime.combine(day, time(), UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic autogenerate: write UTCDateTime columns as plain timezone-aware DateTime."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
