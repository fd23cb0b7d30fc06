"""The Freshdesk connector (API v2, `{api key}:X` basic auth).

Reopen: the ticket's status set to Open (2), then the note added as a private note (HTML:
escaped, line breaks as <br>). Freshdesk reopens closed tickets too.

Write-back: the score in the ticket's custom field when one is configured (a PUT, harmless to
repeat), then a private note.

Every note ends with its call's marker line, and the ticket's conversations (paged) are read
before adding one, so a retry after a lost answer never adds it twice.
"""

import html
from datetime import datetime

import requests

from followup.connectors.base import (
    MAX_PAGES,
    CallError,
    Ticket,
    answer_field,
    request,
    ticket_number,
)
from followup.connectors.notes import Note, marker, marker_in, with_marker

OPEN = 2


def note_html(note: str) -> str:
    return "<br>".join(html.escape(line) for line in note.splitlines())


class FreshdeskConnector:
    name = "freshdesk"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        session: requests.Session,
        score_field: str | None = None,
    ):
        self.api = base_url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = session
        self.session.auth = (api_key, "X")
        self.score_field = score_field

    def _add_note_once(self, number: str, text: str, line: str) -> bool:
        """Add the private note unless one of the ticket's conversations holds its marker
        line; whether it was added."""
        url = f"{self.api}/tickets/{number}"
        what = f"freshdesk ticket {number} conversations"
        for page in range(1, MAX_PAGES + 1):
            params = {"page": page, "per_page": 100}
            found = request(
                self.session, "GET", f"{url}/conversations", what, self.timeout, params=params
            )
            if marker_in(answer_field(found, what), line):
                return False
            if "next" not in found.links:
                body = {"body": note_html(text), "private": True}
                what = f"freshdesk ticket {number} note"
                request(self.session, "POST", f"{url}/notes", what, self.timeout, json=body)
                return True
        raise CallError(f"{what}: more than {MAX_PAGES} pages", False)

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        url = f"{self.api}/tickets/{number}"
        what = f"freshdesk ticket {number}"
        request(self.session, "PUT", url, what, self.timeout, json={"status": OPEN})
        self._add_note_once(number, with_marker(note, key), marker(key))
        return {"helpdesk": self.name, "ticket_id": number, "action": "reopened"}

    def write_back(self, ticket: Ticket, note: Note, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        if note.score is not None and self.score_field:
            fields = {"custom_fields": {self.score_field: note.score}}
            what = f"freshdesk ticket {number}"
            request(
                self.session, "PUT", f"{self.api}/tickets/{number}", what, self.timeout, json=fields
            )
        added = self._add_note_once(number, note.text, note.marker)
        action = "written" if added else "already written"
        return {"helpdesk": self.name, "ticket_id": number, "action": action}
