"""API keys on requests: `Authorization: Bearer <key>`, checked on every request (a revoked key
is refused at once) by the JSON API and by the helpdesk intake webhooks, each request against
the scope it needs; AUTH_ERRORS names the 401 and the 403 in the OpenAPI document."""

from datetime import timedelta

from flask import g, request

from followup.api_keys import usable_api_key
from followup.extensions import db
from followup.models.base import utcnow
from followup.models.users import ApiScope
from followup.web.errors import json_error

AUTH_ERRORS = {
    401: ("Missing, unknown or revoked API key", None),
    403: ("The key's scope does not cover this request", None),
}


def authenticate(needed: ApiScope):
    """None when the request carries a valid, unrevoked API key whose scope covers `needed`
    (the key in g.api_key), else the 401 or 403 answer to return."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    api_key = None
    if scheme.lower() == "bearer" and key.strip():
        api_key = usable_api_key(key.strip())
    if api_key is None:
        response, status = json_error(
            401, "unauthorized", "send a valid API key as `Authorization: Bearer <key>`"
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    allowed = api_key.allows(needed)  # before a commit expires the key
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        # At most one write a minute per key: "last used" is shown to the minute.
        api_key.last_used_at = now
        db.session.commit()
    if not allowed:
        message = f"this key's scope is {api_key.scope}; this needs {needed}"
        return json_error(403, "forbidden", message)
    g.api_key = api_key
    return None
