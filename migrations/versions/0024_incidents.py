"""Incidents: a window and a segment whose surveys are held (incidents), and each message an
incident held (incident_holds), for its counts.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("apology_cadence_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("ended_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(["apology_cadence_id"], ["cadences.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id", name=op.f("uq_incidents_external_id")),
    )
    op.create_index("ix_incidents_starts_at", "incidents", ["starts_at"])
    op.create_table(
        "incident_holds",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_incident_holds_incident_id", "incident_holds", ["incident_id"])
    op.create_index("ix_incident_holds_at", "incident_holds", ["at"])


def downgrade():
    op.drop_index("ix_incident_holds_at", table_name="incident_holds")
    op.drop_index("ix_incident_holds_incident_id", table_name="incident_holds")
    op.drop_table("incident_holds")
    op.drop_index("ix_incidents_starts_at", table_name="incidents")
    op.drop_table("incidents")
