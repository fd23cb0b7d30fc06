"""An index of the recovered rounds by day, for the dashboard's median time to recovery.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_round_facts_recovered_day",
            ["day"],
            unique=False,
            postgresql_where=sa.text("recovered_at IS NOT NULL"),
            sqlite_where=sa.text("recovered_at IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_round_facts_recovered_day",
            postgresql_where=sa.text("recovered_at IS NOT NULL"),
            sqlite_where=sa.text("recovered_at IS NOT NULL"),
        )
