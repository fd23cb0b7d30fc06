"""What every connector and outbound call shares: the Ticket a connector is given, one error
type that says whether a retry may help, requests (redirects not followed, a refused address
a permanent error) and JSON answers read with that classification, and Standard Webhooks
signatures (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 over id, timestamp
and body).

A failed call's reason names the status and never holds the answer's body: reasons are
stored and shown in the console, and the answer may come from anywhere. Nor is an answer read
without bounds: at most MAX_ANSWER_BYTES, within the call's timeout in all (requests' own
timeout is per read, so a server that drips bytes would hold a worker for ever)."""

import json
import time
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

import requests
from standardwebhooks import Webhook

from followup.channels.pacing import retry_after_seconds
from followup.targets import RefusedTarget

# The most pages of a ticket's comments read to look for a note's marker (100 a page).
MAX_PAGES = 100
# The most of an answer read: a page of 100 helpdesk comments is well under this.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Ticket:
    """What a connector knows of a case: its ids, subject and customer."""

    external_id: str
    ticket_id: str
    subject: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None

    @classmethod
    def of(cls, case) -> "Ticket":
        customer = case.customer
        return cls(
            case.external_id,
            case.ticket_id or case.external_id,
            case.subject,
            customer.name,
            customer.email,
            customer.phone,
        )


class CallError(Exception):
    """Another system refused or could not take a call; `transient` when a retry may help
    (timeouts, connection errors, 408, 409, 429 and 5xx); `retry_after`: the seconds a 429 or
    503 asked to wait (Zendesk and Freshdesk send Retry-After with their rate limits)."""

    def __init__(self, reason: str, transient: bool, retry_after: float = 0):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


def status_line(status: int) -> str:
    """The status and its standard phrase (not the server's words): HTTP 404 Not Found."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def check(response: requests.Response, what: str) -> requests.Response:
    """The response when it is a 2xx, else a CallError naming the status (a redirect is
    not followed: a permanent error)."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    if 300 <= status < 400:
        raise CallError(f"{what}: {status_line(status)}: redirects are not followed", False)
    transient = status in (408, 409, 429) or status >= 500
    retry_after = 0.0
    if status in (429, 503) and "Retry-After" in response.headers:
        retry_after = retry_after_seconds(response.headers["Retry-After"])
    raise CallError(f"{what}: {status_line(status)}", transient, retry_after)


def request(
    session: requests.Session, method: str, url: str, what: str, timeout: float, **kwargs
) -> requests.Response:
    """One HTTP call, redirects not followed, its answer read within the timeout and
    MAX_ANSWER_BYTES; network failures and slow answers become transient CallErrors, a
    refused address, an answer too large and non-2xx answers CallErrors."""
    deadline = time.monotonic() + timeout
    try:
        response = session.request(
            method, url, timeout=timeout, allow_redirects=False, stream=True, **kwargs
        )
        with response:
            response._content = _bounded_body(response, what, deadline)
    except RefusedTarget as refused:
        raise CallError(f"{what}: {refused}", transient=False) from None
    except requests.RequestException as error:
        raise CallError(f"{what}: {type(error).__name__}: {error}", transient=True) from None
    return check(response, what)


def _bounded_body(response: requests.Response, what: str, deadline: float) -> bytes:
    """The answer's body, refused when it is larger than MAX_ANSWER_BYTES or is still
    coming at the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise CallError(f"{what}: answer over {MAX_ANSWER_BYTES} bytes", transient=False)
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise CallError(f"{what}: answer over {MAX_ANSWER_BYTES} bytes", transient=False)
        if time.monotonic() > deadline:
            raise CallError(f"{what}: the answer took longer than the timeout", transient=True)
    return bytes(body)


def answer_field(response: requests.Response, what: str, *path: str):
    """A field of a 2xx JSON answer (a path of keys); a transient CallError when the answer
    is not JSON or lacks the field (a proxy's page, a truncated body)."""
    try:
        value = response.json()
    except ValueError:
        raise CallError(f"{what}: unexpected answer: not JSON", True) from None
    try:
        for key in path:
            value = value[key]
    except (KeyError, TypeError, IndexError):
        raise CallError(f"{what}: unexpected answer: no {'.'.join(path)}", True) from None
    return value


def ticket_number(ticket_id: str, helpdesk: str) -> str:
    """A helpdesk's ticket number (digits) to put in a URL; a permanent CallError otherwise."""
    if not (ticket_id.isascii() and ticket_id.isdigit()):
        raise CallError(f"{helpdesk}: {ticket_id!r} is not a {helpdesk} ticket number", False)
    return ticket_id


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers for a body: the same message id on every retry."""
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


def post_signed(
    session: requests.Session,
    url: str,
    secret: str,
    message_id: str,
    payload: dict,
    what: str,
    timeout: float,
    now: datetime,
) -> requests.Response:
    """POST a JSON payload signed with the Standard Webhooks headers."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = signed_headers(secret, message_id, body, now)
    return request(session, "POST", url, what, timeout, data=body.encode(), headers=headers)


def check_secret(name: str, secret: str | None) -> str | None:
    """A signing secret as Standard Webhooks writes it (whsec_ + base64); SystemExit naming
    the setting when it is not one, so a bad secret fails at start, not at the first call."""
    if not secret:
        return None
    try:
        Webhook(secret)
    except Exception:  # the library raises binascii.Error or its own errors
        raise SystemExit(f"{name} must look like whsec_<base64>, e.g. whsec_{'A' * 32}") from None
    return secret
