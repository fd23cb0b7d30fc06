"""Figures: a fact row per closed case round, daily rollups of them (figures and reasons) and
how far the rollups have read the timeline; cadence experiments (a B variant and its share)
and the variant a case round got.

Existing data is counted by the first refresh (`followup rebuild-figures`, or the workers,
which read the whole timeline from the start).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "daily_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_figures")),
        sa.UniqueConstraint(
            "day",
            "team",
            "agent",
            "channel",
            "cadence",
            "variant",
            "survey_id",
            name=op.f("uq_daily_figures_day"),
        ),
    )
    op.create_table(
        "daily_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("cadence", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_reasons")),
        sa.UniqueConstraint(
            "day",
            "team",
            "agent",
            "channel",
            "cadence",
            "variant",
            "survey_id",
            "reason",
            name=op.f("uq_daily_reasons_day"),
        ),
    )
    op.create_table(
        "figure_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figure_state")),
    )
    op.create_table(
        "round_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("cadence", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=1), nullable=False),
        sa.Column("experiment", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("survey_kind", sa.String(length=10), nullable=False),
        sa.Column("first_score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_facts")),
        sa.UniqueConstraint("case_id", "round", name=op.f("uq_round_facts_case_id")),
    )
    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.create_index("ix_round_facts_day", ["day"], unique=False)

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("experiment_lineage", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("experiment_share", sa.Integer(), nullable=False, server_default="50")
        )
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.alter_column("experiment_share", server_default=None)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("experiment", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("variant", sa.String(length=1), nullable=True))


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("variant")
        batch_op.drop_column("experiment")

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_column("experiment_share")
        batch_op.drop_column("experiment_lineage")

    with op.batch_alter_table("round_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_round_facts_day")

    op.drop_table("round_facts")
    op.drop_table("figure_state")
    op.drop_table("daily_reasons")
    op.drop_table("daily_figures")
