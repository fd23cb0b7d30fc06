"""The bare SDK loop: the real sendgrid and twilio clients sending a list of messages to the
emulator from a pool of threads, with one client and one keep-alive connection pool (as many
connections as threads) per provider in the process. No database, no queue, no rendering:
what the SDKs alone do, the limit of the dispatch pipeline's own overhead. Its transport is
the channels' own (a keep-alive session; SendGrid's SDK otherwise opens a connection per
email), so the two differ only in what the pipeline does around the call.

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

from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, Subject, To
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from followup.channels.email_sendgrid import KeepAliveHttpClient, keep_alive_session


def sendgrid_client(url: str, api_key: str, connections: int) -> SendGridAPIClient:
    sdk = SendGridAPIClient(api_key, host=url)
    sdk.client = KeepAliveHttpClient(
        keep_alive_session(url, connections),
        host=url,
        request_headers=sdk.client.request_headers,
        version=3,
        timeout=30,
    )
    return sdk


def twilio_client(url: str, sid: str, token: str, connections: int) -> Client:
    http_client = TwilioHttpClient(timeout=30)
    http_client.session = keep_alive_session(url, connections)
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
