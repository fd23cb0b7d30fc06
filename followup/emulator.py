"""A local emulator, with fault injection, of the APIs the service calls: SendGrid v3 mail-send,
Twilio Messages, the Zendesk and Freshdesk ticket endpoints the helpdesk connectors use (with
in-memory tickets), and a receiver for any webhook (POST /hooks/<anything>)."""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import email.utils
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from followup.segments import sms_segments

SENDGRID_PATH = "/v3/mail/send"
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ZENDESK_TICKETS = "/api/v2/tickets.json"
ZENDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
FRESHDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(/notes)?$")
HOOKS_PREFIX = "/hooks/"
PROVIDERS = ("sendgrid", "twilio", "zendesk", "freshdesk", "webhook")
ZENDESK_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
FRESHDESK_STATUSES = (2, 3, 4, 5)  # Open, Pending, Resolved, Closed
# Fake credentials of the helpdesk endpoints, unless others are given.
ZENDESK_EMAIL = "agent@example.com"
ZENDESK_API_TOKEN = "zendesk-token"
FRESHDESK_API_KEY = "freshdesk-key"

SENDGRID_BAD_AUTH = "The provided authorization grant is invalid, expired, or revoked"
TWILIO_MAX_BODY = 1600


_FAULT_DEFAULTS: dict[str, Any] = {
    "rate": 0.0,
    "status": 503,
    "code": None,
    "latency_ms": 0,
    "times": None,
    "providers": list(PROVIDERS),
    "match": None,
}


