"""Delivery reports from the providers: moving a message's delivery status forward (never
back) with a line on its case's timeline, and remembering which provider events were handled.

Each operation flushes; the caller commits.
"""

from datetime import datetime

import sqlalchemy as sa

from followup.cases import record_event
from followup.extensions import db
from followup.models import Message, ProviderEvent
from followup.models.cases import EventKind
from followup.models.messages import DELIVERY_ORDER, DeliveryStatus


def handled_before(provider: str, event_ids: set[str]) -> set[str]:
    """Which of these provider event ids were handled by an earlier request."""
    if not event_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(ProviderEvent.event_id).where(
                ProviderEvent.provider == provider, ProviderEvent.event_id.in_(event_ids)
            )
        )
    )


def mark_handled(provider: str, event_id: str, now: datetime) -> None:
    """Remember the event; a concurrent request handling it too fails at commit (unique)."""
    db.session.add(ProviderEvent(provider=provider, event_id=event_id, received_at=now))


def update_delivery(
    message: Message, status: DeliveryStatus, error_code: str | None, detail: dict, now: datetime
) -> bool:
    """Set the delivery status when it is further along than the current one, with a
    `message.<status>` timeline event; False (nothing changes) for a late or repeated report."""
    current = DELIVERY_ORDER.get(message.delivery_status or "", 0)
    if DELIVERY_ORDER[status] <= current:
        return False
    message.delivery_status = status
    message.delivery_error_code = error_code[:20] if error_code else None
    message.delivery_updated_at = now
    record_event(message.case_id, EventKind.message_event(status), detail, message.id, now)
    db.session.flush()
    return True
