"""Cadence experiments (A/B): which variant a closed case's customer gets (at random, sticky
per customer) and the experiment figures the dashboard shows (response and recovery rates
per variant with their 95% intervals and a plain verdict)."""

import hashlib

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence


def variant_for(customer_id: int, experiment: str, share: int) -> str:
    """ "B" for `share` percent of customers, else "A": a stable hash of the customer and the
    experiment (the A cadence's lineage), so a customer keeps their variant across cases
    while each experiment splits customers afresh."""
    digest = hashlib.sha256(f"{customer_id}:{experiment}".encode()).digest()
    return "B" if int.from_bytes(digest[:8], "big") % 100 < share else "A"


def current_version(lineage: str) -> Cadence | None:
    """A close cadence's current version (archived or not)."""
    return db.session.scalar(
        sa.select(Cadence).where(
            Cadence.lineage == lineage,
            Cadence.purpose == "close",
            Cadence.superseded_at.is_(None),
        )
    )


def b_cadence(cadence: Cadence) -> Cadence | None:
    """The current version of the cadence `cadence` tries against, while it takes cases."""
    other = current_version(cadence.experiment_lineage) if cadence.experiment_lineage else None
    return other if other is not None and other.archived_at is None else None


def experiment_problem(lineage: str | None, b_lineage: str) -> str | None:
    """Why the cadence of `lineage` (None: a new one) cannot try the cadence of `b_lineage`
    as its B, if it cannot."""
    other = current_version(b_lineage)
    if other is None:
        return "choose a cadence from the list"
    if other.lineage == lineage:
        return "a cadence cannot be its own B: choose another cadence"
    if other.experiment_lineage:
        return f"{other.name} runs an experiment of its own: choose another cadence"
    return None


def assign(cadence: Cadence, customer_id: int) -> tuple[Cadence, str | None, str | None]:
    """The cadence that runs a round `cadence` took, the round's experiment (the A cadence's
    lineage) and its variant; (cadence, None, None) when `cadence` runs no experiment."""
    other = b_cadence(cadence)
    if other is None:
        return cadence, None, None
    variant = variant_for(customer_id, cadence.lineage, cadence.experiment_share)
    return (other if variant == "B" else cadence), cadence.lineage, variant
