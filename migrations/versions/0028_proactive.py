"""Proactive outreach: the cadence's proactive task (title, due hours), the tasks opened for
high-risk case rounds (proactive_tasks) and the rounds the holdout kept from them
(proactive_holdouts).

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cadences") as batch:
        batch.add_column(sa.Column("proactive_task", sa.String(length=300), nullable=True))
        batch.add_column(
            sa.Column("proactive_due_hours", sa.Integer(), nullable=False, server_default="24")
        )
    op.create_table(
        "proactive_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("cadence_id", sa.Integer(), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=320), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cadence_id"], ["cadences.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "round", name=op.f("uq_proactive_tasks_case_id")),
    )
    op.create_index("ix_proactive_tasks_open", "proactive_tasks", ["completed_at", "due_at"])
    op.create_index("ix_proactive_tasks_created_at", "proactive_tasks", ["created_at"])
    op.create_table(
        "proactive_holdouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("cadence_id", sa.Integer(), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cadence_id"], ["cadences.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "round", name=op.f("uq_proactive_holdouts_case_id")),
    )
    op.create_index("ix_proactive_holdouts_created_at", "proactive_holdouts", ["created_at"])


def downgrade():
    op.drop_index("ix_proactive_holdouts_created_at", table_name="proactive_holdouts")
    op.drop_table("proactive_holdouts")
    op.drop_index("ix_proactive_tasks_created_at", table_name="proactive_tasks")
    op.drop_index("ix_proactive_tasks_open", table_name="proactive_tasks")
    op.drop_table("proactive_tasks")
    with op.batch_alter_table("cadences") as batch:
        batch.drop_column("proactive_due_hours")
        batch.drop_column("proactive_task")
