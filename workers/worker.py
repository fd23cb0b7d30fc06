"""Worker and scheduler entry points: an RQ worker in the app context, the RQ cron sweep; both
wait out a Redis outage and carry on by themselves once Redis answers again."""

import logging
import time
from collections.abc import Callable

import redis
from flask import Flask
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested
from rq.worker import WorkerStatus

from followup.extensions import db
from workers import jobs
from workers.queues import QUEUE_NAMES, queue

# What Redis raises while it is stopped, restarting, loading its data or out of reach.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0  # Redis is tried again at least this often during an outage
# A worker's heartbeat lifetime: it waits for jobs 45 s at a time (heartbeat between, within
# the health page's 60 s), and its client's commands time out after 60 s, so a Redis that
# stops answering ends that wait within a minute (RQ wants at least the wait + 10 s).
WORKER_TTL = 60
CONNECT_TIMEOUT_SECONDS = 5
SWEEP_TIMEOUT_SECONDS = 30
RETENTION_INTERVAL = 86400  # the retention run: at start, then daily
ALERT_RULES_INTERVAL = 300  # threshold alert rules: every 5 minutes
DIGEST_INTERVAL = 3600  # the weekly digest: checked hourly, sent on Mondays, once per week
# The daily kudos emails: hourly, so each goes out within the hour after the organisation's
# midnight (once per agent and day: the email's key).
DAILY_KUDOS_INTERVAL = 3600
EMBED_INTERVAL = 60  # new comments embedded into themes: every minute
NIGHTLY = {  # UTC cron times of the nightly rebuilds
    "rebuild_themes": "15 3 * * *",
    "train_risk_model": "45 3 * * *",
}


def process_redis(app: Flask, **timeouts) -> redis.Redis:
    """A worker's or the sweep's own Redis client: connecting to a Redis out of reach fails
    within seconds (the app's client waits as long as the system lets it), and a TCP
    connection is kept alive."""
    url = app.config["REDIS_URL"]
    if not url.startswith("unix:"):
        timeouts["socket_keepalive"] = True
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, **timeouts)


class RedisOutage:
    """Waiting out a Redis outage: one warning when it begins and one when it ends, Redis tried
    again after 0.5, 1, 2, 4, then every 5 seconds in between."""

    def __init__(self, connection: redis.Redis, log: logging.Logger, who: str):
        self.connection, self.log, self.who = connection, log, who

    def wait(
        self, error: Exception, doing: str, stopping: Callable[[], bool] = lambda: False
    ) -> bool:
        """Block until Redis answers a PING (True), or until `stopping()` (False)."""
        began = time.monotonic()
        self.log.warning(
            "%s: Redis does not answer (%s) while %s; waiting for it, trying again every %g s "
            "at most. Nothing is lost meanwhile: the outbox is in the database, and messages "
            "claimed but not sent are claimed again once their lease ends.",
            self.who, error or type(error).__name__, doing, RETRY_MAX_SECONDS,
        )  # fmt: skip
        pause = RETRY_FIRST_SECONDS
        while not stopping():
            time.sleep(pause)
            try:
                self.connection.ping()
            except REDIS_DOWN:
                pause = min(pause * 2, RETRY_MAX_SECONDS)
                continue
            self.log.warning(
                "%s: Redis answers again after %.0f s; carrying on", self.who,
                time.monotonic() - began,
            )  # fmt: skip
            return True
        return False


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job itself, without forking a work horse, in a fresh app
    context (its own database session, removed after the job): the process keeps its
    database connections and each provider's keep-alive HTTP pool and rate-limit state from
    one job to the next (`followup.channels.channel_for`). A job's time limit still holds (RQ
    interrupts it with SIGALRM); a worker that dies takes only its current job with it, whose
    claimed rows are claimed again when their lease ends.

    While Redis does not answer the worker waits for it (RQ's own loop would quit on the
    first error outside its dequeue), then registers itself again, since a restarted Redis
    may have forgotten it, and carries on. A job that was running when Redis went away
    finishes (its sends are committed in the database); only its result in RQ is lost."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self.stop_asked = False  # SIGTERM or SIGINT: the loop ends because it was told to
        self.outage = RedisOutage(self.connection, self.log, f"Worker {self.name}")

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()

    # Redis going away: every call RQ's work loop makes outside its dequeue (which retries on
    # its own) waits for Redis instead of ending the loop.

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as error:
            self._wait_for_redis(error, f"recording job {job.id}; its result is not kept")

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        try:
            return super().heartbeat(timeout)
        except REDIS_DOWN as error:
            self._wait_for_redis(error, "sending its heartbeat")

    def check_for_suspension(self, burst: bool):
        try:
            super().check_for_suspension(burst)
        except REDIS_DOWN as error:
            self._wait_for_redis(error, "checking for `rq suspend`")

    def run_maintenance_tasks(self):
        try:
            super().run_maintenance_tasks()
        except REDIS_DOWN as error:
            self._wait_for_redis(error, "cleaning RQ's registries")

    def set_shutdown_requested_date(self):
        try:
            super().set_shutdown_requested_date()
        except REDIS_DOWN:
            pass  # a stop asked for during an outage still stops the worker after its job

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    def teardown(self):
        try:
            super().teardown()
        except REDIS_DOWN as error:
            self.log.warning(
                "Worker %s: stopped without unregistering (Redis does not answer: %s); its "
                "entry expires by itself", self.name, error,
            )  # fmt: skip

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread):
        """RQ's command channel (`rq` stop commands) retries quietly while Redis is away: the
        work loop says so once."""
        if isinstance(exc, REDIS_DOWN):
            time.sleep(2.0)
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def _stopping(self) -> bool:
        return self.stop_asked or self._stop_requested

    def _wait_for_redis(self, error: Exception, doing: str) -> None:
        while self.outage.wait(error, doing, self._stopping):
            try:
                self.connection.delete(self.key)  # a half entry left by a failed heartbeat
                self.register_birth()  # a Redis started empty forgot every worker
                self.set_state(self.get_state() or WorkerStatus.IDLE)
                return
            except REDIS_DOWN as again:
                error, doing = again, "registering again"


