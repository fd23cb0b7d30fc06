"""The alert for an incident left open: one active for more than a day without a planned end
raises one manager alert, so someone ends it (else it holds its segment's surveys until its
open-ended limit, followup.models.incidents.OPEN_ENDED_LIMIT). Apart from followup.incidents,
which followup.cases imports, as followup.outbound (which it needs) imports followup.cases."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from followup.extensions import db
from followup.incidents import in_zone, segment_text
from followup.models import Alert, Incident
from followup.models.incidents import OPEN_ENDED_LIMIT
from followup.models.recovery import AlertAudience, AlertKind
from followup.outbound import raise_alert

# An incident active this long without a planned end raises one manager alert.
OPEN_ALERT_AFTER = timedelta(days=1)


def open_alert_key(incident_id: int) -> str:
    return f"incident.open:{incident_id}"


def flag_open_ended(now: datetime) -> int:
    """Raise one manager alert (keyed per incident) for each incident active for more than
    a day without a planned end, not ended: someone should end it, or it holds its
    segment's surveys until its open-ended limit. One query (those alerted already left
    out); the sweep calls it, the caller commits. Returns how many were raised."""
    key = sa.literal("incident.open:", sa.String) + sa.cast(Incident.id, sa.String)
    found = db.session.scalars(
        sa.select(Incident).where(
            Incident.planned_end_at.is_(None),
            Incident.ended_at.is_(None),
            Incident.starts_at <= now - OPEN_ALERT_AFTER,
            Incident.starts_at > now - OPEN_ENDED_LIMIT,
            ~sa.exists().where(Alert.key == key),
        )
    ).all()
    zone = current_app.config["TIMEZONE"]
    raised = 0
    for incident in found:
        title = f"Incident '{incident.name}' active for more than a day with no planned end"
        detail = (
            f"Surveys of its cases ({segment_text(incident)}) are held until someone ends it, "
            f"at the latest {in_zone(incident.ends_at, zone)} {zone} ({OPEN_ENDED_LIMIT.days} "
            f"days after its start). End it in the console (Incidents) or through the API "
            f"when it is over. Incident {incident.id}, declared by {incident.created_by}."
        )
        raised += raise_alert(open_alert_key(incident.id), AlertAudience.MANAGER,
                              AlertKind.INCIDENT_OPEN, title, detail, None, now)  # fmt: skip
    return raised
