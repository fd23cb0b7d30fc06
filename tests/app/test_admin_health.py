"""The health page and the probes: figures computed from the rows (due, overdue, failures by
reason), workers and the sweep's heartbeat, /healthz, /readyz and /metrics, and what each says
when Redis (or the database) does not answer."""

import re
import socket
import threading
from datetime import datetime, timedelta

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker

from followup import create_app
from followup.extensions import db, redis_connection
from followup.models import Case, Customer, Message, OutboundCall
from followup.models.base import utcnow
from tests.support.console import sign_in
from workers import jobs
from workers.queues import queue


@pytest.fixture
def outbox_rows(app):
    """Two messages due (one of them overdue), one not yet due, three failures today (two
    bounced, one with a script tag in its reason), one failure two days ago and a failed
    helpdesk call."""
    now = utcnow()
    customer = Customer(name="Ana", email="ana@example.com")
    case = Case(external_id="H-1", customer=customer, status="closed", round=1)
    db.session.add(case)
    db.session.flush()
    rows = [
        ("scheduled", now - timedelta(minutes=1), None, now),
        ("scheduled", now - timedelta(minutes=10), None, now),
        ("scheduled", now + timedelta(hours=1), None, now),
        ("sending", now - timedelta(minutes=30), None, now),  # claimed: not due again
        ("failed", now - timedelta(hours=1), "bounced", now),
        ("failed", now - timedelta(hours=2), "bounced", now - timedelta(hours=2)),
        ("failed", now - timedelta(hours=1), "<script>alert(1)</script>", now),
        ("failed", now - timedelta(days=2), "long ago", now - timedelta(hours=25)),
    ]
    for n, (status, due_at, error, updated_at) in enumerate(rows):
        db.session.add(
            Message(
                case_id=case.id,
                customer_id=customer.id,
                round=1,
                channel="email",
                recipient=customer.email,
                due_at=due_at,
                status=status,
                error=error,
                updated_at=updated_at,
                idempotency_key=f"h-{n}",
            )  # fmt: skip
        )
    db.session.add(
        OutboundCall(
            kind="helpdesk",
            key="h-call",
            payload={},
            status="failed",
            attempts=8,
            due_at=now - timedelta(hours=3),
            error="HTTP 500 from the desk",
        )  # fmt: skip
    )
    db.session.commit()


def number(page: str, element_id: str) -> int:
    return int(re.search(rf'id="{element_id}">(\d+)', page).group(1))


def test_the_health_page_counts_due_overdue_and_failures_by_reason(as_manager, outbox_rows):
    response = as_manager.get("/admin/health")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert number(page, "due") == 2
    assert number(page, "overdue") == 1
    assert "the sweep is behind" in page
    assert number(page, "failed") == 3
    table = page[
        page.index('id="failed-messages"') : page.index("</table>", page.index("failed-messages"))
    ]
    assert table.index("bounced") < table.index("alert(1)")  # most common first
    assert "<td>2</td>" in table and "long ago" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "HTTP 500 from the desk" in page
    assert "sending: 1" in page and "scheduled: 3" in page


def test_the_health_page_needs_a_sign_in(client):
    response = client.get("/admin/health")
    assert response.status_code == 302 and "/admin/sign-in" in response.location


def test_the_sweep_leaves_a_heartbeat_the_page_shows(app, as_lead):
    connection = redis_connection()
    key = jobs.sweep_heartbeat_key()
    connection.delete(key)
    assert "not seen in the last day" in as_lead.get("/admin/health").get_data(as_text=True)
    before = utcnow()
    jobs.sweep()
    assert key.startswith(app.config["QUEUE_PREFIX"]) and key.endswith("followup:sweep:last")
    assert datetime.fromisoformat(connection.get(key).decode()) >= before
    assert 0 < connection.ttl(key) <= jobs.SWEEP_HEARTBEAT_TTL
    assert '<span class="badge ok">alive</span>' in as_lead.get("/admin/health").get_data(
        as_text=True
    )
    stale = utcnow() - timedelta(seconds=3 * app.config["SWEEP_INTERVAL"] + 11)
    connection.set(key, stale.isoformat())
    page = as_lead.get("/admin/health").get_data(as_text=True)
    assert "not running</span>, last ran at" in page


@pytest.fixture
def worker(app):
    """An RQ worker registered on this run's dispatch queue, with a fresh heartbeat."""
    name = f"{app.config['QUEUE_PREFIX']}worker"
    registered = Worker([queue("dispatch")], connection=redis_connection(), name=name)
    registered.register_birth()
    registered.heartbeat()
    yield registered
    registered.register_death()


def test_a_worker_with_a_recent_heartbeat_is_alive(as_admin, worker):
    page = as_admin.get("/admin/health").get_data(as_text=True)
    assert "1 alive" in page and worker.name in page
    metrics = as_admin.get("/metrics").get_data(as_text=True)
    assert "followup_workers_alive 1.0" in metrics


