"""Worker and scheduler entry points: an RQ worker in the app context, the RQ cron sweep."""

import logging

from flask import Flask
from rq import SimpleWorker
from rq.cron import CronScheduler

from followup.extensions import db, redis_connection
from workers import jobs
from workers.queues import QUEUE_NAMES, queue


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job itself, without forking a work horse, in a fresh app
    context (its own database session, removed after the job): the process keeps its
    database connections and each provider's keep-alive HTTP pool and rate-limit state from
    one job to the next (`followup.channels.channel_for`). A job's time limit still holds (RQ
    interrupts it with SIGALRM); a worker that dies takes only its current job with it, whose
    claimed rows are claimed again when their lease ends."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


def run_worker(app: Flask, burst: bool = False, name: str | None = None) -> None:
    with app.app_context():
        queues = [queue(n) for n in QUEUE_NAMES]
        worker = AppWorker(queues, connection=redis_connection(), name=name, app=app)
        worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")


def run_sweep_scheduler(app: Flask) -> None:
    """Enqueue the sweep every FOLLOWUP_SWEEP_INTERVAL seconds and the figures' refresh every
    FOLLOWUP_FIGURES_INTERVAL; safe to run on many hosts (refreshes take turns)."""
    with app.app_context():
        interval = app.config["SWEEP_INTERVAL"]
        scheduler = CronScheduler(connection=redis_connection(), logging_level=logging.WARNING)
        scheduler.register(
            jobs.sweep,
            queue_name=queue("sweep").name,
            interval=interval,
            job_timeout=max(interval * 10, 60),
            ttl=max(interval * 5, 10),  # stale sweeps expire instead of piling up
            result_ttl=60,
            failure_ttl=86400,
        )
        figures = app.config["FIGURES_INTERVAL"]
        scheduler.register(
            jobs.refresh_figures,
            queue_name=queue("default").name,
            interval=figures,
            job_timeout=max(figures * 30, 300),
            ttl=max(figures * 5, 30),
            result_ttl=60,
            failure_ttl=86400,
        )
        scheduler.start()
