"""API keys get a scope (intake, read or full). Keys made before this had every power: they
become full, so deployments keep working until an admin replaces them with narrower keys.
A downgrade revokes the intake and read keys rather than give them every power again.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=20), nullable=False, server_default="full")
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("scope", server_default=None)


def downgrade():
    op.execute(
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE scope != 'full' AND revoked_at IS NULL"
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scope")
