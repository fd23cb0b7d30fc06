"""`make bench`: how fast the outbox drains, as a ratio to plain RQ measured in the same run.

This module owns the dispatch benchmark end to end: a fresh PostgreSQL database (migrated,
dropped afterwards), a unique RQ queue prefix on Redis (its keys deleted afterwards), the
provider emulator, N due messages (half thank-you emails, half check-in texts with a survey),
and two timed runs on the same Redis with the same number of real `followup.cli worker`
processes:

- dispatch: the real sweep process claims the rows in batches and the workers send every
  message through the real SendGrid and Twilio SDKs to the emulator; timed from starting the
  processes until the database shows all N messages `sent`;
- baseline: one no-op RQ job per message (bench.noop.noop), enqueued before timing starts;
  timed from starting the workers until every job has finished.

It prints both rates and their ratio (aim: >= 3) and writes them to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import redis
import sqlalchemy as sa

from tests.support import backends

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("FOLLOWUP_BENCH_PG_URL", backends.PG_ADMIN_URL)
REDIS_URL = os.environ.get("FOLLOWUP_BENCH_REDIS_URL", backends.REDIS_URL)
QUEUE_NAMES = ("sweep", "dispatch", "recovery", "default")  # workers.queues.QUEUE_NAMES
POLL_SECONDS = 0.1
# The forking worker runs about 100 no-op jobs/s here; 20,000 of them would take over three
# minutes, as long as everything else together. Its rate is steady after the first second,
# so a smaller count measures the same per-job rate.
BASELINE_JOBS_DEFAULT_MAX = 5_000
SENDGRID_KEY = "SG.bench-key.for-the-emulator"
TWILIO_SID = "AC" + "b" * 32
TWILIO_TOKEN = "bench-twilio-token"
TWILIO_FROM = "+15005550006"


class BenchError(Exception):
    """The run cannot give a trustworthy number: say why and exit non-zero."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drain",
        description="Drain N due messages through the real workers and SDKs to the emulator, "
        "beside a baseline of one no-op RQ job per message on the same number of workers.",
    )
    parser.add_argument("--messages", type=int, default=20_000, help="due messages (even)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, both runs")
    parser.add_argument(
        "--baseline-jobs",
        type=int,
        default=None,
        help=f"no-op jobs in the baseline (default: as many as messages, at most "
        f"{BASELINE_JOBS_DEFAULT_MAX}); its rate is per job, so the ratio stays fair",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="FOLLOWUP_BATCH_SIZE for the workers (default: the app's default)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="give up on a run after this many seconds"
    )
    args = parser.parse_args(argv)
    if args.messages < 2 or args.messages % 2:
        parser.error("--messages must be an even number >= 2 (half email, half SMS)")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.baseline_jobs is None:
        args.baseline_jobs = min(args.messages, BASELINE_JOBS_DEFAULT_MAX)
    if args.baseline_jobs < 1:
        parser.error("--baseline-jobs must be >= 1")
    return args


# -- PostgreSQL and Redis ---------------------------------------------------------------------


def require_postgres(admin_url: str) -> str:
    """The server's version, or BenchError when PostgreSQL does not answer."""
    try:
        return backends.postgres_version(admin_url)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BenchError(
            f"PostgreSQL does not answer at {_hide_password(admin_url)} ({reason}). The bench "
            "measures the production setup, PostgreSQL + Redis: start PostgreSQL or set "
            "FOLLOWUP_BENCH_PG_URL to an admin URL that may create databases."
        ) from None


