"""The Zendesk connector (Support API v2, `{email}/token:{api token}` basic auth).

A solved (or open, pending, on-hold) ticket is set back to open with the note as a private
comment. A closed ticket can never be reopened: a follow-up ticket is created for the same
requester (`via_followup_source_id`), its first comment the private note, with the reopen's
key as Idempotency-Key so a retried create makes one ticket.
"""

from datetime import datetime

import requests

from followup.connectors.base import Ticket, answer_field, request, ticket_number


class ZendeskConnector:
    name = "zendesk"

    def __init__(
        self, base_url: str, email: str, api_token: str, timeout: float, session: requests.Session
    ):
        self.api = base_url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = session
        self.session.auth = (f"{email}/token", api_token)

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        number = ticket_number(ticket.ticket_id, self.name)
        url = f"{self.api}/tickets/{number}.json"
        what = f"zendesk ticket {number}"
        found = request(self.session, "GET", url, what, self.timeout)
        current = answer_field(found, what, "ticket")
        comment = {"body": note, "public": False}
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
            return {
                "helpdesk": self.name,
                "ticket_id": number,
                "action": "follow_up_created",
                "follow_up_id": str(new_id),
            }
        body = {"ticket": {"status": "open", "comment": comment}}
        request(self.session, "PUT", url, what, self.timeout, json=body)
        return {"helpdesk": self.name, "ticket_id": number, "action": "reopened"}
