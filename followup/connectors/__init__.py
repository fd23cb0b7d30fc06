"""Helpdesk connectors: reopen a case in the helpdesk with a private note for the agents,
and write answers and recovery outcomes on its ticket (the write-back).

`connector_for(config)` builds the one HELPDESK names; generic.py (a signed webhook),
zendesk.py and freshdesk.py each own one helpdesk's calls, base.py what all calls share.
"""

from datetime import datetime
from typing import Protocol

from followup.connectors.base import Ticket
from followup.connectors.freshdesk import FreshdeskConnector
from followup.connectors.generic import GenericConnector
from followup.connectors.notes import Note
from followup.connectors.zendesk import ZendeskConnector
from followup.targets import checked_session


class Connector(Protocol):
    name: str

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        """Reopen the ticket with `note` as a private note; a small result for the timeline,
        or a CallError. `key` is the same on every retry of one reopen, and the note is
        added once whatever the retries."""
        ...

    def write_back(self, ticket: Ticket, note: Note, key: str, now: datetime) -> dict:
        """Write the note (and its tags and score) on the ticket, once whatever the retries of
        one `key`; a small result for the timeline, or a CallError."""
        ...


def connector_for(config) -> Connector | None:
    """The connector HELPDESK names, built from its settings, its calls to public addresses
    only unless ALLOW_PRIVATE_TARGETS; None when HELPDESK is none."""
    helpdesk, timeout = config["HELPDESK"], config["SEND_TIMEOUT"]
    if helpdesk == "none":
        return None
    session = checked_session(config["ALLOW_PRIVATE_TARGETS"])
    if helpdesk == "generic":
        return GenericConnector(
            config["HELPDESK_WEBHOOK_URL"], config["HELPDESK_WEBHOOK_SECRET"], timeout, session
        )
    if helpdesk == "zendesk":
        return ZendeskConnector(
            config["ZENDESK_BASE_URL"],
            config["ZENDESK_EMAIL"],
            config["ZENDESK_API_TOKEN"],
            timeout,
            session,
            config.get("ZENDESK_SCORE_FIELD_ID"),
        )
    return FreshdeskConnector(
        config["FRESHDESK_BASE_URL"],
        config["FRESHDESK_API_KEY"],
        timeout,
        session,
        config.get("FRESHDESK_SCORE_FIELD"),
    )
