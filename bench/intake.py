"""`make bench-intake`: the intake API and the survey page under gunicorn, as ratios to a Flask
hello-world under the same gunicorn settings, measured in the same run.

This module owns the run end to end: a fresh PostgreSQL database (migrated, dropped
afterwards), a unique key prefix on Redis (its keys deleted afterwards), the standard setup, an
API key of scope intake and one of scope read made with followup.api_keys, and real survey
links (cases closed with followup.cases, their check-ins' invitations made with
surveys.invitations, as dispatch makes them). Then, one server at a time, each
`gunicorn --workers W --bind 127.0.0.1:PORT` (the production command of docs/operations.md):

- hello: `bench.intake:hello()`, a Flask app answering "Hello, World!": the ceiling of
  gunicorn, Flask and the load generator on this machine;
- the app (`wsgi:app`, the production settings: PostgreSQL, Redis, a secret key, an https
  public URL), closed loop: `POST /api/v1/cases` (each a new case and customer), then
  `POST /api/v1/cases/{id}/close` of those cases, `GET /api/v1/cases/{id}` (read key) and
  `GET /api/v1/openapi.json`; each as requests per second and as a ratio to hello's. Both
  servers run side by side (an idle one costs nothing) and the closed-loop phases run in
  --rounds rounds, hello-world first in each: every ratio is taken against the hello-world of
  its own round and the medians are reported, so that load other processes put on a shared
  machine moves a ratio's two sides alike;
- the survey page `GET /s/<token>` open loop: requests start on a fixed schedule
  (--survey-rate per second, whatever the answers' times), and each latency runs from the
  request's scheduled start, so a slow answer delays nothing it should not (no coordinated
  omission).

The load generator is processes of threads, each thread one HTTP/1.1 connection kept open as
long as the server allows (gunicorn's sync workers close it after each answer, for hello and
the app alike). It competes for the same cores as the server: every phase reports the CPU
the load generator used, the CPU gunicorn used and how busy the whole machine was, and the
paced phase reports how late the load generator started requests it was free to start on
time (if that is not near zero, the latencies are the load generator's, not the server's).

Prints every number and ratio; writes bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.runs import BenchError, run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOAL_RATIO = 0.25  # intake requests per second against hello-world's
GOAL_SURVEY_P99_MS = 25.0
PUBLIC_BASE_URL = "https://followup.bench"


def hello():
    """The baseline: Flask's hello-world, served by `gunicorn 'bench.intake:hello()'`."""
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def index():
        return "Hello, World!"

    return app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description="Intake API requests per second and the survey page's latency under "
        "gunicorn, beside a Flask hello-world under the same gunicorn settings.",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (both servers)")
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (both servers)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the closed-loop phases")
    parser.add_argument("--seconds", type=float, default=6, help="length of each timed phase")
    parser.add_argument("--warmup", type=float, default=1, help="untimed seconds before each")
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent connections of the closed-loop phases"
    )
    parser.add_argument(
        "--load-processes", type=int, default=2, help="load generator processes (threads share)"
    )
    parser.add_argument("--survey-rate", type=float, default=200, help="survey pages per second")
    parser.add_argument(
        "--survey-seconds", type=float, default=None, help="paced phase length (default 10)"
    )
    parser.add_argument("--survey-links", type=int, default=200, help="distinct survey links")
    parser.add_argument(
        "--only",
        default="hello,create,close,get,openapi,survey",
        help="comma-separated phases to run (hello is needed for the ratios)",
    )
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.phases) - {"hello", "create", "close", "get", "openapi", "survey"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if "close" in args.phases and "create" not in args.phases:
        parser.error("close needs create (it closes the cases create made)")
    if args.survey_seconds is None:
        args.survey_seconds = 10
    if min(args.workers, args.clients, args.load_processes, args.survey_links, args.rounds) < 1:
        parser.error(
            "--workers, --clients, --load-processes, --survey-links and --rounds must be >= 1"
        )
    return args


# -- the load generator (runs in its own processes) -------------------------------------------


def _request(conn: http.client.HTTPConnection, method: str, path: str, body, headers) -> tuple:
    """Send one request on a kept-alive connection (reopened when the server closed it)."""
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                conn.close()
            return response.status, data
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # a kept-alive connection the server had closed: once more
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _connection(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.auto_open = True
    return conn


class _Work:
    """What one load thread does: which requests, until when."""

    def __init__(self, spec: dict, thread_index: int):
        self.spec, self.index = spec, thread_index
        self.kind = spec["kind"]
        self.key = spec.get("key", "")
        shares = spec.get("items_by_thread")
        self.items = shares[thread_index] if shares else spec.get("items", [])
        self.n = 0

    def next_request(self):
        """(method, path, body, headers, created external id) or None when there is no more."""
        self.n += 1
        auth = {"Authorization": f"Bearer {self.key}"}
        if self.kind == "hello":
            return "GET", "/", None, {}, None
        if self.kind == "openapi":
            return "GET", "/api/v1/openapi.json", None, {}, None
        if self.kind == "create":
            external_id = f"{self.spec['label']}-{self.index}-{self.n}"
            body = {
                "external_id": external_id,
                "subject": "Parcel never arrived",
                "agent": {"name": "Sam Rivera"},
                "team": "Shipping",
                "tags": ["shipping"],
                "customer": {
                    "external_id": f"c-{external_id}",
                    "name": "Ana Lima",
                    "email": f"{external_id.lower()}@example.com",
                    "phone": customer_phone(external_id),
                    "timezone": "America/New_York",
                },
            }
            headers = {**auth, "Content-Type": "application/json"}
            return "POST", "/api/v1/cases", json.dumps(body), headers, external_id
        if self.n > len(self.items):
            return None
        item = self.items[self.n - 1]
        if self.kind == "close":
            return "POST", f"/api/v1/cases/{item}/close", None, auth, None
        if self.kind == "get":
            return "GET", f"/api/v1/cases/{item}", None, auth, None
        raise ValueError(self.kind)


def customer_phone(external_id: str) -> str:
    """A valid number of the customer's own, one of 8 million picked by a hash of the case's
    id: customers sharing a number would be one customer (intake matches by phone)."""
    k = zlib.crc32(external_id.encode()) % 8_000_000
    return f"+1415{2 + k // 1_000_000}{k % 1_000_000:06d}"


def _closed_loop_thread(spec: dict, thread_index: int, start: float, out: dict) -> None:
    conn = _connection(spec["port"])
    work = _Work(spec, thread_index)
    deadline = start + spec["seconds"]
    latencies, statuses, created = [], {}, []
    while time.monotonic() < start:
        time.sleep(0.001)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        request = work.next_request()
        if request is None:
            break
        method, path, body, headers, external_id = request
        began = time.perf_counter()
        status, _ = _request(conn, method, path, body, headers)
        latencies.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
        if external_id and 200 <= status < 300:
            created.append(external_id)
    out["finished"] = time.monotonic()
    out.update(latencies=latencies, statuses=statuses, created=created)
    conn.close()


def _paced_thread(spec: dict, thread_index: int, start: float, out: dict) -> None:
    """Request i (i = index, index + stride, ...) starts at start + i / rate."""
    conn = _connection(spec["port"])
    rate, stride, total = spec["rate"], spec["stride"], spec["total"]
    tokens = spec["items"]
    latencies, lags, statuses = [], [], {}
    for i in range(thread_index, total, stride):
        scheduled = start + i / rate
        now = time.monotonic()
        free_on_time = now < scheduled
        while now < scheduled:
            time.sleep(min(scheduled - now, 0.05))
            now = time.monotonic()
        if free_on_time:
            lags.append(now - scheduled)  # the load generator's own lateness
        status, _ = _request(conn, "GET", f"/s/{tokens[i % len(tokens)]}", None, {})
        latencies.append(time.monotonic() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
    out["finished"] = time.monotonic()
    out.update(latencies=latencies, lags=lags, statuses=statuses, created=[])
    conn.close()


def _load_process(spec: dict, thread_indexes: list[int], start: float, results) -> None:
    """One load generator process: a thread per connection; reports what its threads saw and
    the CPU time it used."""
    target = _paced_thread if spec["kind"] == "survey" else _closed_loop_thread
    outs = [{} for _ in thread_indexes]
    threads = [
        threading.Thread(target=target, args=(spec, index, start, out), daemon=True)
        for index, out in zip(thread_indexes, outs, strict=True)
    ]
    cpu_before = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({"outs": outs, "cpu": time.process_time() - cpu_before})


# -- phases -----------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _database_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving this database (its process title names
    it: "postgres: ... postgres <database> 127.0.0.1(port) idle")."""
    import psutil

    if not database:
        return {}
    found = {}
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or ())
        if f" {database} " in title:
            try:
                times = process.cpu_times()
                found[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
    return found


def run_load(spec: dict, threads: int, processes: int, server: Server) -> dict:
    """Run a phase: `threads` connections over `processes` load processes, timed from a start
    instant all share; what the server, the load generator and the machine did meanwhile."""
    import psutil

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = min(processes, threads)
    shares = [list(range(p, threads, processes)) for p in range(processes)]
    start = time.monotonic() + 1.5  # the spawned processes are up by then
    workers = [
        context.Process(target=_load_process, args=(spec, share, start, results), daemon=True)
        for share in shares
    ]
    for worker in workers:
        worker.start()
    while time.monotonic() < start:
        time.sleep(0.005)
    server_pids = server.pids()
    server_cpu = _cpu_seconds(server_pids)
    database_cpu = _database_cpu(server.database)
    machine = psutil.cpu_times()
    reports = [results.get(timeout=spec.get("timeout", 600)) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    outs = [out for report in reports for out in report["outs"]]
    finished = max(out["finished"] for out in outs)
    wall = finished - start
    server_cpu = _cpu_seconds(server_pids) - server_cpu
    database_cpu = sum(
        seconds - database_cpu.get(pid, 0.0)
        for pid, seconds in _database_cpu(server.database).items()
    )
    machine_after = psutil.cpu_times()
    busy = sum(machine_after) - machine_after.idle - (sum(machine) - machine.idle)
    latencies = [x for out in outs for x in out["latencies"]]
    statuses: dict = {}
    for out in outs:
        for status, count in out["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    result = {
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "per_second": round(len(latencies) / wall, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "load_generator_cores": round(sum(r["cpu"] for r in reports) / wall, 2),
        "server_cores": round(server_cpu / wall, 2),
        "server_cpu_ms_per_request": round(server_cpu / max(len(latencies), 1) * 1000, 2),
        "database_cpu_ms_per_request": round(database_cpu / max(len(latencies), 1) * 1000, 2),
        "machine_busy_cores": round(busy / wall, 2),
        "created": [x for out in outs for x in out["created"]],
    }
    lags = [x for out in outs for x in out.get("lags", [])]
    if lags:
        result["load_generator_lag_p99_ms"] = round(_percentile(lags, 0.99) * 1000, 2)
    return result


def closed_loop(server: Server, kind: str, args, **extra) -> dict:
    spec = {"kind": kind, "port": server.port, "label": f"{kind}-warm", **extra}
    if args.warmup > 0 and kind not in ("close", "get"):
        run_load({**spec, "seconds": args.warmup}, args.clients, args.load_processes, server)
    spec = {**spec, "label": f"{kind}-{secrets.token_hex(3)}", "seconds": args.seconds}
    if "items" in spec:  # each connection its own share of the cases
        items = spec.pop("items")
        spec["items_by_thread"] = [items[t :: args.clients] for t in range(args.clients)]
    result = run_load(spec, args.clients, args.load_processes, server)
    _check_statuses(kind, result)
    return result


def _check_statuses(kind: str, result: dict) -> None:
    bad = {s: c for s, c in result["statuses"].items() if not s.startswith("2")}
    if bad or not result["requests"]:
        raise BenchError(f"the {kind} phase got answers other than 2xx: {result['statuses']}")


def _medians(rounds: list[dict]) -> dict:
    """Each phase's numbers, the median over the rounds."""
    names = [name for name in rounds[0]] if rounds else []
    medians = {}
    for name in names:
        results = [r[name] for r in rounds if name in r]
        medians[name] = {
            key: round(statistics.median(result[key] for result in results), 3)
            for key, value in results[0].items()
            if isinstance(value, int | float)
        }
    return medians


def _ratio_medians(rounds: list[dict], ratio) -> dict:
    """A phase's ratio to the hello-world of its own round, the median over the rounds."""
    found: dict[str, list[float]] = {}
    for r in rounds:
        if "hello" not in r:
            continue
        for name in ("create", "close", "get", "openapi"):
            if name in r:
                found.setdefault(name, []).append(ratio(r[name], r["hello"]))
    return {name: round(statistics.median(values), 3) for name, values in found.items()}


# -- servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`gunicorn --workers W --worker-class K --bind 127.0.0.1:PORT <app>` in its own session."""

    def __init__(self, app: str, env: dict, args, log: Path, database: str | None = None):
        self.port = _free_port()
        self.database = database  # its PostgreSQL backends' CPU counts too
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    str(args.workers),
                    "--worker-class",
                    args.worker_class,
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    app,
                ],  # fmt: skip
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers = args.workers

    def pids(self) -> list[int]:
        import psutil

        parent = psutil.Process(self.process.pid)
        return [parent.pid, *(child.pid for child in parent.children(recursive=True))]

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        import psutil

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited (status {self.process.returncode}):\n"
                                 f"{self.log.read_text()[-3000:]}")  # fmt: skip
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
                workers = len(psutil.Process(self.process.pid).children())
                if status == 200 and workers >= self.workers:
                    # every worker has imported the app (sync workers load it at boot)
                    time.sleep(1)
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not answer {path} within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# -- data -------------------------------------------------------------------------------------


