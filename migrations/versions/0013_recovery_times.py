"""Recovery times in their own column of round_facts (instead of the recovery's time,
recovered_at), indexed with the dashboard's filter dimensions, so the median time to
recovery reads only that index.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FILTERS = ["team", "agent", "channel", "cadence", "survey_id"]


def _recovery_times_index(batch_op, create: bool) -> None:
    where = sa.text("recovery_seconds IS NOT NULL")
    if create:
        batch_op.create_index("ix_round_facts_recovery_times", ["day", "recovery_seconds"],
                              unique=False, postgresql_include=FILTERS, postgresql_where=where,
                              sqlite_where=where)  # fmt: skip
    else:
        batch_op.drop_index("ix_round_facts_recovery_times", postgresql_where=where,
                            sqlite_where=where)  # fmt: skip


def _recovered_day_index(batch_op, create: bool) -> None:
    where = sa.text("recovered_at IS NOT NULL")
    if create:
        batch_op.create_index("ix_round_facts_recovered_day", ["day"], unique=False,
                              postgresql_where=where, sqlite_where=where)  # fmt: skip
    else:
        batch_op.drop_index("ix_round_facts_recovered_day", postgresql_where=where,
                            sqlite_where=where)  # fmt: skip


def upgrade():
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_seconds", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        seconds = "CAST(counts ->> 'recovery_seconds' AS INTEGER)"
    else:
        seconds = "CAST(json_extract(counts, '$.recovery_seconds') AS INTEGER)"
    op.execute(f"UPDATE round_facts SET recovery_seconds = {seconds} "
               f"WHERE recovered_at IS NOT NULL")  # fmt: skip
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        _recovered_day_index(batch_op, create=False)
        batch_op.drop_column("recovered_at")
        _recovery_times_index(batch_op, create=True)


def downgrade():
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE round_facts SET recovered_at = (SELECT r.outcome_at FROM recoveries r "
        "WHERE r.case_id = round_facts.case_id AND r.round = round_facts.round) "
        "WHERE recovery_seconds IS NOT NULL"
    )
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        _recovery_times_index(batch_op, create=False)
        batch_op.drop_column("recovery_seconds")
        _recovered_day_index(batch_op, create=True)
