"""The dispatch benchmark's data: one template database (migrated, with the standard setup),
a fresh copy of it for every phase (so no phase sees another's rows), and the due messages a
phase drains: thank-you emails and check-in texts with a survey, on the Standard cadence."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.runs import BenchError
from tests.support import backends

# Rows a phase must not send until it says so (the due-delay phase spreads them later).
NOT_YET = datetime(2100, 1, 1, tzinfo=UTC)


@contextmanager
def template_database(admin_url: str, app_config: dict) -> Iterator[str]:
    """A migrated database with the standard setup, copied by every phase; dropped after."""
    from flask_migrate import upgrade

    from followup import create_app
    from followup.extensions import db
    from followup.setup import ensure_standard_setup

    with backends.fresh_database(admin_url, "followup_bench_template") as url:
        app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
        logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
        try:
            with app.app_context():
                upgrade()
                ensure_standard_setup()
                db.session.commit()
                db.session.remove()
                db.engine.dispose()  # CREATE DATABASE ... TEMPLATE needs it unused
        finally:
            logging.disable(logging.NOTSET)
        yield url


def phase_database(admin_url: str, template_url: str, label: str):
    """A copy of the template for one phase, dropped at its end (also on failure)."""
    template = sa.engine.make_url(template_url).database
    prefix = f"followup_bench_{re.sub(r'[^a-z0-9]+', '_', label.lower())}"
    return backends.fresh_database(admin_url, prefix, template=template)


def seed(database_url: str, cases: int, channels: tuple[str, ...], due_at: datetime) -> int:
    """`cases` closed cases, each with one due message per channel ("email": the thank-you,
    "sms": the check-in with a survey), due at `due_at`; returns the number of messages."""
    from followup.models import Case, Customer, Message

    engine = sa.create_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            steps = {
                name: (step_id, survey_id)
                for step_id, name, survey_id in conn.execute(
                    sa.text(
                        "SELECT s.id, s.name, s.survey_id FROM cadence_steps s "
                        "JOIN cadences c ON c.id = s.cadence_id WHERE c.name = 'Standard'"
                    )
                )
            }
            cadence_id = conn.scalar(sa.text("SELECT id FROM cadences WHERE name = 'Standard'"))
            if (
                steps.get("thank-you", (0, 0))[1] is not None
                or steps.get("check-in", (0, None))[1] is None
            ):
                raise BenchError("the Standard cadence no longer has the shape this bench expects")
            step_of = {"email": steps["thank-you"][0], "sms": steps["check-in"][0]}
            now = datetime.now(UTC)
            stamps = {"created_at": now, "updated_at": now}
            customers, case_table = Customer.__table__, Case.__table__
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
                    for i in range(cases)
                ],
            ).all()
            case_ids = conn.scalars(
                case_table.insert().returning(case_table.c.id, sort_by_parameter_order=True),
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
                        "cadence_id": cadence_id,
                        **stamps,
                    }
                    for i, customer_id in enumerate(customer_ids)
                ],
            ).all()
            rows = [
                {
                    "case_id": case_id,
                    "customer_id": customer_id,
                    "step_id": step_of[channel],
                    "round": 1,
                    "channel": channel,
                    "recipient": f"customer{i}@example.com"
                    if channel == "email"
                    else f"+1415{i:07d}",
                    "condition": "always",
                    "due_at": due_at,
                    "status": "scheduled",
                    "attempts": 0,
                    "idempotency_key": f"case:{case_id}:round:1:step:{step_of[channel]}",
                    **stamps,
                }
                for i, (case_id, customer_id) in enumerate(zip(case_ids, customer_ids, strict=True))
                for channel in channels
            ]
            for start in range(0, len(rows), 10_000):
                conn.execute(Message.__table__.insert(), rows[start : start + 10_000])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum would have done by now on a live database: planner statistics.
            conn.execute(sa.text("ANALYZE customers, cases, messages"))
    finally:
        engine.dispose()
    return len(rows)


def spread_due(engine: sa.Engine, per_second: float, lead_seconds: float = 1.0) -> datetime:
    """Make the messages due one after another at `per_second`, in id order, the first
    `lead_seconds` from now; returns when the first is due."""
    with engine.begin() as conn:
        first = conn.scalar(
            sa.text("SELECT now() + make_interval(secs => :lead)"), {"lead": lead_seconds}
        )
        conn.execute(
            sa.text(
                "UPDATE messages m SET due_at = :first + make_interval(secs => (r.n - 1) / :rate) "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM messages) r "
                "WHERE m.id = r.id"
            ),
            {"first": first, "rate": float(per_second)},
        )
    return first


def due_times(engine: sa.Engine) -> dict[int, float]:
    """Each message's due time as epoch seconds."""
    with engine.connect() as conn:
        return {
            i: due.timestamp()
            for i, due in conn.execute(sa.text("SELECT id, due_at FROM messages"))
        }


def message_statuses(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM messages GROUP BY status"))
        return Counter({status: count for status, count in rows})


def outcome_counts(engine: sa.Engine) -> dict[str, int]:
    """What a drained phase left behind: message ids, survey invitations, sent events."""
    with engine.connect() as conn:
        return {
            "invitations": conn.scalar(sa.text("SELECT count(*) FROM survey_invitations")),
            "sent_events": conn.scalar(
                sa.text("SELECT count(*) FROM case_events WHERE kind = 'message.sent'")
            ),
        }


def message_ids(engine: sa.Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT id FROM messages")))


def due_now() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)
