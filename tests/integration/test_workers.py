"""Real RQ workers and the real sweep process, sending through the real SDKs to the emulator:
workers killed mid-dispatch and Redis flushed mid-run lose nothing and send nothing twice
(a send cut off inside the provider call is re-sent and marked on the timeline)."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, urlparse

import psutil
import pytest
import redis
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence, CadenceStep, CaseEvent, Message, MessageTemplate, Survey
from workers.embedded_redis import embedded_redis


@pytest.fixture
def fast_cadence(seeded):
    """The standard shape in seconds: thank-you now, check-in after 1 s, reminder after 3 s."""
    templates = {t.key: t for t in db.session.scalars(sa.select(MessageTemplate))}
    survey = db.session.scalar(sa.select(Survey))
    cadence = Cadence(name="Fast")
    for position, (name, delay, channel, key, with_survey, condition) in enumerate(
        [
            ("thank-you", 0, "email", "thank_you", False, "always"),
            ("check-in", 1, "preferred", "csat_checkin", True, "always"),
            ("reminder", 3, "email", "csat_reminder", True, "no_answer"),
        ]
    ):
        cadence.steps.append(
            CadenceStep(
                position=position,
                name=name,
                delay_seconds=delay,
                channel=channel,
                template=templates[key],
                survey=survey if with_survey else None,
                condition=condition,
            )  # fmt: skip
        )
    db.session.add(cadence)
    db.session.commit()
    return seeded


class Stack:
    """Worker and sweep processes of the real command line, each in its own session."""

    def __init__(self, env: dict, logs):
        self.env, self.logs, self.processes, self.log_files = env, logs, [], []

    def start(self, command: str) -> subprocess.Popen:
        log = open(self.logs / f"{command}-{len(self.processes)}.log", "w")  # noqa: SIM115
        self.log_files.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "followup.cli", command],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    @staticmethod
    def kill_hard(process: subprocess.Popen) -> None:
        """SIGKILL a worker and its work horse (RQ puts the horse in its own process group)."""
        victims = [
            psutil.Process(process.pid),
            *psutil.Process(process.pid).children(recursive=True),
        ]
        for victim in victims:
            try:
                victim.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        process.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_hard(process)
        for log in self.log_files:
            log.close()


@pytest.fixture
def stack(app, emulator, tmp_path):
    with embedded_redis(tmp_path / "redis.sock") as redis_url:  # a Redis this test may flush
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
            "SENDGRID_API_KEY": emulator.sendgrid_api_key,
            "SENDGRID_API_HOST": emulator.url,
            "TWILIO_ACCOUNT_SID": emulator.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": emulator.twilio_auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": emulator.url,
            "FOLLOWUP_SWEEP_INTERVAL": "1",
            "FOLLOWUP_BATCH_SIZE": "25",
            "FOLLOWUP_LEASE_SECONDS": "6",
            "FOLLOWUP_RETRY_BASE_SECONDS": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "FOLLOWUP_SMS_HOURS": "00:00-00:00",
            "FOLLOWUP_WORKING_HOURS": "always",
        }
        stack = Stack(env, tmp_path)
        stack.redis = redis.Redis.from_url(redis_url)
        yield stack
        stack.stop()


def message_id_of(request: dict) -> int:
    if request["provider"] == "sendgrid":
        return int(request["body"]["custom_args"]["followup_message_id"])
    return int(parse_qs(urlparse(request["body"]["StatusCallback"]).query)["m"][0])


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def pending() -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count(Message.id)).where(Message.status.in_(("scheduled", "sending")))
    )


def test_kill_workers_and_flush_redis_mid_run_nothing_lost_nothing_doubled(
    client, fast_cadence, emulator, stack
):
    auth = fast_cadence["auth"]
    cases = 1000
    for n in range(cases):
        customer = {"name": f"Customer {n}", "email": f"c{n}@example.com"}
        if n % 2:
            customer["phone"] = f"+1415555{n:04d}"
        body = {"external_id": f"K-{n}", "subject": f"Case {n}", "customer": customer}
        assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
        close = client.post(f"/api/v1/cases/K-{n}/close", json={"cadence": "Fast"}, headers=auth)
        assert close.status_code == 202
    planned = cases * 3
    emulator.set_faults(latency_ms=3)  # a provider a little slower than loopback

    workers = [stack.start("worker"), stack.start("worker")]
    stack.start("sweep")

    wait_until(lambda: len(emulator.requests()) >= planned // 6, 60, "the first sends")
    for worker in workers:
        stack.kill_hard(worker)  # mid-dispatch: their claimed rows wait for the lease
    workers = [stack.start("worker"), stack.start("worker")]

    wait_until(lambda: len(emulator.requests()) >= planned // 2, 60, "half of the sends")
    stack.redis.flushall()  # every queued dispatch job and the schedule's state are gone

    wait_until(lambda: pending() == 0, 120, "every message to be sent")

    statuses = Counter(db.session.scalars(sa.select(Message.status)))
    assert statuses == {"sent": planned}
    accepted = Counter(message_id_of(r) for r in emulator.requests() if 200 <= r["status"] < 300)
    message_ids = set(db.session.scalars(sa.select(Message.id)))
    assert set(accepted) == message_ids  # nothing lost
    resent = set(
        db.session.scalars(
            sa.select(CaseEvent.message_id).where(CaseEvent.kind == "message.resending")
        )
    )
    doubled = {message_id for message_id, count in accepted.items() if count > 1}
    assert doubled <= resent  # a second copy only where a send was cut off mid-call
    assert len(doubled) <= 4  # at most one per killed worker and horse
    assert max(accepted.values()) <= 2
