"""A Redis outage, for real: a redis-server of the test's own is stopped while real worker and
sweep processes run and cases are closed through the API, then started again empty (no
persistence). The API takes the cases meanwhile (the database holds them), the health page,
/readyz and /metrics say Redis is down, the processes stay up and carry on by themselves once
it is back, and every message reaches the provider emulator exactly once."""

import signal
import socket
import subprocess
import time

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from followup import create_app
from followup.extensions import db, limiter
from followup.models import CaseEvent, Message
from followup.models.base import utcnow
from tests.support.console import sign_in
from tests.support.emulator import accepted_sends
from tests.support.waiting import wait_until
from workers.embedded_redis import answers, redis_server_binary

STEPS = 3  # the fast cadence: thank-you now, check-in after 1 s, reminder after 3 s
LEASE_SECONDS = 4
OUTAGE_SECONDS = LEASE_SECONDS + 3  # claims made just before Redis went run out meanwhile


class RedisServer:
    """A redis-server on a loopback port this test owns: stopped and started again at will,
    each time empty (no snapshot, no append-only file)."""

    def __init__(self, directory):
        self.directory = directory
        with socket.socket() as probe:  # a free port (the same one after each restart)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",
                "--dir", str(self.directory),
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: answers(self.url), 10, "the test's redis-server to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # gone at once, as a crashed or unreachable server is
            self.process.wait()
        self.process = None


@pytest.fixture
def outage_redis(tmp_path):
    directory = tmp_path / "outage-redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack_env(outage_redis, app_config):
    """The workers and the sweep on the test's own Redis (with the web app's queue names, so
    its health page counts them), with a short lease."""
    return {
        "REDIS_URL": outage_redis.url,
        "FOLLOWUP_QUEUE_PREFIX": app_config["QUEUE_PREFIX"],
        "FOLLOWUP_LEASE_SECONDS": str(LEASE_SECONDS),
    }


@pytest.fixture
def web(app_config, app, outage_redis, tmp_path):
    """The web app (API, console, probes) on the test's own Redis."""
    web = create_app(
        {
            **app_config,
            "REDIS_URL": outage_redis.url,
            "DEV_OUTBOX_PATH": str(tmp_path / "dev-outbox.jsonl"),
        }
    )
    yield web
    with web.app_context():
        db.engine.dispose()
    limiter.init_app(app)  # one limiter for every app: back to the test app's Redis


def count(*conditions) -> int:
    db.session.rollback()  # see what the processes committed
    return db.session.scalar(sa.select(sa.func.count(Message.id)).where(*conditions))


def close_cases(client, auth, first: int, many: int) -> None:
    for n in range(first, first + many):
        customer = {"name": f"Customer {n}", "email": f"c{n}@example.com"}
        if n % 2:
            customer["phone"] = f"+1415555{n:04d}"
        body = {"external_id": f"R-{n}", "subject": f"Case {n}", "customer": customer}
        created = client.post("/api/v1/cases", json=body, headers=auth)
        assert created.status_code == 201, created.get_data(as_text=True)
        close = client.post(f"/api/v1/cases/R-{n}/close", json={"cadence": "Fast"}, headers=auth)
        assert close.status_code == 202, close.get_data(as_text=True)


def samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_redis_stopped_and_started_empty_nothing_lost_nothing_doubled(
    fast_cadence, users, emulator, stack, outage_redis, web
):
    auth = fast_cadence["auth"]
    client = web.test_client()
    assert sign_in(client, "admin@example.com").status_code == 303
    processes = [stack.start("worker"), stack.start("worker"), stack.start("sweep")]

    def process_logs() -> list:
        return [stack.logs / f"{p.args[-1]}-{n}.log" for n, p in enumerate(processes)]

    def logs() -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in process_logs())

    # Before: the stack sends.
    close_cases(client, auth, 0, 4)
    wait_until(lambda: count(Message.status == "sent") >= 4, 60, lambda: "first sends\n" + logs())
    # Both on the health page (the second may still be starting when the first has sent them).
    wait_until(
        lambda: samples(client)[("followup_workers_alive", ())] == 2,
        30,
        lambda: f"both workers on the health page\n{logs()}",
    )

    # Redis goes away: the API still takes cases, a console user still signs in, the probes
    # and the health page say Redis is down, the processes wait for it.
    outage_redis.stop()
    began = time.monotonic()
    close_cases(client, auth, 4, 6)
    assert sign_in(web.test_client(), "lead@example.com").status_code == 303
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the web serves: a load balancer keeps it in
    assert ready.get_json() == {"status": "degraded", "database": "ok", "redis": "unavailable"}
    assert samples(client)[("followup_redis_up", ())] == 0
    page = client.get("/admin/health")
    assert page.status_code == 200
    assert "Redis does not answer" in page.get_data(as_text=True)
    wait_until(
        lambda: all("Redis does not answer" in path.read_text() for path in process_logs()),
        30,
        lambda: f"every process to notice the outage\n{logs()}",
    )
    wait_until(lambda: count(Message.due_at > utcnow()) == 0, 30, "every message to be due")
    time.sleep(max(0.0, began + OUTAGE_SECONDS - time.monotonic()))
    dead = [p.args[-1] for p in processes if p.poll() is not None]
    assert not dead, f"{dead} exited during the outage\n{logs()}"

    # Redis is back, empty: everything planned goes out, once each.
    outage_redis.start()
    planned = 10 * STEPS
    wait_until(
        lambda: count(Message.status == "sent") == planned,
        60,
        lambda: f"every message to be sent\n{logs()}",
    )
    accepted = accepted_sends(emulator.requests())
    db.session.rollback()
    assert set(accepted) == set(db.session.scalars(sa.select(Message.id)))  # nothing lost
    assert max(accepted.values()) == 1  # nothing doubled
    assert not db.session.scalar(
        sa.select(sa.func.count(CaseEvent.id)).where(CaseEvent.kind == "message.resending")
    )
    dead = [p.args[-1] for p in processes if p.poll() is not None]
    assert not dead, f"{dead} exited\n{logs()}"
    assert client.get("/readyz").status_code == 200
    wait_until(
        lambda: samples(client)[("followup_workers_alive", ())] == 2,
        30,
        lambda: f"both workers on the health page again\n{logs()}",
    )

    # Asked to stop, they stop with status 0 (a supervisor tells this from a failure). Each
    # worker finishes its job first, and a Redis started empty has every periodic job enqueued
    # at once: on a loaded CI machine that took longer than 30 s once.
    for process in processes:
        process.send_signal(signal.SIGTERM)
    assert [process.wait(timeout=90) for process in processes] == [0, 0, 0], logs()


def test_started_while_redis_is_down_they_wait_for_it(
    fast_cadence, emulator, stack, outage_redis, web
):
    """After a host restart Redis may come up after the processes: they wait, then work."""
    outage_redis.stop()
    processes = [stack.start("worker"), stack.start("sweep")]
    close_cases(web.test_client(), fast_cadence["auth"], 0, 2)
    paths = [stack.logs / f"{p.args[-1]}-{n}.log" for n, p in enumerate(processes)]

    def logs() -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in paths)

    wait_until(
        lambda: all("Redis does not answer" in path.read_text() for path in paths),
        60,
        lambda: f"both processes to say they wait for Redis\n{logs()}",
    )
    assert [p.poll() for p in processes] == [None, None], logs()

    outage_redis.start()
    wait_until(
        lambda: count(Message.status == "sent") == 2 * STEPS,
        60,
        lambda: f"every message to be sent\n{logs()}",
    )
    accepted = accepted_sends(emulator.requests())
    assert sorted(accepted.values()) == [1] * 2 * STEPS
