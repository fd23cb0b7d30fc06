"""Helpdesk connectors: reopen a case in the helpdesk with a private note for the agents.

`connector_for(config)` builds the one HELPDESK names; generic.py (a signed webhook),
zendesk.py and freshdesk.py each own one helpdesk's calls, base.py what all calls share.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from followup.connectors.freshdesk import FreshdeskConnector
from followup.connectors.generic import GenericConnector
from followup.connectors.zendesk import ZendeskConnector


@dataclass(frozen=True)
class Ticket:
    """What a connector knows of a case: its ids, subject and customer."""

    external_id: str
    ticket_id: str
    subject: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None

    @classmethod
    def of(cls, case) -> "Ticket":
        customer = case.customer
        return cls(
            case.external_id,
            case.ticket_id or case.external_id,
            case.subject,
            customer.name,
            customer.email,
            customer.phone,
        )


class Connector(Protocol):
    name: str

    def reopen(self, ticket: Ticket, note: str, key: str, now: datetime) -> dict:
        """Reopen the ticket with `note` as a private note; a small result for the timeline,
        or a CallError. `key` is the same on every retry of one reopen."""
        ...


def connector_for(config) -> Connector | None:
    """The connector HELPDESK names, built from its settings; None when HELPDESK is none."""
    helpdesk, timeout = config["HELPDESK"], config["SEND_TIMEOUT"]
    if helpdesk == "generic":
        return GenericConnector(
            config["HELPDESK_WEBHOOK_URL"], config["HELPDESK_WEBHOOK_SECRET"], timeout
        )
    if helpdesk == "zendesk":
        return ZendeskConnector(
            config["ZENDESK_BASE_URL"],
            config["ZENDESK_EMAIL"],
            config["ZENDESK_API_TOKEN"],
            timeout,
        )
    if helpdesk == "freshdesk":
        return FreshdeskConnector(
            config["FRESHDESK_BASE_URL"], config["FRESHDESK_API_KEY"], timeout
        )
    return None
