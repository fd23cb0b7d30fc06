"""The console: users and the audit log; versioned cadences with rules, order, archive and
their own frequency cap; a case's source channel; survey questions and translations; gesture
offers in other languages; survey exclusions (carrying over FOLLOWUP_NO_SURVEY_TAGS, which
they replace, or its default vip,partner).

Existing cadences become version 1 of their own lineage.

Revision ID: 0009
Revises: 0008
"""

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_exclusions")),
        sa.UniqueConstraint("field", "value", name=op.f("uq_survey_exclusions_field")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entries_entity", ["entity", "entity_id"], unique=False)

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineage", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("rules", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("survey_cap_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_cadences_name"), type_="unique")
        batch_op.create_index(
            "uq_cadences_current_name",
            ["name"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )

    op.execute("UPDATE cadences SET lineage = 'cadence-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.alter_column("lineage", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("version", server_default=None)
        batch_op.alter_column("position", server_default=None)
        batch_op.alter_column("rules", server_default=None)
        batch_op.create_unique_constraint(batch_op.f("uq_cadences_lineage"), ["lineage", "version"])

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_channel", sa.String(length=30), nullable=True))

    with op.batch_alter_table("gesture_types", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("offer_translations", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("gesture_types", schema=None) as batch_op:
        batch_op.alter_column("offer_translations", server_default=None)

    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questions", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("translations", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.alter_column("questions", server_default=None)
        batch_op.alter_column("translations", server_default=None)

    tags = os.environ.get("FOLLOWUP_NO_SURVEY_TAGS") or "vip,partner"
    exclusions = sa.table(
        "survey_exclusions",
        sa.column("field", sa.String),
        sa.column("value", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    values = sorted({tag.strip().lower() for tag in tags.split(",") if tag.strip()})
    now = datetime.now(UTC).replace(tzinfo=None)
    if values:
        op.bulk_insert(
            exclusions,
            [{"field": "customer_tag", "value": v, "created_at": now} for v in values],
        )


def downgrade():
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("translations")
        batch_op.drop_column("questions")

    with op.batch_alter_table("gesture_types", schema=None) as batch_op:
        batch_op.drop_column("offer_translations")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("source_channel")

    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_cadences_lineage"), type_="unique")
        batch_op.drop_index(
            "uq_cadences_current_name",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_cadences_name"), ["name"])
        batch_op.drop_column("archived_at")
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("created_by")
        batch_op.drop_column("survey_cap_days")
        batch_op.drop_column("rules")
        batch_op.drop_column("position")
        batch_op.drop_column("version")
        batch_op.drop_column("lineage")

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_entity")
        batch_op.drop_index(batch_op.f("ix_audit_entries_at"))

    op.drop_table("audit_entries")
    op.drop_table("users")
    op.drop_table("survey_exclusions")
