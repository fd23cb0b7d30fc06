"""Case signals and risk: what the helpdesk reports with a close (times reopened, resolution
and first-response minutes, customer replies) and the round's dissatisfaction risk score, its
source and the features it was computed from.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

COLUMNS = (
    ("reopen_count", sa.Integer()),
    ("resolution_minutes", sa.Integer()),
    ("customer_replies", sa.Integer()),
    ("first_response_minutes", sa.Integer()),
    ("risk_score", sa.Float()),
    ("risk_source", sa.String(length=20)),
    ("risk_features", sa.JSON()),
)


def upgrade():
    with op.batch_alter_table("cases") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table("cases") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
