"""Finding 1: the dev outbox belongs to the demo. Without FOLLOWUP_DEV_OUTBOX (an email-only
deployment, say) there is no /dev/outbox and a message for a channel without credentials fails
with the settings it needs, on its timeline and on the health page, and is written nowhere.
Where the page exists (the demo, these tests' `app`) it shows the newest messages a page at a
time, reads the bounded files from their end, and shows each email in a sandboxed frame."""

import json
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from followup import create_app, outbound
from followup.channels import MISSING, NO_PROVIDER, channel_for
from followup.channels.base import OutgoingMessage, PermanentSendError
from followup.channels.dev_outbox import DevOutboxChannel, previous_file, read_outbox
from followup.config import load_settings
from followup.extensions import db
from followup.models import Message, OutboundCall
from followup.models.base import utcnow
from followup.models.recovery import AlertAudience, AlertKind, CallStatus
from tests.support.cases import CASE, close, later, sweep_and_dispatch
from tests.support.console import sign_in


@pytest.fixture
def make_app(app_config):
    """Apps with other settings than `app`'s (on its database), their connections closed after
    the test."""
    made = []

    def make(**settings):
        made.append(create_app({**app_config, **settings}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def email_only(app, make_app, emulator, tmp_path):
    """The app as an email-only production deployment starts: SendGrid set, Twilio not, no
    FOLLOWUP_DEV_OUTBOX (the same database as `app`)."""
    return make_app(
        DEV_OUTBOX=False,
        SENDGRID_API_KEY=emulator.sendgrid_api_key,
        SENDGRID_API_HOST=emulator.url,
        DEV_OUTBOX_PATH=str(tmp_path / "dev-outbox.jsonl"),
    )


def test_the_dev_outbox_is_off_unless_set(tmp_path):
    assert load_settings(tmp_path, environ={})["DEV_OUTBOX"] is False
    assert load_settings(tmp_path, environ={"FOLLOWUP_DEV_OUTBOX": "1"})["DEV_OUTBOX"] is True
    with pytest.raises(SystemExit, match="FOLLOWUP_DEV_OUTBOX"):
        load_settings(tmp_path, environ={"FOLLOWUP_DEV_OUTBOX": "maybe"})


def test_an_email_only_deployment_has_no_dev_outbox_and_fails_texts_with_the_reason(
    email_only, seeded, users, emulator
):
    web = email_only.test_client()
    assert web.get("/dev/outbox").status_code == 404
    assert close(web, seeded["auth"], CASE).status_code == 202  # an email and a phone
    with email_only.app_context():
        sweep_and_dispatch(later(hours=25))  # the thank-you email and the check-in text
        sweep_and_dispatch(later(hours=25))  # the check-in again, by email

    messages = {(m.channel, m.status): m for m in db.session.scalars(sa.select(Message))}
    assert messages["email", "sent"].provider == "sendgrid"
    # The thank-you, then the check-in: its step prefers texts, and this deployment sends none.
    assert [r["recipient"] for r in emulator.requests("sendgrid")] == ["ana@example.com"] * 2
    text = messages["sms", "failed"]  # the check-in
    assert text.error == MISSING["sms"]
    assert "TWILIO_ACCOUNT_SID" in MISSING["sms"]
    assert not Path(email_only.config["DEV_OUTBOX_PATH"]).exists()

    timeline = web.get(f"/api/v1/cases/{CASE['external_id']}", headers=seeded["auth"]).json
    [failed] = [e for e in timeline["timeline"] if e["kind"] == "message.failed"]
    assert failed["message_id"] == text.id
    assert failed["detail"] == {"reason": MISSING["sms"], "code": NO_PROVIDER}
    [fallback] = [e for e in timeline["timeline"] if e["kind"] == "message.fallback_to_email"]
    assert fallback["detail"]["reason"] == "no SMS provider is configured"

    assert sign_in(web, "admin@example.com").status_code == 303
    health = web.get("/admin/health").get_data(as_text=True)
    assert re.search(r'<dd id="failed">1</dd>', health)
    assert f"<tr><td>{MISSING['sms']}</td><td>1</td></tr>" in health
    assert re.search(r"Texts:\s*<span class=\"badge warn\">no provider</span>", health)
    metrics = web.get("/metrics").get_data(as_text=True)
    assert "followup_failed_messages_24h 1.0" in metrics
    assert 'followup_channel_configured{channel="sms"} 0.0' in metrics
    assert 'followup_channel_configured{channel="email"} 1.0' in metrics


def test_without_any_provider_nothing_is_written_and_every_message_fails(app, make_app):
    production = make_app(DEV_OUTBOX=False)
    assert production.test_client().get("/dev/outbox").status_code == 404
    for kind in ("email", "sms"):
        out = OutgoingMessage(message_id=0, channel=kind, to="x", text="hi")
        with pytest.raises(PermanentSendError, match=re.escape(MISSING[kind])):
            channel_for(kind, production.config).send(out)
    assert not Path(production.config["DEV_OUTBOX_PATH"]).exists()


def test_the_dev_outbox_on_a_public_address_warns_at_start(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="followup"):
        make_app(PUBLIC_BASE_URL="https://followup.example.com")
    assert "FOLLOWUP_DEV_OUTBOX is set" in caplog.text
    assert "https://followup.example.com/dev/outbox" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="followup"):
        make_app(PUBLIC_BASE_URL="http://127.0.0.1:8000")
    assert "FOLLOWUP_DEV_OUTBOX" not in caplog.text


def send(path, n: int, channel: str = "sms", **kwargs) -> None:
    outgoing = DevOutboxChannel(path, **kwargs)
    for number in range(1, n + 1):
        subject, text = f"Subject {number}", f"text number {number}."
        outgoing.send(OutgoingMessage(number, channel, "+14155550123", subject, text=text))


def shown(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"text number (\d+)\.", page)]


