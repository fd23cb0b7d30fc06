"""Incidents: a window and a segment whose surveys are held.

Revision ID: 0024
Revises: 0023
"""

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
