"""Test fixtures: a real database (PostgreSQL when it answers, else SQLite) and Redis
(127.0.0.1:6379 when it answers, else an embedded redis-server), each made for this run
and dropped after it. FOLLOWUP_TEST_DB=sqlite|postgres and FOLLOWUP_TEST_REDIS=embedded
force a choice."""

import functools
import os
import uuid

import pytest
import redis
import sqlalchemy as sa
from flask import g

from followup import create_app
from followup.cadences import SendingHours
from followup.extensions import db, limiter
from workers.embedded_redis import answers, embedded_redis

PG_ADMIN_URL = os.environ.get(
    "FOLLOWUP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("FOLLOWUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _postgres_answers() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def _choose_db() -> str:
    wanted = os.environ.get("FOLLOWUP_TEST_DB")
    if wanted:
        return wanted
    return "postgres" if _postgres_answers() else "sqlite"


def _choose_redis() -> str:
    if os.environ.get("FOLLOWUP_TEST_REDIS") == "embedded":
        return "embedded"
    return "server" if answers(REDIS_TEST_URL) else "embedded"


DB_BACKEND = _choose_db()
REDIS_BACKEND = _choose_redis()


def pytest_report_header(config):
    return [f"followup backends: database={DB_BACKEND}, redis={REDIS_BACKEND}"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if DB_BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'followup.db'}"
        return
    name = f"followup_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if REDIS_BACKEND == "server":
        yield REDIS_TEST_URL
        return
    with embedded_redis(tmp_path_factory.mktemp("redis") / "redis.sock") as url:
        yield url


@pytest.fixture(scope="session")
def queue_prefix(redis_url):
    """Queue names unique to this run; every key that mentions it is deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    yield prefix
    conn = redis.Redis.from_url(redis_url)
    keys = list(conn.scan_iter(f"*{prefix}*", count=1000))
    if keys:
        conn.delete(*keys)


@pytest.fixture(scope="session")
def app_config(database_url, redis_url, queue_prefix, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": queue_prefix,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://followup.test",
        # Tests run at any hour: texts may go out at any hour unless a test says otherwise.
        "SMS_HOURS": SendingHours.parse("00:00-00:00", "UTC"),
        "WORKING_HOURS": SendingHours.parse("00:00-00:00", "UTC"),
    }


@pytest.fixture(scope="session")
def _schema(app_config):
    from flask_migrate import upgrade

    app = create_app(app_config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def app(app_config, _schema, tmp_path):
    app = create_app({**app_config, "DEV_OUTBOX_PATH": str(tmp_path / "dev-outbox.jsonl")})

    @app.before_request
    def forget_the_last_request():
        """Requests here share the test's app context, so `g` outlives a request: drop what
        Flask-Login and Flask-WTF keep in it, as a real request's fresh context would."""
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        limiter.reset()  # this run's sign-in counts (its own Redis key prefix)
        db.engine.dispose()


def _empty_tables():
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(app):
    """The standard setup (cadences, survey, templates) and one API key."""
    from followup.setup import create_api_key, ensure_standard_setup

    ensure_standard_setup()
    key = create_api_key("tests")
    db.session.commit()
    return {"api_key": key, "auth": {"Authorization": f"Bearer {key}"}}


PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once a run (scrypt takes a tenth of a second each time)."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD)


@pytest.fixture
def users(app):
    """One console user per role, all with PASSWORD: {"admin": User, "lead": ..., ...}."""
    from followup.models import User

    made = {
        role: User(
            email=f"{role}@example.com",
            role=role,
            name=f"Test {role.title()}",
            password_hash=password_hash(),
            session_version=1,
        )  # fmt: skip
        for role in ("admin", "lead", "manager")
    }
    db.session.add_all(made.values())
    db.session.commit()
    return made


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign the test client in through the real form (CSRF token included)."""
    import re

    page = client.get("/admin/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/admin/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on a console page."""
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def as_lead(client, users):
    """The test client, signed in as the lead."""
    assert sign_in(client, "lead@example.com").status_code == 303
    return client


@pytest.fixture
def as_manager(client, users):
    assert sign_in(client, "manager@example.com").status_code == 303
    return client


@pytest.fixture
def as_admin(client, users):
    assert sign_in(client, "admin@example.com").status_code == 303
    return client
