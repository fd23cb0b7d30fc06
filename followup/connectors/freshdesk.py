"""The Freshdesk connector (API v2, `{api key}:X` basic auth): the ticket's status set to
Open (2), then the note added as a private note (HTML: escaped, line breaks as <br>).
Freshdesk reopens closed tickets too."""

import html
from datetime import datetime

import requests

from followup.connectors.base import Ticket, request, ticket_number

OPEN = 2


def note_html(note: str) -> str:
    return "<br>".join(html.escape(line) for line in note.splitlines())


class FreshdeskConnector:
    name = "freshdesk"

    def __init__(self, base_url: str, api_key: str, timeout: float, session: requests.Session):
        self.api = base_url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = session
        self.session.auth = (api_key, "X")

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        url = f"{self.api}/tickets/{number}"
        what = f"freshdesk ticket {number}"
        request(self.session, "PUT", url, what, self.timeout, json={"status": OPEN})
        note_body = {"body": note_html(note), "private": True}
        request(self.session, "POST", f"{url}/notes", f"{what} note", self.timeout, json=note_body)
        return {"helpdesk": self.name, "ticket_id": number, "action": "reopened"}
