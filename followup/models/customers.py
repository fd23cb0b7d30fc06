"""The customer aggregate: contact details, locale, time zone, and the suppression list that
holds every opt-out, bounce and complaint by address hash (an opt-out belongs to the number
or the mailbox, whichever customer record it later turns up on, even after erasure)."""

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.extensions import Model, db
from followup.models.base import UTCDateTime, utcnow

# The channels that reach a customer; those on their phone (one number for texts and WhatsApp).
PHONE_CHANNELS = ("sms", "whatsapp")
CONTACT_CHANNELS = ("email", *PHONE_CHANNELS)


class Customer(Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    # BCP 47 as the helpdesk sent it; None: the organisation's default language.
    locale: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The channel the customer asked to hear from us on (email, sms or whatsapp): a cadence
    # step on "preferred" uses it while it can reach them; unset: SMS when there is a phone.
    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    # The customer's last WhatsApp message to us: free-form WhatsApp messages may go only in
    # the 24 hours after it (outside them, only approved content templates).
    whatsapp_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Segments such as "vip" or "partner"; FOLLOWUP_NO_SURVEY_TAGS names those never surveyed.
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by erasure (followup.privacy): the row stays for its cases' figures, without a name,
    # an address or an identity.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""

    def address(self, channel: str) -> str | None:
        return self.phone if channel in PHONE_CHANNELS else self.email

    def opted_out(self, channel: str) -> bool:
        address = self.address(channel)
        return address is not None and (channel, address) in suppressed({(channel, address)})

    def opted_out_channels(self) -> set[str]:
        """The channels whose address of this customer is suppressed, in one query."""
        pairs: set[tuple[str, str | None]] = set()
        for channel in CONTACT_CHANNELS:
            if address := self.address(channel):
                pairs.add((channel, address))
        return {channel for channel, _ in suppressed(pairs)}

    def to_dict(self) -> dict:
        opted_out = self.opted_out_channels()
        return {
            "external_id": self.external_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "timezone": self.timezone,
            "preferred_channel": self.preferred_channel,
            "tags": self.tags or [],
            "email_opted_out": "email" in opted_out,
            "sms_opted_out": "sms" in opted_out,
            "whatsapp_opted_out": "whatsapp" in opted_out,
        }


class CustomerIdentity(Model):
    """One external id a customer is known by (the API's, Zendesk's, Freshdesk's requester
    id, ...): intake looks customers up by these, so every source finds the same customer."""

    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()


def address_hash(channel: str, address: str) -> str:
    """What the suppression list keys an address by: SHA-256 hex of "channel:address" (the
    address as stored: E.164 phone; an email lower-cased, whatever case it arrived in)."""
    if channel == "email":
        address = address.lower()
    return hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()


def _row_address_hash(context: DefaultExecutionContext) -> str:
    row = context.get_current_parameters()
    return address_hash(row["channel"], row["address"])


class Suppression(Model):
    """An address no message of its channel may go to: why, and since when. Looked up by
    its hash; erasure and retention clear `address`, so an erased customer's opt-out still
    holds without the address."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(320))
    address_hash: Mapped[str] = mapped_column(String(64), default=_row_address_hash)
    # stop, bounce, dropped, spamreport, unsubscribe, carrier_opt_out, ...
    reason: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnsubscribeLink(Model):
    """The unsubscribe link of one email: the token is HMAC(secret, nonce), only its SHA-256
    is stored; a resend of the email carries the same link."""

    __tablename__ = "unsubscribe_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    address: Mapped[str] = mapped_column(String(320))
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def suppressed(addresses: set[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """Which of these (channel, address) pairs are on the suppression list, in one query by
    hash (a pair without an address never is)."""
    by_hash = {
        (channel, address_hash(channel, address)): (channel, address)
        for channel, address in addresses
        if address
    }
    if not by_hash:
        return set()
    rows = db.session.execute(
        sa.select(Suppression.channel, Suppression.address_hash).where(
            sa.tuple_(Suppression.channel, Suppression.address_hash).in_(list(by_hash))
        )
    )
    return {by_hash[(channel, hashed)] for channel, hashed in rows}


EXCLUSION_FIELDS = ("customer_tag", "case_tag")


class SurveyExclusion(Model):
    """A segment never surveyed: customers or cases with this tag get the thank-you only."""

    __tablename__ = "survey_exclusions"
    __table_args__ = (UniqueConstraint("field", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(String(20))  # customer_tag or case_tag
    value: Mapped[str] = mapped_column(String(100))  # lower-case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