def test_no_worker_means_none_alive(as_admin):
    assert "none alive" in as_admin.get("/admin/health").get_data(as_text=True)


# Probes


def test_healthz_answers_without_the_database_or_redis(app_config, tmp_path):
    dead = create_app(
        {
            **app_config,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "REDIS_URL": f"unix://{tmp_path}/no-redis.sock",
        }
    )
    client = dead.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.is_json
    assert ready.get_json() == {
        "status": "not ready",
        "database": "unavailable",
        "redis": "unavailable",
    }
    metrics = client.get("/metrics")
    assert metrics.status_code == 503 and "database does not answer" in metrics.get_data(
        as_text=True
    )


def test_readyz_says_ready_when_the_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok", "redis": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def without_redis(app_config, tmp_path):
    """The app with REDIS_URL pointing at a unix socket nobody listens on."""
    dead = create_app({**app_config, "REDIS_URL": f"unix://{tmp_path}/no-redis.sock"})
    yield dead
    with dead.app_context():
        db.engine.dispose()


def test_readyz_is_200_degraded_naming_redis_when_only_redis_does_not_answer(without_redis):
    """A web process serves without Redis: a load balancer keeps it in (cases are taken)."""
    response = without_redis.test_client().get("/readyz")
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == {"status": "degraded", "database": "ok", "redis": "unavailable"}


def test_the_health_page_still_renders_without_redis(without_redis, users, outbox_rows):
    client = without_redis.test_client()
    assert sign_in(client, "admin@example.com").status_code == 303
    response = client.get("/admin/health")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Redis does not answer" in page and number(page, "due") == 2


def test_metrics_without_redis_say_so(without_redis, outbox_rows):
    response = without_redis.test_client().get("/metrics")
    assert response.status_code == 200
    samples = parse(response.get_data(as_text=True))
    assert samples[("followup_redis_up", ())] == 0
    assert samples[("followup_messages_due", ())] == 2
    assert not any(name == "followup_queue_depth" for name, _ in samples)


@pytest.fixture
def silent_redis(app_config):
    """The app with REDIS_URL at an address that takes connections and never answers (a hung
    server, or one out of reach behind a proxy)."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:  # never accepts
        host, port = server.getsockname()
        silent = create_app({**app_config, "REDIS_URL": f"redis://{host}:{port}/0"})
        yield silent
        with silent.app_context():
            db.engine.dispose()


def answered(request, within: float = 30):
    """The response of `request()`, made in a thread so that a hang fails the test instead of
    stalling the run."""
    responses: list = []
    thread = threading.Thread(target=lambda: responses.append(request()), daemon=True)
    thread.start()
    thread.join(within)
    assert responses, f"no answer within {within} s"
    return responses[0]


def test_a_redis_that_never_answers_is_reported_down_instead_of_hanging(
    silent_redis, users, outbox_rows
):
    client = silent_redis.test_client()
    ready = answered(lambda: client.get("/readyz"))
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "degraded", "database": "ok", "redis": "unavailable"}
    metrics = answered(lambda: client.get("/metrics"))
    assert metrics.status_code == 200
    assert parse(metrics.get_data(as_text=True))[("followup_redis_up", ())] == 0
    assert answered(lambda: sign_in(client, "admin@example.com")).status_code == 303
    page = answered(lambda: client.get("/admin/health"))
    assert page.status_code == 200 and "Redis does not answer" in page.get_data(as_text=True)


def parse(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_in_prometheus_format(client, outbox_rows):
    waiting = queue("default")
    waiting.empty()
    waiting.enqueue("builtins.print", "queued for the depth gauge")
    redis_connection().set(jobs.sweep_heartbeat_key(), utcnow().isoformat())
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    samples = parse(response.get_data(as_text=True))
    by_status = {dict(labels)["status"]: value for (name, labels), value in samples.items()
                 if name == "followup_messages"}  # fmt: skip
    assert by_status == {"scheduled": 3, "sending": 1, "sent": 0, "failed": 4, "cancelled": 0,
                         "suppressed": 0}  # fmt: skip
    assert samples[("followup_messages_due", ())] == 2
    assert samples[("followup_messages_overdue", ())] == 1
    assert samples[("followup_failed_messages_24h", ())] == 3
    assert samples[("followup_failed_calls_24h", ())] == 1
    depths = {dict(labels)["queue"]: value for (name, labels), value in samples.items()
              if name == "followup_queue_depth"}  # fmt: skip
    assert depths == {"sweep": 0, "dispatch": 0, "recovery": 0, "default": 1}
    assert 0 <= samples[("followup_sweep_age_seconds", ())] < 5
    assert samples[("followup_workers_alive", ())] == 0
    assert samples[("followup_redis_up", ())] == 1


def test_metrics_say_inf_when_the_sweep_was_not_seen(client):
    redis_connection().delete(jobs.sweep_heartbeat_key())
    samples = parse(client.get("/metrics").get_data(as_text=True))
    assert samples[("followup_sweep_age_seconds", ())] == float("inf")
