"""Privacy: the suppression list keyed by address hash (the address may be cleared by erasure
or retention, the opt-out stays), customers.erased_at and cases.redacted_at.

Revision ID: 0019
Revises: 0018
"""

import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    # Emails are compared without regard to case from now on: customers' are stored
    # lower-cased, and the list keeps one row (the oldest) per lower-cased address.
    connection.execute(sa.text("UPDATE customers SET email = lower(email)"))
    rows = connection.execute(
        sa.text("SELECT id, channel, address FROM suppressions ORDER BY id")
    ).all()
    seen = set()
    for row_id, channel, address in rows:
        key = f"{channel}:{address.lower() if channel == 'email' else address}"
        if key in seen:
            connection.execute(sa.text("DELETE FROM suppressions WHERE id = :id"), {"id": row_id})
            continue
        seen.add(key)
        connection.execute(
            sa.text("UPDATE suppressions SET address_hash = :hash WHERE id = :id"),
            {"hash": hashlib.sha256(key.encode()).hexdigest(), "id": row_id},
        )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_suppressions_channel", type_="unique")
        batch_op.alter_column("address_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("address", existing_type=sa.String(length=320), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_suppressions_channel"), ["channel", "address_hash"]
        )


def downgrade():
    # An address kept only as its hash cannot go back to the old list: those rows go.
    op.execute("DELETE FROM suppressions WHERE address IS NULL")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_suppressions_channel", type_="unique")
        batch_op.alter_column("address", existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_column("address_hash")
        batch_op.create_unique_constraint(
            batch_op.f("uq_suppressions_channel"), ["channel", "address"]
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