def seed(app, links: int, secret_key: str) -> dict:
    """The standard setup, an intake and a read API key, and `links` closed cases whose
    check-ins carry a survey invitation: {"intake_key", "read_key", "tokens"}."""
    import sqlalchemy as sa

    from followup.api_keys import create_api_key
    from followup.cases import close_case, upsert_case
    from followup.extensions import db
    from followup.models import CadenceStep, Message, Survey
    from followup.models.base import utcnow
    from followup.models.users import ApiScope
    from followup.setup import ensure_standard_setup
    from surveys.invitations import invitations_for
    from surveys.tokens import token_for

    with app.app_context():
        ensure_standard_setup()
        _, intake_key = create_api_key("bench-intake", ApiScope.INTAKE)
        _, read_key = create_api_key("bench-read", ApiScope.READ)
        db.session.commit()
        now = utcnow()
        for i in range(links):
            case, _ = upsert_case(
                {
                    "external_id": f"SURVEY-{i}",
                    "subject": "Parcel never arrived",
                    "agent": {"name": "Sam Rivera"},
                    "customer": {
                        "external_id": f"survey-c{i}",
                        "name": f"Customer {i}",
                        "email": f"survey{i}@example.com",
                        "timezone": "Europe/London",
                    },
                }
            )
            close_case(case, None, now)
        db.session.commit()
        rows = db.session.execute(
            sa.select(Message, Survey)
            .join(CadenceStep, CadenceStep.id == Message.step_id)
            .join(Survey, Survey.id == CadenceStep.survey_id)
            .where(CadenceStep.survey_id.is_not(None), CadenceStep.condition == "always")
        ).all()
        invitations = invitations_for(
            [(message, survey) for message, survey in rows],
            secret_key,
            now,
            app.config["SURVEY_WINDOW_DAYS"],
        )
        db.session.commit()
        tokens = [token_for(secret_key, invitation.nonce) for invitation in invitations.values()]
        db.session.remove()
        db.engine.dispose()
    if len(tokens) < links:
        raise BenchError(f"{len(tokens)} survey invitations for {links} closed cases")
    return {"intake_key": intake_key, "read_key": read_key, "tokens": tokens[:links]}


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(lambda: _bench(args))


