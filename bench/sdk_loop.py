"""The bare SDK loop: the real sendgrid and twilio clients sending a list of messages to the
emulator from a pool of threads, with one client and one keep-alive connection pool (as many
connections as threads) per provider in the process. No database, no queue, no rendering:
what the SDKs alone do, the limit of the dispatch pipeline's own overhead.

bench.drain runs one such process beside each worker it compares with, as
`python -m bench.sdk_loop SPEC.json`; the spec names the emulator, the credentials, the
threads, a sample email and text (the content the pipeline sent in the warm-up) and this
process's messages as [id, channel, recipient]. It prints one JSON line: sent, failed, the
first errors, and the CPU time its sending took (imports and clients made before)."""

from __future__ import annotations

import json
import resource
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import python_http_client
import requests
from python_http_client.exceptions import HTTPError
from requests.adapters import HTTPAdapter
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, Subject, To
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


def keep_alive_session(connections: int) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the emulator is on loopback
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Answer:
    """A requests response as python_http_client reads a urllib one."""

    def __init__(self, response: requests.Response):
        self._response = response

    def getcode(self) -> int:
        return self._response.status_code

    def read(self) -> bytes:
        return self._response.content

    def info(self):
        return self._response.headers


class KeepAliveClient(python_http_client.Client):
    """The SendGrid SDK's HTTP client on a keep-alive requests session (stock, it opens a new
    connection for every email)."""

    def __init__(self, session: requests.Session, **kwargs: Any):
        super().__init__(**kwargs)
        self._session = session

    def _build_client(self, name=None):
        return KeepAliveClient(
            self._session,
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=self._url_path + [name] if name else self._url_path,
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
            raise HTTPError(
                response.status_code, response.reason, response.content, response.headers
            )
        return _Answer(response)


def sendgrid_client(url: str, api_key: str, connections: int) -> SendGridAPIClient:
    sdk = SendGridAPIClient(api_key, host=url)
    sdk.client = KeepAliveClient(
        keep_alive_session(connections),
        host=url,
        request_headers=sdk.client.request_headers,
        version=3,
        timeout=30,
    )
    return sdk


def twilio_client(url: str, sid: str, token: str, connections: int) -> Client:
    http_client = TwilioHttpClient(timeout=30)
    http_client.session = keep_alive_session(connections)
    client = Client(sid, token, http_client=http_client)
    client.edge = None
    client.region = None
    client.api.base_url = url
    return client


def email_sender(spec: dict):
    sdk = sendgrid_client(spec["url"], spec["sendgrid_key"], spec["threads"])
    sample = spec["email"]

    def send(message_id: int, recipient: str) -> None:
        sender = From()
        sender.email, sender.name = sample["from"]["email"], sample["from"].get("name")
        to = To()
        to.email = recipient
        mail = Mail(from_email=sender, to_emails=to, subject=Subject(sample["subject"]))
        for part in sample["content"]:
            mail.add_content(Content(part["type"], part["value"]))
        for key, value in sample["headers"].items():
            mail.add_header(Header(key, value))
        mail.add_custom_arg(CustomArg("followup_message_id", str(message_id)))
        sdk.send(mail)

    return send


def sms_sender(spec: dict):
    client = twilio_client(spec["url"], spec["twilio_sid"], spec["twilio_token"], spec["threads"])
    sample = spec["sms"]

    def send(message_id: int, recipient: str) -> None:
        client.messages.create(
            to=recipient,
            from_=sample["from"],
            body=sample["body"],
            status_callback=f"{sample['status_callback_base']}?m={message_id}",
        )

    return send


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    with open(argv[0]) as spec_file:
        spec = json.load(spec_file)
    channels = {channel for _, channel, _ in spec["messages"]}
    senders = {}
    if "email" in channels:
        senders["email"] = email_sender(spec)
    if "sms" in channels:
        senders["sms"] = sms_sender(spec)
    errors: list[str] = []
    cpu_before = cpu_seconds()  # the imports and clients are made: count the sending only

    def send(message: list) -> bool:
        message_id, channel, recipient = message
        try:
            senders[channel](message_id, recipient)
            return True
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run fails
            errors.append(f"{channel} {message_id}: {exc!r}"[:300])
            return False

    with ThreadPoolExecutor(max_workers=spec["threads"]) as pool:
        outcomes = list(pool.map(send, spec["messages"]))
    report = {"sent": sum(outcomes), "failed": outcomes.count(False), "errors": errors[:5]}
    print(json.dumps(report | {"cpu_seconds": cpu_seconds() - cpu_before}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
