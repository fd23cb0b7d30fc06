"""The audit log's one writer: every configuration change records who, what, before, after.

Call it in the transaction of the change, before the commit, so both land or neither does.
"""

from flask_login import current_user

from followup.extensions import db
from followup.models import AuditEntry
from followup.models.base import utcnow


def snapshot(obj, fields: tuple[str, ...]) -> dict:
    """The named attributes of a row as plain JSON values (datetimes as ISO strings)."""
    values = {}
    for name in fields:
        value = getattr(obj, name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


def record(
    action: str,
    entity: str,
    entity_id,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """One audit entry by the signed-in user (or `actor`, such as "cli"); only the fields
    that changed are kept of an update's before and after."""
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user else None,
        actor=actor or (user.email if user else "system"),
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        summary=summary[:500],
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry
