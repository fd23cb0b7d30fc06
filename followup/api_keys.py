"""API keys for machine clients: made with a name and a scope (the key is shown once; only its
SHA-256 is stored), listed, found by id or prefix, and revoked (refused from the next request
on). Operations flush; the caller writes the audit entry and commits."""

import secrets
from datetime import datetime

import sqlalchemy as sa

from followup.extensions import db
from followup.models import ApiKey
from followup.models.base import row_id, secret_hash
from followup.models.users import API_SCOPES, ApiScope

MAX_NAME = 200
PREFIX_LENGTH = 10  # "fu_" and 7 characters of the key: enough to tell keys apart, no secret
# What an audit entry keeps of a key (never the key or its hash).
AUDIT_FIELDS = ("name", "prefix", "scope", "revoked_at")


class ApiKeyError(ValueError):
    """A key that cannot be made or found as asked; `field` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def create_api_key(name: str, scope: ApiScope) -> tuple[ApiKey, str]:
    """A new key and its secret, which only its hash keeps: the caller shows it now."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ApiKeyError("name", f"give the key a name of 1 to {MAX_NAME} characters")
    if scope not in API_SCOPES:
        raise ApiKeyError("scope", f"the scope must be one of {', '.join(API_SCOPES)}")
    key = "fu_" + secrets.token_urlsafe(32)
    api_key = ApiKey(name=name, prefix=key[:PREFIX_LENGTH], key_hash=secret_hash(key), scope=scope)
    db.session.add(api_key)
    db.session.flush()
    return api_key, key


# Every API request's key check, its statement built once (the key's hash its parameter).
_USABLE_BY_HASH = sa.select(ApiKey).where(
    ApiKey.key_hash == sa.bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)


def usable_api_key(key: str) -> ApiKey | None:
    """The unrevoked key with this secret, else None."""
    return db.session.scalar(_USABLE_BY_HASH, {"key_hash": secret_hash(key)})


def api_keys() -> list[ApiKey]:
    """Every key, those in use first, newest first."""
    return list(
        db.session.scalars(
            sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
        )
    )


def find_api_key(reference: str) -> ApiKey:
    """The key with this id or prefix (as `api-keys list` shows them)."""
    reference = reference.strip()
    if reference.isascii() and reference.isdigit():
        ident = row_id(reference)
        found = db.session.get(ApiKey, ident) if ident else None
        if found is None:
            raise ApiKeyError("key", f"no API key has the id {reference}")
        return found
    matches = db.session.scalars(
        sa.select(ApiKey).where(ApiKey.prefix == reference[:PREFIX_LENGTH]).limit(2)
    ).all()
    if len(reference) != PREFIX_LENGTH or not matches:
        raise ApiKeyError("key", f"no API key has the id or prefix {reference!r}")
    if len(matches) > 1:
        raise ApiKeyError("key", f"several keys start with {reference}: give the key's id")
    return matches[0]


def revoke_api_key(api_key: ApiKey, now: datetime) -> bool:
    """Refuse the key from now on; False when it was revoked already."""
    if api_key.revoked_at is not None:
        return False
    api_key.revoked_at = now
    db.session.flush()
    return True
