"""`make bench-drain`: how fast the outbox drains at a provider's latency, beside the limits
measured in the same run on the same machine.

Every phase gets its own PostgreSQL database (a copy of one migrated template), its own Redis
queue prefix (nothing else can enqueue into its queues; its keys are deleted after it) and a
clean record at the provider emulator, which answers after the phase's latency (jittered).
Each phase checks at the emulator that every message arrived exactly once. The phases:

- warm-up: one email and one text through the pipeline; their content is what the bare SDK
  loop sends;
- dispatch (per latency): N due messages (half thank-you emails, half check-in texts with a
  survey) drained by the real `followup sweep` and W `followup worker` processes through the
  real SDKs, FOLLOWUP_SEND_CONCURRENCY calls in flight per worker, one request per message;
  timed from starting the processes until the database shows every message sent, and from
  the first message's arrival at the emulator to the last's (the rate the ratios compare:
  a worker starts once, not once per batch);
- sdk (per latency): the bare SDK loop (bench.sdk_loop): W processes, each with the real
  sendgrid and twilio clients (one keep-alive pool each) and as many threads as calls in flight
  per worker, send the same number of messages with the pipeline's content: the limit of the
  pipeline's own overhead;
- one-at-a-time (per latency): dispatch with FOLLOWUP_SEND_CONCURRENCY=1, as many messages as
  it sends in about --one-at-a-time-seconds;
- batched (per latency, when followup.config knows FOLLOWUP_EMAIL_BATCHING): N thank-you emails
  with batching on, beside the bare SDK loop sending the same emails one request each;
- due: messages falling due at --due-rate a second for --due-seconds while the workers run;
  the delay from each one's due time to its arrival at the emulator (p50, p99, max);
- memory: dispatch of --memory-messages at 0 ms; each worker's resident memory at 10 % sent
  and at the end (every dispatch phase reports it, and the workers' CPU time a message).

The due and memory phases run the app's defaults (FOLLOWUP_EMAIL_BATCHING included).

It prints each phase, the ratios against the goals (at 150 ms: dispatch >= 20x one at a time;
at 0 ms: dispatch >= 0.8 of the bare SDK loop; at 150 ms: batched email >= 5x the bare
per-email loop)
and writes everything to bench/results/latest.json. A phase that cannot give a trustworthy
number stops the run, naming the phase and why (its process logs are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from bench import drain_data as data
from bench.drain_checks import describe, due_delays, exactly_once, rates, ratios
from bench.runs import (
    PG_ADMIN_URL,
    REDIS_URL,
    ROOT,
    BenchError,
    Fleet,
    RunKeys,
    require_postgres,
    run,
    wait_for,
)
from tests.support import backends

RESULTS = ROOT / "bench" / "results"
PHASES = ("dispatch", "sdk", "one-at-a-time", "batched", "due", "memory")
SENDGRID_KEY = "SG.bench-key.for-the-emulator"
TWILIO_SID = "AC" + "b" * 32
TWILIO_TOKEN = "bench-twilio-token"
TWILIO_FROM = "+15005550006"
PUBLIC_BASE_URL = "http://followup.bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drain",
        description="Drain due messages through the real sweep, workers and SDKs to the "
        "emulator at each latency, beside the bare SDK loop and one call at a time.",
    )
    parser.add_argument("--messages", type=int, default=10_000, help="per phase (even)")
    parser.add_argument("--workers", type=int, default=2, help="processes, every phase")
    parser.add_argument(
        "--latencies", default="0,150", help="provider latencies in ms, comma-separated"
    )
    parser.add_argument(
        "--jitter", type=float, default=50, help="± ms around each latency (uniform; at most it)"
    )
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"which phases (of {','.join(PHASES)})"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="FOLLOWUP_SEND_CONCURRENCY, and the bare loop's threads (default: the app's)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="FOLLOWUP_BATCH_SIZE")
    parser.add_argument("--one-at-a-time-seconds", type=float, default=30)
    parser.add_argument("--due-rate", type=float, default=500, help="messages due a second")
    parser.add_argument("--due-seconds", type=float, default=20)
    parser.add_argument("--due-latency", type=float, default=150, help="ms, the due phase")
    parser.add_argument("--memory-messages", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=900, help="per phase, seconds")
    args = parser.parse_args(argv)
    try:
        args.latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    except ValueError:
        parser.error("--latencies: numbers of milliseconds, like 0,150")
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(args.phases) - set(PHASES):
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    for name in ("messages", "memory_messages"):
        if getattr(args, name) < 2 or getattr(args, name) % 2:
            parser.error(f"--{name.replace('_', '-')} must be an even number >= 2")
    if args.workers < 1 or any(lat < 0 for lat in args.latencies) or args.jitter < 0:
        parser.error("--workers must be >= 1; latencies and jitter >= 0")
    return args


@dataclass
class Run:
    """What the phases share: arguments, the emulator, the template database, settings."""

    args: argparse.Namespace
    emulator: Any
    env: dict[str, str]
    template_url: str
    logs: Path
    redis_conn: redis.Redis
    prefix: str
    settings: dict
    sample: dict = field(default_factory=dict)
    phases: dict[str, dict] = field(default_factory=dict)

    @property
    def concurrency(self) -> int:
        return self.args.concurrency or self.settings.get("SEND_CONCURRENCY", 1)

    def set_latency(self, latency: float) -> float:
        """The emulator answers after `latency` ± jitter (never more jitter than latency)."""
        jitter = min(self.args.jitter, latency)
        self.emulator.set_latency(latency, jitter)
        self.emulator.reset()
        return jitter


# -- the pipeline -----------------------------------------------------------------------------


def pipeline_phase(
    run: Run,
    name: str,
    latency: float,
    cases: int,
    channels: tuple[str, ...],
    extra_env: dict[str, str] | None = None,
    workers: int | None = None,
    due: str = "now",
) -> dict:
    """Seed a fresh database, start the workers and the sweep, wait until every message is
    sent, check each reached the emulator once; due="spread" makes them fall due at
    --due-rate a second after the workers started."""
    args = run.args
    workers = workers or args.workers
    jitter = run.set_latency(latency)
    run.emulator.keep_bodies = name == "warm-up"  # its content is the bare loop's sample
    label = re.sub(r"[^a-z0-9]+", "-", name.lower())  # queue names and job ids take no "@"
    prefix = f"{run.prefix}{label}-"
    keys = RunKeys(run.redis_conn, prefix)
    with ExitStack() as stack:
        stack.callback(keys.delete)
        database_url = stack.enter_context(
            data.phase_database(PG_ADMIN_URL, run.template_url, label)
        )
        n = data.seed(
            database_url, cases, channels, data.NOT_YET if due == "spread" else data.due_now()
        )
        env = {
            **run.env,
            "DATABASE_URL": database_url,
            "FOLLOWUP_QUEUE_PREFIX": prefix,
            "FOLLOWUP_SEND_CONCURRENCY": str(run.concurrency),
            **(extra_env or {}),
        }
        engine = sa.create_engine(database_url, pool_size=1)
        stack.callback(engine.dispose)
        fleet = Fleet(env, run.logs, label)
        stack.callback(fleet.stop)
        result: dict[str, Any] = {"latency_ms": latency, "jitter_ms": jitter, "workers": workers}
        result["concurrency"] = int(env["FOLLOWUP_SEND_CONCURRENCY"])
        started_wall, started = time.time(), time.perf_counter()
        for _ in range(workers):
            fleet.start("worker")
        fleet.start("sweep")
        if due == "spread":  # the processes are up and idle, as in production, first
            wait_for(
                lambda: ready(run.redis_conn, prefix, workers),
                fleet,
                60,
                lambda: f"{workers} workers listening and a first sweep",
            )
            first_due = data.spread_due(engine, args.due_rate)
            result["first_due_after_seconds"] = round(first_due.timestamp() - started_wall, 3)
        statuses: Counter = Counter()
        polls = 0
        rss_early: list[float] = []
        early: dict[str, float] = {}  # the workers' CPU time at 10 % sent: startup excluded

        def all_sent() -> bool:
            """Cheap polls of the emulator's count; the database every 2 s and at the end."""
            nonlocal statuses, polls, rss_early
            polls += 1
            arrived = run.emulator.count()
            if not rss_early and arrived >= max(1, n // 10):
                rss_early = fleet.rss_mb()
                early.update(cpu=fleet.cpu_seconds(), sent=arrived)
            if arrived < n and polls % 20:
                return False
            keys.note_sweep_jobs()
            statuses = data.message_statuses(engine)
            badly = {s: c for s, c in statuses.items() if s not in ("scheduled", "sending", "sent")}
            if badly:
                raise BenchError(f"messages did not go out: {badly}")
            return statuses["sent"] >= n

        try:
            wait_for(all_sent, fleet, args.timeout, lambda: f"{n} sent messages ({statuses})")
        except BenchError as exc:
            raise BenchError(f"{exc}\n{fleet.logs_tail()}") from None
        seconds = time.perf_counter() - started
        result["worker_rss_mb_at_10_percent"] = rss_early
        result["worker_rss_mb_at_end"] = fleet.rss_mb()
        cpu = (fleet.cpu_seconds() - early["cpu"]) / max(1, n - early["sent"])
        result["worker_cpu_ms_per_message"] = round(cpu * 1000, 3)
        fleet.stop()
        keys.note_sweep_jobs()
        records = run.emulator.requests()
        expected = data.message_ids(engine)
        wanted = Counter({c: cases for c in channels})
        problems = exactly_once(records, expected, wanted)
        outcome = data.outcome_counts(engine)
        if outcome["invitations"] != wanted["sms"]:
            problems.append(
                f"{outcome['invitations']} survey invitations, expected {wanted['sms']}"
            )
        if outcome["sent_events"] != n:
            problems.append(f"{outcome['sent_events']} message.sent timeline events, expected {n}")
        if due == "spread" and not problems:
            result |= due_delays(records, data.due_times(engine), args.due_rate)
        if problems:
            raise BenchError("not trustworthy:\n  " + "\n  ".join(problems))
        result |= rates(n, seconds, records, started_wall)
        if name == "warm-up":
            run.sample = sample_content(run.emulator.requests())
    return result


def ready(conn: redis.Redis, prefix: str, workers: int) -> bool:
    """Every worker listens on the dispatch queue and the sweep has run once."""
    from rq import Queue, Worker

    listening = Worker.count(connection=conn, queue=Queue(prefix + "dispatch", connection=conn))
    return listening >= workers and bool(conn.exists(f"{prefix}followup:sweep:last"))


def sample_content(records: list[dict]) -> dict:
    """The warm-up's email and text, as the bare SDK loop sends them."""
    email = next(r["body"] for r in records if r["provider"] == "sendgrid")
    sms = next(r["body"] for r in records if r["provider"] == "twilio")
    first = email["personalizations"][0]
    return {
        "email": {
            "from": email["from"],
            "subject": email.get("subject") or first.get("subject"),
            "content": email["content"],
            "headers": {**email.get("headers", {}), **first.get("headers", {})},
        },
        "sms": {
            "from": sms["From"],
            "body": sms["Body"],
            "status_callback_base": sms["StatusCallback"].split("?")[0],
        },
    }


# -- the bare SDK loop ------------------------------------------------------------------------


def sdk_phase(run: Run, latency: float, cases: int, channels: tuple[str, ...]) -> dict:
    """The bare SDK loop in --workers processes, the messages dealt out evenly."""
    args = run.args
    if not run.sample:
        raise BenchError("no sample content: the warm-up did not run")
    jitter = run.set_latency(latency)
    messages = [
        [
            i * len(channels) + j + 1,
            channel,
            f"customer{i}@example.com" if channel == "email" else f"+1415{i:07d}",
        ]  # fmt: skip
        for i in range(cases)
        for j, channel in enumerate(channels)
    ]
    processes = []
    started_wall, started = time.time(), time.perf_counter()
    for w in range(args.workers):
        spec = run.logs / f"sdk-{int(latency)}-{len(channels)}-{w}.json"
        spec.write_text(
            json.dumps(
                {
                    "url": run.emulator.url,
                    "sendgrid_key": SENDGRID_KEY,
                    "twilio_sid": TWILIO_SID,
                    "twilio_token": TWILIO_TOKEN,
                    "threads": run.concurrency,
                    **run.sample,
                    "messages": messages[w :: args.workers],
                }
            )
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.sdk_loop", str(spec)],
                cwd=ROOT,
                env=run.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=args.timeout)
            if process.returncode:
                raise BenchError(f"a bare SDK loop exited with {process.returncode}: {err[-2000:]}")
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.perf_counter() - started
    failed = [o for o in outputs if o["failed"]]
    problems = [f"{o['failed']} sends failed, first: {o['errors']}" for o in failed]
    records = run.emulator.requests()
    expected = {m[0] for m in messages}
    problems += exactly_once(records, expected, Counter({c: cases for c in channels}))
    if problems:
        raise BenchError("not trustworthy:\n  " + "\n  ".join(problems))
    result = {"latency_ms": latency, "jitter_ms": jitter, "workers": args.workers}
    cpu = sum(o["cpu_seconds"] for o in outputs)
    result["worker_cpu_ms_per_message"] = round(cpu * 1000 / len(messages), 3)
    return (
        result | {"threads": run.concurrency} | rates(len(messages), seconds, records, started_wall)
    )


# -- the run ----------------------------------------------------------------------------------


def one_at_a_time_cases(args: argparse.Namespace, latency: float) -> int:
    """Cases (two messages each) one call at a time sends in about --one-at-a-time-seconds
    (a message costs the latency plus about 25 ms here), at most --messages / 2."""
    per_second = args.workers / ((latency + 25) / 1000)
    return max(1, min(args.messages // 2, round(per_second * args.one_at_a_time_seconds / 2)))


def plan(args: argparse.Namespace, batching: bool) -> list[tuple[str, Any, tuple, dict]]:
    """The phases to run, in order: (name, function, its arguments after `run`, keywords)."""
    mixed, email = ("email", "sms"), ("email",)
    steps: list[tuple[str, Any, tuple, dict]] = [
        ("warm-up", pipeline_phase, ("warm-up", 0, 1, mixed), {"workers": 1})
    ]
    # Dispatch and one at a time send one request per message, as the bare loop does; batched
    # emails are their own phase.
    one_each = {"FOLLOWUP_EMAIL_BATCHING": "off"} if batching else {}
    for latency in args.latencies:
        at, cases = f"@{latency:g}ms", args.messages // 2
        if "dispatch" in args.phases:
            steps.append(
                (
                    "dispatch" + at,
                    pipeline_phase,
                    ("dispatch" + at, latency, cases, mixed),
                    {"extra_env": one_each},
                )
            )
        if "sdk" in args.phases:
            steps.append(("sdk" + at, sdk_phase, (latency, cases, mixed), {}))
        if "one-at-a-time" in args.phases:
            slow = ("one-at-a-time" + at, latency, one_at_a_time_cases(args, latency), mixed)
            steps.append(
                (
                    slow[0],
                    pipeline_phase,
                    slow,
                    {"extra_env": {"FOLLOWUP_SEND_CONCURRENCY": "1", **one_each}},
                )
            )
        if "batched" in args.phases and batching:
            on = {"extra_env": {"FOLLOWUP_EMAIL_BATCHING": "on"}}
            steps.append(
                (
                    "batched" + at,
                    pipeline_phase,
                    ("batched" + at, latency, args.messages, email),
                    on,
                )
            )
            steps.append(("sdk-email" + at, sdk_phase, (latency, args.messages, email), {}))
    if "due" in args.phases:
        cases = max(1, round(args.due_rate * args.due_seconds / 2))
        steps.append(
            ("due", pipeline_phase, ("due", args.due_latency, cases, mixed), {"due": "spread"})
        )
    if "memory" in args.phases:
        steps.append(
            ("memory", pipeline_phase, ("memory", 0, args.memory_messages // 2, mixed), {})
        )
    return steps


def run_phase(run: Run, name: str, function, arguments: tuple, keywords: dict) -> None:
    try:
        result = function(run, *arguments, **keywords)
    except BenchError as exc:
        raise BenchError(f"phase {name!r}: {exc}") from None
    run.phases[name] = result
    print(describe(name, result), flush=True)


def _bench(args: argparse.Namespace) -> dict:
    from followup.config import load_settings
    from tests.support.emulator import ProviderEmulator

    wall_started = time.perf_counter()
    pg_version = require_postgres(PG_ADMIN_URL)
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="followup-bench-")))
        redis_kind = backends.redis_kind(REDIS_URL)
        redis_url = stack.enter_context(backends.redis_server(redis_kind, REDIS_URL, scratch))
        redis_conn = redis.Redis.from_url(redis_url)
        stack.callback(redis_conn.close)
        emulator = ProviderEmulator(SENDGRID_KEY, TWILIO_SID, TWILIO_TOKEN, keep_bodies=False)
        emulator_url = emulator.start()
        stack.callback(emulator.stop)
        secret_key = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "FOLLOWUP_INSTANCE_PATH": str(scratch / "instance"),
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
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
        settings = load_settings(scratch / "instance", env)
        app_config = {
            "REDIS_URL": redis_url,
            "EMBEDDED_REDIS": False,
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "INSTANCE_PATH": str(scratch / "instance"),
        }
        template_url = stack.enter_context(data.template_database(PG_ADMIN_URL, app_config))
        logs = scratch / "logs"
        logs.mkdir()
        run = Run(
            args,
            emulator,
            env,
            template_url,
            logs,
            redis_conn,
            backends.key_prefix("bench"),
            settings,
        )
        batching = "EMAIL_BATCHING" in settings
        print(
            f"setup: PostgreSQL {pg_version} (a fresh database per phase), Redis ({redis_kind}), "
            f"{args.workers} workers + the sweep, FOLLOWUP_SEND_CONCURRENCY={run.concurrency}, "
            f"batch size {settings['BATCH_SIZE']}, latencies {args.latencies} ms "
            f"± {args.jitter:g} ms (uniform)",
            flush=True,
        )
        if "batched" in args.phases and not batching:
            print("batched: skipped, followup.config does not know FOLLOWUP_EMAIL_BATCHING")
        try:
            for step in plan(args, batching):
                run_phase(run, *step)
        except BenchError as exc:
            kept = RESULTS / "failed-run-logs"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(logs, kept)
            raise BenchError(f"{exc}\n(process logs kept in {kept})") from None
    found = ratios(run.phases, args.latencies)
    for r in found:
        verdict = (
            f" (goal >= {r['goal']:g}: {'met' if r['met'] else 'MISSED'})" if "goal" in r else ""
        )
        print(f"ratio at {r['latency_ms']:g} ms: {r['of']} / {r['to']} = {r['ratio']:.2f}{verdict}")
    wall = time.perf_counter() - wall_started
    print(f"wall time of the whole bench: {wall:.0f} s", flush=True)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.drain " + " ".join(sys.argv[1:]),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "postgres": pg_version,
        "redis": redis_kind,
        "workers": args.workers,
        "concurrency": run.concurrency,
        "batch_size": settings["BATCH_SIZE"],
        "jitter_ms": args.jitter,
        "phases": run.phases,
        "ratios": found,
        "wall_seconds": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def bench() -> int:
        result = _bench(args)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
        return 0

    return run(bench)


if __name__ == "__main__":
    sys.exit(main())
