"""The app a test runs on: on the run's database and Redis, inside its context, its tables
emptied after (the app fixtures, and tests that need an app configured their own way)."""

from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import g

from followup import create_app
from followup.extensions import db, limiter


@contextmanager
def app_for_test(app_config: dict, outbox: Path):
    """An app on the run's database and Redis, inside its context; its tables emptied after."""
    app = create_app({**app_config, "DEV_OUTBOX_PATH": str(outbox)})

    @app.before_request
    def forget_the_last_request():
        """Requests here share the test's app context, so `g` outlives a request: drop what
        Flask-Login, Flask-WTF and Flask-Babel keep in it, the organisation's settings and a
        customer page's locale, as a real request's fresh context would."""
        for name in ("_login_user", "csrf_token", "_flask_babel", "organisation",
                     "customer_locale"):  # fmt: skip
            g.pop(name, None)

    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        limiter.reset()  # this run's sign-in counts (its own Redis key prefix)
        db.engine.dispose()


def _empty_tables():
    """Every table emptied, children first, and on PostgreSQL its ids restarted: DELETE and
    ALTER SEQUENCE take a fifth of TRUNCATE's half second on tables this small."""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            sequences = conn.scalars(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            )
            for sequence in sequences.all():
                conn.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@contextmanager
def other_app(app_config: dict, **settings):
    """An app made with other settings than the test's (create_app reads them once, like a
    deployment), on the same database; its connections closed after."""
    other = create_app({**app_config, **settings})
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