def _line(name: str, result: dict, hello_rate: float | None) -> str:
    ratio = f", {result['per_second'] / hello_rate:.3f} of hello" if hello_rate else ""
    return (
        f"{name:<8} {result['per_second']:>8.1f} req/s{ratio} ({result['requests']} in "
        f"{result['seconds']:.1f} s; p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} "
        f"ms; CPU per request: gunicorn {result['server_cpu_ms_per_request']:.2f} ms, "
        f"PostgreSQL {result['database_cpu_ms_per_request']:.2f} ms; CPU cores: "
        f"gunicorn {result['server_cores']:.2f}, load generator "
        f"{result['load_generator_cores']:.2f}, whole machine {result['machine_busy_cores']:.2f})"
    )


def _bench(args: argparse.Namespace) -> int:
    import redis
    import sqlalchemy as sa

    from followup import create_app
    from tests.support import backends

    admin_url = os.environ.get("FOLLOWUP_BENCH_PG_URL", backends.PG_ADMIN_URL)
    redis_url = os.environ.get("FOLLOWUP_BENCH_REDIS_URL", backends.REDIS_URL)
    try:
        pg_version = backends.postgres_version(admin_url)
    except sa.exc.OperationalError:
        raise BenchError(
            "PostgreSQL does not answer: the bench measures the production setup; start it or "
            "set FOLLOWUP_BENCH_PG_URL to an admin URL that may create databases"
        ) from None
    if not redis.Redis.from_url(redis_url).ping():
        raise BenchError(f"Redis does not answer at {redis_url}")
    phases: dict = {}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="followup-bench-")))
        prefix = backends.key_prefix("bench-intake")
        stack.callback(backends.delete_keys, redis_url, prefix)
        database_url = stack.enter_context(
            backends.fresh_database(admin_url, "followup_bench_intake")
        )
        secret_key = secrets.token_urlsafe(32)
        settings = {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "EMBEDDED_REDIS": False,
            "QUEUE_PREFIX": prefix,
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "INSTANCE_PATH": str(scratch / "instance"),
            "TRUSTED_PROXIES": 1,
        }
        app = create_app(settings)
        from flask_migrate import upgrade

        from followup.extensions import db

        logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
        try:
            with app.app_context():
                upgrade()
                db.engine.dispose()
        finally:
            logging.disable(logging.NOTSET)
        seeded = seed(app, args.survey_links, secret_key)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "FOLLOWUP_QUEUE_PREFIX": prefix,
            "FOLLOWUP_INSTANCE_PATH": str(scratch / "instance"),
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "FOLLOWUP_TRUSTED_PROXIES": "1",
        }
        print(
            f"setup: PostgreSQL {pg_version} (fresh database), Redis, {os.cpu_count()} CPUs; "
            f"gunicorn --workers {args.workers} --worker-class {args.worker_class}; "
            f"{args.clients} connections from {args.load_processes} load processes; "
            f"{args.seconds:g} s per phase after {args.warmup:g} s of warm-up",
            flush=True,
        )
        hello = None
        if "hello" in args.phases:
            hello = Server("bench.intake:hello()", env, args, scratch / "hello.log")
            stack.callback(hello.stop)
            hello.wait_ready("/")
        database_name = sa.engine.make_url(database_url).database
        server = Server("wsgi:app", env, args, scratch / "app.log", database_name)
        stack.callback(server.stop)
        server.wait_ready("/healthz")
        keys = {"key": seeded["intake_key"]}
        rounds: list[dict] = []
        for number in range(1, args.rounds + 1):
            # Each round measures hello-world again just before the app: the load the other
            # processes on a shared machine put on it moves both alike.
            this: dict = {}
            rounds.append(this)
            if hello is not None:
                this["hello"] = closed_loop(hello, "hello", args)
            hello_rate = this["hello"]["per_second"] if hello is not None else None
            print(f"round {number} of {args.rounds}", flush=True)
            if hello is not None:
                print(_line("hello", this["hello"], None), flush=True)
            if "create" in args.phases:
                this["create"] = closed_loop(server, "create", args, **keys)
                print(_line("create", this["create"], hello_rate), flush=True)
            created = this.get("create", {}).get("created", [])
            if "close" in args.phases:
                this["close"] = closed_loop(server, "close", args, items=created, **keys)
                print(_line("close", this["close"], hello_rate), flush=True)
            if "get" in args.phases:
                cases = created or [f"SURVEY-{i}" for i in range(args.survey_links)]
                this["get"] = closed_loop(
                    server, "get", args, items=cases * 50, key=seeded["read_key"]
                )
                print(_line("get", this["get"], hello_rate), flush=True)
            if "openapi" in args.phases:
                this["openapi"] = closed_loop(server, "openapi", args)
                print(_line("openapi", this["openapi"], hello_rate), flush=True)
            for result in this.values():
                result.pop("created", None)
        phases = _medians(rounds)
        survey = None
        if "survey" in args.phases:
            threads = max(8, int(args.survey_rate * 0.08))  # each thread 80 ms per request
            total = int(args.survey_rate * args.survey_seconds)
            spec = {"kind": "survey", "port": server.port, "rate": args.survey_rate,
                    "stride": threads, "items": seeded["tokens"]}  # fmt: skip
            warm = int(args.survey_rate * args.warmup)
            if warm:
                run_load({**spec, "total": warm}, threads, args.load_processes, server)
            survey = run_load({**spec, "total": total}, threads, args.load_processes,
                              server)  # fmt: skip
            _check_statuses("survey", survey)
            s = survey
            print(
                f"survey   {args.survey_rate:g} pages/s paced for {args.survey_seconds:g} s "
                f"({s['requests']} pages): p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms "
                f"(goal p99 < {GOAL_SURVEY_P99_MS:g} ms); load generator late by p99 "
                f"{s.get('load_generator_lag_p99_ms', 0):.1f} ms; CPU per page: gunicorn "
                f"{s['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
                f"{s['database_cpu_ms_per_request']:.2f} ms; CPU cores: gunicorn "
                f"{s['server_cores']:.2f}, load generator {s['load_generator_cores']:.2f}, "
                f"whole machine {s['machine_busy_cores']:.2f}",
                flush=True,
            )
    phases.pop("survey", None)
    if survey is not None:
        phases["survey"] = survey
    ratios = _ratio_medians(rounds, lambda phase, hello: phase["per_second"] / hello["per_second"])
    cpu_ratios = _ratio_medians(
        rounds,
        lambda phase, hello: (
            hello["server_cpu_ms_per_request"]
            / max(phase["server_cpu_ms_per_request"] + phase["database_cpu_ms_per_request"], 1e-9)
        ),
    )
    for name, median in phases.items():
        if name != "survey":
            print(
                f"median   {name:<8} {median['per_second']:>8.1f} req/s; CPU per request: "
                f"gunicorn {median['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
                f"{median['database_cpu_ms_per_request']:.2f} ms",
                flush=True,
            )
    if ratios:
        print(
            "ratios to hello-world: "
            + ", ".join(f"{name} {ratio:.3f}" for name, ratio in ratios.items())
            + f" (median of {args.rounds} rounds; goal for create and close: >= {GOAL_RATIO})",
            flush=True,
        )
        print(
            "by CPU per request (hello's gunicorn CPU against gunicorn + PostgreSQL CPU, what "
            "the ratio would be with the cores to spare): "
            + ", ".join(f"{name} {ratio:.3f}" for name, ratio in cpu_ratios.items()),
            flush=True,
        )
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "postgres": pg_version,
        "command": " ".join(["python -m bench.intake", *args.argv]),
        "gunicorn": {"workers": args.workers, "worker_class": args.worker_class},
        "clients": args.clients,
        "load_processes": args.load_processes,
        "seconds": args.seconds,
        "survey_rate": args.survey_rate,
        "rounds": args.rounds,
        "medians": phases,
        "each_round": rounds,
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "goals": {"ratio": GOAL_RATIO, "survey_p99_ms": GOAL_SURVEY_P99_MS},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "intake.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
