"""The people around the feedback: the agent role's link to its cases (users.agent), how an
agent hears of kudos (users.kudos_delivery) and the weekly digest's opt-out
(users.weekly_digest); the kudos themselves.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column(
                "kudos_delivery", sa.String(length=10), nullable=False, server_default="daily"
            )
        )
        batch_op.add_column(
            sa.Column("weekly_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("weekly_digest")
        batch_op.drop_column("kudos_delivery")
        batch_op.drop_column("agent")
