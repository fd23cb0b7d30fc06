"""The emulated helpdesk APIs: the Zendesk and Freshdesk ticket endpoints the connectors use
(tickets in memory) and a receiver for any webhook, as a mixin of ProviderEmulator."""

from __future__ import annotations

import time
from typing import Any

from tests.support.emulator_http import Handler, basic_auth, parse_json, same

ZENDESK_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
FRESHDESK_STATUSES = (2, 3, 4, 5)  # Open, Pending, Resolved, Closed
# Fake credentials of the helpdesk endpoints, unless others are given.
ZENDESK_EMAIL = "agent@example.com"
ZENDESK_API_TOKEN = "zendesk-token"
FRESHDESK_API_KEY = "freshdesk-key"


class HelpdeskAPIs:
    """Zendesk, Freshdesk and /hooks/ answers; ProviderEmulator supplies credentials, the
    tickets, the lock and ``_answer`` (faults, records, latency)."""

    # -- Zendesk ----------------------------------------------------------------------------

    def _zendesk(
        self, handler: Handler, number: str | None, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = parse_json(raw)

        def invalid(field: str, description: str):
            details = {field: [{"description": description}]}
            error = {"error": "RecordInvalid", "description": "Record validation errors"}
            return 422, {**error, "details": details}, {}, None

        def decide():
            user, password = basic_auth(handler) or ("", "")
            expected = (f"{self.zendesk_email}/token", self.zendesk_api_token)
            if not (same(user, expected[0]) and same(password, expected[1])):
                return 401, {"error": "Couldn't authenticate you"}, {}, None
            change = body.get("ticket") if parsed and isinstance(body, dict) else None
            if handler.command != "GET" and not isinstance(change, dict):
                return 400, {"error": "InvalidValue", "description": "a ticket object"}, {}, None
            if number is None:
                return self._zendesk_create(handler, change, invalid)
            with self._lock:
                ticket = self._tickets.get(("zendesk", number))
                if ticket is None:
                    return 404, {"error": "RecordNotFound", "description": "Not found"}, {}, None
                if handler.command == "PUT":
                    status = change.get("status", ticket["status"])
                    comment = zendesk_comment(change.get("comment"))
                    if ticket["status"] == "closed":
                        return invalid("status", "Status: closed prevents ticket update")
                    if status not in ZENDESK_STATUSES:
                        return invalid("status", f"Status: {status} is not valid")
                    if "comment" in change and comment is None:
                        return invalid("comment", "Comment: body cannot be blank")
                    ticket["status"] = status
                    ticket["comments"] += [comment] if comment else []
                return 200, {"ticket": without_thread(ticket)}, {}, number

        return self._answer(handler, "zendesk", body, number, at, decide)

    def _zendesk_create(self, handler: Handler, new: dict, invalid):
        """Create a ticket (a follow-up of a closed one when via_followup_source_id names it);
        a repeated Idempotency-Key gets the first answer again."""
        key = handler.headers.get("Idempotency-Key")
        comment = zendesk_comment(new.get("comment"))
        if comment is None:
            return invalid("description", "Description: cannot be blank")
        with self._lock:
            if key in self._replays:
                status, payload = self._replays[key]
                replayed = str(payload["ticket"]["id"])
                return status, payload, {"x-idempotency-lookup": "hit"}, replayed
            source = self._tickets.get(("zendesk", str(new.get("via_followup_source_id"))))
            follows = source["id"] if source and source["status"] == "closed" else None
            number = next(self._ids)
            ticket = {
                "id": number,
                "status": new.get("status", "new"),
                "subject": new.get("subject") or "",
                "requester_id": new.get("requester_id"),
                "via_followup_source_id": follows,
                "comments": [comment],
            }
            self._tickets[("zendesk", str(number))] = ticket
            payload = {"ticket": without_thread(ticket)}
            if key:
                self._replays[key] = (201, payload)
        return 201, payload, {"x-idempotency-lookup": "miss"} if key else {}, str(number)

    # -- Freshdesk --------------------------------------------------------------------------

    def _freshdesk(
        self, handler: Handler, number: str, note: bool, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = parse_json(raw)

        def invalid(field: str, message: str):
            error = {"field": field, "message": message, "code": "invalid_value"}
            return 400, {"description": "Validation failed", "errors": [error]}, {}, None

        def decide():
            user, _ = basic_auth(handler) or ("", "")
            if not same(user, self.freshdesk_api_key):
                message = "You have to be logged in to perform this action."
                return 401, {"code": "invalid_credentials", "message": message}, {}, None
            if not (parsed and isinstance(body, dict)):
                message = "Request body has invalid json format"
                return 400, {"code": "invalid_json", "message": message}, {}, None
            with self._lock:
                ticket = self._tickets.get(("freshdesk", number))
                if ticket is None:
                    return 404, None, {}, None
                if note:
                    text, private = body.get("body"), body.get("private", True)
                    if not (isinstance(text, str) and text):
                        return invalid("body", "It should be a/an String")
                    if not isinstance(private, bool):
                        return invalid("private", "It should be a/an Boolean")
                    added = {"id": next(self._ids), "body": text, "private": private}
                    ticket["notes"].append(added)
                    answer = {**added, "ticket_id": ticket["id"], "incoming": False}
                    return 201, answer, {}, str(added["id"])
                status = body.get("status", ticket["status"])
                if status not in FRESHDESK_STATUSES:
                    return invalid("status", "It should be one of these values: '2,3,4,5'")
                ticket["status"] = status
                return 200, without_thread(ticket), {}, number

        return self._answer(handler, "freshdesk", body, number, at, decide)

    # -- any webhook ------------------------------------------------------------------------

    def _hook(self, handler: Handler, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        """Any POST under /hooks/ (event, credit and alert webhooks): recorded, 200."""
        body, _ = parse_json(raw)
        return self._answer(
            handler, "webhook", body, path, time.time(), lambda: (200, {"ok": True}, {}, None)
        )


def zendesk_comment(comment: Any) -> dict[str, Any] | None:
    """A comment as a ticket keeps it (public unless it says not), or None without a body."""
    if isinstance(comment, dict) and isinstance(comment.get("body"), str) and comment["body"]:
        return {"body": comment["body"], "public": comment.get("public", True)}
    return None


def without_thread(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the API shows it: without its comments or notes."""
    return {k: v for k, v in ticket.items() if k not in ("comments", "notes")}
