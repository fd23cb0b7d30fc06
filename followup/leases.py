"""Leases on outbox rows (messages, outbound calls): claiming a batch of due rows under one
claim token until `locked_until`, so a dead worker's claim expires and is taken again."""

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from followup.extensions import db


def claim(model, due, now: datetime, batch_size: int, lease_seconds: int) -> str | None:
    """Lease up to batch_size rows of `model` matching `due` (oldest `due_at` first, none
    another claim still holds, skipping rows locked by a concurrent claim); the claim token,
    or None when there were none."""
    token = secrets.token_hex(16)
    rows = (
        sa.select(model.id)
        .where(due, sa.or_(model.locked_until.is_(None), model.locked_until < now))
        .order_by(model.due_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    claimed = db.session.execute(
        sa.update(model)
        .where(model.id.in_(rows.scalar_subquery()))
        .values(claim_token=token, locked_until=now + timedelta(seconds=lease_seconds))
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).all()
    return token if claimed else None
