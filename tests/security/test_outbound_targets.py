"""Outbound calls cannot reach inside the network (finding 3): credit, event, alert and
helpdesk URLs that are, or resolve to, loopback, private, link-local (cloud metadata),
multicast, unspecified or reserved addresses are refused when a lead saves them, when the
settings are read, and again at every connection (after the lookup, with no second one);
redirects are not followed; a failed call keeps its status, never the answer's body.
FOLLOWUP_ALLOW_PRIVATE_TARGETS (on in the other tests, for the emulator on loopback) lets
loopback and private addresses through, never the metadata address."""

import datetime as dt
import http.server
import socket
import ssl
import threading
import time

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from followup import outbound
from followup.config import load_settings
from followup.connectors import connector_for
from followup.connectors.base import (
    MAX_ANSWER_BYTES,
    CallError,
    Ticket,
    answer_field,
    request,
)
from followup.extensions import db
from followup.models import Alert, Gesture, GestureType, OutboundCall
from followup.models.base import utcnow
from followup.models.recovery import AlertAudience, AlertKind
from followup.targets import KINDS, checked_session, url_problem
from tests.support.answers import gesture_type, record_negative_answer
from tests.support.console import csrf_token

SECRET = "whsec_" + "A" * 32
PORT = "{port}"  # the emulator's port, so a call that got through would be recorded there

# (URL, the kind of address it is): every spelling a resolver accepts for these addresses.
REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[::ffff:a9fe:a9fe]/latest/meta-data/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
    (f"http://localhost:{PORT}/hooks/credit", "loopback"),
    (f"http://LOCALHOST.:{PORT}/hooks/credit", "loopback"),
    (f"http://127.0.0.1:{PORT}/hooks/credit", "loopback"),
    (f"http://[::1]:{PORT}/hooks/credit", "loopback"),
    (f"http://[::ffff:127.0.0.1]:{PORT}/hooks/credit", "loopback"),
    (f"http://2130706433:{PORT}/hooks/credit", "loopback"),
    (f"http://0x7f.1:{PORT}/hooks/credit", "loopback"),
    (f"http://127.1:{PORT}/hooks/credit", "loopback"),
    (f"http://0177.0.0.1:{PORT}/hooks/credit", "loopback"),
    ("http://10.0.0.1/credits", "private"),
    ("http://172.16.5.4/credits", "private"),
    ("http://192.168.1.1/credits", "private"),
    ("http://100.100.100.200/latest/meta-data/", "private"),
    ("http://[fd00:ec2::254]/", "private"),
    ("http://[2002:a00:1::]/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
]
PRIVATE_KINDS = ("loopback", "private")


def at(url: str, emulator) -> str:
    return url.replace(PORT, str(emulator.port))


@pytest.fixture
def strict(app):
    """The default: no private targets."""
    app.config["ALLOW_PRIVATE_TARGETS"] = False
    return app


def run_due() -> dict:
    token = outbound.claim_calls(utcnow(), 50, 60)
    db.session.commit()
    return outbound.run_calls(token) if token else {}


def calls(kind: str) -> list[OutboundCall]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboundCall).where(OutboundCall.kind == kind)))


def alert() -> None:
    """An alert for the lead queue, copied to ALERT_WEBHOOK_URL when it is set."""
    outbound.raise_alert("test:1", AlertAudience.LEAD, AlertKind.RECOVERY_ESCALATED,
                         "Escalated", "", None, utcnow())  # fmt: skip
    db.session.commit()


class FakeDNS:
    """Names answered as a test says: `answers[name]` is a list of addresses, one per lookup
    (the last one repeated); `lookups` the names looked up."""

    def __init__(self, real):
        self.real, self.answers, self.lookups = real, {}, []

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        answers = self.answers[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return self.real(address, port, socket.AF_INET, socket.SOCK_STREAM)


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


# Saved by a lead


def post_gesture_type(client, webhook_url: str):
    form = {
        "key": "store-credit",
        "name": "Store credit",
        "kind": "credit",
        "offer": "a $10 credit",
        "value": "10",
        "cost": "10",
        "currency": "USD",
        "monthly_budget": "",
        "low_codes": "0",
        "webhook_url": webhook_url,
        "assignee": "",
        "due_hours": "24",
        "active": "y",
    }
    path = "/admin/goodwill/new"
    return client.post(path, data={"csrf_token": csrf_token(client, path), **form})


def saved_webhook() -> str | None:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(GestureType.webhook_url).where(GestureType.key == "store-credit")
    )


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_a_lead_cannot_save_a_credit_webhook_to_an_internal_address(
    strict, as_lead, emulator, url, kind
):
    reply = post_gesture_type(as_lead, at(url, emulator))
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert 'id="webhook_url-error"' in page
    assert "Refused: " in page and KINDS[kind] in page
    assert saved_webhook() is None


