"""The SendGrid and Twilio channels through the real SDKs against the provider emulator."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from followup.channels.base import OutgoingMessage, PermanentSendError, TransientSendError
from followup.channels.email_sendgrid import SendGridChannel
from followup.channels.sms_twilio import TwilioChannel

ROOT = Path(__file__).resolve().parents[2]

EMAIL = OutgoingMessage(
    message_id=42,
    channel="email",
    to="ada@example.com",
    subject="How did we do?",
    html="<p>Hi Ada, <a href='https://f.test/s/tok'>rate us</a></p>",
    text="Hi Ada, rate us: https://f.test/s/tok",
    headers={
        "List-Unsubscribe": "<https://f.test/u/tok>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
)
SMS = OutgoingMessage(
    message_id=7,
    channel="sms",
    to="+14155550100",
    text="How did we do? Reply 1-5",
    status_callback="https://f.test/webhooks/twilio/status",
)


def email_channel(emu, api_key=None, timeout=5.0):
    return SendGridChannel(
        api_key=api_key or emu.sendgrid_api_key,
        from_email="support@acme.test",
        from_name="Acme Support",
        host=emu.url,
        timeout=timeout,
    )


def sms_channel(emu, token=None, timeout=5.0):
    return TwilioChannel(
        account_sid=emu.twilio_account_sid,
        auth_token=token or emu.twilio_auth_token,
        from_number="+14155550199",
        api_base_url=emu.url,
        timeout=timeout,
    )


def twilio_messages_url(emu, sid=None):
    return f"{emu.url}/2010-04-01/Accounts/{sid or emu.twilio_account_sid}/Messages.json"


def test_email_is_sent_with_both_parts_headers_and_custom_args(emulator):
    message_id = email_channel(emulator).send(EMAIL)

    [rec] = emulator.requests()
    assert rec["provider"] == "sendgrid"
    assert (rec["method"], rec["path"], rec["status"]) == ("POST", "/v3/mail/send", 202)
    assert len(message_id) == 22 and rec["provider_id"] == message_id
    assert rec["headers"]["Authorization"] == f"Bearer {emulator.sendgrid_api_key}"
    body = rec["body"]
    assert body["from"] == {"email": "support@acme.test", "name": "Acme Support"}
    assert body["personalizations"][0]["to"] == [{"email": "ada@example.com"}]
    assert body["subject"] == "How did we do?"
    assert body["content"] == [
        {"type": "text/plain", "value": EMAIL.text},
        {"type": "text/html", "value": EMAIL.html},
    ]
    assert body["headers"] == EMAIL.headers
    assert body["custom_args"] == {"followup_message_id": "42"}


def test_sms_is_sent_with_status_callback(emulator):
    sid = sms_channel(emulator).send(SMS)

    [rec] = emulator.requests()
    assert rec["provider"] == "twilio" and rec["status"] == 201
    assert sid.startswith("SM") and len(sid) == 34 and rec["provider_id"] == sid
    assert rec["body"] == {
        "To": "+14155550100",
        "From": "+14155550199",
        "Body": "How did we do? Reply 1-5",
        "StatusCallback": "https://f.test/webhooks/twilio/status",
    }


def test_wrong_credentials_are_permanent(emulator):
    with pytest.raises(PermanentSendError) as email_err:
        email_channel(emulator, api_key="SG.wrong.key").send(EMAIL)
    assert email_err.value.code == "401"
    assert "authorization grant is invalid" in email_err.value.reason

    with pytest.raises(PermanentSendError) as sms_err:
        sms_channel(emulator, token="wrong-token").send(SMS)
    assert sms_err.value.code == "20003"

    assert [r["status"] for r in emulator.requests()] == [401, 401]
    assert all(r["provider_id"] is None for r in emulator.requests())


def test_invalid_phone_number_is_permanent(emulator):
    bad = OutgoingMessage(message_id=8, channel="sms", to="0415 555", text="hi")
    with pytest.raises(PermanentSendError) as err:
        sms_channel(emulator).send(bad)
    assert err.value.code == "21211"
    assert "'To' number 0415 555 is not a valid phone number" in err.value.reason


def test_invalid_email_is_permanent_with_the_providers_message(emulator):
    bad = OutgoingMessage(message_id=9, channel="email", to="nobody", subject="s", text="t")
    with pytest.raises(PermanentSendError) as err:
        email_channel(emulator).send(bad)
    assert err.value.code == "400"
    assert "personalizations.0.to" in err.value.reason


@pytest.mark.parametrize("status", [503, 429])
def test_injected_server_errors_are_transient(emulator, status):
    emulator.set_faults(rate=1.0, status=status)
    with pytest.raises(TransientSendError) as email_err:
        email_channel(emulator).send(EMAIL)
    assert email_err.value.code == str(status)
    with pytest.raises(TransientSendError) as sms_err:
        sms_channel(emulator).send(SMS)
    assert sms_err.value.code == str(20000 + status)
    assert [r["status"] for r in emulator.requests()] == [status, status]


def test_latency_beyond_the_timeout_is_transient(emulator):
    emulator.set_faults(latency_ms=10_000)  # far beyond the timeout, so a busy machine's
    started = time.monotonic()  # slowness cannot pass for the answer's
    with pytest.raises(TransientSendError) as email_err:
        email_channel(emulator, timeout=0.2).send(EMAIL)
    with pytest.raises(TransientSendError) as sms_err:
        sms_channel(emulator, timeout=0.2).send(SMS)
    assert email_err.value.code == sms_err.value.code == "timeout"
    assert time.monotonic() - started < 5  # both gave up long before the answers came


def test_faults_only_hit_matching_recipients(emulator):
    emulator.set_faults(rate=1.0, status=500, providers=["twilio"], match="+1415555")
    email_channel(emulator).send(EMAIL)
    other = OutgoingMessage(message_id=10, channel="sms", to="+442071838750", text="hi")
    sms_channel(emulator).send(other)
    with pytest.raises(TransientSendError):
        sms_channel(emulator).send(SMS)
    assert [r["status"] for r in emulator.requests()] == [202, 201, 500]


def test_sendgrid_rejects_missing_fields(emulator, http):
    url = f"{emulator.url}/v3/mail/send"
    auth = {"Authorization": f"Bearer {emulator.sendgrid_api_key}"}

    def fields(body):
        response = http.post(url, json=body, headers=auth)
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert all(e["help"] is None and e["message"] for e in errors)
        return {e["field"] for e in errors}

    good = {
        "personalizations": [{"to": [{"email": "a@example.com"}]}],
        "from": {"email": "s@example.com"},
        "subject": "hi",
        "content": [{"type": "text/plain", "value": "t"}, {"type": "text/html", "value": "h"}],
    }
    assert http.post(url, json=good, headers=auth).status_code == 202
    assert fields({}) == {"personalizations", "from.email", "subject", "content"}
    assert fields({**good, "personalizations": [{"to": []}]}) == {"personalizations.0.to"}
    assert fields({**good, "personalizations": [{"to": [{"name": "x"}]}]}) == {
        "personalizations.0.to.0.email"
    }
    assert fields({**good, "content": good["content"][::-1]}) == {"content"}
    assert fields({**good, "custom_args": {"id": 1}}) == {"custom_args.id"}
    no_subject = {k: v for k, v in good.items() if k != "subject"}
    assert fields(no_subject) == {"subject"}
    per_subject = {
        **no_subject,
        "personalizations": [{"to": [{"email": "a@example.com"}], "subject": "s"}],
    }
    assert http.post(url, json=per_subject, headers=auth).status_code == 202

    malformed = http.post(url, data=b"{not json", headers=auth)
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] is None
    assert emulator.requests()[-1]["body"] == "{not json"

    unauthorized = http.post(url, json=good)
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }


def test_twilio_rejects_missing_fields_and_foreign_accounts(emulator, http):
    auth = (emulator.twilio_account_sid, emulator.twilio_auth_token)
    url = twilio_messages_url(emulator)

    def code(data, **kw):
        response = http.post(url, data=data, auth=auth, **kw)
        assert response.status_code == 400
        return response.json()["code"]

    assert code({"From": "+14155550199", "Body": "x"}) == 21604
    assert code({"To": "+14155550100", "Body": "x"}) == 21603
    assert code({"To": "+14155550100", "From": "+14155550199"}) == 21602
    assert code({"To": "4155550100", "From": "+14155550199", "Body": "x"}) == 21211

    via_service = http.post(
        url, data={"To": "+14155550100", "MessagingServiceSid": "MG" + "2" * 32, "Body": "é"}
    )
    assert via_service.status_code == 401  # no auth
    via_service = http.post(
        url,
        data={"To": "+14155550100", "MessagingServiceSid": "MG" + "2" * 32, "Body": "ж" * 71},
        auth=auth,
    )
    assert via_service.status_code == 201
    assert via_service.json()["status"] == "accepted"
    assert via_service.json()["num_segments"] == "2"  # UCS-2: 71 chars > 70

    other_account = http.post(
        twilio_messages_url(emulator, sid="AC" + "9" * 32),
        data={"To": "+14155550100", "From": "+14155550199", "Body": "x"},
        auth=auth,
    )
    assert other_account.status_code == 401
    assert other_account.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert http.get(f"{emulator.url}/nowhere").status_code == 404
    assert http.get(url, auth=auth).status_code == 404


def test_control_endpoints_over_http(emulator, http):
    control = f"{emulator.url}/_emulator"
    bad = http.post(f"{control}/faults", json={"rate": 2})
    assert bad.status_code == 400
    assert http.post(f"{control}/faults", json={"colour": "red"}).status_code == 400

    faults = {"rate": 1.0, "status": 429, "times": 1, "providers": ["twilio"], "match": None}
    assert http.post(f"{control}/faults", json=faults).json()["times"] == 1

    channel = sms_channel(emulator)
    with pytest.raises(TransientSendError) as err:
        channel.send(SMS)
    assert err.value.code == "20429"
    assert channel.send(SMS).startswith("SM")  # the fault covered one request only

    records = http.get(f"{control}/requests").json()
    assert [(r["provider"], r["status"]) for r in records] == [("twilio", 429), ("twilio", 201)]
    assert records[1]["provider_id"].startswith("SM")

    http.post(f"{control}/faults", json={"rate": 1.0, "status": 429, "code": 20429})
    retry = http.post(
        twilio_messages_url(emulator),
        data={"To": "+14155550100", "From": "+14155550199", "Body": "x"},
    )
    assert retry.status_code == 429 and retry.headers["Retry-After"] == "1"

    assert http.post(f"{control}/reset").json() == {"ok": True}
    assert http.get(f"{control}/requests").json() == []
    assert http.get(f"{control}/faults").json()["rate"] == 0.0
    assert email_channel(emulator).send(EMAIL)


def test_runs_as_a_process(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.emulator",
            "--port",
            "0",
            "--sendgrid-key",
            "K",
            "--twilio-sid",
            "AC" + "3" * 32,
            "--twilio-token",
            "T",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        channel = TwilioChannel("AC" + "3" * 32, "T", "+14155550199", url, timeout=30)
        sid = channel.send(SMS)
        with requests.Session() as http:
            http.trust_env = False
            records = http.get(f"{url}/_emulator/requests").json()
        assert [r["provider_id"] for r in records] == [sid]
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
