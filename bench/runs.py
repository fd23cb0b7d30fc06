"""What the benchmarks share: running one (`run`: its exit status, and its clean-up on Ctrl-C
or SIGTERM), the error that stops a run, the PostgreSQL check; and what the dispatch
benchmark's phases share: a phase's Redis keys (deleted after it) and its `followup.cli`
processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa

from tests.support import backends

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("FOLLOWUP_BENCH_PG_URL", backends.PG_ADMIN_URL)
REDIS_URL = os.environ.get("FOLLOWUP_BENCH_REDIS_URL", backends.REDIS_URL)
QUEUE_NAMES = ("sweep", "dispatch", "recovery", "default")  # workers.queues.QUEUE_NAMES
POLL_SECONDS = 0.1


class BenchError(Exception):
    """The run cannot give a trustworthy number: say why and exit non-zero."""


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(bench: Callable[[], int]) -> int:
    """A benchmark's exit status: its own, 1 saying why when it cannot give a trustworthy
    number, 130 when interrupted (SIGTERM cleans up as Ctrl-C does)."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return bench()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaned up", file=sys.stderr)
        return 130


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
    """A phase's Redis keys, deleted at its end: every key naming the prefix, and more.

    Dispatch job ids contain the prefix. The cron sweep's jobs have random ids
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

    def rss_mb(self, command: str = "worker") -> list[float]:
        """Resident memory (MB) of each running `command` process (workers do not fork)."""
        import psutil

        sizes = []
        for name, process, _ in self.processes:
            if name == command and process.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    sizes.append(round(psutil.Process(process.pid).memory_info().rss / 2**20, 1))
        return sizes

    def cpu_seconds(self, command: str = "worker") -> float:
        """CPU time (user + system) the running `command` processes have used in all."""
        import psutil

        total = 0.0
        for name, process, _ in self.processes:
            if name == command and process.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = psutil.Process(process.pid).cpu_times()
                    total += times.user + times.system
        return total

    def logs_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{_tail(log)}" for _, _, log in self.processes)


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and its children."""
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
