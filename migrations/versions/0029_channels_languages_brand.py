"""WhatsApp, languages and brand: the customer's preferred channel and last WhatsApp message,
a template's WhatsApp content template and variables, a console user's language, and the
organisation's settings (brand, languages, default language).

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("preferred_channel", sa.String(length=10), nullable=True))
        batch.add_column(
            sa.Column("whatsapp_inbound_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("message_templates") as batch:
        batch.add_column(
            sa.Column(
                "whatsapp_content_sid", sa.String(length=34), nullable=False, server_default=""
            )
        )
        batch.add_column(
            sa.Column("whatsapp_variables", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=10), nullable=True))
    op.create_table(
        "organisation_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("default_language", sa.String(length=10), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("accent_colour", sa.String(length=7), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=40), nullable=True),
        sa.Column("logo_width", sa.Integer(), nullable=True),
        sa.Column("logo_height", sa.Integer(), nullable=True),
        sa.Column("footer_address", sa.Text(), nullable=False),
        sa.Column("privacy_url", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("organisation_settings")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("message_templates") as batch:
        batch.drop_column("whatsapp_variables")
        batch.drop_column("whatsapp_content_sid")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("whatsapp_inbound_at")
        batch.drop_column("preferred_channel")
