"""Per-cadence sending hours for texts, and business-day delays on steps.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cadence_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("business_days", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_hours", sa.String(length=11), nullable=True))


def downgrade():
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_column("sms_hours")
    with op.batch_alter_table("cadence_steps", schema=None) as batch_op:
        batch_op.drop_column("business_days")
