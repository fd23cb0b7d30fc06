"""Link tokens (survey and unsubscribe pages): HMAC(secret, random nonce), 256 bits; only
their SHA-256 is stored, beside the nonce.

Deriving the token from a stored nonce lets a message that must be sent again carry the
same link, while the database alone (without SECRET_KEY) never reveals a usable token.
"""

import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from followup.extensions import db


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(secret_key: str, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_columns(secret_key: str) -> dict[str, str]:
    """The nonce and token_hash columns of a new link."""
    nonce = new_nonce()
    return {"nonce": nonce, "token_hash": hash_token(token_for(secret_key, nonce))}


def find_by_token(model, token: str):
    """The row of `model` (a table with token_hash) this token opens, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(sa.select(model).where(model.token_hash == hash_token(token)))
