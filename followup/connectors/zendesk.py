"""The Zendesk connector (Support API v2, `{email}/token:{api token}` basic auth).

Reopen: a solved (or open, pending, on-hold) ticket is set back to open with the note as a
private comment. A closed ticket can never be reopened: a follow-up ticket is created for the
same requester (`via_followup_source_id`), its first comment the private note, with the
reopen's key as Idempotency-Key so a retried create makes one ticket.

Write-back: a private comment, the tags (`additional_tags`, `remove_tags`) and, when
configured, the score in a custom field, in one update; a closed ticket takes no updates, so
its write-back is skipped.

Zendesk's Idempotency-Key only covers creating tickets: every comment ends with its call's
marker line, and the ticket's comments are read (cursor-paginated) before writing one, so a
retry after a lost answer never adds it twice.
"""

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


class ZendeskConnector:
    name = "zendesk"

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        timeout: float,
        session: requests.Session,
        score_field: int | None = None,
    ):
        self.api = base_url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = session
        self.session.auth = (f"{email}/token", api_token)
        self.score_field = score_field

    def _result(self, number: str, action: str, **more: str) -> dict:
        return {"helpdesk": self.name, "ticket_id": number, "action": action, **more}

    def _has_comment(self, number: str, line: str) -> bool:
        """Whether one of the ticket's comments holds this marker line."""
        url = f"{self.api}/tickets/{number}/comments.json"
        what = f"zendesk ticket {number} comments"
        page: dict[str, str | int] = {"page[size]": 100}
        for _ in range(MAX_PAGES):
            found = request(self.session, "GET", url, what, self.timeout, params=page)
            if marker_in(answer_field(found, what, "comments"), line):
                return True
            if not answer_field(found, what, "meta", "has_more"):
                return False
            page = {
                "page[size]": 100,
                "page[after]": answer_field(found, what, "meta", "after_cursor"),
            }
        raise CallError(f"{what}: more than {MAX_PAGES} pages", False)

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        url = f"{self.api}/tickets/{number}.json"
        what = f"zendesk ticket {number}"
        found = request(self.session, "GET", url, what, self.timeout)
        current = answer_field(found, what, "ticket")
        comment = {"body": with_marker(note, key), "public": False}
        if answer_field(found, what, "ticket", "status") == "closed":
            follow_up = {
                "via_followup_source_id": int(number),
                "subject": current.get("subject") or ticket.subject,
                "requester_id": current.get("requester_id"),
                "comment": comment,
            }
            created = request(
                self.session,
                "POST",
                f"{self.api}/tickets.json",
                f"{what} follow-up",
                self.timeout,
                json={"ticket": follow_up},
                headers={"Idempotency-Key": key},
            )
            new_id = answer_field(created, f"{what} follow-up", "ticket", "id")
            return self._result(number, "follow_up_created", follow_up_id=str(new_id))
        if not self._has_comment(number, marker(key)):
            body = {"ticket": {"status": "open", "comment": comment}}
            request(self.session, "PUT", url, what, self.timeout, json=body)
        return self._result(number, "reopened")

    def write_back(self, ticket: Ticket, note: Note, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        url = f"{self.api}/tickets/{number}.json"
        what = f"zendesk ticket {number}"
        found = request(self.session, "GET", url, what, self.timeout)
        if answer_field(found, what, "ticket", "status") == "closed":
            return self._result(number, "skipped: ticket closed")
        if self._has_comment(number, note.marker):
            return self._result(number, "already written")
        change: dict = {"comment": {"body": note.text, "public": False}}
        if note.add_tags:
            change |= {"additional_tags": note.add_tags, "remove_tags": note.remove_tags}
        if note.score is not None and self.score_field:
            change["custom_fields"] = [{"id": self.score_field, "value": note.score}]
        request(self.session, "PUT", url, what, self.timeout, json={"ticket": change})
        return self._result(number, "written")
