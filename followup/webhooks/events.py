"""De-duplication of provider webhook events: each (provider, event id) is handled once."""

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from followup.extensions import db
from followup.models import ProviderEvent


def first_time(provider: str, event_id: str) -> bool:
    """Note the event; False when it was handled before (a redelivery). An event without an id
    cannot be recognised again and counts as new."""
    if not event_id:
        return True
    if db.session.scalar(
        sa.select(ProviderEvent.id).where(
            ProviderEvent.provider == provider, ProviderEvent.event_id == event_id
        )
    ):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ProviderEvent(provider=provider, event_id=event_id[:200]))
    except IntegrityError:  # the same event, delivered twice at once
        return False
    return True
