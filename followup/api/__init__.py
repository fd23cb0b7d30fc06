"""The JSON API under /api/v1 (Bearer API keys): case intake, the recovery loop, a
customer's export and erasure, and incidents."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from followup.api import customers, incidents, proactive, recoveries, routes  # noqa: E402,F401  (registers the views)
