"""Cadences as the console edits them: the form of a cadence with its steps, and the current
version of a cadence by name."""

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence, MessageTemplate, Survey
from tests.support.console import csrf_token


def ids(model, key_column, keys):
    """{key: id as the form posts it} of the rows with these keys."""
    rows = db.session.execute(sa.select(key_column, model.id).where(key_column.in_(keys)))
    return {key: str(id_) for key, id_ in rows}


def step(name, delay, unit, channel, template, survey="", condition="always"):
    """One step row of the cadence form."""
    return {"step_name": name, "delay": delay, "unit": unit, "channel": channel,
            "template": template, "survey": survey, "condition": condition}  # fmt: skip


def cadence_form(client, path, name="Billing follow-up", steps=(), **fields):
    """The cadence form's fields (the standard three steps unless others are given)."""
    templates = ids(MessageTemplate, MessageTemplate.key, ["thank_you", "csat_checkin",
                                                           "csat_reminder"])  # fmt: skip
    surveys = ids(Survey, Survey.key, ["csat"])
    steps = steps or [
        step("thank-you", 0, "minutes", "email", templates["thank_you"]),
        step("check-in", 2, "hours", "preferred", templates["csat_checkin"], surveys["csat"]),
        step("reminder", 2, "days", "email", templates["csat_reminder"], surveys["csat"],
             "no_answer"),
    ]  # fmt: skip
    data = {"csrf_token": csrf_token(client, path), "name": name, "position": "1",
            "tags": "billing, refund", "save": "Save", **fields}  # fmt: skip
    for index, row in enumerate(steps):
        for key, value in row.items():
            data[f"steps-{index}-{key}"] = value
    return data


def current(name) -> Cadence:
    """The current version of the cadence of this name."""
    return db.session.scalar(
        sa.select(Cadence).where(Cadence.name == name, Cadence.superseded_at.is_(None))
    )
