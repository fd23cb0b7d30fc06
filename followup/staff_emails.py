"""What the emails and alerts to console users share: the organisation's time zone (config
TIMEZONE) and links into the console (config PUBLIC_BASE_URL)."""

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app


def zone() -> ZoneInfo:
    """The organisation's time zone."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def console_url(path: str, args: dict[str, str] | None = None) -> str:
    """An absolute link to a console page, with these query arguments when given."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{path}?{urlencode(args)}" if args else f"{base}{path}"
