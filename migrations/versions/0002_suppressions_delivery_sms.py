"""Suppression list, delivery tracking, SMS conversations.

Opt-outs move from two customer columns to the suppression list, by address; the customers
who had opted out keep their opt-out there.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "provider_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_provider_events_provider")),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_suppressions_channel")),
    )
    for channel, column, address in (
        ("sms", "sms_opted_out_at", "phone"),
        ("email", "email_opted_out_at", "email"),
    ):
        op.execute(
            f"INSERT INTO suppressions (channel, address, reason, detail, created_at) "
            f"SELECT '{channel}', {address}, 'opt_out', 'customer opt-out', MIN({column}) "
            f"FROM customers WHERE {column} IS NOT NULL AND {address} IS NOT NULL "
            f"GROUP BY {address}"
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("sms_opted_out_at")
        batch_op.drop_column("email_opted_out_at")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("delivery_error_code", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_updated_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_state", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_column("sms_state")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("delivery_updated_at")
        batch_op.drop_column("delivery_error_code")
        batch_op.drop_column("delivery_status")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_opted_out_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("sms_opted_out_at", sa.DateTime(timezone=True)))
    for channel, column, address in (
        ("sms", "sms_opted_out_at", "phone"),
        ("email", "email_opted_out_at", "email"),
    ):
        op.execute(
            f"UPDATE customers SET {column} = (SELECT created_at FROM suppressions "
            f"WHERE channel = '{channel}' AND address = customers.{address})"
        )

    op.drop_table("suppressions")
    op.drop_table("provider_events")
