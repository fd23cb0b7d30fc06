"""Cadence planning as a pure function: no Flask, no database."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from followup.cadences import plan_round, resolve_channel
from followup.outbox import retry_delay

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@dataclass
class Contact:
    email: str | None = "ana@example.com"
    phone: str | None = "+14155550123"
    sms_out: bool = False
    email_out: bool = False

    def opted_out(self, channel: str) -> bool:
        return self.sms_out if channel == "sms" else self.email_out


@dataclass
class Step:
    id: int
    delay_seconds: int
    channel: str
    condition: str = "always"


STANDARD = [
    Step(1, 0, "email"),
    Step(2, 24 * 3600, "preferred"),
    Step(3, 72 * 3600, "email", "no_answer"),
]


def test_standard_cadence_for_a_customer_with_phone_and_email():
    planned = plan_round(7, 1, Contact(), STANDARD, NOW)
    assert [(p.channel, p.recipient, p.due_at - NOW, p.condition) for p in planned] == [
        ("email", "ana@example.com", timedelta(0), "always"),
        ("sms", "+14155550123", timedelta(hours=24), "always"),
        ("email", "ana@example.com", timedelta(hours=72), "no_answer"),
    ]
    assert all(p.suppressed_reason is None for p in planned)
    assert [p.idempotency_key for p in planned] == [
        "case:7:round:1:step:1",
        "case:7:round:1:step:2",
        "case:7:round:1:step:3",
    ]


def test_preferred_falls_back_to_email_without_phone_or_after_sms_opt_out():
    assert resolve_channel("preferred", Contact(phone=None)) == ("email", "ana@example.com", None)
    assert resolve_channel("preferred", Contact(sms_out=True)) == ("email", "ana@example.com", None)


def test_missing_contact_and_opt_out_are_planned_as_suppressed_with_a_reason():
    assert resolve_channel("email", Contact(email=None)) == (
        "email", None, "no email address for this customer"
    )  # fmt: skip
    assert resolve_channel("sms", Contact(phone=None))[2] == "no phone number for this customer"
    assert resolve_channel("sms", Contact(sms_out=True))[2] == "customer opted out of SMS"
    assert resolve_channel("preferred", Contact(email_out=True, phone=None))[2] == (
        "customer opted out of email"
    )


def test_a_new_round_gets_new_idempotency_keys():
    first = {p.idempotency_key for p in plan_round(7, 1, Contact(), STANDARD, NOW)}
    second = {p.idempotency_key for p in plan_round(7, 2, Contact(), STANDARD, NOW)}
    assert first.isdisjoint(second)


def test_retry_delay_grows_exponentially_and_is_capped():
    delays = [retry_delay(n, 30).total_seconds() for n in (1, 2, 3, 4)]
    for attempt, delay in enumerate(delays, start=1):
        expected = 30 * 2 ** (attempt - 1)
        assert 0.8 * expected <= delay <= 1.2 * expected
    assert retry_delay(30, 30).total_seconds() <= 3600 * 1.2