def test_with_the_setting_on_a_private_webhook_is_saved_but_never_the_metadata_one(
    app, as_lead, emulator
):
    assert app.config["ALLOW_PRIVATE_TARGETS"]
    metadata = post_gesture_type(as_lead, "http://169.254.169.254/latest/meta-data/")
    assert metadata.status_code == 422 and "link-local" in metadata.get_data(as_text=True)
    assert post_gesture_type(as_lead, f"{emulator.url}/hooks/credit").status_code == 303
    assert saved_webhook() == f"{emulator.url}/hooks/credit"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:secret@billing.example.com/", "Leave any user name and password out"),
        ("gopher://billing.example.com/", "starting with https://"),
        ("https://billing example.com/", "starting with https://"),
    ],
)
def test_a_webhook_must_be_a_plain_web_address(strict, as_lead, url, message):
    reply = post_gesture_type(as_lead, url)
    assert reply.status_code == 422 and message in reply.get_data(as_text=True)


def test_a_name_that_does_not_resolve_yet_is_left_to_the_connection():
    assert url_problem("https://billing.invalid/credits", allow_private=False) is None


# Read from the settings


@pytest.mark.parametrize(
    "name",
    [
        "EVENTS_WEBHOOK_URL",
        "FOLLOWUP_ALERT_WEBHOOK_URL",
        "HELPDESK_WEBHOOK_URL",
        "ZENDESK_BASE_URL",
        "FRESHDESK_BASE_URL",
    ],
)
@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest", "http://localhost:6379/", "http://[::1]/", "http://10.0.0.1/",
     "http://0x7f.1/"],
)  # fmt: skip
def test_the_service_does_not_start_with_an_internal_url_setting(tmp_path, name, url):
    environ = {name: url}
    if name == "EVENTS_WEBHOOK_URL":
        environ["EVENTS_WEBHOOK_SECRET"] = SECRET
    with pytest.raises(SystemExit) as stopped:
        load_settings(tmp_path, environ)
    assert str(stopped.value).startswith(f"{name}: refused: ")
    assert "FOLLOWUP_ALLOW_PRIVATE_TARGETS" in str(stopped.value)


def test_the_setting_lets_private_url_settings_start_but_not_the_metadata_one(tmp_path):
    environ = {
        "FOLLOWUP_ALLOW_PRIVATE_TARGETS": "1",
        "EVENTS_WEBHOOK_URL": "http://10.0.0.5/events",
        "EVENTS_WEBHOOK_SECRET": SECRET,
        "FOLLOWUP_ALERT_WEBHOOK_URL": "http://localhost:8080/alerts",
    }
    settings = load_settings(tmp_path, environ)
    assert settings["ALLOW_PRIVATE_TARGETS"] is True
    assert settings["EVENTS_WEBHOOK_URL"] == "http://10.0.0.5/events"
    with pytest.raises(SystemExit, match="ZENDESK_BASE_URL: refused: 169.254.169.254"):
        load_settings(tmp_path, {**environ, "ZENDESK_BASE_URL": "http://169.254.169.254"})
    default = load_settings(tmp_path, {"EVENTS_WEBHOOK_URL": "https://hooks.example.com/e",
                                       "EVENTS_WEBHOOK_SECRET": SECRET})  # fmt: skip
    assert default["ALLOW_PRIVATE_TARGETS"] is False


# At the connection


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_a_connection_to_an_internal_address_is_refused_before_it_is_made(emulator, url, kind):
    with pytest.raises(CallError) as refused:
        request(checked_session(False), "POST", at(url, emulator), "credit webhook", 2, json={})
    assert refused.value.reason.startswith("credit webhook: refused: ")
    assert KINDS[kind] in refused.value.reason
    assert not refused.value.transient
    if kind not in PRIVATE_KINDS:  # not even with the setting on
        with pytest.raises(CallError, match="refused: "):
            request(checked_session(True), "POST", at(url, emulator), "credit webhook", 2)
    assert emulator.requests() == []


