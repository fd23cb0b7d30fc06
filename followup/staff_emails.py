"""What the emails and alerts to console users share: the organisation's time zone (config
TIMEZONE), links into the console (config PUBLIC_BASE_URL), and which emails are planned
already (the hourly jobs skip those users before doing any work for them)."""

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from followup.extensions import db
from followup.models import OutboundCall
from followup.models.recovery import CallKind

PLANNED_CHUNK = 500  # keys looked up per statement


def zone() -> ZoneInfo:
    """The organisation's time zone."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def console_url(path: str, args: dict[str, str] | None = None) -> str:
    """An absolute link to a console page, with these query arguments when given."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{path}?{urlencode(args)}" if args else f"{base}{path}"


def planned_keys(keys: list[str]) -> set[str]:
    """Which of these staff email keys (as given to outbound.email_staff) are planned
    already (one `key IN (...)` per 500)."""
    found: set[str] = set()
    prefix = f"{CallKind.STAFF_EMAIL}:"
    for start in range(0, len(keys), PLANNED_CHUNK):
        chunk = [prefix + key for key in keys[start : start + PLANNED_CHUNK]]
        statement = sa.select(OutboundCall.key).where(OutboundCall.key.in_(chunk))
        found.update(key.removeprefix(prefix) for key in db.session.scalars(statement))
    return found
