"""The provider emulator's HTTP plumbing: the request handler that routes each call to the
emulated API, the threaded server that tracks keep-alive connections (one thread each, so
many calls in flight wait their latency in parallel) and small request helpers (JSON bodies,
basic auth, constant-time compare)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from tests.support.emulator import ProviderEmulator

SENDGRID_PATH = "/v3/mail/send"
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
ZENDESK_TICKETS = "/api/v2/tickets.json"
ZENDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
ZENDESK_COMMENTS = re.compile(r"^/api/v2/tickets/(\d+)/comments\.json$")
FRESHDESK_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(/notes|/conversations)?$")
FRESHDESK_METHODS = {None: "PUT", "/notes": "POST", "/conversations": "GET"}
DROPPED = 0  # an answer's status that closes the connection instead of answering
HOOKS_PREFIX = "/hooks/"


def canonical_header(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """(the decoded JSON, True), or (the text, False) when the body is not JSON."""
    try:
        return json.loads(raw), True
    except ValueError:
        return raw.decode("utf-8", "replace"), False


def basic_auth(handler: Handler) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic Authorization header, or None."""
    scheme, _, encoded = handler.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "followup-emulator/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: Server

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
        """Write status line, headers and body in one write call (no Nagle/delayed-ACK stall);
        status DROPPED closes the connection without a word."""
        if status == DROPPED:
            self.close_connection = True
            return
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
        elif (m := ZENDESK_COMMENTS.match(path)) and self.command == "GET":
            self._respond(*emu._zendesk_comments(self, m.group(1)))
        elif (m := FRESHDESK_TICKET.match(path)) and self.command == FRESHDESK_METHODS[m.group(2)]:
            self._respond(*emu._freshdesk(self, m.group(1), m.group(2), raw))
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
        elif path in ("/_emulator/faults", "/_emulator/latency") and self.command == "GET":
            self._respond(200, emu.faults() if path.endswith("faults") else emu.latency())
        elif path in ("/_emulator/faults", "/_emulator/latency") and self.command == "POST":
            try:
                options = json.loads(raw or b"{}")
                if not isinstance(options, dict):
                    raise ValueError("the setting must be a JSON object")
                if path.endswith("faults"):
                    self._respond(200, emu.set_faults(**options))
                else:
                    self._respond(200, emu.set_latency(**options))
            except (TypeError, ValueError) as exc:
                self._respond(400, {"error": str(exc)})
        else:
            self._respond(404, {"error": "not found", "method": self.command, "path": path})


class Server(ThreadingHTTPServer):
    """One daemon thread per connection; a deep listen backlog, so hundreds of clients
    connecting at once are not refused or retried after a SYN timeout."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], emulator: ProviderEmulator):
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

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
