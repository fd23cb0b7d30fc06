"""The migrations build exactly the schema the models describe."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from followup import create_app
from followup.extensions import db
from followup.models.customers import address_hash


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.fixture
def scratch_database(app_config, tmp_path):
    """An app on an empty SQLite file, in its app context, for a migration's data test."""
    config = {**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    with create_app(config).app_context():
        yield
        db.engine.dispose()


def test_opt_outs_move_to_the_suppression_list_and_back(scratch_database):
    """0002 carries the customer opt-out columns into the suppression list by address."""
    from flask_migrate import downgrade, upgrade

    upgrade(revision="0001")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (name, email, phone, locale, sms_opted_out_at, "
                "created_at, updated_at) VALUES ('Ana', 'ana@example.com', '+14155550123', "
                "'en', '2026-01-02 03:04:05', '2026-01-01', '2026-01-01'), ('Bo', "
                "'bo@example.com', NULL, 'en', NULL, '2026-01-01', '2026-01-01')"
            )
        )
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT channel, address, reason FROM suppressions"))
        assert rows.all() == [("sms", "+14155550123", "opt_out")]
    downgrade(revision="0001")
    with db.engine.connect() as conn:
        opted_out = conn.execute(
            sa.text("SELECT name FROM customers WHERE sms_opted_out_at IS NOT NULL")
        )
        assert opted_out.scalars().all() == ["Ana"]


def test_recovery_times_move_into_their_own_column_and_back(scratch_database):
    """0013 takes a recovered round's time from its counts, and its downgrade takes the
    recovery's time back from the recoveries."""
    from flask_migrate import downgrade, upgrade

    fact = ("INSERT INTO round_facts (case_id, round, closed_at, day, team, agent, channel, "
            "cadence, variant, experiment, survey_id, survey_kind, reasons, counts, "
            "recovered_at) VALUES (1, 1, '2026-03-01 10:00:00', '2026-03-01', '', '', "
            "'email', '', '', '', 0, 'csat', '[]', :counts, :recovered_at)")  # fmt: skip
    upgrade(revision="0012")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO customers (id, name, locale, created_at, updated_at) VALUES "
            "(1, 'Ana', 'en', '2026-01-01', '2026-01-01')"))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO cases (id, external_id, customer_id, subject, priority, tags, "
            "status, round, created_at, updated_at) VALUES (1, 'A-1', 1, 'Late', "
            "'normal', '[]', 'closed', 1, '2026-03-01', '2026-03-01')"))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO recoveries (case_id, round, customer_id, channel, status, "
            "started_at, outcome_at) VALUES (1, 1, 1, 'email', 'recovered', "
            "'2026-03-01 11:00:00', '2026-03-02 11:00:00')"))  # fmt: skip
        conn.execute(sa.text(fact), {"counts": '{"recovered": 1, "recovery_seconds": 86400}',
                                     "recovered_at": "2026-03-02 11:00:00"})  # fmt: skip
        conn.execute(sa.text(fact.replace("(1, 1,", "(2, 1,")),
                     {"counts": '{"recovered": 0, "recovery_seconds": 0}',
                      "recovered_at": None})  # fmt: skip
    upgrade()
    with db.engine.connect() as conn:
        seconds = conn.execute(
            sa.text("SELECT case_id, recovery_seconds FROM round_facts ORDER BY case_id")
        )
        assert seconds.all() == [(1, 86400), (2, None)]
    downgrade(revision="0012")
    with db.engine.connect() as conn:
        recovered = conn.execute(
            sa.text("SELECT case_id, recovered_at FROM round_facts ORDER BY case_id")
        )
        assert [(case, str(at)[:19] if at else None) for case, at in recovered] == [
            (1, "2026-03-02 11:00:00"), (2, None)]  # fmt: skip


def test_customer_external_ids_become_identities(scratch_database):
    """0018 copies every customer's external id into customer_identities."""
    from flask_migrate import downgrade, upgrade

    upgrade(revision="0017")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO customers (id, external_id, name, locale, tags, created_at, "
            "updated_at) VALUES (1, 'c-1', 'Ana', 'en', '[]', '2026-01-01', '2026-01-01'), "
            "(2, NULL, 'Bo', 'en', '[]', '2026-01-01', '2026-01-01')"))  # fmt: skip
    upgrade(revision="0018")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT customer_id, external_id FROM customer_identities"))
        assert rows.all() == [(1, "c-1")]
    downgrade(revision="0017")


