"""Threshold alert rules a manager sets, and their breaches (alert_rules, alert_breaches); an
index of the answers by when they came (the last hour's, for a reason burst) and one of the
outbound calls by kind and creation (erasure's look for the staff emails quoting kudos). On
PostgreSQL both indexes are built CONCURRENTLY (outside the migration's transaction), so
large responses and outbound_calls tables take writes meanwhile. A lead's teams for their
weekly digest (users.teams, a JSON list; empty: every team).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("min_answers", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_table(
        "alert_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("breaching", sa.Boolean(), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alert_breaches_rule_id_alert_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_breaches")),
        sa.UniqueConstraint("rule_id", "subject", name=op.f("uq_alert_breaches_rule_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("teams", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    _create_indexes()


INDEXES = (
    ("ix_responses_created_at", "responses", ["created_at"]),
    ("ix_outbound_calls_kind_created_at", "outbound_calls", ["kind", "created_at"]),
)


def _create_indexes():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True)
        return
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def _drop_indexes():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, _ in INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
        return
    for name, table, _ in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade():
    _drop_indexes()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("teams")
    op.drop_table("alert_breaches")
    op.drop_table("alert_rules")
