"""Is the service keeping up? The console's health page (queue depth, due and overdue
messages, failures of the last 24 hours by reason, which provider sends each channel (none:
its messages fail), workers and the sweep alive, cases redacted by erasure or retention and
those waiting for retention, incidents active and the surveys they held) and the load
balancer's probes: /healthz (the process answers), /readyz (the database answers; Redis
reported) and /metrics (the same figures in Prometheus text format). Redis is asked through a
client with short timeouts: while it is down or out of reach each says so within seconds."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa
from flask import current_app, jsonify, render_template
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq import Queue, Worker

from followup.admin import bp, probes
from followup.channels import MISSING, provider_for
from followup.extensions import db
from followup.incidents import health_counts
from followup.models import Message, OutboundCall
from followup.models.base import utcnow
from followup.models.messages import MESSAGE_STATUSES, MessageStatus
from followup.models.recovery import CallStatus
from followup.privacy import retention_counts
from workers.jobs import sweep_heartbeat_key
from workers.queues import QUEUE_NAMES

OVERDUE_AFTER = timedelta(minutes=5)  # due longer ago than this: the sweep is behind
FAILURE_WINDOW = timedelta(hours=24)
WORKER_ALIVE_SECONDS = 60
REASONS_SHOWN = 20
NO_REASON = "no reason recorded"
REDIS_PROBLEMS = (redis.RedisError, OSError)


@dataclass
class Health:
    """The figures of the health page and /metrics; the Redis part is empty when Redis does
    not answer (`redis_error` says why)."""

    at: datetime
    messages: dict[str, int]
    due: int
    overdue: int
    failed_messages: list[tuple[str, int]]  # (reason, count), most common first
    failed_calls: list[tuple[str, str, int]]  # (kind, reason, count)
    sweep_limit_seconds: int
    providers: dict[str, str]  # channel: sendgrid, twilio, dev (the demo's outbox) or none
    retention_days: int | None  # FOLLOWUP_RETENTION_DAYS
    retention: dict[str, int]  # cases "redacted" so far, "waiting" for retention
    incidents: tuple[int, int] = (0, 0)  # active now, survey messages held in 24 hours
    redis_error: str | None = None
    queues: dict[str, int] = field(default_factory=dict)
    workers: list[dict] = field(default_factory=list)
    sweep_last: datetime | None = None

    @property
    def failed_messages_total(self) -> int:
        return sum(count for _, count in self.failed_messages)

    @property
    def failed_calls_total(self) -> int:
        return sum(count for _, _, count in self.failed_calls)

    @property
    def unconfigured(self) -> dict[str, str]:
        """Channels without a provider, with what to set: each of their messages fails."""
        return {kind: MISSING[kind] for kind, name in self.providers.items() if name == "none"}

    @property
    def workers_alive(self) -> int:
        return sum(1 for worker in self.workers if worker["alive"])

    @property
    def sweep_age_seconds(self) -> float | None:
        if self.sweep_last is None:
            return None
        return max((self.at - self.sweep_last).total_seconds(), 0.0)

    @property
    def sweep_alive(self) -> bool:
        age = self.sweep_age_seconds
        return age is not None and age <= self.sweep_limit_seconds


def probe_redis() -> redis.Redis:
    """A client with short timeouts (one per app), so a Redis that is down is reported
    within seconds instead of hanging the page or the probe."""
    extensions = current_app.extensions
    if "followup_redis_probe" not in extensions:
        extensions["followup_redis_probe"] = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1
        )
    return extensions["followup_redis_probe"]


def _count(*conditions) -> int:
    return db.session.scalar(sa.select(sa.func.count(Message.id)).where(*conditions))


def gather(now: datetime) -> Health:
    """The health figures now, from the database and (when it answers) Redis."""
    since = now - FAILURE_WINDOW
    by_status = dict(
        db.session.execute(
            sa.select(Message.status, sa.func.count(Message.id)).group_by(Message.status)
        ).all()
    )
    scheduled = Message.status == MessageStatus.SCHEDULED
    failures = sa.func.count(Message.id)
    failed_messages = db.session.execute(
        sa.select(Message.error, failures)
        .where(Message.status == MessageStatus.FAILED, Message.updated_at >= since)
        .group_by(Message.error)
        .order_by(failures.desc(), Message.error)
        .limit(REASONS_SHOWN)
    ).all()
    call_failures = sa.func.count(OutboundCall.id)
    # A failed call keeps the due time of its last attempt.
    failed_calls = db.session.execute(
        sa.select(OutboundCall.kind, OutboundCall.error, call_failures)
        .where(OutboundCall.status == CallStatus.FAILED, OutboundCall.due_at >= since)
        .group_by(OutboundCall.kind, OutboundCall.error)
        .order_by(call_failures.desc(), OutboundCall.kind, OutboundCall.error)
        .limit(REASONS_SHOWN)
    ).all()
    health = Health(
        at=now,
        messages={status: by_status.get(status, 0) for status in MESSAGE_STATUSES},
        due=_count(scheduled, Message.due_at <= now),
        overdue=_count(scheduled, Message.due_at <= now - OVERDUE_AFTER),
        failed_messages=[
            (error or "no reason recorded", count) for error, count in failed_messages
        ],
        failed_calls=[(kind, error or "no reason recorded", n) for kind, error, n in failed_calls],
        sweep_limit_seconds=3 * current_app.config["SWEEP_INTERVAL"] + 10,
        providers={kind: provider_for(kind, current_app.config) for kind in MISSING},
        retention_days=current_app.config["RETENTION_DAYS"],
        retention=retention_counts(current_app.config["RETENTION_DAYS"], now),
        incidents=health_counts(now, since),
    )
    try:
        _gather_redis(health)
    except REDIS_PROBLEMS as error:
        current_app.logger.warning("health: Redis does not answer: %s", error)
        health.redis_error = str(error) or type(error).__name__
        health.queues, health.workers, health.sweep_last = {}, [], None
    return health


def _gather_redis(health: Health) -> None:
    connection = probe_redis()
    prefix = current_app.config["QUEUE_PREFIX"]
    names = {prefix + name for name in QUEUE_NAMES}
    health.queues = {
        name: Queue(prefix + name, connection=connection).count for name in QUEUE_NAMES
    }
    for worker in Worker.all(connection=connection):
        if not names & set(worker.queue_names()):
            continue  # another deployment's worker on the same Redis
        beat = worker.last_heartbeat
        age = (health.at - beat).total_seconds() if beat else None
        health.workers.append(
            {
                "name": worker.name,
                "hostname": worker.hostname,
                "state": worker.get_state(),
                "last_heartbeat": beat,
                "alive": age is not None and age <= WORKER_ALIVE_SECONDS,
            }
        )
    raw = connection.get(sweep_heartbeat_key())
    health.sweep_last = datetime.fromisoformat(raw.decode()) if raw else None


@bp.get("/health")
def health():
    return render_template("admin/health.html", health=gather(utcnow()))


def _no_store(response, status: int = 200):
    response.headers["Cache-Control"] = "no-store"
    return response, status


@probes.get("/healthz")
def healthz():
    """Liveness: the process answers (nothing else is touched)."""
    return _no_store(jsonify({"status": "ok"}))


def _database_answers() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("readyz: the database does not answer: %s", error)
        return False


def _redis_answers() -> bool:
    try:
        return bool(probe_redis().ping())
    except REDIS_PROBLEMS as error:
        current_app.logger.warning("readyz: Redis does not answer: %s", error)
        return False


@probes.get("/readyz")
def readyz():
    """Readiness: the database answers (503 when it does not). Redis is reported, but a web
    process serves without it (cases are taken, pages shown, sign-in limits counted in
    memory meanwhile): while only Redis is down the answer is 200 "degraded", so a load
    balancer keeps every web process in instead of refusing all cases."""
    checks = {
        "database": "ok" if _database_answers() else "unavailable",
        "redis": "ok" if _redis_answers() else "unavailable",
    }
    if checks["database"] != "ok":
        status, code = "not ready", 503
    else:
        status, code = ("ready" if checks["redis"] == "ok" else "degraded"), 200
    return _no_store(jsonify({"status": status, **checks}), code)


class HealthCollector(Collector):
    """The health figures as Prometheus gauges."""

    def __init__(self, health: Health):
        self.health = health

    def collect(self):
        health = self.health
        messages = GaugeMetricFamily(
            "followup_messages", "Messages in the outbox by status", labels=["status"]
        )
        for status, count in health.messages.items():
            messages.add_metric([status], count)
        yield messages
        configured = GaugeMetricFamily(
            "followup_channel_configured",
            "1 if a provider sends the channel's messages (0: they fail, or go to the dev outbox)",
            labels=["channel"],
        )
        for kind, provider in health.providers.items():
            configured.add_metric([kind], int(provider not in ("none", "dev")))
        yield configured
        for name, text, value in (
            ("followup_messages_due", "Scheduled messages due now", health.due),
            (
                "followup_messages_overdue",
                "Scheduled messages due more than 5 minutes ago (the sweep is behind)",
                health.overdue,
            ),
            (
                "followup_failed_messages_24h",
                "Messages that failed in the last 24 hours",
                health.failed_messages_total,
            ),
            (
                "followup_failed_calls_24h",
                "Outbound calls that failed in the last 24 hours",
                health.failed_calls_total,
            ),
            ("followup_redis_up", "1 if Redis answers", 0 if health.redis_error else 1),
            (
                "followup_workers_alive",
                "RQ workers with a heartbeat in the last 60 seconds",
                health.workers_alive,
            ),
        ):
            yield GaugeMetricFamily(name, text, value=value)
        if health.redis_error:
            return
        depth = GaugeMetricFamily(
            "followup_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"]
        )
        for name, count in health.queues.items():
            depth.add_metric([name], count)
        yield depth
        age = health.sweep_age_seconds
        yield GaugeMetricFamily(
            "followup_sweep_age_seconds",
            "Seconds since the sweep last finished (+Inf: not in the last day)",
            value=float("inf") if age is None else age,
        )


@probes.get("/metrics")
def metrics():
    try:
        health = gather(utcnow())
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("metrics: the database does not answer: %s", error)
        response = current_app.response_class(
            "# the database does not answer\n", mimetype="text/plain"
        )
        return _no_store(response, 503)
    registry = CollectorRegistry()
    registry.register(HealthCollector(health))
    response = current_app.response_class(generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return _no_store(response)
