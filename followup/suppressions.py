"""Opt-outs, bounces and complaints: putting an address on the suppression list (and
suppressing what is still planned for it, on each case's timeline), and taking it off. The
list is looked up by address hash (followup.models.customers.address_hash).

Each operation flushes; the caller commits.
"""

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from followup.cases import record_event
from followup.extensions import db
from followup.models import Message, Suppression
from followup.models.cases import EventKind
from followup.models.customers import address_hash
from followup.models.messages import MessageStatus


def suppress(channel: str, address: str, reason: str, detail: str, now: datetime) -> bool:
    """Put the address on the list; False when it was already there (nothing changes then).

    Every scheduled message of that channel to the address is suppressed at once, with the
    reason on its case's timeline.
    """
    hashed = address_hash(channel, address)
    exists = db.session.scalar(
        sa.select(Suppression.id).where(
            Suppression.channel == channel, Suppression.address_hash == hashed
        )
    )
    if exists:
        return False
    db.session.add(
        Suppression(
            channel=channel,
            address=address,
            address_hash=hashed,
            reason=reason,
            detail=detail,
            created_at=now,
        )
    )
    why = f"the address is suppressed: {detail}"
    pending = db.session.execute(
        sa.update(Message)
        .where(
            Message.channel == channel,
            Message.recipient == address,
            Message.status == MessageStatus.SCHEDULED,
        )
        .values(status=MessageStatus.SUPPRESSED, error=why)
        .returning(Message.id, Message.case_id)
        .execution_options(synchronize_session=False)
    ).all()
    for message_id, case_id in pending:
        record_event(case_id, EventKind.MESSAGE_SUPPRESSED, {"reason": why}, message_id, now)
    db.session.flush()
    return True


def lift(channel: str, address: str) -> bool:
    """Take the address off the list (SMS START); False when it was not on it."""
    hashed = address_hash(channel, address)
    deleted = db.session.execute(
        sa.delete(Suppression).where(
            Suppression.channel == channel, Suppression.address_hash == hashed
        )
    )
    return bool(cast(CursorResult, deleted).rowcount)
