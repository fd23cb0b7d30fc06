"""The PostgreSQL and Redis set-up the tests and the benches share: which backend answers
(PostgreSQL else SQLite, a Redis server else an embedded redis-server), a throwaway database
created for a run and dropped after it, and a Redis key prefix whose keys are deleted after it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import sqlalchemy as sa

from workers.embedded_redis import answers, embedded_redis

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_version(admin_url: str, timeout: int = 3) -> str:
    """The server's version; sqlalchemy's OperationalError when PostgreSQL does not answer."""
    engine = sa.create_engine(admin_url, connect_args={"connect_timeout": timeout})
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SHOW server_version")).scalar()
    finally:
        engine.dispose()


def postgres_answers(admin_url: str) -> bool:
    try:
        postgres_version(admin_url, timeout=2)
        return True
    except sa.exc.OperationalError:
        return False


def database_kind(admin_url: str, wanted: str | None = None) -> str:
    """ "postgres" or "sqlite": the one wanted, else PostgreSQL when it answers."""
    if wanted:
        return wanted
    return "postgres" if postgres_answers(admin_url) else "sqlite"


def redis_kind(url: str, wanted: str | None = None) -> str:
    """ "server" when the Redis at `url` answers (unless "embedded" is wanted), else "embedded"."""
    if wanted == "embedded":
        return "embedded"
    return "server" if answers(url) else "embedded"


@contextmanager
def fresh_database(
    admin_url: str, prefix: str = "followup_test", template: str | None = None
) -> Iterator[str]:
    """A new PostgreSQL database, empty or a copy of the `template` database (by name),
    dropped at the end (also on failure or Ctrl-C)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def database(kind: str, admin_url: str, scratch: Path) -> Iterator[str]:
    """The URL of a throwaway database: a SQLite file in `scratch`, or a fresh PostgreSQL one."""
    if kind == "sqlite":
        yield f"sqlite:///{scratch / 'followup.db'}"
        return
    with fresh_database(admin_url) as url:
        yield url


@contextmanager
def redis_server(kind: str, url: str, scratch: Path) -> Iterator[str]:
    """The Redis URL to use: `url` for "server", else an embedded redis-server's socket."""
    if kind == "server":
        yield url
        return
    with embedded_redis(scratch / "redis.sock") as embedded_url:
        yield embedded_url


def key_prefix(label: str) -> str:
    """A prefix for a run's queue names and keys, unique to the run ("test-1a2b3c4d-")."""
    return f"{label}-{secrets.token_hex(4)}-"


def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every key that mentions the prefix."""
    conn = redis.Redis.from_url(redis_url)
    try:
        keys = list(conn.scan_iter(f"*{prefix}*", count=1000))
        if keys:
            conn.delete(*keys)
    finally:
        conn.close()
