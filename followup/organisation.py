"""The organisation's settings (brand, languages, default language): the one row, read once
per app context (a request, a job); until an admin saves it, the defaults."""

from flask import g
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from followup.extensions import db
from followup.models import OrganisationSettings

SETTINGS_ID = 1


def defaults() -> OrganisationSettings:
    """The settings before any are saved (not added to the session)."""
    return OrganisationSettings(
        id=SETTINGS_ID, default_language="en", languages=[], sender_name="", accent_colour="",
        logo=None, logo_type=None, logo_width=None, logo_height=None, footer_address="",
        privacy_url="",
    )  # fmt: skip


def organisation() -> OrganisationSettings:
    """This deployment's settings, read once per app context (again once the session let go
    of the row: a dispatch empties the session mid-job); the defaults when the database
    cannot be read, so the friendly error pages, which ask for the language, still render."""
    settings = g.get("organisation")
    if settings is None or inspect(settings).detached:
        try:
            settings = db.session.get(OrganisationSettings, SETTINGS_ID) or defaults()
        except SQLAlchemyError:  # the database is down: an error page still renders
            db.session.rollback()
            settings = defaults()
        g.organisation = settings
    return settings


def forget() -> None:
    """Read the settings again on next use (after a save)."""
    g.pop("organisation", None)