def _hide_password(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


class RunKeys:
    """The run's Redis keys, deleted at the end: every key naming the prefix, and more.

    Dispatch and baseline job ids contain the prefix. The cron sweep's jobs have random ids
    and expire a minute after they finish, so `note_sweep_jobs()` records them from the cron
    job history while the run goes on. Worker and cron scheduler hashes that name the run's
    queues are deleted too, and the run's queues leave RQ's set of queues. Shared RQ
    bookkeeping (rq:cron_jobs, rq:clean_groups) stays.
    """

    def __init__(self, conn: redis.Redis, prefix: str):
        self.conn, self.prefix = conn, prefix
        self.job_ids: set[str] = set()

    def note_sweep_jobs(self, within_seconds: float = 30) -> None:
        """Record the ids of recently enqueued cron jobs that went to this run's queues."""
        since = time.time() - within_seconds
        for history in self.conn.scan_iter("rq:cron_job:*:jobs", count=1000):
            for raw in self.conn.zrangebyscore(history, since, "+inf"):
                job_id = raw.decode()
                if job_id in self.job_ids:
                    continue
                origin = self.conn.hget(f"rq:job:{job_id}", "origin")
                if origin and origin.decode().startswith(self.prefix):
                    self.job_ids.add(job_id)

    def delete(self) -> int:
        from rq import Queue

        conn, marker = self.conn, self.prefix.encode()
        self.note_sweep_jobs(within_seconds=3600)
        ours = set(self.job_ids)
        for name in QUEUE_NAMES:
            queue = Queue(self.prefix + name, connection=conn)
            ours.update(queue.get_job_ids())
            for registry in (
                queue.started_job_registry,
                queue.finished_job_registry,
                queue.failed_job_registry,
                queue.canceled_job_registry,
                queue.deferred_job_registry,
                queue.scheduled_job_registry,
            ):
                ours.update(registry.get_job_ids(cleanup=False))
        for history in conn.scan_iter("rq:cron_job:*:jobs", count=1000):
            mine = [job_id for job_id in conn.zrange(history, 0, -1) if job_id.decode() in ours]
            if mine:
                conn.zrem(history, *mine)
        ours_bytes = {job_id.encode() for job_id in ours}
        doomed = []
        for key in conn.scan_iter(count=5000):
            if marker in key or not ours_bytes.isdisjoint(key.split(b":")):
                doomed.append(key)
            elif key.startswith((b"rq:worker:", b"rq:cron_scheduler:")):
                with contextlib.suppress(redis.ResponseError):  # not a hash
                    if any(marker in value for value in conn.hvals(key)):
                        doomed.append(key)
        queues = [q for q in conn.smembers("rq:queues") if marker in q]
        if queues:
            conn.srem("rq:queues", *queues)
        for start in range(0, len(doomed), 1000):
            conn.delete(*doomed[start : start + 1000])
        return len(doomed)


# -- data -------------------------------------------------------------------------------------


def seed(app, n_messages: int) -> dict:
    """The standard setup, then N/2 customers and closed cases with two due messages each."""
    from followup.extensions import db
    from followup.models import Cadence, CadenceStep, Case, Customer, Message
    from followup.setup import ensure_standard_setup

    with app.app_context():
        ensure_standard_setup()
        db.session.commit()
        cadence = db.session.scalar(sa.select(Cadence).where(Cadence.name == "Standard"))
        steps = {
            s.name: s
            for s in db.session.scalars(
                sa.select(CadenceStep).where(CadenceStep.cadence_id == cadence.id)
            )
        }
        thank_you, check_in = steps["thank-you"], steps["check-in"]
        if thank_you.survey_id is not None or check_in.survey_id is None:
            raise BenchError("the Standard cadence no longer has the shape this bench expects")
        n_cases = n_messages // 2
        now = datetime.now(UTC)
        due = now - timedelta(seconds=1)
        stamps = {"created_at": now, "updated_at": now}
        customers = Customer.__table__
        cases = Case.__table__
        messages = Message.__table__
        with db.engine.begin() as conn:
            customer_ids = conn.scalars(
                customers.insert().returning(customers.c.id, sort_by_parameter_order=True),
                [
                    {
                        "external_id": f"bench-c{i}",
                        "name": f"Customer {i}",
                        "email": f"customer{i}@example.com",
                        "phone": f"+1415{i:07d}",
                        "locale": "en",
                        "timezone": "America/Los_Angeles",
                        **stamps,
                    }
                    for i in range(n_cases)
                ],
            ).all()
            case_ids = conn.scalars(
                cases.insert().returning(cases.c.id, sort_by_parameter_order=True),
                [
                    {
                        "external_id": f"BENCH-{i}",
                        "customer_id": customer_id,
                        "subject": f"Parcel {i} never arrived",
                        "agent_name": "Sam Rivera",
                        "team": "Shipping",
                        "priority": "normal",
                        "tags": ["bench"],
                        "status": "closed",
                        "closed_at": now,
                        "round": 1,
                        "cadence_id": cadence.id,
                        **stamps,
                    }
                    for i, customer_id in enumerate(customer_ids)
                ],
            ).all()
            rows = []
            for i, (case_id, customer_id) in enumerate(zip(case_ids, customer_ids, strict=True)):
                for step, channel, recipient in (
                    (thank_you, "email", f"customer{i}@example.com"),
                    (check_in, "sms", f"+1415{i:07d}"),
                ):
                    rows.append(
                        {
                            "case_id": case_id,
                            "customer_id": customer_id,
                            "step_id": step.id,
                            "round": 1,
                            "channel": channel,
                            "recipient": recipient,
                            "condition": "always",
                            "due_at": due,
                            "status": "scheduled",
                            "attempts": 0,
                            "idempotency_key": f"case:{case_id}:round:1:step:{step.id}",
                            **stamps,
                        }
                    )
            conn.execute(messages.insert(), rows)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum would have done by now on a live database: planner statistics.
            conn.execute(sa.text("ANALYZE customers, cases, messages"))
        db.session.remove()
        db.engine.dispose()
    return {"customers": n_cases, "cases": n_cases, "messages": n_messages}


def message_statuses(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM messages GROUP BY status"))
        return Counter({status: count for status, count in rows})


# -- processes --------------------------------------------------------------------------------


class Fleet:
    """`python -m followup.cli` processes, each in its own session, logging to a scratch file."""

    def __init__(self, env: dict[str, str], logs: Path, label: str):
        self.env, self.logs, self.label = env, logs, label
        self.processes: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, command: str) -> None:
        log = self.logs / f"{self.label}-{command}-{len(self.processes)}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "followup.cli", command],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench only; it stops them
            )
        self.processes.append((command, process, log))

    def check_alive(self) -> None:
        for command, process, log in self.processes:
            if process.poll() is not None:
                raise BenchError(
                    f"a {command} process exited early (status {process.returncode}); "
                    f"its log ends:\n{_tail(log)}"
                )

    def stop(self, timeout: float = 30) -> None:
        for _, process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_tree(process)

    def logs_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{_tail(log)}" for _, _, log in self.processes)


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and its work horse (RQ gives the horse its own process group)."""
    import psutil

    try:
        victims = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
    except psutil.NoSuchProcess:
        victims = []
    for victim in victims:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(no log)"


def wait_for(done, fleet: Fleet, timeout: float, what) -> None:
    """Poll `done()` every POLL_SECONDS; fail when a process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while not done():
        fleet.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what()}")
        time.sleep(POLL_SECONDS)