def test_the_page_shows_the_newest_messages_a_page_at_a_time(client, app):
    send(app.config["DEV_OUTBOX_PATH"], 45)
    first = client.get("/dev/outbox").get_data(as_text=True)
    assert shown(first) == list(range(45, 25, -1))
    assert 'href="/dev/outbox?page=2" rel="next">Older' in first
    second = client.get("/dev/outbox?page=2").get_data(as_text=True)
    assert shown(second) == list(range(25, 5, -1))
    last = client.get("/dev/outbox?page=3").get_data(as_text=True)
    assert shown(last) == [5, 4, 3, 2, 1]
    assert "Older" not in last and 'href="/dev/outbox?page=2" rel="prev">Newer' in last
    for beyond in ("4", "0", "-1", "99999999999999999999999"):
        assert client.get(f"/dev/outbox?page={beyond}").status_code == 404


def bytes_read() -> int:
    """What this process has read so far (Linux: read calls on files and sockets alike)."""
    io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(io["rchar"])


def test_a_big_outbox_file_is_not_read_whole(client, app):
    path = Path(app.config["DEV_OUTBOX_PATH"])
    line = {"channel": "sms", "to": "+14155550123", "text": "old " * 50, "at": "2026-01-01T00:00"}
    path.write_text((json.dumps(line) + "\n") * 100_000)  # about 30 MB
    send(path, 3, max_bytes=10**9)
    before = bytes_read()
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    assert shown(page.get_data(as_text=True)) == [3, 2, 1]
    assert bytes_read() - before < 1024 * 1024


def test_the_outbox_file_is_bounded_and_pages_run_on_into_the_one_before(tmp_path):
    path = tmp_path / "dev-outbox.jsonl"
    send(path, 30, max_bytes=2000)  # about ten messages a file
    assert path.stat().st_size < 2000 + 400
    assert previous_file(path).stat().st_size < 2000 + 400
    assert not (tmp_path / "dev-outbox.jsonl.2").exists()
    newest = read_outbox(path, page=1, per_page=15)
    numbers = [m["message_id"] for m in newest.messages]
    assert numbers[0] == 30 and numbers == list(range(30, 30 - len(numbers), -1))
    assert len(numbers) > 10  # past the current file, into the one before


def test_each_email_is_shown_whole_in_a_sandboxed_frame(client, app):
    html = '<table style="max-width:560px"><tr><td>Hi <script>alert(1)</script></td></tr></table>'
    email = OutgoingMessage(1, "email", "ana@example.com", "Thanks", html=html, text="Hi Ana")
    DevOutboxChannel(app.config["DEV_OUTBOX_PATH"]).send(email)
    page = client.get("/dev/outbox").get_data(as_text=True)
    [frame] = re.findall(r"<iframe[^>]*>", page)
    sandbox = re.search(r'sandbox="([^"]*)"', frame).group(1)
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert 'srcdoc="&lt;table style=&#34;max-width:560px&#34;&gt;' in frame
    assert "<script>alert(1)</script>" not in page


def test_an_alert_email_without_an_email_provider_fails_at_once(app, make_app):
    production = make_app(DEV_OUTBOX=False, ALERT_EMAIL="lead@example.com")
    with production.app_context():
        now = utcnow()
        outbound.raise_alert(
            "a-1", AlertAudience.LEAD, AlertKind.CREDIT_FAILED, "Look", "", None, now
        )
        db.session.commit()
        token = outbound.claim_calls(now, 50, 60)
        counts = outbound.run_calls(token) if token else {}
        assert counts == {"done": 0, "retry": 0, "failed": 1, "held": 0}
        call = db.session.scalar(sa.select(OutboundCall))
        assert (call.status, call.error) == (CallStatus.FAILED, f"alert email: {MISSING['email']}")
