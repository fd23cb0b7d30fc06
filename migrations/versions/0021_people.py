"""The people around the feedback: the agent role's link to its cases (users.agent), how an
agent hears of kudos (users.kudos_delivery) and the weekly digest's opt-out
(users.weekly_digest); the kudos themselves.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column(
                "kudos_delivery", sa.String(length=10), nullable=False, server_default="daily"
            )
        )
        batch_op.add_column(
            sa.Column("weekly_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "kudos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("agent_name", sa.String(length=200), nullable=True),
        sa.Column("agent_email", sa.String(length=320), nullable=True),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("starred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starred_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"]),
        sa.ForeignKeyConstraint(["starred_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "round", "kind"),
    )
    op.create_index("ix_kudos_case_id", "kudos", ["case_id"])
    op.create_index("ix_kudos_created_at", "kudos", ["created_at"])
    op.create_index("ix_kudos_team_created_at", "kudos", ["team", "created_at"])
    op.create_index("ix_kudos_agent_email_created_at", "kudos", ["agent_email", "created_at"])
    op.create_index("ix_kudos_agent_name_created_at", "kudos", ["agent_name", "created_at"])
    # An agent user's cases, by their agent email (compared lower-case from now on, like the
    # customers' emails in 0019) or agent name: each side on its own index.
    op.execute(
        "UPDATE cases SET agent_email = lower(agent_email) WHERE agent_email <> lower(agent_email)"
    )
    op.create_index("ix_cases_agent_email", "cases", ["agent_email"])
    op.create_index("ix_cases_agent_name", "cases", ["agent_name"])


def downgrade():
    op.drop_index("ix_cases_agent_name", table_name="cases")
    op.drop_index("ix_cases_agent_email", table_name="cases")
    op.drop_index("ix_kudos_agent_name_created_at", table_name="kudos")
    op.drop_index("ix_kudos_agent_email_created_at", table_name="kudos")
    op.drop_index("ix_kudos_team_created_at", table_name="kudos")
    op.drop_index("ix_kudos_created_at", table_name="kudos")
    op.drop_index("ix_kudos_case_id", table_name="kudos")
    op.drop_table("kudos")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("weekly_digest")
        batch_op.drop_column("kudos_delivery")
        batch_op.drop_column("agent")