# -- the two runs -----------------------------------------------------------------------------


def message_id_of(request: dict) -> int:
    """The outbox row a recorded provider request carries."""
    if request["provider"] == "sendgrid":
        return int(request["body"]["custom_args"]["followup_message_id"])
    return int(parse_qs(urlsplit(request["body"]["StatusCallback"]).query)["m"][0])


def run_dispatch(env, logs, database_url, emulator, keys: RunKeys, args) -> dict:
    """The real sweep and workers drain every due message; verify each was sent exactly once."""
    n = args.messages
    engine = sa.create_engine(database_url, pool_size=1)
    fleet = Fleet(env, logs, "dispatch")
    try:
        started_wall, started = time.time(), time.perf_counter()
        for _ in range(args.workers):
            fleet.start("worker")
        fleet.start("sweep")
        statuses: Counter = Counter()
        polls = 0

        def all_sent() -> bool:
            nonlocal statuses, polls
            polls += 1
            if polls % 20 == 0:
                keys.note_sweep_jobs()
            statuses = message_statuses(engine)
            finished_badly = {
                s: c for s, c in statuses.items() if s not in ("scheduled", "sending", "sent")
            }
            if finished_badly:
                raise BenchError(f"messages did not go out: {finished_badly}")
            return statuses["sent"] >= n

        try:
            wait_for(all_sent, fleet, args.timeout, lambda: f"{n} sent messages ({statuses})")
        except BenchError as exc:
            raise BenchError(f"{exc}\n{fleet.logs_tail()}") from None
        seconds = time.perf_counter() - started
    finally:
        fleet.stop()
        keys.note_sweep_jobs()

    records = emulator.requests()
    problems = []
    if len(records) != n:
        problems.append(f"the emulator got {len(records)} requests, expected {n}")
    refused = Counter(r["status"] for r in records if not 200 <= r["status"] < 300)
    if refused:
        problems.append(f"the emulator refused some requests: {dict(refused)}")
    providers = Counter(r["provider"] for r in records)
    if providers != {"sendgrid": n // 2, "twilio": n // 2}:
        problems.append(f"provider split {dict(providers)}, expected {n // 2} each")
    per_message = Counter(message_id_of(r) for r in records)
    with engine.connect() as conn:
        message_ids = set(conn.scalars(sa.text("SELECT id FROM messages")))
        invitations = conn.scalar(sa.text("SELECT count(*) FROM survey_invitations"))
        sent_events = conn.scalar(
            sa.text("SELECT count(*) FROM case_events WHERE kind = 'message.sent'")
        )
    engine.dispose()
    if set(per_message) != message_ids:
        missing, unknown = message_ids - set(per_message), set(per_message) - message_ids
        problems.append(
            f"{len(missing)} messages never reached the emulator, {len(unknown)} unknown"
        )
    doubled = sum(1 for count in per_message.values() if count > 1)
    if doubled:
        problems.append(f"{doubled} messages reached the emulator more than once")
    if invitations != n // 2:
        problems.append(f"{invitations} survey invitations, expected {n // 2}")
    if sent_events != n:
        problems.append(f"{sent_events} message.sent timeline events, expected {n}")
    if problems:
        raise BenchError("the dispatch run is not trustworthy:\n  " + "\n  ".join(problems))
    first_send = min(r["at"] for r in records) - started_wall
    return {
        "messages": n,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "first_send_after_seconds": round(first_send, 3),
        "per_second_after_first_send": round(n / max(seconds - first_send, 1e-9), 1),
    }


def run_baseline(env, logs, redis_url, prefix, args) -> dict:
    """One no-op job per message on the same forking worker; time until all have finished."""
    from rq import Queue
    from rq.job import Job

    from bench.noop import noop

    m = args.baseline_jobs
    conn = redis.Redis.from_url(redis_url)
    queue = Queue(prefix + "default", connection=conn)
    for start in range(0, m, 2000):  # before timing: one pipeline per 2,000 jobs
        queue.enqueue_many(
            [
                Queue.prepare_data(noop, job_id=f"{prefix}noop-{i}", result_ttl=600)
                for i in range(start, min(start + 2000, m))
            ]
        )
    if queue.count != m:
        raise BenchError(f"enqueued {queue.count} no-op jobs, expected {m}")
    finished, failed = queue.finished_job_registry, queue.failed_job_registry
    started_registry = queue.started_job_registry
    fleet = Fleet(env, logs, "baseline")
    try:
        started = time.perf_counter()
        for _ in range(args.workers):
            fleet.start("worker")

        def all_done() -> bool:
            if failed.get_job_count(cleanup=False):
                raise BenchError(f"no-op jobs failed\n{fleet.logs_tail()}")
            return (
                queue.count == 0
                and started_registry.get_job_count(cleanup=False) == 0
                and finished.get_job_count(cleanup=False) >= m
            )

        wait_for(all_done, fleet, args.timeout, lambda: f"{m} no-op jobs to finish")
        seconds = time.perf_counter() - started
    finally:
        fleet.stop()
    first = Job.fetch(f"{prefix}noop-0", connection=conn)
    last = Job.fetch(f"{prefix}noop-{m - 1}", connection=conn)
    steady = (last.ended_at - first.started_at).total_seconds()
    conn.close()
    return {
        "jobs": m,
        "seconds": round(seconds, 3),
        "per_second": round(m / seconds, 1),
        "per_second_after_first_job": round(m / max(steady, 1e-9), 1),
    }


# -- main -------------------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall_started = time.perf_counter()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on SIGTERM as on Ctrl-C
    try:
        return _bench(args, wall_started)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaned up", file=sys.stderr)
        return 130


def _bench(args: argparse.Namespace, wall_started: float) -> int:
    from followup import create_app
    from tests.support.emulator import ProviderEmulator

    pg_version = require_postgres(PG_ADMIN_URL)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="followup-bench-")))
        redis_kind = backends.redis_kind(REDIS_URL)
        redis_url = stack.enter_context(backends.redis_server(redis_kind, REDIS_URL, scratch))
        prefix = backends.key_prefix("bench")
        redis_conn = redis.Redis.from_url(redis_url)
        stack.callback(redis_conn.close)
        keys = RunKeys(redis_conn, prefix)
        stack.callback(keys.delete)
        database_url = stack.enter_context(backends.fresh_database(PG_ADMIN_URL, "followup_bench"))
        secret_key = secrets.token_urlsafe(32)
        public_base_url = "http://followup.bench"

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": redis_url,
                "EMBEDDED_REDIS": False,
                "QUEUE_PREFIX": prefix,
                "SECRET_KEY": secret_key,
                "PUBLIC_BASE_URL": public_base_url,
                "INSTANCE_PATH": str(scratch / "instance"),
            }
        )
        from flask_migrate import upgrade

        from followup.extensions import db

        logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
        try:
            with app.app_context():
                upgrade()
                db.engine.dispose()
        finally:
            logging.disable(logging.NOTSET)
        seeded_at = time.perf_counter()
        summary = seed(app, args.messages)
        seed_seconds = time.perf_counter() - seeded_at

        emulator = ProviderEmulator(
            sendgrid_api_key=SENDGRID_KEY,
            twilio_account_sid=TWILIO_SID,
            twilio_auth_token=TWILIO_TOKEN,
        )
        emulator_url = emulator.start()
        stack.callback(emulator.stop)

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "FOLLOWUP_QUEUE_PREFIX": prefix,
            "FOLLOWUP_INSTANCE_PATH": str(scratch / "instance"),
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": public_base_url,
            "SENDGRID_API_KEY": SENDGRID_KEY,
            "SENDGRID_API_HOST": emulator_url,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": TWILIO_FROM,
            "TWILIO_API_BASE_URL": emulator_url,
            "FOLLOWUP_SWEEP_INTERVAL": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "FOLLOWUP_SMS_HOURS": "00:00-00:00",  # the bench runs at any hour
            "FOLLOWUP_WORKING_HOURS": "always",
        }
        if args.batch_size:
            env["FOLLOWUP_BATCH_SIZE"] = str(args.batch_size)
        batch_size = args.batch_size or app.config["BATCH_SIZE"]
        logs = scratch / "logs"
        logs.mkdir()

        print(
            f"setup: PostgreSQL {pg_version} (fresh database), Redis ({redis_kind}), "
            f"{summary['customers']} customers, {summary['cases']} closed cases, "
            f"{summary['messages']} due messages ({args.messages // 2} email thank-you, "
            f"{args.messages // 2} SMS check-in with survey) seeded in {seed_seconds:.1f} s; "
            f"batch size {batch_size}",
            flush=True,
        )
        try:
            dispatch = run_dispatch(env, logs, database_url, emulator, keys, args)
            print(
                f"dispatch: {dispatch['messages']} messages in {dispatch['seconds']:.1f} s = "
                f"{dispatch['per_second']:.0f} msg/s ({args.workers} workers, PostgreSQL, "
                f"Redis, real SDKs -> emulator; first send after "
                f"{dispatch['first_send_after_seconds']:.1f} s)",
                flush=True,
            )
            baseline = run_baseline(env, logs, redis_url, prefix, args)
        except BenchError as exc:
            kept = RESULTS / "failed-run-logs"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(logs, kept)
            raise BenchError(f"{exc}\n(process logs kept in {kept})") from None
        per_job = "" if baseline["jobs"] == args.messages else "; the rate is per job"
        print(
            f"baseline: {baseline['jobs']} no-op RQ jobs in {baseline['seconds']:.1f} s = "
            f"{baseline['per_second']:.0f} jobs/s ({args.workers} workers{per_job})",
            flush=True,
        )
        ratio = dispatch["per_second"] / baseline["per_second"]
        print(f"ratio: {ratio:.2f} (aim: >= 3)", flush=True)
    wall = time.perf_counter() - wall_started
    print(f"wall time of the whole bench: {wall:.0f} s", flush=True)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "postgres": pg_version,
        "redis": redis_kind,
        "workers": args.workers,
        "batch_size": batch_size,
        "dispatch": dispatch,
        "baseline": baseline,
        "ratio": round(ratio, 2),
        "aim": 3,
        "wall_seconds": round(wall, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
