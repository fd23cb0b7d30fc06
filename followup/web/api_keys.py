"""API keys on requests: `Authorization: Bearer <key>`, checked by the JSON API and by the
helpdesk intake webhooks; AUTH_ERRORS names the 401 in the OpenAPI document."""

from datetime import timedelta

import sqlalchemy as sa
from flask import g, request

from followup.extensions import db
from followup.models import ApiKey
from followup.models.base import utcnow
from followup.setup import hash_api_key
from followup.web.errors import json_error

AUTH_ERRORS = {401: ("Missing or unknown API key", None)}


def authenticate():
    """None when the request carries a valid, unrevoked API key (its id in g.api_key_id),
    else the 401 answer to return."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    api_key = None
    if scheme.lower() == "bearer" and key.strip():
        api_key = db.session.scalar(
            sa.select(ApiKey).where(
                ApiKey.key_hash == hash_api_key(key.strip()), ApiKey.revoked_at.is_(None)
            )
        )
    if api_key is None:
        response, status = json_error(
            401, "unauthorized", "send a valid API key as `Authorization: Bearer <key>`"
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        api_key.last_used_at = now
        db.session.commit()
    g.api_key_id = api_key.id
    return None