def test_a_credit_webhook_whose_name_now_resolves_inside_is_refused_and_handed_to_a_person(
    strict, seeded, emulator, dns
):
    """Saved while its name pointed outside; the name points at this machine by the time the
    credit is posted (a row written straight to the table is checked the same way)."""
    strict.config.update(EVENTS_WEBHOOK_SECRET=SECRET)
    url = f"http://billing.example.com:{emulator.port}/hooks/credit"
    dns.answers["billing.example.com"] = ["8.8.8.8"]
    assert url_problem(url, allow_private=False) is None  # what the form checks
    gesture_type("account-credit").webhook_url = url
    db.session.commit()
    dns.answers["billing.example.com"] = ["127.0.0.1"]
    record_negative_answer(1, make_right="a refund")

    # refused: not worth a retry
    assert run_due() == {"done": 0, "retry": 0, "failed": 1, "held": 0}
    [call] = calls("credit")
    refused = "refused: billing.example.com resolves to 127.0.0.1, a loopback address"
    assert call.error == f"credit webhook: {refused} (this machine)"
    assert db.session.scalar(sa.select(Gesture.status)) == "failed"
    alert = db.session.scalar(sa.select(Alert).where(Alert.kind == "credit.failed"))
    assert refused in alert.detail
    assert emulator.requests() == []


def test_with_the_setting_on_the_emulator_takes_the_credit(app, seeded, emulator):
    app.config.update(EVENTS_WEBHOOK_SECRET=SECRET)
    gesture_type("account-credit").webhook_url = f"{emulator.url}/hooks/credit"
    db.session.commit()
    record_negative_answer(1, make_right="a refund")

    assert run_due() == {"done": 1, "retry": 0, "failed": 0, "held": 0}
    [credit] = emulator.requests("webhook")
    assert credit["path"] == "/hooks/credit" and credit["body"]["customer"]["name"] == "Customer 1"


def test_event_and_alert_hooks_to_internal_addresses_are_refused(strict, seeded, emulator):
    strict.config.update(
        EVENTS_WEBHOOK_URL=f"http://127.1:{emulator.port}/hooks/events",
        EVENTS_WEBHOOK_SECRET=SECRET,
        ALERT_WEBHOOK_URL=f"http://[::ffff:127.0.0.1]:{emulator.port}/hooks/alerts",
    )
    record_negative_answer(1)  # events: response.created, recovery.started, ...
    alert()
    run_due()

    events, hooks = calls("event"), calls("alert_hook")
    assert events and hooks
    assert {c.status for c in events + hooks} == {"failed"} and {c.attempts for c in events} == {1}
    assert {c.error for c in events} == {
        "event webhook " + c.payload["type"] + ": refused: 127.1 resolves to 127.0.0.1, "
        "a loopback address (this machine)"
        for c in events
    }
    assert {c.error for c in hooks} == {
        "alert webhook: refused: ::ffff:127.0.0.1 is a loopback address (this machine)"
    }
    assert emulator.requests() == []


@pytest.mark.parametrize(
    ("helpdesk", "settings"),
    [
        ("generic", {"HELPDESK_WEBHOOK_URL": "http://localhost:{port}/hooks/helpdesk"}),
        ("zendesk", {"ZENDESK_BASE_URL": "http://2130706433:{port}"}),
        ("freshdesk", {"FRESHDESK_BASE_URL": "http://0x7f.1:{port}"}),
    ],
)
def test_a_helpdesk_on_an_internal_address_is_refused(emulator, helpdesk, settings):
    config = {
        "HELPDESK": helpdesk,
        "SEND_TIMEOUT": 2,
        "ALLOW_PRIVATE_TARGETS": False,
        "HELPDESK_WEBHOOK_SECRET": SECRET,
        "ZENDESK_EMAIL": emulator.zendesk_email,
        "ZENDESK_API_TOKEN": emulator.zendesk_api_token,
        "FRESHDESK_API_KEY": emulator.freshdesk_api_key,
        **{name: value.replace(PORT, str(emulator.port)) for name, value in settings.items()},
    }
    ticket = Ticket("T-123", "123", "Parcel", "Ana", "ana@example.com", None)
    with pytest.raises(CallError) as refused:
        connector_for(config).reopen(ticket, "note", "helpdesk:reopen:1", utcnow())
    assert "refused: " in refused.value.reason and "a loopback address" in refused.value.reason
    assert not refused.value.transient
    assert emulator.requests() == []


