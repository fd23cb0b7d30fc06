"""Email through SendGrid's v3 mail-send API, with the official SDK: one keep-alive
connection pool per channel (as many connections as sends in flight), and a 429 pauses the
channel for the whole process."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import python_http_client
import requests
from python_http_client.exceptions import HTTPError
from requests.adapters import HTTPAdapter
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    ApiKeyIncludedException,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    Personalization,
    Subject,
    Substitution,
    To,
)

from followup.channels.base import OutgoingMessage, PermanentSendError, TransientSendError
from followup.channels.email_batches import EmailBatch
from followup.channels.pacing import ProviderPause


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (the emulator): never send it to a proxy."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def keep_alive_session(url: str, connections: int) -> requests.Session:
    """A requests session keeping up to `connections` connections open (one per send in
    flight; urllib3 would otherwise keep 10 and reopen the rest). Environment proxies are
    honoured except for a loopback host (the emulator)."""
    session = requests.Session()
    session.trust_env = not is_loopback(url)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _ResponseForSDK:
    """A requests response as python_http_client reads a urllib one."""

    def __init__(self, response: requests.Response):
        self._response = response

    def getcode(self) -> int:
        return self._response.status_code

    def read(self) -> bytes:
        return self._response.content

    def info(self):
        return self._response.headers


class KeepAliveHttpClient(python_http_client.Client):
    """python_http_client's Client sending through one keep-alive requests.Session.

    The SDK opens a new connection (a TLS handshake against the real API) for every email;
    a session keeps it open. Environment proxies are honoured, except for a loopback host
    (the emulator), which is always reached directly.
    """

    def __init__(self, session: requests.Session, **kwargs):
        super().__init__(**kwargs)
        self._session = session

    def _build_client(self, name=None):
        url_path = self._url_path + [name] if name else self._url_path
        return KeepAliveHttpClient(
            self._session,
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
        )

    def _make_request(self, opener, request, timeout=None):
        response = self._session.request(
            request.get_method(),
            request.full_url,
            data=request.data,
            headers=dict(request.header_items()),
            timeout=timeout or self.timeout,
        )
        if response.status_code >= 400:
            raise HTTPError(response.status_code, response.reason, response.content,
                            response.headers)  # fmt: skip
        return _ResponseForSDK(response)


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
    pace: tuple[str, int] | None = None  # not paced

    def __init__(
        self,
        api_key: str,
        from_email: str,
        from_name: str | None = None,
        host: str = "https://api.sendgrid.com",
        timeout: float = 10.0,
        connections: int = 1,
    ):
        self.pause = ProviderPause()
        self.from_email = from_email
        self.from_name = from_name or None
        self.host = host.rstrip("/")
        self.timeout = timeout
        self._sdk = SendGridAPIClient(api_key, host=self.host)
        session = keep_alive_session(self.host, connections)
        # The SDK builds its HTTP client in the constructor; swap in ours (same settings plus
        # a timeout and a keep-alive session).
        self._sdk.client = KeepAliveHttpClient(
            session,
            host=self.host,
            request_headers=self._sdk.client.request_headers,
            version=3,
            timeout=timeout,
        )

    def build(self, message: OutgoingMessage) -> Mail:
        """The SDK's Mail for one message: text part first, then HTML, headers and custom_args."""
        mail = Mail(
            from_email=_address(From, self.from_email, message.from_name or self.from_name),
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

    def build_batch(self, batch: EmailBatch) -> Mail:
        """The SDK's Mail for emails sharing their content: one personalization each, with its
        recipient, subject, headers, values and custom_args."""
        first = batch.emails[0][0]
        mail = Mail(from_email=_address(From, self.from_email, first.from_name or self.from_name))
        if batch.text:
            mail.add_content(Content("text/plain", batch.text))
        if batch.html:
            mail.add_content(Content("text/html", batch.html))
        for out, values in batch.emails:
            personalization = Personalization()
            personalization.add_to(_address(To, out.to))
            personalization.subject = out.subject
            for key, value in out.headers.items():
                personalization.add_header(Header(key, str(value)))
            for token, value in values.items():
                personalization.add_substitution(Substitution(token, value))
            personalization.add_custom_arg(CustomArg("followup_message_id", str(out.message_id)))
            mail.add_personalization(personalization)
        return mail

    def send(self, message: OutgoingMessage) -> str:
        return self._post(lambda: self.build(message))

    def send_batch(self, batch: EmailBatch) -> str:
        """Send emails sharing their content in one request; SendGrid's message id (one for
        the request: delivery events name each email by its custom_args)."""
        return self._post(lambda: self.build_batch(batch))

    def _post(self, build: Callable[[], Mail]) -> str:
        try:
            mail = build()
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
            if status == 429:
                wait = self.pause.hold((exc.headers or {}).get("Retry-After"))
                raise TransientSendError(reason, code="429", retry_after=wait) from exc
            if status >= 500:
                raise TransientSendError(reason, code=str(status)) from exc
            raise PermanentSendError(reason, code=str(status)) from exc
        except requests.RequestException as exc:
            code = "timeout" if isinstance(exc, requests.Timeout) else "connection"
            raise TransientSendError(f"SendGrid unreachable: {exc!r}", code=code) from exc
        return response.headers.get("X-Message-Id") or ""
