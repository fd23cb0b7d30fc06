"""The dissatisfaction risk of a closing case: the signals it is read from (what the helpdesk
reports, CASE_SIGNALS, and what the product knows of the customer), the rules that score it
until this deployment has enough answers, and the model trained nightly on its own closed
cases (versioned, measured on cases it did not train on)."""

from datetime import datetime

from followup.models import Case

# What the intake API and the helpdesk webhooks may report with a case (Case columns).
CASE_SIGNALS = ("reopen_count", "resolution_minutes", "customer_replies", "first_response_minutes")


def assess(case: Case, now: datetime) -> None:
    """Set the closing round's risk_score, risk_source and risk_features on the case (not
    flushed: close_case writes them with the close)."""


def train(now: datetime) -> int | None:
    """Train the next model version on the closed cases answered so far and keep it when it
    ranks held-out cases better than the rules; its version, or None when there are too few
    answers to train on."""
    return None
