"""The migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from followup import create_app
from followup.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_opt_outs_move_to_the_suppression_list_and_back(app_config, tmp_path):
    """0002 carries the customer opt-out columns into the suppression list by address."""
    from flask_migrate import downgrade, upgrade

    config = {**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    scratch = create_app(config)
    with scratch.app_context():
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
        db.engine.dispose()
