"""A customer's locale becomes optional: intake without one leaves it empty, and the
customer reads the organisation's default language (followup.languages.language_of)
instead of English. Existing customers keep the locale they have ("en" included: it cannot
be told apart from one the helpdesk sent); downgrading gives the empty ones "en" again.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("locale", existing_type=sa.String(length=20), nullable=True)


def downgrade():
    op.execute("UPDATE customers SET locale = 'en' WHERE locale IS NULL")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("locale", existing_type=sa.String(length=20), nullable=False)