def run_worker(app: Flask, burst: bool = False, name: str | None = None) -> None:
    """Work until SIGTERM or SIGINT (or, with `burst`, until the queues are empty). A worker
    whose loop ends otherwise (an error RQ could not handle: the log says which) exits with
    status 1, for its supervisor to start it again. Without RQ's scheduler: no job is
    enqueued for later (`followup sweep` enqueues the periodic ones), and the scheduler would
    fork this process, which holds database connections and the send pool's threads."""
    with app.app_context():
        connection = process_redis(app, socket_timeout=WORKER_TTL)
        try:
            connection.ping()  # RQ's worker talks to Redis as it is made
        except REDIS_DOWN as error:
            RedisOutage(connection, app.logger, "Worker").wait(error, "starting")
        queues = [app.config["QUEUE_PREFIX"] + n for n in QUEUE_NAMES]
        worker = AppWorker(queues, connection=connection, name=name, app=app, worker_ttl=WORKER_TTL)
        worker.work(burst=burst, logging_level="WARNING")
        if not burst and not worker.stop_asked:
            raise SystemExit(
                f"Worker {worker.name}: RQ's work loop ended without being asked to (see the "
                "error above); exiting with status 1 for the supervisor to start it again"
            )


class SweepScheduler(CronScheduler):
    """RQ's cron scheduler, waiting out a Redis outage instead of exiting: a run missed while
    Redis was away is enqueued as soon as it answers again (each job runs at most once per
    interval), and the scheduler registers itself again in a Redis that forgot it."""

    def start(self):
        self.log.info("CronScheduler %s: starting...", self.name)
        self._install_signal_handlers()
        outage = RedisOutage(self.connection, self.log, f"Sweep scheduler {self.name}")
        born = False
        try:
            while True:
                try:
                    if not born:
                        self.register_birth()
                        born = True
                    if self.enqueue_jobs():
                        self.save()  # the jobs' last and next enqueue times
                    self.heartbeat()  # registers again in a Redis that forgot it
                except REDIS_DOWN as error:
                    outage.wait(error, "enqueueing the sweep")  # a signal ends the wait
                    continue
                pause = self.calculate_sleep_interval()
                if pause > 0:
                    time.sleep(pause)
        except (KeyboardInterrupt, StopRequested):
            self.log.info("CronScheduler %s: stop requested", self.name)
        finally:
            try:
                self.register_death()
            except SchedulerNotFound:
                pass  # a Redis flushed or restarted empty forgot it: nothing to unregister
            except REDIS_DOWN as error:
                self.log.warning(
                    "Sweep scheduler %s: stopped without unregistering (Redis does not "
                    "answer: %s); its entry expires by itself", self.name, error,
                )  # fmt: skip


def run_sweep_scheduler(app: Flask) -> None:
    """Enqueue the sweep every FOLLOWUP_SWEEP_INTERVAL seconds, the figures' refresh every
    FOLLOWUP_FIGURES_INTERVAL, the other periodic jobs at their intervals, the retention run
    daily and the theme rebuild and risk training nightly (NIGHTLY); safe to run on many hosts
    (refreshes take turns, retention runs skip each other's batches). Its Redis
    client has timeouts, so a Redis out of reach is noticed in seconds, not hung on."""
    with app.app_context():
        interval = app.config["SWEEP_INTERVAL"]
        connection = process_redis(app, socket_timeout=SWEEP_TIMEOUT_SECONDS)
        scheduler = SweepScheduler(connection=connection, logging_level=logging.WARNING)
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
        scheduler.register(
            jobs.redact_expired,
            queue_name=queue("default").name,
            interval=RETENTION_INTERVAL,
            job_timeout=3600,
            ttl=3600,
            result_ttl=60,
            failure_ttl=86400,
        )
        scheduler.register(
            jobs.send_daily_kudos,
            queue_name=queue("default").name,
            interval=DAILY_KUDOS_INTERVAL,
            job_timeout=600,
            ttl=DAILY_KUDOS_INTERVAL,
            result_ttl=60,
            failure_ttl=86400,
        )
        for job, every in ((jobs.check_alert_rules, ALERT_RULES_INTERVAL),
                           (jobs.send_weekly_digests, DIGEST_INTERVAL),
                           (jobs.embed_comments, EMBED_INTERVAL)):  # fmt: skip
            scheduler.register(
                job,
                queue_name=queue("default").name,
                interval=every,
                job_timeout=600,
                ttl=every,  # a run not started in time is dropped: the next one comes
                result_ttl=60,
                failure_ttl=86400,
            )
        for nightly in (jobs.rebuild_themes, jobs.train_risk_model):
            scheduler.register(
                nightly,
                queue_name=queue("default").name,
                cron=NIGHTLY[nightly.__name__],
                job_timeout=3600,
                ttl=3600,
                result_ttl=60,
                failure_ttl=86400,
            )
        scheduler.start()
