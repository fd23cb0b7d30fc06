"""Unsubscribe links: one per email, a hashed token with expiry and the nonce it comes from.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unsubscribe_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_unsubscribe_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_unsubscribe_links_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsubscribe_links")),
        sa.UniqueConstraint("message_id", name=op.f("uq_unsubscribe_links_message_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_unsubscribe_links_token_hash")),
    )


def downgrade():
    op.drop_table("unsubscribe_links")
