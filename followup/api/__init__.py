"""The JSON API under /api/v1 (Bearer API keys): case intake and the recovery loop."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from followup.api import recoveries, routes  # noqa: E402,F401  (registers the views)
