"""The generic connector: Standard Webhooks-signed POSTs to the business's own system, with
the call's key as webhook-id (the same on every retry, so the receiver can drop repeats).

Reopen: `{"type": "case.reopen", "case", "customer", "note"}` asks it to reopen the ticket.
Write-back: `{"type": "case.note", "case", "note", "data"}`, the note as a helpdesk would
show it and `data` the answer or outcome it says (followup.connectors.notes)."""

from datetime import datetime

import requests

from followup.connectors.base import Ticket, post_signed
from followup.connectors.notes import Note


class GenericConnector:
    name = "generic"

    def __init__(self, url: str, secret: str, timeout: float, session: requests.Session):
        self.url, self.secret, self.timeout = url, secret, timeout
        self.session = session

    def _post(self, payload: dict, key: str, now: datetime) -> None:
        post_signed(
            self.session, self.url, self.secret, key, payload, "helpdesk webhook", self.timeout, now
        )

    @staticmethod
    def _case(ticket: Ticket) -> dict:
        return {
            "external_id": ticket.external_id,
            "ticket_id": ticket.ticket_id,
            "subject": ticket.subject,
        }

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        payload = {
            "type": "case.reopen",
            "case": self._case(ticket),
            "customer": {
                "name": ticket.customer_name,
                "email": ticket.customer_email,
                "phone": ticket.customer_phone,
            },
            "note": note,
        }
        self._post(payload, key, now)
        return {"helpdesk": self.name, "ticket_id": ticket.ticket_id, "action": "reopen_requested"}

    def write_back(self, ticket: Ticket, note: Note, key: str, now: datetime) -> dict:
        payload = {
            "type": "case.note",
            "case": self._case(ticket),
            "note": note.text,
            "data": note.data,
        }
        self._post(payload, key, now)
        return {"helpdesk": self.name, "ticket_id": ticket.ticket_id, "action": "sent"}
