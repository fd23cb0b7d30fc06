"""Email unsubscribe links: one per email, made at dispatch (a resend keeps its link), valid
for LINK_DAYS; the public page /u/<token> (surveys.unsubscribe) takes them."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Message, UnsubscribeLink
from surveys.tokens import link_token, new_token_columns

LINK_DAYS = 365
# The body of a mail provider's RFC 8058 one-click unsubscribe POST.
ONE_CLICK = {"List-Unsubscribe": ["One-Click"]}


def unsubscribe_links_for(
    messages: list[Message], secret_key: str, now: datetime
) -> dict[int, UnsubscribeLink]:
    """Each email's link by message id, made on first use."""
    found = {
        link.message_id: link
        for link in db.session.scalars(
            sa.select(UnsubscribeLink).where(
                UnsubscribeLink.message_id.in_([message.id for message in messages])
            )
        )
    }
    for message in messages:
        if message.id in found:
            continue
        found[message.id] = UnsubscribeLink(
            message_id=message.id,
            case_id=message.case_id,
            address=message.recipient,
            expires_at=now + timedelta(days=LINK_DAYS),
            created_at=now,
            **new_token_columns(secret_key),
        )
        db.session.add(found[message.id])
    return found


def unsubscribe_url(link: UnsubscribeLink, secret_keys: Sequence[str], base_url: str) -> str:
    return f"{base_url}/u/{link_token(link, secret_keys)}"
