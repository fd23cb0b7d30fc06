"""Message content: what a sent message said (messages.subject, messages.body), its survey and
unsubscribe links replaced by placeholders. Messages sent before keep none.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("body")
        batch_op.drop_column("subject")
