"""Helpdesk connectors (stub until the connectors branch lands)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
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


def connector_for(config):
    return None
