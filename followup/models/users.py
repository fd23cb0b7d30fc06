"""People and machines that use the service: console users (admin, lead, manager, agent) with
hashed passwords, and API keys for machine clients (helpdesks; only a SHA-256 is stored),
each with a scope."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class Role(StrEnum):
    """User.role. admin: everything, users included; lead: configuration and the recovery
    queue; manager: the dashboard and configuration read-only; agent: their own figures,
    verbatims and kudos only (User.agent links them to the cases they handled)."""

    ADMIN = "admin"
    LEAD = "lead"
    MANAGER = "manager"
    AGENT = "agent"


class KudosDelivery(StrEnum):
    """User.kudos_delivery: how an agent hears of their kudos."""

    DAILY = "daily"  # one email a day with the day's kudos
    INSTANT = "instant"  # an email for each
    OFF = "off"  # only in the console


ROLES = values(Role)
KUDOS_DELIVERIES = values(KudosDelivery)


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))  # Role
    password_hash: Mapped[str] = mapped_column(String(256))
    # A phone of the user's own, for test sends of SMS templates.
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # An agent's link to their cases: the agent name or email cases arrive with (an email
    # stored lower-case). Required for the agent role.
    agent: Mapped[str | None] = mapped_column(String(320))
    kudos_delivery: Mapped[str] = mapped_column(String(10), default=KudosDelivery.DAILY)
    # The Monday email of the week's figures (managers, and leads for their teams).
    weekly_digest: Mapped[bool] = mapped_column(default=True)
    # A lead's teams (team names as cases arrive with them): their digest is for these
    # teams, one block each. Empty: every team (always, for managers).
    teams: Mapped[list] = mapped_column(JSON, default=list)
    # The console's language for this user (en, es, fr, de, pt-BR); unset: the browser's,
    # else the organisation's default.
    language: Mapped[str | None] = mapped_column(String(10))
    # Changes when the password changes or the user is deactivated: older sessions end.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in: the TOTP secret (Fernet-encrypted with a key derived from
    # SECRET_KEY), set when enrolment starts and in use once enabled; the last time step a
    # code was accepted for, so no code signs in twice.
    totp_secret: Mapped[str | None] = mapped_column(String(256))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None]

    # The console session this object was loaded or signed in for (not a column): its
    # token is part of Flask-Login's id, so ending the session refuses every copy of it.
    if TYPE_CHECKING:
        console_token: str | None
    else:
        console_token = None

    # Flask-Login's user interface.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def get_id(self) -> str:
        if not self.console_token:
            raise RuntimeError("sign users in through followup.console_sessions.start")
        return f"{self.id}:{self.session_version}:{self.console_token}"


class ApiScope(StrEnum):
    """ApiKey.scope. intake: create, close and reopen cases (the API and the helpdesk
    webhooks); read: every GET of the API; incidents: declare and end incidents (a status
    page tool); full: everything, the others included."""

    INTAKE = "intake"
    READ = "read"
    INCIDENTS = "incidents"
    FULL = "full"


API_SCOPES = values(ApiScope)


class ApiKey(Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))  # ApiScope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def allows(self, needed: ApiScope) -> bool:
        """Whether this key's scope covers what a request needs (full covers every scope)."""
        return self.scope in (ApiScope.FULL, needed)
