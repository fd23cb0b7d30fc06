"""Root causes a lead records when a recovery ends, from a list the admin keeps: the
root_causes table (seeded with product defect, policy, agent knowledge, delay and
communication), the latest cause of each recovery with its note, who and when
(recoveries.root_cause_*), and the indexes the root causes' figures read: the causes
recorded in a period (with the cause and status), the recoveries started in a period with
their cause and status, and the recoveries without a cause that one is asked for.

The recoveries that had ended before this revision (recovered, escalated, or a task of them
completed) are marked root_cause_asked = false: nobody is asked for their cause and the
figures do not count them as ended without one. Those ending later are asked.

Revision ID: 0022
Revises: 0021
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

DEFAULTS = (  # as tests/support/root_causes.py says them
    ("product_defect", "Product defect"),
    ("policy", "Policy"),
    ("agent_knowledge", "Agent knowledge"),
    ("delay", "Delay"),
    ("communication", "Communication"),
)


def upgrade():
    root_causes = op.create_table(
        "root_causes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_root_causes")),
        sa.UniqueConstraint("key", name=op.f("uq_root_causes_key")),
        sa.UniqueConstraint("position", name=op.f("uq_root_causes_position")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        root_causes,
        [
            {"key": key, "name": name, "active": True, "position": position, "created_at": now}
            for position, (key, name) in enumerate(DEFAULTS)
        ],
    )
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("root_cause_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("root_cause_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("root_cause_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("root_cause_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("root_cause_changes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("root_cause_asked", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_recoveries_root_cause_id_root_causes"),
            "root_causes",
            ["root_cause_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_recoveries_root_cause_at", ["root_cause_at", "root_cause_id", "status"]
        )
        batch_op.create_index(
            "ix_recoveries_started_root_cause", ["started_at", "root_cause_id", "status"]
        )
        batch_op.create_index(
            "ix_recoveries_root_cause_asked", ["root_cause_id", "root_cause_asked", "started_at"]
        )
    # Ended already: not asked (one statement; the recoveries' status and the tasks' index on
    # recovery_id).
    op.execute(
        "UPDATE recoveries SET root_cause_asked = false WHERE status IN ('recovered', "
        "'escalated') OR EXISTS (SELECT 1 FROM recovery_tasks WHERE recovery_tasks.recovery_id "
        "= recoveries.id AND recovery_tasks.completed_at IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.drop_index("ix_recoveries_root_cause_asked")
        batch_op.drop_index("ix_recoveries_started_root_cause")
        batch_op.drop_index("ix_recoveries_root_cause_at")
        batch_op.drop_constraint(
            batch_op.f("fk_recoveries_root_cause_id_root_causes"), type_="foreignkey"
        )
        batch_op.drop_column("root_cause_asked")
        batch_op.drop_column("root_cause_changes")
        batch_op.drop_column("root_cause_at")
        batch_op.drop_column("root_cause_by")
        batch_op.drop_column("root_cause_note")
        batch_op.drop_column("root_cause_id")
    op.drop_table("root_causes")
