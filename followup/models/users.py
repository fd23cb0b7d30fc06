"""People and machines that use the service: console users (admin, lead, manager) with
hashed passwords, and API keys for machine clients (helpdesks; only a SHA-256 is stored),
each with a scope."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import Model
from followup.models.base import UTCDateTime, utcnow, values


class Role(StrEnum):
    """User.role. admin: everything, users included; lead: configuration and the recovery
    queue; manager: the dashboard and configuration read-only."""

    ADMIN = "admin"
    LEAD = "lead"
    MANAGER = "manager"


ROLES = values(Role)


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
    # Changes when the password changes or the user is deactivated: older sessions end.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Flask-Login's user interface.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiScope(StrEnum):
    """ApiKey.scope. intake: create, close and reopen cases (the API and the helpdesk
    webhooks); read: every GET of the API; full: everything, intake and read included."""

    INTAKE = "intake"
    READ = "read"
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
