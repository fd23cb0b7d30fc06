"""SMS and WhatsApp through Twilio's Messages API, with the official SDK: one keep-alive
connection pool per channel (as many connections as sends in flight), a 429 pauses the channel
for the whole process, and `per_second` (the sender's throughput) paces messages across every
worker. A WhatsApp channel is the same channel with a "whatsapp:" sender (or a Messaging
Service): its recipients get the "whatsapp:" prefix, and a content template goes as ContentSid
with its ContentVariables instead of a body."""

from __future__ import annotations

from typing import Any

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from followup.channels.base import OutgoingMessage, PermanentSendError, TransientSendError
from followup.channels.email_sendgrid import keep_alive_session
from followup.channels.pacing import ProviderPause


class _PausingHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, telling the channel's pause about a 429's Retry-After (the SDK's
    exception does not carry the answer's headers)."""

    def __init__(self, pause: ProviderPause, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pause = pause

    def request(self, *args: Any, **kwargs: Any) -> Response:
        response = super().request(*args, **kwargs)
        if response.status_code == 429:
            self.pause.hold((response.headers or {}).get("Retry-After"))
        return response


WHATSAPP_PREFIX = "whatsapp:"


class TwilioChannel:
    provider = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
        connections: int = 1,
        per_second: int = 0,
    ):
        self.pause = ProviderPause()
        self.from_number = from_number
        self.pace = (from_number, per_second) if per_second else None
        self.api_base_url = api_base_url.rstrip("/")
        http_client = _PausingHttpClient(self.pause, timeout=timeout)
        http_client.session = keep_alive_session(self.api_base_url, connections)
        self._client = Client(account_sid, auth_token, http_client=http_client)
        # The host comes from api_base_url alone: TWILIO_EDGE/TWILIO_REGION in the environment
        # would rewrite it (and mangle 127.0.0.1:PORT).
        self._client.edge = None
        self._client.region = None
        self._client.api.base_url = self.api_base_url

    def send(self, message: OutgoingMessage) -> str:
        sender = (
            {"messaging_service_sid": self.from_number}
            if self.from_number.startswith("MG")
            else {"from_": self.from_number}
        )
        to = WHATSAPP_PREFIX + message.to if message.channel == "whatsapp" else message.to
        content: dict[str, str] = (
            {"content_sid": message.content_sid, "content_variables": message.content_variables}
            if message.content_sid
            else {"body": message.text}
        )
        try:
            created = self._client.messages.create(
                to=to, status_callback=message.status_callback, **content, **sender
            )
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            if status is None:  # not an HTTP answer (e.g. bad credentials configuration)
                raise PermanentSendError(f"Twilio: {exc}", code=None) from exc
            status = int(status)
            code = getattr(exc, "code", None) or status
            text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(exc)
            reason = f"{code}: {text}"
            if status == 429:
                wait = self.pause.left()
                raise TransientSendError(reason, code=str(code), retry_after=wait) from exc
            if status >= 500:
                raise TransientSendError(reason, code=str(code)) from exc
            raise PermanentSendError(reason, code=str(code)) from exc
        except requests.RequestException as exc:
            code = "timeout" if isinstance(exc, requests.Timeout) else "connection"
            raise TransientSendError(f"Twilio unreachable: {exc!r}", code=code) from exc
        return created.sid
