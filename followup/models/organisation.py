"""The organisation's settings a console admin sets: its brand (logo, accent colour, sender
name, footer address and privacy link) on survey pages and default emails, and the languages
customers and the console may use, with the default for a customer whose locale we lack."""

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow


class OrganisationSettings(Model):
    """One row (id 1), made with the defaults on first read."""

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A language code of followup.languages (en, es, fr, de, pt-BR).
    default_language: Mapped[str] = mapped_column(String(10), default="en")
    # The languages in use (the editors show a column of each); empty: every one we have.
    languages: Mapped[list] = mapped_column(JSON, default=list)
    # Who emails are from ("Acme Support"); empty: ORGANISATION_NAME.
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    # "#1a73e8"; empty: the product's own colour. Checked against WCAG AA when saved.
    accent_colour: Mapped[str] = mapped_column(String(7), default="")
    # Deferred: read only by /brand/logo and the audit line, never with the row (every
    # request reads the row); its type and size are stored with it, from the one parse.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # image/png, image/jpeg; None: no logo (set and cleared with it, as are its size's).
    logo_type: Mapped[str | None] = mapped_column(String(40))
    logo_width: Mapped[int | None] = mapped_column(Integer)  # pixels
    logo_height: Mapped[int | None] = mapped_column(Integer)
    footer_address: Mapped[str] = mapped_column(Text, default="")
    privacy_url: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))
