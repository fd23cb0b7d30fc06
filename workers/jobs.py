"""RQ jobs: the periodic sweep (which leaves a heartbeat in Redis for the health page), the
dispatch of one claimed batch of messages, the run of one claimed batch of outbound calls,
the periodic refresh of the dashboard's figures, the daily retention run, the embedding of
new comments into themes, and the nightly theme rebuild and risk model training. Jobs take ids
only."""

import time

from flask import current_app

from followup import (
    alert_rules,
    digests,
    incident_alerts,
    kudos,
    outbound,
    outbox,
    privacy,
    recovery,
    rollups,
    themes,
)
from followup.extensions import db, redis_connection
from followup.models.base import utcnow
from workers.queues import queue

# How long the sweep's last run is remembered: the health page can say when it last ran.
SWEEP_HEARTBEAT_TTL = 86400


def sweep_heartbeat_key() -> str:
    """The Redis key holding the time (ISO 8601, UTC) the sweep last finished."""
    return f"{current_app.config['QUEUE_PREFIX']}followup:sweep:last"


def sweep() -> dict:
    """Claim due messages in batches and enqueue one dispatch job per batch (after commit);
    escalate recoveries whose check-in went unanswered; alert the managers to an incident
    left open (followup.incident_alerts: one indexed query); claim due outbound calls."""
    dispatch_queue = queue("dispatch")
    config = current_app.config
    lease = config["LEASE_SECONDS"]

    def enqueue(channel: str, token: str) -> None:
        dispatch_queue.enqueue(
            dispatch,
            token,
            job_id=f"{dispatch_queue.name}-{token}",
            description=f"dispatch {channel} batch {token}",
            job_timeout=lease * 2,
            ttl=lease,  # a batch whose lease has run out is claimed again, not run late
            result_ttl=300,
            failure_ttl=86400,
        )

    result = outbox.sweep(enqueue, queued_batches=dispatch_queue.count)
    now = utcnow()
    escalated = recovery.expire_overdue(now)
    incident_alerts.flag_open_ended(now)
    db.session.commit()
    calls = outbound.claim_calls(now, config["BATCH_SIZE"], lease)
    db.session.commit()
    if calls:
        queue("recovery").enqueue(
            run_calls, calls, job_id=f"calls-{calls}", job_timeout=lease * 2, ttl=lease,
            result_ttl=300, failure_ttl=86400,
        )  # fmt: skip
    redis_connection().set(sweep_heartbeat_key(), utcnow().isoformat(), ex=SWEEP_HEARTBEAT_TTL)
    return {
        "batches": len(result.claimed_batches),
        "skipped_busy": result.skipped_busy,
        "escalated": escalated,
        "calls": bool(calls),
    }


def dispatch(token: str) -> dict:
    return outbox.dispatch(token)


def run_calls(token: str) -> dict:
    return outbound.run_calls(token)


def refresh_figures() -> int:
    """Bring the dashboard's facts and rollups up to date with the timeline (a few batches a
    run; the next run goes on where this one stopped)."""
    read = 0
    for _ in range(10):
        batch = rollups.refresh(utcnow(), current_app.config["FIGURES_LAG"])
        read += batch
        if batch < rollups.BATCH_EVENTS:
            break
    return read


def redact_expired() -> int:
    """Redact the cases older than FOLLOWUP_RETENTION_DAYS (when set), a committed batch at a
    time, so a run cut short leaves nothing half done and the next run goes on."""
    days = current_app.config["RETENTION_DAYS"]
    redacted = 0
    while days is not None:
        batch = privacy.redact_expired(utcnow(), days)
        db.session.commit()
        redacted += batch
        if batch < privacy.RETENTION_BATCH:
            break
    return redacted


def send_daily_kudos() -> int:
    """Plan each agent's email of yesterday's kudos (their kudos_delivery "daily"), once per
    agent and day however often it runs."""
    planned = kudos.send_daily(utcnow())
    db.session.commit()
    return planned


def check_alert_rules() -> dict:
    """Check every active threshold alert rule against the figures (followup.alert_rules);
    a breach raises its alert once, whichever host runs this and however often."""
    return alert_rules.evaluate(utcnow())


def send_weekly_digests() -> int:
    """On a Monday of the organisation's zone, plan last week's digest to each manager and
    lead not sent it yet (once per user and week: the email's key); other days, nothing."""
    planned = digests.send_due(utcnow())
    db.session.commit()
    return planned


EMBED_SECONDS = 45  # an embedding run stops starting batches after this long (the next goes on)


def embed_comments(seconds: float = EMBED_SECONDS) -> int:
    """Embed the comments not embedded yet, a batch at a time, and put each in its theme;
    no new batch once `seconds` have gone (it shares the default queue with the other jobs:
    a backlog is worked off a run a minute, not in one long run)."""
    embedded, started = 0, time.monotonic()
    while batch := themes.embed_pending(utcnow()):
        db.session.commit()
        embedded += batch
        if time.monotonic() - started >= seconds:
            break
    return embedded


def rebuild_themes() -> int:
    """The nightly rebuild of the comment themes (a lead's names, merges and splits kept)."""
    made = themes.rebuild(utcnow())
    db.session.commit()
    return made


def train_risk_model() -> int | None:
    """The nightly training of the risk model on this deployment's own answered cases (and
    the console's Train now). scikit-learn is imported here, in the worker that runs this, not
    where this module is imported: the console imports it too, and scikit-learn costs a
    process about 100 MB and seconds to load."""
    from followup import risk_training

    version = risk_training.train(utcnow())
    db.session.commit()
    return version