def _check_faults(raw: dict[str, Any]) -> dict[str, Any]:
    """A complete fault setting from user input (unknown keys or bad values raise ValueError)."""
    unknown = set(raw) - set(_FAULT_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown fault options: {sorted(unknown)}")
    f = {**_FAULT_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    try:
        f["rate"] = float(f["rate"])
        f["status"] = HTTPStatus(int(f["status"])).value
        f["latency_ms"] = float(f["latency_ms"])
        f["code"] = None if f["code"] is None else int(f["code"])
        f["times"] = None if f["times"] is None else int(f["times"])
        providers = f["providers"]
        f["providers"] = [providers] if isinstance(providers, str) else list(providers)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad fault value: {exc}") from None
    if not 0.0 <= f["rate"] <= 1.0:
        raise ValueError("rate must be between 0.0 and 1.0")
    if not 400 <= f["status"] <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if f["latency_ms"] < 0:
        raise ValueError("latency_ms must be >= 0")
    if f["times"] is not None and f["times"] < 1:
        raise ValueError("times must be >= 1 or null")
    if not all(p in PROVIDERS for p in f["providers"]):
        raise ValueError(f"providers must be a subset of {list(PROVIDERS)}")
    if f["match"] is not None and not isinstance(f["match"], str):
        raise ValueError("match must be a string or null")
    return f


def _canonical_header(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    """(the decoded JSON, True), or (the text, False) when the body is not JSON."""
    try:
        return json.loads(raw), True
    except ValueError:
        return raw.decode("utf-8", "replace"), False


def _basic_auth(handler: _Handler) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic Authorization header, or None."""
    scheme, _, encoded = handler.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _sendgrid_error(message: str, field: str | None = None) -> dict[str, Any]:
    return {"message": message, "field": field, "help": None}


def _sendgrid_validate(body: Any) -> list[dict[str, Any]]:
    """The errors the real v3 mail/send endpoint would report for this body (empty when valid)."""
    if not isinstance(body, dict):
        return [_sendgrid_error("The request body must be a JSON object.")]
    errors = []
    pers = body.get("personalizations")
    if not isinstance(pers, list) or not pers:
        errors.append(
            _sendgrid_error(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        pers = []
    for i, p in enumerate(pers):
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to:
            errors.append(
                _sendgrid_error(
                    "The to array is required for all personalization objects, and must have "
                    "at least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                )
            )
            continue
        for j, rcpt in enumerate(to):
            addr = rcpt.get("email") if isinstance(rcpt, dict) else None
            if not isinstance(addr, str) or not EMAIL.match(addr):
                errors.append(
                    _sendgrid_error(
                        "Does not contain a valid address.", f"personalizations.{i}.to.{j}.email"
                    )
                )
    sender = body.get("from")
    sender_addr = sender.get("email") if isinstance(sender, dict) else None
    if not isinstance(sender_addr, str) or not EMAIL.match(sender_addr):
        errors.append(
            _sendgrid_error(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from.email",
            )
        )
    has_subject = isinstance(body.get("subject"), str) and body["subject"] != ""
    every_p_subject = bool(pers) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"] for p in pers
    )
    if not has_subject and not every_p_subject and not body.get("template_id"):
        errors.append(
            _sendgrid_error(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )
    content = body.get("content")
    if not isinstance(content, list) or not content:
        if not body.get("template_id"):
            errors.append(
                _sendgrid_error(
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block.",
                    "content",
                )
            )
        content = []
    types = []
    for i, part in enumerate(content):
        ctype = part.get("type") if isinstance(part, dict) else None
        value = part.get("value") if isinstance(part, dict) else None
        if not isinstance(ctype, str) or not ctype:
            errors.append(_sendgrid_error("The content type is required.", f"content.{i}.type"))
        if not isinstance(value, str) or not value:
            errors.append(
                _sendgrid_error(
                    "The content value must be a string at least one character in length.",
                    f"content.{i}.value",
                )
            )
        types.append(ctype)
    if "text/plain" in types and "text/html" in types and types.index("text/plain") != 0:
        errors.append(
            _sendgrid_error(
                "If present, text/plain must be first, followed by text/html, followed by any "
                "other content.",
                "content",
            )
        )
    for key in ("headers", "custom_args"):
        for k, v in (body.get(key) or {}).items() if isinstance(body.get(key), dict) else ():
            if not isinstance(v, str):
                errors.append(
                    _sendgrid_error(
                        f"Invalid type. Expected: string, given: {type(v).__name__}.",
                        f"{key}.{k}",
                    )
                )
    return errors


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "followup-emulator/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _respond(
        self,
        status: int,
        body: bytes | dict | list | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Write status line, headers and body in one write call (no Nagle/delayed-ACK stall)."""
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
            ctype = "application/json"
        else:
            payload = body or b""
            ctype = "application/json" if payload else None
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Length: {len(payload)}",
        ]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)
        except OSError:
            self.close_connection = True

    def _dispatch(self) -> None:
        raw = self._read_body()
        if raw is None:
            self.close_connection = True
            self._respond(400, {"error": "bad Content-Length"})
            return
        self.raw_body = raw
        path = urlsplit(self.path).path
        emu = self.server.emulator
        if path.startswith("/_emulator/"):
            self._control(path, raw)
        elif path == SENDGRID_PATH and self.command == "POST":
            self._respond(*emu._sendgrid(self, raw))
        elif (m := TWILIO_PATH.match(path)) and self.command == "POST":
            self._respond(*emu._twilio(self, m.group(1), raw))
        elif path == ZENDESK_TICKETS and self.command == "POST":
            self._respond(*emu._zendesk(self, None, raw))
        elif (m := ZENDESK_TICKET.match(path)) and self.command in ("GET", "PUT"):
            self._respond(*emu._zendesk(self, m.group(1), raw))
        elif (m := FRESHDESK_TICKET.match(path)) and self.command == (
            "POST" if m.group(2) else "PUT"
        ):
            self._respond(*emu._freshdesk(self, m.group(1), bool(m.group(2)), raw))
        elif path.startswith(HOOKS_PREFIX) and self.command == "POST":
            self._respond(*emu._hook(self, path, raw))
        else:
            self._respond(404, {"error": "not found", "method": self.command, "path": path})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _control(self, path: str, raw: bytes) -> None:
        emu = self.server.emulator
        if path == "/_emulator/requests" and self.command == "GET":
            self._respond(200, emu.requests())
        elif path == "/_emulator/reset" and self.command == "POST":
            emu.reset()
            self._respond(200, {"ok": True})
        elif path == "/_emulator/faults" and self.command == "GET":
            self._respond(200, emu.faults())
        elif path == "/_emulator/faults" and self.command == "POST":
            try:
                options = json.loads(raw or b"{}")
                if not isinstance(options, dict):
                    raise ValueError("faults must be a JSON object")
                self._respond(200, emu.set_faults(**options))
            except ValueError as exc:
                self._respond(400, {"error": str(exc)})
        else:
            self._respond(404, {"error": "not found", "method": self.command, "path": path})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], emulator: ProviderEmulator):
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._conns_lock:
            (self._conns.add if open_ else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client went away: not worth a traceback
        super().handle_error(request, client_address)


class ProviderEmulator:
    """The emulated APIs on one local port, recording every request: ``requests(provider)``
    gives method, path, headers, body (parsed when JSON), raw (the body's text), status and
    provider_id; provider is one of PROVIDERS, "webhook" the /hooks/ receiver (answers 200).

    Helpdesk tickets live in memory: seed them with ``add_ticket``, read them with ``ticket``.
    Zendesk: GET and PUT /api/v2/tickets/<id>.json (a closed ticket refuses updates, 422),
    POST /api/v2/tickets.json (a repeated Idempotency-Key replays the first answer; a
    ``via_followup_source_id`` counts only for a closed ticket); basic auth
    ``<zendesk_email>/token:<zendesk_api_token>``. Freshdesk: PUT /api/v2/tickets/<id>, POST
    /api/v2/tickets/<id>/notes; basic auth ``<freshdesk_api_key>:X``. Unknown tickets: 404.

    Faults (``set_faults`` or ``POST /_emulator/faults``): ``rate`` probability that a matching
    provider request fails with ``status`` (Twilio error ``code``, else 20000+status);
    ``latency_ms`` delay before answering every matching request; ``times`` the fault covers the
    next N matching requests only, then clears; ``providers`` which APIs it affects; ``match``
    only requests whose recipient (email address, phone number, ticket id, hook path) contains
    this substring. 429 answers carry ``Retry-After: 1``.
    """

    def __init__(
        self,
        sendgrid_api_key: str,
        twilio_account_sid: str,
        twilio_auth_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        zendesk_email: str = ZENDESK_EMAIL,
        zendesk_api_token: str = ZENDESK_API_TOKEN,
        freshdesk_api_key: str = FRESHDESK_API_KEY,
    ):
        self.sendgrid_api_key = sendgrid_api_key
        self.twilio_account_sid = twilio_account_sid
        self.twilio_auth_token = twilio_auth_token
        self.zendesk_email = zendesk_email
        self.zendesk_api_token = zendesk_api_token
        self.freshdesk_api_key = freshdesk_api_key
        self.host = host
        self.port = port
        self.url: str | None = None
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._faults: dict[str, Any] | None = None
        self._tickets: dict[tuple[str, str], dict[str, Any]] = {}
        self._replays: dict[str, tuple[int, Any]] = {}  # Zendesk answers by Idempotency-Key
        self._ids = itertools.count(90001)  # ids of created tickets and notes
        self._random = random.Random()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, serve in a daemon thread and return the base URL."""
        if self._server is not None:
            return self.url  # type: ignore[return-value]
        self._server = _Server((self.host, self.port), self)
        host, port = self._server.server_address[:2]
        self.port = port
        self.url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"provider-emulator-{port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ProviderEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- records and faults -------------------------------------------------------------------

    def requests(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Copies of the recorded provider requests, oldest first (optionally one provider's)."""
        with self._lock:
            return [dict(r) for r in self._records if provider in (None, r["provider"])]

    def reset(self) -> None:
        """Forget recorded requests and tickets, and clear faults."""
        with self._lock:
            self._records.clear()
            self._tickets.clear()
            self._replays.clear()
            self._faults = None

    def add_ticket(
        self,
        helpdesk: str,
        ticket_id: str,
        status: str | int,
        requester_id: int | None = None,
        subject: str = "",
    ) -> None:
        """Seed a helpdesk ticket: "zendesk" with a status name ("solved", "closed" ...),
        "freshdesk" with a status number (2 Open, 3 Pending, 4 Resolved, 5 Closed)."""
        assert helpdesk in ("zendesk", "freshdesk"), helpdesk
        ticket = {
            "id": int(ticket_id),
            "status": status,
            "subject": subject,
            "requester_id": requester_id,
        }
        if helpdesk == "zendesk":
            ticket |= {"via_followup_source_id": None, "comments": []}
        else:
            ticket["notes"] = []
        with self._lock:
            self._tickets[(helpdesk, str(ticket_id))] = ticket

    def ticket(self, helpdesk: str, ticket_id: str) -> dict[str, Any] | None:
        """A copy of a ticket's current state, with its comments (Zendesk) or notes
        (Freshdesk); None when there is no such ticket."""
        with self._lock:
            return copy.deepcopy(self._tickets.get((helpdesk, str(ticket_id))))

    def set_faults(self, **options: Any) -> dict[str, Any]:
        """Replace the fault setting (no options: clear it); returns the setting in force."""
        faults = _check_faults(options) if options else None
        if faults and faults["rate"] == 0 and faults["latency_ms"] == 0:
            faults = None
        with self._lock:
            self._faults = faults
        return self.faults()

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._faults) if self._faults else dict(_FAULT_DEFAULTS)

    def _take_fault(self, provider: str, recipient: str | None) -> tuple[bool, dict[str, Any]]:
        """(fails, fault) for one provider request; consumes one of ``times``."""
        with self._lock:
            f = self._faults
            if f is None or provider not in f["providers"]:
                return False, {}
            if f["match"] is not None and (recipient is None or f["match"] not in recipient):
                return False, {}
            if f["times"] is not None:
                f["times"] -= 1
                if f["times"] <= 0:
                    self._faults = None
            fails = f["rate"] > 0 and self._random.random() < f["rate"]
            return fails, dict(f)

    def _record(
        self,
        handler: _Handler,
        provider: str,
        body: Any,
        status: int,
        provider_id: str | None,
        at: float,
    ) -> None:
        rec = {
            "provider": provider,
            "method": handler.command,
            "path": handler.path,
            "headers": {_canonical_header(k): v for k, v in handler.headers.items()},
            "body": body,
            "raw": handler.raw_body.decode("utf-8", "replace"),
            "status": status,
            "provider_id": provider_id,
            "at": at,
        }
        with self._lock:
            self._records.append(rec)

    def _answer(
        self,
        handler: _Handler,
        provider: str,
        body: Any,
        recipient: str | None,
        at: float,
        decide,
    ) -> tuple[int, Any, dict[str, str]]:
        """Apply faults, else ``decide()``; record; sleep the injected latency; return answer."""
        fails, fault = self._take_fault(provider, recipient)
        if fails:
            status, payload = self._fault_answer(provider, fault)
            headers, provider_id = {}, None
        else:
            status, payload, headers, provider_id = decide()
        if status == 429:
            headers = {**headers, "Retry-After": "1"}
        self._record(handler, provider, body, status, provider_id, at)
        if fault.get("latency_ms"):
            time.sleep(fault["latency_ms"] / 1000)
        return status, payload, headers

    @staticmethod
    def _fault_answer(provider: str, fault: dict[str, Any]) -> tuple[int, Any]:
        status = fault["status"]
        phrase = HTTPStatus(status).phrase
        if provider == "sendgrid":
            return status, {"errors": [_sendgrid_error(f"Injected fault: {phrase}")]}
        if provider != "twilio":
            return status, {"error": f"Injected fault: {phrase}"}
        code = fault["code"] or 20000 + status
        return status, {
            "code": code,
            "message": f"Injected fault: {phrase}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    # -- SendGrid -------------------------------------------------------------------------------

    def _sendgrid(self, handler: _Handler, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = _parse_json(raw)
        recipient = None
        try:
            recipient = body["personalizations"][0]["to"][0]["email"]
        except (KeyError, IndexError, TypeError):
            pass

        def decide():
            auth = handler.headers.get("Authorization", "")
            if not _same(auth, f"Bearer {self.sendgrid_api_key}"):
                return 401, {"errors": [_sendgrid_error(SENDGRID_BAD_AUTH)]}, {}, None
            if not parsed:
                return 400, {"errors": [_sendgrid_error("Invalid JSON", None)]}, {}, None
            errors = _sendgrid_validate(body)
            if errors:
                return 400, {"errors": errors}, {}, None
            msg_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
            return 202, None, {"X-Message-Id": msg_id}, msg_id

        return self._answer(handler, "sendgrid", body, recipient, at, decide)

    # -- Twilio -------------------------------------------------------------------------------

    def _twilio_authorized(self, handler: _Handler, path_sid: str) -> bool:
        user, password = _basic_auth(handler) or ("", "")
        return (
            _same(user, self.twilio_account_sid)
            and _same(password, self.twilio_auth_token)
            and path_sid == self.twilio_account_sid
        )

    def _twilio(
        self, handler: _Handler, path_sid: str, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        fields = {
            k: v[0] if len(v) == 1 else v
            for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()
        }

        def error(status: int, code: int, message: str):
            return (
                status,
                {
                    "code": code,
                    "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
                {},
                None,
            )

        def decide():
            if not self._twilio_authorized(handler, path_sid):
                status, payload, _, _ = error(401, 20003, "Authenticate")
                return status, payload, {"WWW-Authenticate": 'Basic realm="Twilio API"'}, None
            to, sender = fields.get("To"), fields.get("From")
            service, text = fields.get("MessagingServiceSid"), fields.get("Body")
            if not to:
                return error(400, 21604, "A 'To' phone number is required.")
            if not isinstance(to, str) or not E164.match(to):
                return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if not sender and not service:
                return error(400, 21603, "A 'From' phone number is required.")
            if not text and not fields.get("MediaUrl"):
                return error(400, 21602, "Message body is required.")
            text = text if isinstance(text, str) else ""
            if len(text) > TWILIO_MAX_BODY:
                return error(
                    400,
                    21617,
                    f"The concatenated message body exceeds the {TWILIO_MAX_BODY} character limit.",
                )
            sid = "SM" + secrets.token_hex(16)
            now = email.utils.format_datetime(datetime.now(UTC)).replace("GMT", "+0000")
            base = f"/2010-04-01/Accounts/{path_sid}/Messages/{sid}"
            payload = {
                "account_sid": path_sid,
                "api_version": "2010-04-01",
                "body": text,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "num_media": "0" if not fields.get("MediaUrl") else "1",
                "num_segments": str(sms_segments(text).count),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued" if sender else "accepted",
                "status_callback": fields.get("StatusCallback"),
                "subresource_uris": {"media": f"{base}/Media.json"},
                "to": to,
                "uri": f"{base}.json",
            }
            return 201, payload, {}, sid

        recipient = fields.get("To") if isinstance(fields.get("To"), str) else None
        return self._answer(handler, "twilio", fields, recipient, at, decide)

    # -- Zendesk ----------------------------------------------------------------------------

    def _zendesk(
        self, handler: _Handler, number: str | None, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = _parse_json(raw)

        def invalid(field: str, description: str):
            details = {field: [{"description": description}]}
            error = {"error": "RecordInvalid", "description": "Record validation errors"}
            return 422, {**error, "details": details}, {}, None

        def decide():
            user, password = _basic_auth(handler) or ("", "")
            expected = (f"{self.zendesk_email}/token", self.zendesk_api_token)
            if not (_same(user, expected[0]) and _same(password, expected[1])):
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
                    comment = _zendesk_comment(change.get("comment"))
                    if ticket["status"] == "closed":
                        return invalid("status", "Status: closed prevents ticket update")
                    if status not in ZENDESK_STATUSES:
                        return invalid("status", f"Status: {status} is not valid")
                    if "comment" in change and comment is None:
                        return invalid("comment", "Comment: body cannot be blank")
                    ticket["status"] = status
                    ticket["comments"] += [comment] if comment else []
                return 200, {"ticket": _without_thread(ticket)}, {}, number

        return self._answer(handler, "zendesk", body, number, at, decide)

    def _zendesk_create(self, handler: _Handler, new: dict, invalid):
        """Create a ticket (a follow-up of a closed one when via_followup_source_id names it);
        a repeated Idempotency-Key gets the first answer again."""
        key = handler.headers.get("Idempotency-Key")
        comment = _zendesk_comment(new.get("comment"))
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
            payload = {"ticket": _without_thread(ticket)}
            if key:
                self._replays[key] = (201, payload)
        return 201, payload, {"x-idempotency-lookup": "miss"} if key else {}, str(number)

    # -- Freshdesk --------------------------------------------------------------------------

    def _freshdesk(
        self, handler: _Handler, number: str, note: bool, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = _parse_json(raw)

        def invalid(field: str, message: str):
            error = {"field": field, "message": message, "code": "invalid_value"}
            return 400, {"description": "Validation failed", "errors": [error]}, {}, None

        def decide():
            user, _ = _basic_auth(handler) or ("", "")
            if not _same(user, self.freshdesk_api_key):
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
                return 200, _without_thread(ticket), {}, number

        return self._answer(handler, "freshdesk", body, number, at, decide)

    # -- any webhook ------------------------------------------------------------------------

    def _hook(self, handler: _Handler, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        """Any POST under /hooks/ (event, credit and alert webhooks): recorded, 200."""
        body, _ = _parse_json(raw)
        return self._answer(
            handler, "webhook", body, path, time.time(), lambda: (200, {"ok": True}, {}, None)
        )


def _zendesk_comment(comment: Any) -> dict[str, Any] | None:
    """A comment as a ticket keeps it (public unless it says not), or None without a body."""
    if isinstance(comment, dict) and isinstance(comment.get("body"), str) and comment["body"]:
        return {"body": comment["body"], "public": comment.get("public", True)}
    return None


def _without_thread(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the API shows it: without its comments or notes."""
    return {k: v for k, v in ticket.items() if k not in ("comments", "notes")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m followup.emulator",
        description="Serve the local provider emulator until SIGTERM or SIGINT.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--sendgrid-key", required=True)
    parser.add_argument("--twilio-sid", required=True)
    parser.add_argument("--twilio-token", required=True)
    parser.add_argument("--zendesk-email", default=ZENDESK_EMAIL)
    parser.add_argument("--zendesk-token", default=ZENDESK_API_TOKEN)
    parser.add_argument("--freshdesk-key", default=FRESHDESK_API_KEY)
    args = parser.parse_args(argv)

    emulator = ProviderEmulator(
        args.sendgrid_key,
        args.twilio_sid,
        args.twilio_token,
        host=args.host,
        port=args.port,
        zendesk_email=args.zendesk_email,
        zendesk_api_token=args.zendesk_token,
        freshdesk_api_key=args.freshdesk_key,
    )
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    print(emulator.start(), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
