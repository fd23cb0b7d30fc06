"""Comment themes: the themes comments are grouped into (themes) and each comment's embedding
with its theme (comment_embeddings).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("named_by", sa.String(length=320), nullable=True),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("split_from_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into_id"], ["themes.id"]),
        sa.ForeignKeyConstraint(["split_from_id"], ["themes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "comment_embeddings",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["theme_id"], ["themes.id"]),
        sa.PrimaryKeyConstraint("response_id"),
    )
    op.create_index("ix_comment_embeddings_theme_id", "comment_embeddings", ["theme_id"])


def downgrade():
    op.drop_index("ix_comment_embeddings_theme_id", table_name="comment_embeddings")
    op.drop_table("comment_embeddings")
    op.drop_table("themes")
