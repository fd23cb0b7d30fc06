"""The emulated helpdesk APIs: the Zendesk and Freshdesk ticket endpoints the connectors use
(tickets in memory: status, comments or notes, tags, custom fields; comment lists paged as
the real APIs page them) and a receiver for any webhook, as a mixin of ProviderEmulator."""

from __future__ import annotations

import base64
import html
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
            refused = self._zendesk_refusal(handler)
            if refused:
                return refused
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
                    tags = {name: change.get(name) for name in TAG_CHANGES}
                    for name, value in tags.items():
                        if value is not None and not strings(value):
                            return invalid(name, f"{name}: must be a list of strings")
                    fields = change.get("custom_fields") or []
                    if not (isinstance(fields, list) and all(map(zendesk_field, fields))):
                        return invalid("custom_fields", "custom_fields: {id, value} objects")
                    ticket["status"] = status
                    ticket["comments"] += [comment] if comment else []
                    ticket["tags"] = changed_tags(ticket["tags"], **tags)
                    values = {f["id"]: f["value"] for f in ticket["custom_fields"] + fields}
                    ticket["custom_fields"] = [{"id": i, "value": v} for i, v in values.items()]
                return 200, {"ticket": without_thread(ticket)}, {}, number

        return self._answer(handler, "zendesk", body, number, at, decide)

    def _zendesk_refusal(self, handler: Handler) -> tuple[int, Any, dict, None] | None:
        """The 401 answer unless the request carries the API token's basic auth."""
        user, password = basic_auth(handler) or ("", "")
        expected = (f"{self.zendesk_email}/token", self.zendesk_api_token)
        if not (same(user, expected[0]) and same(password, expected[1])):
            return 401, {"error": "Couldn't authenticate you"}, {}, None
        return None

    def _zendesk_comments(self, handler: Handler, number: str) -> tuple[int, Any, dict[str, str]]:
        """GET a ticket's comments, cursor-paginated: page[size] (at most 100) and
        page[after] (the after_cursor of the page before); meta.has_more says whether there
        is another page, links.next is its URL."""
        at = time.time()
        query = parse_qs(urlsplit(handler.path).query)

        def decide():
            refused = self._zendesk_refusal(handler)
            if refused:
                return refused
            size = (query.get("page[size]") or ["100"])[0]
            start = cursor_position((query.get("page[after]") or ["start"])[0])
            if not (size.isdigit() and 1 <= int(size) <= 100) or start is None:
                message = "page[size] must be 1-100 and page[after] a cursor from meta"
                return (
                    400,
                    {"error": "InvalidPaginationParameter", "description": message},
                    {},
                    None,
                )
            with self._lock:
                ticket = self._tickets.get(("zendesk", number))
                if ticket is None:
                    return 404, {"error": "RecordNotFound", "description": "Not found"}, {}, None
                comments = ticket["comments"]
            end = start + int(size)
            listed = [
                {"id": int(number) * 1000 + position, "type": "Comment", **comment}
                for position, comment in enumerate(comments[start:end], start)
            ]
            more = end < len(comments)
            after = cursor(min(end, len(comments)))
            url = f"{self.url}/api/v2/tickets/{number}/comments.json"
            meta = {"has_more": more, "after_cursor": after, "before_cursor": cursor(start)}
            links = {"next": f"{url}?page[size]={size}&page[after]={after}" if more else None}
            return 200, {"comments": listed, "meta": meta, "links": links}, {}, number

        return self._answer(handler, "zendesk", None, number, at, decide)

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
                "tags": [],
                "custom_fields": [],
                "comments": [comment],
            }
            self._tickets[("zendesk", str(number))] = ticket
            payload = {"ticket": without_thread(ticket)}
            if key:
                self._replays[key] = (201, payload)
        return 201, payload, {"x-idempotency-lookup": "miss"} if key else {}, str(number)

    # -- Freshdesk --------------------------------------------------------------------------

    def _freshdesk(
        self, handler: Handler, number: str, part: str | None, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """PUT a ticket (status, custom_fields), POST a note to it (part /notes) or GET its
        conversations (part /conversations: paged by page and per_page, at most 100; a Link
        header names the next page while there is one)."""
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
            if part == "/conversations":
                return self._freshdesk_conversations(handler, number, invalid)
            if not (parsed and isinstance(body, dict)):
                message = "Request body has invalid json format"
                return 400, {"code": "invalid_json", "message": message}, {}, None
            with self._lock:
                ticket = self._tickets.get(("freshdesk", number))
                if ticket is None:
                    return 404, None, {}, None
                if part == "/notes":
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
                fields = body.get("custom_fields", {})
                if not (isinstance(fields, dict) and all(map(FRESHDESK_FIELD.fullmatch, fields))):
                    return invalid("custom_fields", "It should be a/an key/value pair")
                ticket["status"] = status
                ticket["custom_fields"].update(fields)
                return 200, without_thread(ticket), {}, number

        return self._answer(handler, "freshdesk", body, number, at, decide)

    def _freshdesk_conversations(self, handler: Handler, number: str, invalid):
        query = parse_qs(urlsplit(handler.path).query)
        page, per_page = (query.get("page") or ["1"])[0], (query.get("per_page") or ["30"])[0]
        if not (page.isdigit() and int(page) >= 1):
            return invalid("page", "It should be a/an Positive Integer")
        if not (per_page.isdigit() and 1 <= int(per_page) <= 100):
            return invalid("per_page", "It should be a Positive Integer less than or equal to 100")
        with self._lock:
            ticket = self._tickets.get(("freshdesk", number))
            if ticket is None:
                return 404, None, {}, None
            notes = list(ticket["notes"])
        start = (int(page) - 1) * int(per_page)
        listed = [
            {
                **note,
                "body_text": text_of(note["body"]),
                "incoming": False,
                "ticket_id": int(number),
            }
            for note in notes[start : start + int(per_page)]
        ]
        headers = {}
        if start + int(per_page) < len(notes):
            url = f"{self.url}/api/v2/tickets/{number}/conversations"
            headers["Link"] = f'<{url}?page={int(page) + 1}&per_page={per_page}>; rel="next"'
        return 200, listed, headers, number

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


TAG_CHANGES = ("tags", "additional_tags", "remove_tags")
FRESHDESK_FIELD = re.compile(r"cf_[a-z0-9_]+")


def strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def zendesk_field(field: Any) -> bool:
    """Whether a custom_fields entry is {id: a number, value}."""
    return isinstance(field, dict) and isinstance(field.get("id"), int) and "value" in field


def changed_tags(
    current: list[str],
    tags: list[str] | None,
    additional_tags: list[str] | None,
    remove_tags: list[str] | None,
) -> list[str]:
    """A ticket's tags after an update: `tags` replaces them, `additional_tags` adds to them,
    `remove_tags` takes away (Zendesk keeps tags lower-case, each once)."""
    kept = [tag.lower() for tag in (current if tags is None else tags) + (additional_tags or [])]
    removed = {tag.lower() for tag in remove_tags or []}
    return [tag for tag in dict.fromkeys(kept) if tag not in removed]


def cursor(position: int) -> str:
    """An opaque Zendesk page cursor for a position in a comment list."""
    return base64.urlsafe_b64encode(f"position:{position}".encode()).decode()


def cursor_position(value: str) -> int | None:
    """A cursor's position (0 for the first page), or None when it is no cursor of ours."""
    if value == "start":
        return 0
    try:
        kind, _, position = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(position) if kind == "position" and position.isdigit() else None


def text_of(body: str) -> str:
    """A note's HTML body as Freshdesk's body_text shows it."""
    return html.unescape(re.sub(r"<[^>]+>", "\n", body.replace("<br>", "\n")))


def without_thread(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the API shows it: without its comments or notes."""
    return {k: v for k, v in ticket.items() if k not in ("comments", "notes")}
