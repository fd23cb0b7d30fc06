"""Provider webhooks in, under /webhooks/: JSON answers, no CSRF (each provider signs its
requests and each handler verifies that signature). routes.py has SendGrid's Event Webhook."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from followup.webhooks import routes  # noqa: E402, F401  (registers the routes on bp)
