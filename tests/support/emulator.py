"""A local emulator, with a provider's latency and fault injection, of the APIs the service
calls: SendGrid v3 mail-send, Twilio Messages, the Zendesk and Freshdesk ticket endpoints the
helpdesk connectors use (with in-memory tickets), and a receiver for any webhook (POST
/hooks/<anything>).

The APIs live in emulator_messaging (SendGrid, Twilio) and emulator_helpdesks (Zendesk,
Freshdesk, webhooks); latency and faults in emulator_faults; the HTTP plumbing in
emulator_http. Run it alone with `python -m tests.support.emulator [--latency-ms 150
--jitter-ms 50]`."""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.emulator_faults import PROVIDERS, DelaysAndFaults, check_latency
from tests.support.emulator_helpdesks import (
    FRESHDESK_API_KEY,
    ZENDESK_API_TOKEN,
    ZENDESK_EMAIL,
    HelpdeskAPIs,
)
from tests.support.emulator_http import DROPPED, Handler, Server, canonical_header
from tests.support.emulator_messaging import MessagingAPIs

__all__ = ["PROVIDERS", "ProviderEmulator"]


class ProviderEmulator(MessagingAPIs, HelpdeskAPIs, DelaysAndFaults):
    """The emulated APIs on one local port, recording every request: ``requests(provider)``
    gives method, path, headers, body (parsed when JSON), raw (the body's text), status,
    provider_id, ``at`` (when it arrived, epoch seconds) and ``delay_ms`` (how long its answer
    waited); provider is one of PROVIDERS, "webhook" the /hooks/ receiver (answers 200).

    One record per message: a SendGrid mail/send with N personalizations (up to 1,000) gives N
    records sharing ``request`` (the HTTP request's number), each with its ``personalization``
    index, ``recipient`` and ``custom_args`` (the body's merged with the personalization's, as
    SendGrid does); a Twilio record has ``recipient``, ``status_callback``, ``content_sid`` and
    ``content_variables`` (WhatsApp: see emulator_messaging). With
    ``keep_bodies=False`` records leave out headers, body and raw (a long benchmark's memory).

    Latency (``latency_ms``, ``jitter_ms``; ``set_latency`` or ``POST /_emulator/latency``):
    every provider request is answered after ``latency_ms`` plus a uniform draw in
    ``[-jitter_ms, +jitter_ms]``, each in its own connection's thread (calls in flight wait in
    parallel).

    Helpdesk tickets live in memory: seed them with ``add_ticket``, read them with ``ticket``.
    Zendesk: GET and PUT /api/v2/tickets/<id>.json (status, comment, tags, additional_tags,
    remove_tags, custom_fields; a closed ticket refuses updates, 422), GET
    /api/v2/tickets/<id>/comments.json (cursor-paginated: page[size], page[after]; meta
    has_more and after_cursor), POST /api/v2/tickets.json (a repeated Idempotency-Key replays
    the first answer; a ``via_followup_source_id`` counts only for a closed ticket); basic auth
    ``<zendesk_email>/token:<zendesk_api_token>``. Freshdesk: PUT /api/v2/tickets/<id> (status,
    custom_fields), POST /api/v2/tickets/<id>/notes, GET /api/v2/tickets/<id>/conversations
    (page, per_page; a Link header names the next page); basic auth ``<freshdesk_api_key>:X``.
    Unknown tickets: 404.

    Faults (``set_faults`` or ``POST /_emulator/faults``): ``rate`` probability that a matching
    provider request fails with ``status`` (Twilio error ``code``, else 20000+status);
    ``latency_ms`` added to the latency of every matching request; ``times`` the fault covers the
    next N matching requests only, then clears; ``providers`` which APIs it affects; ``match``
    only requests whose recipient (email address, phone number, ticket id, hook path) contains
    this substring; ``methods`` only requests with these HTTP methods (["PUT", "POST"]);
    ``applied`` the request is carried out first and then its answer is lost (the write
    happened, the caller cannot know); ``drop`` the connection is closed instead of answering
    (recorded with status 0). 429 answers carry ``Retry-After: 1``.
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
        latency_ms: float = 0,
        jitter_ms: float = 0,
        keep_bodies: bool = True,
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
        self._latency = check_latency(latency_ms, jitter_ms)
        self.keep_bodies = keep_bodies
        self._request_numbers = itertools.count(1)
        self._tickets: dict[tuple[str, str], dict[str, Any]] = {}
        self._replays: dict[str, tuple[int, Any]] = {}  # Zendesk answers by Idempotency-Key
        self._ids = itertools.count(90001)  # ids of created tickets and notes
        self._content_templates: set[str] = set()  # WhatsApp (emulator_messaging)
        self._whatsapp_inbound: dict[str, float] = {}
        self._not_on_whatsapp: dict[str, bool] = {}
        self._random = random.Random()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, serve in a daemon thread and return the base URL."""
        if self._server is not None:
            return self.url  # type: ignore[return-value]
        self._server = Server((self.host, self.port), self)
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

    def settings(self) -> dict[str, str]:
        """The app's settings that send email and texts through this emulator's SendGrid and
        Twilio, with the real SDKs."""
        return {
            "SENDGRID_API_KEY": self.sendgrid_api_key,
            "SENDGRID_API_HOST": self.url,
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": self.url,
        }

    def requests(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Copies of the recorded provider requests, oldest first (optionally one provider's)."""
        with self._lock:
            return [dict(r) for r in self._records if provider in (None, r["provider"])]

    def count(self) -> int:
        """How many records there are (one per message), without copying them."""
        with self._lock:
            return len(self._records)

    def reset(self) -> None:
        """Forget recorded requests, tickets and WhatsApp state, and clear faults (the latency
        stays)."""
        with self._lock:
            self._records.clear()
            self._tickets.clear()
            self._replays.clear()
            self._content_templates.clear()
            self._whatsapp_inbound.clear()
            self._not_on_whatsapp.clear()
            self._faults = None

    def add_ticket(
        self,
        helpdesk: str,
        ticket_id: str,
        status: str | int,
        requester_id: int | None = None,
        subject: str = "",
        comments: Sequence[str] = (),
    ) -> None:
        """Seed a helpdesk ticket: "zendesk" with a status name ("solved", "closed" ...),
        "freshdesk" with a status number (2 Open, 3 Pending, 4 Resolved, 5 Closed); its
        thread holds these public comments (Zendesk) or notes (Freshdesk)."""
        assert helpdesk in ("zendesk", "freshdesk"), helpdesk
        ticket = {
            "id": int(ticket_id),
            "status": status,
            "subject": subject,
            "requester_id": requester_id,
        }
        if helpdesk == "zendesk":
            thread = [{"body": body, "public": True} for body in comments]
            ticket |= {"via_followup_source_id": None, "tags": [], "custom_fields": []}
            ticket["comments"] = thread
        else:
            thread = [{"id": next(self._ids), "body": body, "private": False} for body in comments]
            ticket |= {"custom_fields": {}, "notes": thread}
        with self._lock:
            self._tickets[(helpdesk, str(ticket_id))] = ticket

    def ticket(self, helpdesk: str, ticket_id: str) -> dict[str, Any] | None:
        """A copy of a ticket's current state, with its comments (Zendesk) or notes
        (Freshdesk); None when there is no such ticket."""
        with self._lock:
            return copy.deepcopy(self._tickets.get((helpdesk, str(ticket_id))))

    def _record(
        self,
        handler: Handler,
        provider: str,
        body: Any,
        status: int,
        provider_id: str | None,
        at: float,
        delay_ms: float,
        parts: list[dict[str, Any]],
    ) -> None:
        """One record per message of the request: ``parts`` holds each one's own fields."""
        common = {
            "provider": provider,
            "method": handler.command,
            "path": handler.path,
            "headers": None,
            "body": None,
            "raw": None,
            "status": status,
            "provider_id": provider_id,
            "at": at,
            "delay_ms": round(delay_ms, 3),
        }
        if self.keep_bodies:
            common["headers"] = {canonical_header(k): v for k, v in handler.headers.items()}
            common["body"] = body
            common["raw"] = handler.raw_body.decode("utf-8", "replace")
        with self._lock:
            common["request"] = next(self._request_numbers)
            self._records.extend({**common, **part} for part in parts or [{}])

    def _answer(
        self,
        handler: Handler,
        provider: str,
        body: Any,
        recipient: str | None,
        at: float,
        decide,
        parts: list[dict[str, Any]] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Apply faults, else ``decide()``; record; wait the latency; return the answer."""
        fails, fault = self._take_fault(provider, recipient, handler.command)
        if not fails or fault["applied"]:
            status, payload, headers, provider_id = decide()
        if fails:
            status, payload = self._fault_answer(provider, fault)
            headers = {}
            if fault["drop"]:
                status = DROPPED
            if not fault["applied"]:
                provider_id = None
        if status == 429:
            headers = {**headers, "Retry-After": "1"}
        delay_ms = self._delay_ms(fault)
        self._record(handler, provider, body, status, provider_id, at, delay_ms, parts or [])
        if delay_ms:
            time.sleep(delay_ms / 1000)
        return status, payload, headers


def message_id_of(record: dict[str, Any]) -> int:
    """The outbox row a recorded SendGrid personalization or Twilio message is for (its
    `followup_message_id` custom arg, or the `m` of its status callback)."""
    if record["provider"] == "sendgrid":
        return int(record["custom_args"]["followup_message_id"])
    return int(parse_qs(urlsplit(record["status_callback"]).query)["m"][0])


def accepted_sends(requests: list[dict[str, Any]]) -> Counter:
    """How many times the provider accepted each outbox message, from recorded requests;
    emails to console users (alerts, digests, kudos: no outbox row, id 0) left out."""
    ids = (message_id_of(r) for r in requests if 200 <= r["status"] < 300)
    return Counter(i for i in ids if i)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.emulator",
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
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="answer every provider call after this delay"
    )
    parser.add_argument(
        "--jitter-ms",
        type=float,
        default=0,
        help="vary the delay uniformly by up to this much either way (mean: --latency-ms)",
    )
    args = parser.parse_args(argv)
    try:
        check_latency(args.latency_ms, args.jitter_ms)
    except ValueError as exc:
        parser.error(str(exc))

    emulator = ProviderEmulator(
        args.sendgrid_key,
        args.twilio_sid,
        args.twilio_token,
        host=args.host,
        port=args.port,
        zendesk_email=args.zendesk_email,
        zendesk_api_token=args.zendesk_token,
        freshdesk_api_key=args.freshdesk_key,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
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
