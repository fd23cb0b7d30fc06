"""Webhooks from the providers under /webhooks: signed requests only."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from followup.webhooks import twilio  # noqa: E402,F401  (registers the views)
