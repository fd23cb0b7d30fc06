"""Finding 1 as a deployment starts: `gunicorn wsgi:app`, `followup worker` and the sweep, with
SendGrid configured, Twilio not and no FOLLOWUP_DEV_OUTBOX. There is no /dev/outbox; a case
closed through the API gets its email at SendGrid (the emulator) while its text fails with the
settings it needs, on the case's timeline and in /metrics, and nothing is written to a file."""

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from followup.channels import MISSING, NO_PROVIDER
from followup.extensions import db
from followup.models import Message
from followup.paths import ROOT
from followup.setup import add_cadence
from tests.support.waiting import wait_until
from workers.embedded_redis import embedded_redis

CASE = {
    "external_id": "P-1",
    "subject": "Late parcel",
    "customer": {"name": "Ana Lima", "email": "ana@example.com", "phone": "+14155550123"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cadence(seeded):
    """A thank-you email and a check-in text, both at once."""
    add_cadence("Now", "close", [
        ("thank-you", 0, "email", "thank_you", None, "always"),
        ("check-in", 0, "sms", "csat_checkin", "csat", "always"),
    ])  # fmt: skip
    db.session.commit()
    return seeded


def production_env(app, emulator, url: str, redis_url: str, instance) -> dict:
    """The environment of an email-only deployment: nothing inherited that configures us."""
    ours = ("SENDGRID_", "TWILIO_", "FOLLOWUP_", "DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL")
    env = {name: value for name, value in os.environ.items() if not name.startswith(ours)}
    return {
        **env,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PUBLIC_BASE_URL": url,
        "SENDGRID_API_KEY": emulator.sendgrid_api_key,
        "SENDGRID_API_HOST": emulator.url,
        "FOLLOWUP_INSTANCE_PATH": str(instance),
        "FOLLOWUP_SWEEP_INTERVAL": "1",
        "FOLLOWUP_SMS_HOURS": "always",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def test_a_production_start_has_no_dev_outbox(app, cadence, emulator, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                "wsgi:app"],
        "worker": [sys.executable, "-m", "followup.cli", "worker"],
        "sweep": [sys.executable, "-m", "followup.cli", "sweep"],
    }  # fmt: skip
    http = requests.Session()
    http.trust_env = False  # no proxy from the environment
    with embedded_redis(tmp_path / "redis.sock") as redis_url:
        env = production_env(app, emulator, url, redis_url, tmp_path / "instance")
        processes = {}
        for name, command in commands.items():
            with open(tmp_path / f"{name}.log", "w") as log:
                processes[name] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip

        def logs() -> str:
            return "\n".join(f"{name}:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
                             for name in commands)  # fmt: skip

        try:

            def web_answers() -> bool:
                assert all(p.poll() is None for p in processes.values()), logs()
                try:  # gunicorn listens before its worker has loaded the app
                    return http.get(f"{url}/healthz", timeout=30).ok
                except requests.RequestException:
                    return False

            wait_until(web_answers, 60, logs)
            assert http.get(f"{url}/dev/outbox", timeout=10).status_code == 404

            auth = cadence["auth"]
            assert http.post(f"{url}/api/v1/cases", json=CASE, headers=auth).status_code == 201
            closed = http.post(f"{url}/api/v1/cases/P-1/close", json={"cadence": "Now"},
                               headers=auth)  # fmt: skip
            assert closed.status_code == 202

            def both_done() -> bool:
                db.session.rollback()
                statuses = db.session.scalars(sa.select(Message.status)).all()
                return sorted(statuses) == ["failed", "sent"]

            wait_until(both_done, 60, logs)
            [email] = emulator.requests("sendgrid")
            assert email["recipient"] == "ana@example.com"
            assert emulator.requests("twilio") == []

            case = http.get(f"{url}/api/v1/cases/P-1", headers=auth).json()
            [failed] = [e for e in case["timeline"] if e["kind"] == "message.failed"]
            assert failed["detail"] == {"reason": MISSING["sms"], "code": NO_PROVIDER}
            metrics = http.get(f"{url}/metrics").text
            assert "followup_failed_messages_24h 1.0" in metrics
            assert not list((tmp_path / "instance").glob("dev-outbox*"))
            assert "FOLLOWUP_DEV_OUTBOX" not in logs()
        finally:
            processes["web"].send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