def test_a_name_is_looked_up_once_and_the_checked_address_is_the_one_connected(emulator, dns):
    """DNS rebinding: the name answers a public address to the check, then loopback."""
    dns.answers["rebind.example.com"] = ["8.8.8.8", "127.0.0.1"]
    url = f"http://rebind.example.com:{emulator.port}/hooks/credit"
    with pytest.raises(CallError) as failed:
        request(checked_session(False), "POST", url, "credit webhook", 0.5, json={})
    assert failed.value.transient and "refused:" not in failed.value.reason  # 8.8.8.8 tried
    assert dns.lookups == ["rebind.example.com"]
    assert emulator.requests() == []


# Redirects, answers, proxies


class _Redirect(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to the `target` of its server."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302)
        self.send_header("Location", self.server.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector(emulator):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    server.target = f"{emulator.url}/hooks/redirected"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/credits"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_not_followed(app, seeded, emulator, redirector):
    app.config.update(EVENTS_WEBHOOK_SECRET=SECRET, CALL_MAX_ATTEMPTS=3)
    gesture_type("account-credit").webhook_url = redirector
    db.session.commit()
    record_negative_answer(1, make_right="a refund")

    assert run_due()["failed"] == 1  # at once: a redirect will not go away by itself
    [call] = calls("credit")
    assert call.error == "credit webhook: HTTP 302 Found: redirects are not followed"
    assert emulator.requests() == []


def test_a_failed_call_keeps_the_status_never_the_answer(app, seeded, emulator):
    app.config.update(ALERT_WEBHOOK_URL=f"{emulator.url}/hooks/alerts", CALL_MAX_ATTEMPTS=1)
    emulator.set_faults(providers=["webhook"], status=500, rate=1)
    alert()
    run_due()

    errors = {c.error for c in calls("alert_hook")}
    assert errors == {"alert webhook: HTTP 500 Internal Server Error"}  # no "Injected fault"
    assert [r["status"] for r in emulator.requests("webhook")] == [500]


def test_an_unexpected_answer_is_described_not_copied(emulator):
    session = checked_session(True)
    answer = request(session, "GET", f"{emulator.url}/_emulator/faults", "zendesk ticket 1", 2)
    with pytest.raises(CallError) as missing:
        answer_field(answer, "zendesk ticket 1", "ticket", "status")
    assert missing.value.reason == "zendesk ticket 1: unexpected answer: no ticket.status"


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Answers /huge with more than the service reads (no Content-Length, or declaring it)
    and /drip with a byte every 50 ms: each answer would complete if the client waited."""

    protocol_version = "HTTP/1.0"  # the body ends when the connection closes

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/declared":
            self.send_header("Content-Length", str(MAX_ANSWER_BYTES + 1))
        self.end_headers()
        try:
            if self.path == "/drip":
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
                self.wfile.write(b"{}")
            else:
                chunk = b" " * 65536
                for _ in range(MAX_ANSWER_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
        except OSError:
            pass  # the client stopped reading

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/huge", "/declared"])
def test_an_answer_larger_than_the_limit_is_not_read_to_its_end(hostile_server, path):
    with pytest.raises(CallError) as too_large:
        request(checked_session(True), "GET", hostile_server + path, "zendesk comments", 10)
    assert too_large.value.reason == f"zendesk comments: answer over {MAX_ANSWER_BYTES} bytes"
    assert not too_large.value.transient  # the same answer would come again


def test_an_answer_that_drips_is_given_up_at_the_timeout(hostile_server):
    """requests' timeout is per read: each byte resets it, so the whole answer needs its own."""
    with pytest.raises(CallError) as slow:
        request(checked_session(True), "GET", hostile_server + "/drip", "credit webhook", 0.5)
    assert slow.value.reason == "credit webhook: the answer took longer than the timeout"
    assert slow.value.transient


def test_proxies_from_the_environment_are_not_used(app, emulator, monkeypatch):
    """A proxy would connect on the service's behalf, past the address check."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request(checked_session(True), "POST", f"{emulator.url}/hooks/direct", "event webhook", 2)
    assert [r["path"] for r in emulator.requests("webhook")] == ["/hooks/direct"]


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on loopback with a certificate for the name localhost only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1], str(cert_file)
    server.shutdown()
    server.server_close()


def test_tls_still_checks_the_certificate_against_the_host_name(tls_server):
    """The checked connection connects to an address; TLS still names and verifies the host."""
    port, ca = tls_server
    session = checked_session(True)
    answer = request(session, "GET", f"https://localhost:{port}/", "helpdesk", 5, verify=ca)
    assert answer.status_code == 204
    with pytest.raises(CallError, match="SSLError"):  # the certificate is not for 127.0.0.1
        request(session, "GET", f"https://127.0.0.1:{port}/", "helpdesk", 5, verify=ca)
