"""Webhooks in, under /webhooks/, without CSRF: providers sign their requests and each handler
verifies that signature (sendgrid.py: the Event Webhook; twilio.py: texts in and delivery
reports); helpdesks send an API key (helpdesks.py: tickets solved and reopened in Zendesk or
Freshdesk)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from followup.webhooks import helpdesks, sendgrid, twilio  # noqa: E402,F401  (registers the views)
