"""The generic connector: a Standard Webhooks-signed POST asking the business's own system
to reopen the ticket, `{"type": "case.reopen", "case", "customer", "note"}`, with the reopen's
key as webhook-id (the same on every retry)."""

from datetime import datetime

import requests

from followup.connectors.base import Ticket, post_signed


class GenericConnector:
    name = "generic"

    def __init__(self, url: str, secret: str, timeout: float, session: requests.Session):
        self.url, self.secret, self.timeout = url, secret, timeout
        self.session = session

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        payload = {
            "type": "case.reopen",
            "case": {
                "external_id": ticket.external_id,
                "ticket_id": ticket.ticket_id,
                "subject": ticket.subject,
            },
            "customer": {
                "name": ticket.customer_name,
                "email": ticket.customer_email,
                "phone": ticket.customer_phone,
            },
            "note": note,
        }
        post_signed(
            self.session, self.url, self.secret, key, payload, "helpdesk webhook", self.timeout, now
        )
        return {"helpdesk": self.name, "ticket_id": ticket.ticket_id, "action": "reopen_requested"}
