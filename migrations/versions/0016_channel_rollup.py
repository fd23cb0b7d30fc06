"""The leanest rollup of the figures: by channel, cadence, variant and survey only
(daily_channel_figures), filled from daily_figures; the dashboard's unfiltered sums and
trends read a few rows a day from it instead of a row per agent or team.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COUNTERS = (
    "closed", "invited", "delivered", "responded", "csat_n", "csat_positive", "nps_n",
    "nps_promoters", "nps_detractors", "ces_n", "ces_sum", "negative", "gesture",
    "gesture_cost_cents", "checkin_answered", "recovered", "escalated", "recovery_seconds",
    "reopened",
)  # fmt: skip
DIMENSIONS = "day, channel, cadence, variant, survey_id"


def upgrade():
    op.create_table(
        "daily_channel_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("cadence", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_channel_figures")),
        sa.UniqueConstraint(
            "day",
            "channel",
            "cadence",
            "variant",
            "survey_id",
            name=op.f("uq_daily_channel_figures_day"),
        ),  # fmt: skip
    )
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    op.execute(
        f"INSERT INTO daily_channel_figures ({DIMENSIONS}, {', '.join(COUNTERS)}) "
        f"SELECT {DIMENSIONS}, {sums} FROM daily_figures GROUP BY {DIMENSIONS}"
    )


def downgrade():
    op.drop_table("daily_channel_figures")
