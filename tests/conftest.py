"""Test fixtures: a real database (PostgreSQL when it answers, else SQLite) and Redis
(127.0.0.1:6379 when it answers, else an embedded redis-server), each made for this run
and dropped after it. FOLLOWUP_TEST_DB=sqlite|postgres and FOLLOWUP_TEST_REDIS=embedded
force a choice."""

from datetime import timedelta

import pytest

from followup import create_app
from followup.cadences import SendingHours
from followup.extensions import db
from followup.models import Cadence
from tests.support import backends
from tests.support.apps import app_for_test
from tests.support.console import password_hash, sign_in
from tests.support.emulator import ProviderEmulator
from tests.support.figures import TODAY, roll_up, round_fact
from tests.support.run import DB_BACKEND, PG_ADMIN_URL, REDIS_BACKEND, REDIS_TEST_URL


def pytest_report_header(config):
    return [f"followup backends: database={DB_BACKEND}, redis={REDIS_BACKEND}"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with backends.database(DB_BACKEND, PG_ADMIN_URL, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("redis")
    with backends.redis_server(REDIS_BACKEND, REDIS_TEST_URL, scratch) as url:
        yield url


@pytest.fixture(scope="session")
def queue_prefix(redis_url):
    """Queue names unique to this run; every key that mentions it is deleted afterwards."""
    prefix = backends.key_prefix("test")
    yield prefix
    backends.delete_keys(redis_url, prefix)


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
        # The emulator listens on loopback (tests/security turn this off to see refusals).
        "ALLOW_PRIVATE_TARGETS": True,
        # Tests run as the demo does: a channel without credentials sends to the dev outbox.
        "DEV_OUTBOX": True,
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
    with app_for_test(app_config, tmp_path / "dev-outbox.jsonl") as app:
        yield app


@pytest.fixture(scope="module")
def module_app(app_config, _schema, tmp_path_factory):
    """As `app`, shared by one module's tests (sweeps of many cheap requests over data made
    once): the tables are emptied after the module, not after each test."""
    with app_for_test(app_config, tmp_path_factory.mktemp("outbox") / "dev-outbox.jsonl") as app:
        yield app


@pytest.fixture
def emulator():
    """The provider emulator (SendGrid, Twilio, helpdesks) on loopback, with fixed fake
    credentials as its attributes and its base URL as .url."""
    emu = ProviderEmulator(
        sendgrid_api_key="SG.fake-key.for-tests",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="fake-twilio-token",
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded(app):
    """The standard setup (cadences, survey, templates) and one API key of scope full."""
    from followup.api_keys import create_api_key
    from followup.models.users import ApiScope
    from followup.setup import ensure_standard_setup

    ensure_standard_setup()
    _, key = create_api_key("tests", ApiScope.FULL)
    db.session.commit()
    return {"api_key": key, "auth": {"Authorization": f"Bearer {key}"}}


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


@pytest.fixture
def rounds(app):
    """40 rounds in the last 30 days (North: 36 by ana, South: 4 by bo), 10 before."""
    cadence = Cadence(name="Standard follow-up", lineage="lin1")
    db.session.add(cadence)
    db.session.commit()
    facts = []
    for i in range(36):  # North, this period: scores 5,4,3,2,1 in turn
        score = 5 - i % 5
        negative = score <= 2
        facts.append(round_fact(
            i + 1, TODAY - timedelta(days=i % 20), cadence="lin1", score=score,
            reasons=["slow"] if negative and i % 2 else (["rude"] if negative else []),
            recovered_after=3600 * (1 + i % 3) if negative and i % 3 == 0 else None,
            gesture=int(negative), gesture_cost_cents=500 if negative else 0,
            escalated=int(negative and i % 3 != 0), reopened=int(i == 7),
        ))  # fmt: skip
    for i in range(4):  # South, this period, all unanswered on SMS
        facts.append(round_fact(100 + i, TODAY - timedelta(days=i), team="South", agent="bo",
                                channel="sms"))  # fmt: skip
    for i in range(10):  # the previous period: all positive
        facts.append(round_fact(200 + i, TODAY - timedelta(days=35 + i), score=5,
                                recovered_after=600 if i == 0 else None))  # fmt: skip
    roll_up(facts)
    return facts
