"""Leaner rollups of the figures: without the agent (daily_team_figures) and by team and
agent only (daily_agent_figures), filled from daily_figures.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COUNTERS = (
    "closed", "invited", "delivered", "responded", "csat_n", "csat_positive", "nps_n",
    "nps_promoters", "nps_detractors", "ces_n", "ces_sum", "negative", "gesture",
    "gesture_cost_cents", "checkin_answered", "recovered", "escalated", "recovery_seconds",
    "reopened",
)  # fmt: skip


def upgrade():
    op.create_table(
        "daily_agent_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_positive", sa.Integer(), nullable=False),
        sa.Column("nps_n", sa.Integer(), nullable=False),
        sa.Column("nps_promoters", sa.Integer(), nullable=False),
        sa.Column("nps_detractors", sa.Integer(), nullable=False),
        sa.Column("ces_n", sa.Integer(), nullable=False),
        sa.Column("ces_sum", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("gesture", sa.Integer(), nullable=False),
        sa.Column("gesture_cost_cents", sa.Integer(), nullable=False),
        sa.Column("checkin_answered", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("recovery_seconds", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_agent_figures")),
        sa.UniqueConstraint("day", "team", "agent", name=op.f("uq_daily_agent_figures_day")),
    )
    op.create_table(
        "daily_team_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("cadence", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_positive", sa.Integer(), nullable=False),
        sa.Column("nps_n", sa.Integer(), nullable=False),
        sa.Column("nps_promoters", sa.Integer(), nullable=False),
        sa.Column("nps_detractors", sa.Integer(), nullable=False),
        sa.Column("ces_n", sa.Integer(), nullable=False),
        sa.Column("ces_sum", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("gesture", sa.Integer(), nullable=False),
        sa.Column("gesture_cost_cents", sa.Integer(), nullable=False),
        sa.Column("checkin_answered", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("recovery_seconds", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_team_figures")),
        sa.UniqueConstraint(
            "day",
            "team",
            "channel",
            "cadence",
            "variant",
            "survey_id",
            name=op.f("uq_daily_team_figures_day"),
        ),
    )
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    for table, dimensions in (
        ("daily_team_figures", "day, team, channel, cadence, variant, survey_id"),
        ("daily_agent_figures", "day, team, agent"),
    ):
        op.execute(
            f"INSERT INTO {table} ({dimensions}, {', '.join(COUNTERS)}) "
            f"SELECT {dimensions}, {sums} FROM daily_figures GROUP BY {dimensions}"
        )


def downgrade():
    op.drop_table("daily_team_figures")
    op.drop_table("daily_agent_figures")
