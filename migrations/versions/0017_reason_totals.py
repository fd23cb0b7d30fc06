"""The reasons by day and reason only (daily_reason_totals), filled from daily_reasons, for
the views no dimension narrows; and indexes by agent and day (daily_figures, daily_reasons)
and by team and day (daily_agent_figures, daily_team_figures, daily_reasons), so an agent or
team filter reads that agent's or team's rows of the period, not every one's.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
INDEXES = (  # name, table, column (then the day)
    ("ix_daily_figures_agent_day", "daily_figures", "agent"),
    ("ix_daily_reasons_agent_day", "daily_reasons", "agent"),
    ("ix_daily_agent_figures_team_day", "daily_agent_figures", "team"),
    ("ix_daily_team_figures_team_day", "daily_team_figures", "team"),
    ("ix_daily_reasons_team_day", "daily_reasons", "team"),
)


def upgrade():
    op.create_table(
        "daily_reason_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_reason_totals")),
        sa.UniqueConstraint("day", "reason", name=op.f("uq_daily_reason_totals_day")),
    )
    op.execute(
        "INSERT INTO daily_reason_totals (day, reason, negative, recovered) "
        "SELECT day, reason, SUM(negative), SUM(recovered) FROM daily_reasons "
        "GROUP BY day, reason"
    )
    for name, table, column in INDEXES:
        op.create_index(name, table, [column, "day"])


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("daily_reason_totals")
