"""Provider webhooks in, under /webhooks/: no CSRF (each provider signs its requests and
each handler verifies that signature). sendgrid.py: the Event Webhook; twilio.py: texts
in and delivery reports."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from followup.webhooks import sendgrid, twilio  # noqa: E402,F401  (registers the views)
