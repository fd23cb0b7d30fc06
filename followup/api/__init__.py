"""The JSON intake API under /api/v1 (Bearer API keys)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from followup.api import routes  # noqa: E402,F401  (registers the views)
