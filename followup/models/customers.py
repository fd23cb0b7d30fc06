"""The customer aggregate: contact details, locale, time zone, per-channel opt-outs."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import db
from followup.models.base import UTCDateTime, utcnow


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    locale: Mapped[str] = mapped_column(String(20), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    email_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""

    def opted_out(self, channel: str) -> bool:
        return (self.sms_opted_out_at if channel == "sms" else self.email_opted_out_at) is not None

    def to_dict(self) -> dict:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "timezone": self.timezone,
            "email_opted_out": self.email_opted_out_at is not None,
            "sms_opted_out": self.sms_opted_out_at is not None,
        }
