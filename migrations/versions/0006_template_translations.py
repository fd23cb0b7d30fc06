"""Message templates in other languages (translations: {"es": {part: source}}).

Templates saved before keep no translations and go out in English.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade():
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_column("translations")
