"""Link tokens (survey and unsubscribe pages): HMAC(secret, random nonce), 256 bits; only
their SHA-256 is stored, beside the nonce.

Deriving the token from a stored nonce lets a message that must be sent again carry the
same link, while the database alone (without SECRET_KEY) never reveals a usable token. While
SECRET_KEY is rotated, a link made with a key in SECRET_KEY_FALLBACKS keeps its token.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from followup.extensions import db
from followup.models.base import secret_hash


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(secret_key: str, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_token_columns(secret_key: str) -> dict[str, str]:
    """The nonce and token_hash columns of a new link."""
    nonce = new_nonce()
    return {"nonce": nonce, "token_hash": secret_hash(token_for(secret_key, nonce))}


def link_token(row, secret_keys: Sequence[str]) -> str:
    """The token of a stored link (a row with nonce and token_hash): made with the first of
    the keys (SECRET_KEY, then its fallbacks) that gives its stored hash. A link made with a
    key no longer given gets a new token under the first key (its old one no longer opens)."""
    for key in secret_keys:
        token = token_for(key, row.nonce)
        if secret_hash(token) == row.token_hash:
            return token
    columns = new_token_columns(secret_keys[0])
    row.nonce, row.token_hash = columns["nonce"], columns["token_hash"]
    return token_for(secret_keys[0], row.nonce)


def lookup_hash(token: str) -> str | None:
    """The token_hash a token is stored under, or None for what cannot be a token."""
    if not token or len(token) > 100:
        return None
    return secret_hash(token)


def find_by_token(model, token: str):
    """The row of `model` (a table with token_hash) this token opens, or None."""
    token_hash = lookup_hash(token)
    if token_hash is None:
        return None
    return db.session.scalar(sa.select(model).where(model.token_hash == token_hash))
