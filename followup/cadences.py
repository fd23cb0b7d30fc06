"""Cadence planning: a pure function from (case, customer, cadence, now) to planned messages."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class ContactLike(Protocol):
    email: str | None
    phone: str | None

    def opted_out(self, channel: str) -> bool: ...


class StepLike(Protocol):
    id: int
    delay_seconds: int
    channel: str  # email, sms or preferred
    condition: str  # always or no_answer


@dataclass(frozen=True)
class PlannedMessage:
    step_id: int
    channel: str
    recipient: str | None
    due_at: datetime
    condition: str
    idempotency_key: str
    suppressed_reason: str | None = None


def resolve_channel(step_channel: str, customer: ContactLike) -> tuple[str, str | None, str | None]:
    """(channel, recipient, why it cannot be sent or None) for a step's channel choice.

    "preferred" means SMS when there is a phone and no SMS opt-out, else email.
    """
    if step_channel == "preferred":
        step_channel = "sms" if customer.phone and not customer.opted_out("sms") else "email"
    address = customer.phone if step_channel == "sms" else customer.email
    if not address:
        noun = "phone number" if step_channel == "sms" else "email address"
        return step_channel, None, f"no {noun} for this customer"
    if customer.opted_out(step_channel):
        label = "SMS" if step_channel == "sms" else "email"
        return step_channel, address, f"customer opted out of {label}"
    return step_channel, address, None


def plan_round(
    case_id: int, round_number: int, customer: ContactLike, steps: Sequence[StepLike], now: datetime
) -> list[PlannedMessage]:
    """Every message one close round of a cadence plans, suppressed ones included."""
    planned = []
    for step in steps:
        channel, recipient, suppressed = resolve_channel(step.channel, customer)
        planned.append(
            PlannedMessage(
                step_id=step.id,
                channel=channel,
                recipient=recipient,
                due_at=now + timedelta(seconds=step.delay_seconds),
                condition=step.condition,
                idempotency_key=f"case:{case_id}:round:{round_number}:step:{step.id}",
                suppressed_reason=suppressed,
            )
        )
    return planned
