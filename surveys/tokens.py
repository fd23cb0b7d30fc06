"""Survey link tokens: HMAC(secret, random nonce), 256 bits; only their SHA-256 is stored.

Deriving the token from a stored nonce lets a message that must be sent again carry the
same link, while the database alone (without SECRET_KEY) never reveals a usable token.
"""

import base64
import hashlib
import hmac
import secrets


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(secret_key: str, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
