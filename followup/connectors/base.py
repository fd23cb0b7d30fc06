"""What every connector and outbound call shares: the Ticket a connector is given, one error
type that says whether a retry may help, requests and JSON answers read with that
classification, and Standard Webhooks signatures (webhook-id, webhook-timestamp,
webhook-signature: HMAC-SHA256 over id, timestamp and body)."""

import json
from dataclasses import dataclass
from datetime import datetime

import requests
from standardwebhooks import Webhook

from followup.channels.email_sendgrid import is_loopback


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
    (timeouts, connection errors, 408, 409, 429 and 5xx)."""

    def __init__(self, reason: str, transient: bool):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def session_for(url: str) -> requests.Session:
    """A keep-alive session; loopback URLs (emulators) bypass any proxy settings."""
    session = requests.Session()
    session.trust_env = not is_loopback(url)
    return session


def check(response: requests.Response, what: str) -> requests.Response:
    """The response when it is a 2xx, else a CallError naming the status and the body."""
    if response.ok:
        return response
    status = response.status_code
    transient = status in (408, 409, 429) or status >= 500
    raise CallError(f"{what}: HTTP {status} {response.text[:300]}", transient)


def request(
    session: requests.Session, method: str, url: str, what: str, timeout: float, **kwargs
) -> requests.Response:
    """One HTTP call; network failures become transient CallErrors, non-2xx answers CallErrors."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        raise CallError(f"{what}: {type(error).__name__}: {error}", transient=True) from None
    return check(response, what)


def answer_field(response: requests.Response, what: str, *path: str):
    """A field of a 2xx JSON answer (a path of keys); a transient CallError when the answer
    is not JSON or lacks the field (a proxy's page, a truncated body)."""
    try:
        value = response.json()
        for key in path:
            value = value[key]
    except (ValueError, KeyError, TypeError):
        raise CallError(f"{what}: unexpected answer {response.text[:300]!r}", True) from None
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
