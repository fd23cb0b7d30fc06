"""Email through SendGrid's v3 mail-send API, with the official SDK."""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.request
from urllib.parse import urlsplit

import python_http_client
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    ApiKeyIncludedException,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    Subject,
    To,
)

from followup.channels.base import OutgoingMessage, PermanentSendError, TransientSendError


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (the emulator): never send it to a proxy."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HttpClient(python_http_client.Client):
    """python_http_client's Client that skips environment proxies for a loopback host.

    The SDK builds a fresh ``urllib`` opener per request (so one TCP connection per send) and
    that opener honours HTTP(S)_PROXY; an emulator on 127.0.0.1 must be reached directly.
    """

    def _build_client(self, name=None):
        url_path = self._url_path + [name] if name else self._url_path
        return _HttpClient(
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
        )

    def _make_request(self, opener, request, timeout=None):
        if is_loopback(self.host):
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        return super()._make_request(opener, request, timeout=timeout)


def _error_text(body: bytes | str | None) -> str:
    """SendGrid's ``{"errors": [{"message", "field"}]}`` as one line (or the raw body)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(text)["errors"]
        return "; ".join(
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
            for e in errors
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return text[:500]


def _address(cls: type[From] | type[To], email: str, name: str | None = None) -> From | To:
    """An SDK address taken verbatim: ``To("x")`` would run ``parseaddr`` and turn an address
    without "@" into a name, which then crashes the SDK (``None.lower()``) instead of letting
    the API reject it."""
    address = cls()
    address.email = email
    if name:
        address.name = name
    return address


class SendGridChannel:
    provider = "sendgrid"

    def __init__(
        self,
        api_key: str,
        from_email: str,
        from_name: str | None = None,
        host: str = "https://api.sendgrid.com",
        timeout: float = 10.0,
    ):
        self.from_email = from_email
        self.from_name = from_name or None
        self.host = host.rstrip("/")
        self.timeout = timeout
        self._sdk = SendGridAPIClient(api_key, host=self.host)
        # The SDK builds its HTTP client in the constructor; swap in ours (same settings plus
        # a timeout and direct loopback connections).
        self._sdk.client = _HttpClient(
            host=self.host,
            request_headers=self._sdk.client.request_headers,
            version=3,
            timeout=timeout,
        )

    def build(self, message: OutgoingMessage) -> Mail:
        """The SDK's Mail for one message: text part first, then HTML, headers and custom_args."""
        mail = Mail(
            from_email=_address(From, self.from_email, self.from_name),
            to_emails=_address(To, message.to),
            subject=Subject(message.subject),
        )
        if message.text:
            mail.add_content(Content("text/plain", message.text))
        if message.html:
            mail.add_content(Content("text/html", message.html))
        for key, value in message.headers.items():
            mail.add_header(Header(key, str(value)))
        mail.add_custom_arg(CustomArg("followup_message_id", str(message.message_id)))
        return mail

    def send(self, message: OutgoingMessage) -> str:
        try:
            mail = self.build(message)
        except ApiKeyIncludedException:
            raise PermanentSendError(
                "message content contains a SendGrid API key; refused by the SDK",
                code="api_key_in_content",
            ) from None
        try:
            response = self._sdk.send(mail)
        except HTTPError as exc:
            status = int(exc.status_code)
            reason = f"SendGrid {status}: {_error_text(exc.body)}"
            if status == 429 or status >= 500:
                raise TransientSendError(reason, code=str(status)) from exc
            raise PermanentSendError(reason, code=str(status)) from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError, TimeoutError/socket.timeout and ConnectionError are all OSErrors.
            cause = getattr(exc, "reason", None) or exc
            code = "timeout" if isinstance(cause, TimeoutError) else "connection"
            raise TransientSendError(f"SendGrid unreachable: {cause!r}", code=code) from exc
        return response.headers.get("X-Message-Id") or ""
