"""Integration fixtures: the app sending to the provider emulator (`real_providers`; the
emulator fixture itself is in tests/conftest.py), a session that reaches it (`http`) and the
stack of real worker and sweep processes
sending to it (settings added by `stack_env`)."""

import os
import signal
import subprocess
import sys

import psutil
import pytest
import redis
import requests

from followup.extensions import db
from followup.setup import add_cadence
from workers.embedded_redis import embedded_redis


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
def real_providers(app, emulator):
    """The app sending through the real SendGrid and Twilio SDKs to the emulator."""
    app.config.update(emulator.settings())
    return emulator


@pytest.fixture
def stack_env() -> dict:
    """Settings a test module adds to the stack's environment."""
    return {}


@pytest.fixture
def stack(app, emulator, tmp_path, stack_env):
    with embedded_redis(tmp_path / "redis.sock") as redis_url:  # a Redis this test may flush
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
            **emulator.settings(),
            "FOLLOWUP_SWEEP_INTERVAL": "1",
            "FOLLOWUP_BATCH_SIZE": "25",
            "FOLLOWUP_LEASE_SECONDS": "6",
            "FOLLOWUP_RETRY_BASE_SECONDS": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "FOLLOWUP_ALLOW_PRIVATE_TARGETS": "1",  # the emulator is on loopback
            "FOLLOWUP_SMS_HOURS": "00:00-00:00",
            "FOLLOWUP_WORKING_HOURS": "always",
            **stack_env,
        }
        stack = Stack(env, tmp_path)
        stack.redis = redis.Redis.from_url(redis_url)
        yield stack
        stack.stop()


@pytest.fixture
def http():
    """A requests session that reaches the emulator directly (no proxy from the environment)."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def fast_cadence(seeded):
    """The standard shape in seconds: thank-you now, check-in after 1 s, reminder after 3 s."""
    add_cadence(
        "Fast",
        "close",
        [
            ("thank-you", 0, "email", "thank_you", None, "always"),
            ("check-in", 1, "preferred", "csat_checkin", "csat", "always"),
            ("reminder", 3, "email", "csat_reminder", "csat", "no_answer"),
        ],
    )
    db.session.commit()
    return seeded
