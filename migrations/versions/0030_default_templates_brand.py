"""The default email templates as this release ships them, in deployments set up before it:
a template part still exactly as a release shipped it (its SHA-256 below) takes the brand.
Its HTML's buttons and links use the brand's accent colour (`brand.accent_colour`) instead of
the old #1f6feb, and its text part ends with the brand's footer (`{% include "footer" %}`:
the address and privacy link). Parts a lead has edited are left as they are, in English and
in every translation.

Revision ID: 0030
Revises: 0029
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

OLD_ACCENT = "#1f6feb"
ACCENT = "{{ brand.accent_colour }}"
TEXT_FOOTER = '{% include "footer" %}\n'
# The first 16 hex digits of the SHA-256 of every shipped version of the default templates'
# HTML with the old colour, and of their text part ending with the unsubscribe line.
SHIPPED_HTML = {
    "291e337b76b6607a",
    "31e3c6781fa0d81c",
    "31e4e7eeb68bacee",
    "381bb880783481f7",
    "51ccdefa13b527b8",
    "57ade4e479fea358",
    "69ecca35c5f03511",
    "71c1ce3e8f30841f",
    "73271d3c2a68a3bd",
    "739d2c37198fecdc",
    "7943565a23f2469c",
    "84d8f2c5f0ee55ba",
    "922b8c1b9eb8d48a",
    "9ec44b34e98c75e0",
    "a2f8d42948a5b975",
    "b0e7d53f0283fc87",
    "ba785b6be29cfa2e",
    "e3ecd7596424d3f6",
    "f19f442972491342",
    "f61d82c457073a21",
    "fa7f32dab9ed1284",
}
SHIPPED_TEXT = {
    "041da236512a9cc0",
    "0b349ae429e1492b",
    "0c8f2812f36a335c",
    "0fa06d66501a68f9",
    "15edb3aa1c4b0741",
    "1bebb8503a799b39",
    "28d886c29d71301e",
    "4352ebbb07ccb638",
    "43cd1093308464b9",
    "54fd4fff6fb0a3bc",
    "5a79641b5bbd61da",
    "5c1939036f2d09ef",
    "60900c4baeab4959",
    "6676d771224b5ca6",
    "81f2a979a5e30ce3",
    "8c5c753993790fcb",
    "8d7994f1e32c1490",
    "9051084bc3990517",
    "9906415f6f04b401",
    "99d107f9ba918244",
    "a73a78b98df91ec4",
    "a85faf2722cb379f",
    "ad6fe594118f821d",
    "ae546cf97eb36385",
    "bb489ab816479535",
    "bb56c3276cf3a887",
    "be82155a69ab87ce",
    "c2ceee29d92a9ea6",
    "c5b38b851d392e74",
    "c86621714be8ba7f",
    "e3cfb58f427c0cb5",
    "f1fc99148fdf8470",
}

templates = sa.table(
    "message_templates",
    sa.column("id", sa.Integer),
    sa.column("email_html", sa.Text),
    sa.column("email_text", sa.Text),
    sa.column("translations", sa.JSON),
)


def _shipped(source: str | None, versions: set[str]) -> bool:
    return bool(source) and hashlib.sha256(source.encode()).hexdigest()[:16] in versions


def refreshed(parts: dict) -> dict:
    """The parts (email_html, email_text, ...) with the shipped ones brought up to date."""
    parts = dict(parts)
    if _shipped(parts.get("email_html"), SHIPPED_HTML):
        parts["email_html"] = parts["email_html"].replace(OLD_ACCENT, ACCENT)
    if _shipped(parts.get("email_text"), SHIPPED_TEXT):
        parts["email_text"] = parts["email_text"] + TEXT_FOOTER
    return parts


def upgrade():
    connection = op.get_bind()
    for row in connection.execute(sa.select(templates)).mappings().all():
        own = refreshed({"email_html": row["email_html"], "email_text": row["email_text"]})
        translations = {
            language: refreshed(parts) if isinstance(parts, dict) else parts
            for language, parts in (row["translations"] or {}).items()
        }
        if own != {"email_html": row["email_html"], "email_text": row["email_text"]} or (
            translations != (row["translations"] or {})
        ):
            connection.execute(
                templates.update()
                .where(templates.c.id == row["id"])
                .values(**own, translations=translations)
            )


def downgrade():
    """Nothing to undo: 0029's code renders the brand's colour and footer too."""
