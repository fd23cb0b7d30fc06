"""The recovery loop: goodwill catalogue, recoveries with their gesture and tasks, alerts,
outbound calls; survey scales with negative and positive bands; recovery cadences.

Existing surveys (CSAT) keep their negative band from their lowest score up, and count 4 and
up as positive.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gesture_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("offer", sa.String(length=200), nullable=False),
        sa.Column("value_cents", sa.Integer(), nullable=False),
        sa.Column("cost_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly_budget_cents", sa.Integer(), nullable=True),
        sa.Column("low_codes", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("due_hours", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gesture_types")),
        sa.UniqueConstraint("key", name=op.f("uq_gesture_types_key")),
    )
    op.create_table(
        "recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rule_name", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_recoveries_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_recoveries_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
        sa.UniqueConstraint("case_id", "round", name=op.f("uq_recoveries_case_id")),
    )
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recoveries_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_recoveries_status_deadline", ["status", "answer_deadline_at"], unique=False
        )

    op.create_table(
        "gestures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recovery_id", sa.Integer(), nullable=False),
        sa.Column("gesture_type_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("cost_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gesture_type_id"],
            ["gesture_types.id"],
            name=op.f("fk_gestures_gesture_type_id_gesture_types"),
        ),
        sa.ForeignKeyConstraint(
            ["recovery_id"], ["recoveries.id"], name=op.f("fk_gestures_recovery_id_recoveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gestures")),
        sa.UniqueConstraint("recovery_id", name=op.f("uq_gestures_recovery_id")),
    )
    with op.batch_alter_table("gestures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gestures_gesture_type_id"), ["gesture_type_id"], unique=False
        )

    op.create_table(
        "goodwill_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gesture_type_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gesture_type_id"],
            ["gesture_types.id"],
            name=op.f("fk_goodwill_codes_gesture_type_id_gesture_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goodwill_codes")),
        sa.UniqueConstraint(
            "gesture_type_id", "code", name=op.f("uq_goodwill_codes_gesture_type_id")
        ),
    )
    with op.batch_alter_table("goodwill_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_goodwill_codes_unused", ["gesture_type_id", "issued_at"], unique=False
        )

    op.create_table(
        "recovery_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("priorities", sa.JSON(), nullable=False),
        sa.Column("customer_tags", sa.JSON(), nullable=False),
        sa.Column("asked", sa.JSON(), nullable=False),
        sa.Column("gesture_type_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gesture_type_id"],
            ["gesture_types.id"],
            name=op.f("fk_recovery_rules_gesture_type_id_gesture_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_rules")),
        sa.UniqueConstraint("position", name=op.f("uq_recovery_rules_position")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_alerts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_table(
        "outbound_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_outbound_calls_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_calls")),
        sa.UniqueConstraint("key", name=op.f("uq_outbound_calls_key")),
    )
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_calls_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_outbound_calls_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "recovery_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recovery_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_recovery_tasks_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["recovery_id"],
            ["recoveries.id"],
            name=op.f("fk_recovery_tasks_recovery_id_recoveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_tasks")),
    )
    with op.batch_alter_table("recovery_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_tasks_recovery_id"), ["recovery_id"], unique=False
        )

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="close")
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_recovery_id"), ["recovery_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_recovery_id_recoveries"), "recoveries", ["recovery_id"], ["id"]
        )

    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_responses_recovery_id"), ["recovery_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_responses_recovery_id_recoveries"), "recoveries", ["recovery_id"], ["id"]
        )

    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("negative_min", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("positive_min", sa.Integer(), nullable=False, server_default="4")
        )
        batch_op.add_column(
            sa.Column("positive_max", sa.Integer(), nullable=False, server_default="5")
        )
        batch_op.add_column(
            sa.Column("negative_keywords", sa.JSON(), nullable=False, server_default="[]")
        )
    op.execute("UPDATE surveys SET negative_min = scale_min, positive_max = scale_max")


def downgrade():
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("negative_keywords")
        batch_op.drop_column("positive_max")
        batch_op.drop_column("positive_min")
        batch_op.drop_column("negative_min")

    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_responses_recovery_id_recoveries"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_responses_recovery_id"))
        batch_op.drop_column("recovery_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_recovery_id_recoveries"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_messages_recovery_id"))
        batch_op.drop_column("recovery_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("ticket_id")

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_column("purpose")

    with op.batch_alter_table("recovery_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_tasks_recovery_id"))

    op.drop_table("recovery_tasks")
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_calls_status_due_at")
        batch_op.drop_index(batch_op.f("ix_outbound_calls_case_id"))

    op.drop_table("outbound_calls")
    op.drop_table("alerts")
    op.drop_table("recovery_rules")
    with op.batch_alter_table("goodwill_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_goodwill_codes_unused")

    op.drop_table("goodwill_codes")
    with op.batch_alter_table("gestures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gestures_gesture_type_id"))

    op.drop_table("gestures")
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.drop_index("ix_recoveries_status_deadline")
        batch_op.drop_index(batch_op.f("ix_recoveries_customer_id"))

    op.drop_table("recoveries")
    op.drop_table("gesture_types")