def test_suppressions_are_keyed_by_hash_and_emails_lose_their_case(scratch_database):
    """0019 lower-cases customers' emails and keys the suppression list by address hash,
    keeping the oldest of two rows that differ only by an email's case."""
    from flask_migrate import downgrade, upgrade

    upgrade(revision="0018")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, email, locale, tags, created_at, updated_at) "
                "VALUES (1, 'Ana', 'Ana@Example.com', 'en', '[]', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(sa.text(
            "INSERT INTO suppressions (id, channel, address, reason, detail, created_at) "
            "VALUES (1, 'email', 'Ana@Example.com', 'bounce', '', '2026-01-01'), "
            "(2, 'email', 'ana@example.com', 'stop', '', '2026-01-02'), "
            "(3, 'sms', '+14155550123', 'stop', '', '2026-01-03')"))  # fmt: skip
    upgrade(revision="0019")
    with db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT email FROM customers")) == "ana@example.com"
        rows = conn.execute(sa.text(
            "SELECT id, reason, address_hash FROM suppressions ORDER BY id")).all()  # fmt: skip
    assert rows == [
        (1, "bounce", address_hash("email", "ana@example.com")),
        (3, "stop", address_hash("sms", "+14155550123")),
    ]
    downgrade(revision="0018")


def test_cases_agent_emails_lose_their_case(scratch_database):
    """0021 lower-cases the cases' agent emails (the agent links and their index compare them
    lower-case), as 0019 did for the customers' emails."""
    from flask_migrate import downgrade, upgrade

    upgrade(revision="0020")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, email, locale, tags, created_at, updated_at) "
                "VALUES (1, 'Ana', 'ana@example.com', 'en', '[]', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(sa.text(
            "INSERT INTO cases (id, external_id, customer_id, subject, agent_name, agent_email, "
            "priority, tags, status, round, created_at, updated_at) VALUES "
            "(1, 'C-1', 1, '', 'Sam', 'Sam.R@Example.COM', 'normal', '[]', 'open', 0, "
            "'2026-01-01', '2026-01-01'), (2, 'C-2', 1, '', 'Bo', NULL, 'normal', '[]', "
            "'open', 0, '2026-01-01', '2026-01-01')"))  # fmt: skip
    upgrade(revision="0021")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, agent_email FROM cases ORDER BY id")).all()
    assert rows == [(1, "sam.r@example.com"), (2, None)]
    downgrade(revision="0020")


def test_default_templates_as_shipped_take_the_brand(scratch_database):
    """0030: a default template's parts still as a release shipped them get the brand's
    colour (HTML) and footer (text), in English and in a translation; edited ones stay."""
    from flask_migrate import upgrade

    from followup.paths import ROOT

    def shipped(path: str) -> str:  # as the release before shipped it: the old colour, no footer
        text = (ROOT / "templates" / "email" / path).read_text()
        return text.replace("{{ brand.accent_colour }}", "#1f6feb").replace(
            '{% include "footer" %}\n', ""
        )

    html, text = shipped("csat_checkin.html"), shipped("csat_checkin.txt")
    es = shipped("es/csat_checkin.html")
    columns = ("key", "name", "email_subject", "email_html", "email_text", "sms_text")
    rows = sa.table("message_templates", *map(sa.column, columns), sa.column("updated_at"),
                    sa.column("translations", sa.JSON))  # fmt: skip
    common = {"name": "t", "email_subject": "s", "sms_text": "t", "updated_at": "2026-01-01"}
    upgrade(revision="0029")
    with db.engine.begin() as conn:
        conn.execute(rows.insert(), [
            {**common, "key": "shipped", "email_html": html, "email_text": text,
             "translations": {"es": {"email_html": es, "email_text": "Hola"}}},
            {**common, "key": "edited", "email_html": html + " ", "email_text": text + "P.S.\n",
             "translations": {}},
        ])  # fmt: skip
    upgrade(revision="0030")
    with db.engine.connect() as conn:
        found = {row.key: row for row in conn.execute(sa.select(rows))}
    assert found["shipped"].email_html == html.replace("#1f6feb", "{{ brand.accent_colour }}")
    assert found["shipped"].email_text == text + '{% include "footer" %}\n'
    assert found["shipped"].translations["es"] == {
        "email_html": es.replace("#1f6feb", "{{ brand.accent_colour }}"), "email_text": "Hola"
    }  # fmt: skip
    assert (found["edited"].email_html, found["edited"].email_text) == (html + " ", text + "P.S.\n")
