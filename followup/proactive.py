"""Proactive outreach: a case whose risk a cadence's rule asks for gets a task for a person to
reach out before its survey; its outcome is recorded and counted."""

from datetime import datetime

from followup.models import Cadence, Case


def route(case: Case, cadence: Cadence, now: datetime) -> None:
    """Open the proactive task the closing case's cadence asks for, if any."""
