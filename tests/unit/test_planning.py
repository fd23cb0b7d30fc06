"""Cadence planning as a pure function: no Flask, no database."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from followup.cadences import (
    SendingHours,
    add_business_time,
    cadence_hours,
    plan_round,
    resolve_channel,
)
from followup.channels.base import retry_delay

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
HOURS = SendingHours.parse("08:00-21:00", "UTC")


@dataclass
class Contact:
    email: str | None = "ana@example.com"
    phone: str | None = "+14155550123"
    preferred_channel: str | None = None
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
    survey_id: int | None = None
    business_days: bool = False


STANDARD = [
    Step(1, 0, "email"),
    Step(2, 24 * 3600, "preferred", survey_id=1),
    Step(3, 72 * 3600, "email", "no_answer", survey_id=1),
]


def test_standard_cadence_for_a_customer_with_phone_and_email():
    planned = plan_round(7, 1, Contact(), STANDARD, NOW, HOURS)
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
    first = {p.idempotency_key for p in plan_round(7, 1, Contact(), STANDARD, NOW, HOURS)}
    second = {p.idempotency_key for p in plan_round(7, 2, Contact(), STANDARD, NOW, HOURS)}
    assert first.isdisjoint(second)


def test_retry_delay_grows_exponentially_and_is_capped():
    delays = [retry_delay(n, 30).total_seconds() for n in (1, 2, 3, 4)]
    for attempt, delay in enumerate(delays, start=1):
        expected = 30 * 2 ** (attempt - 1)
        assert 0.8 * expected <= delay <= 1.2 * expected
    assert retry_delay(30, 30).total_seconds() <= 3600 * 1.2


# Quiet hours


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    "zone, due, expected",
    [
        # 15:00 UTC is 04:00 next morning in Auckland (UTC+13 in November): wait until 08:00
        ("Pacific/Auckland", "2026-11-22T15:00+00:00", "2026-11-23T08:00+13:00"),
        # 15:00 UTC is 07:00 in Los Angeles: one hour to wait
        ("America/Los_Angeles", "2026-11-22T15:00+00:00", "2026-11-22T08:00-08:00"),
        # 21:00 sharp is already quiet; 20:59 is not
        ("Europe/Paris", "2026-11-22T21:00+01:00", "2026-11-23T08:00+01:00"),
        ("Europe/Paris", "2026-11-22T20:59+01:00", "2026-11-22T20:59+01:00"),
        # the night the clocks go forward in New York
        ("America/New_York", "2026-03-08T02:30-05:00", "2026-03-08T08:00-04:00"),
        # Kathmandu's quarter-hour offset
        ("Asia/Kathmandu", "2026-11-22T23:59+05:45", "2026-11-23T08:00+05:45"),
    ],
)
def test_texts_wait_for_the_customers_morning(zone, due, expected):
    hours = HOURS.in_zone(zone)
    assert hours.next_allowed(at(due)) == at(expected)
    assert hours.allows(hours.next_allowed(at(due)))


def test_a_sending_window_may_cross_midnight():
    night_shift = SendingHours.parse("20:00-02:00", "UTC")
    assert night_shift.allows(at("2026-11-22T01:59+00:00"))
    assert night_shift.next_allowed(at("2026-11-22T02:00+00:00")) == at("2026-11-22T20:00+00:00")


def test_only_texts_are_deferred_and_an_unknown_zone_keeps_the_default():
    hours = HOURS.in_zone("Pacific/Auckland")
    planned = plan_round(7, 1, Contact(), STANDARD, NOW - timedelta(hours=1), hours)
    thank_you, check_in, _ = planned
    assert thank_you.due_at == NOW - timedelta(hours=1)  # email goes at once
    assert hours.allows(check_in.due_at) and check_in.channel == "sms"
    assert HOURS.in_zone("Mars/Olympus") is HOURS


def test_the_same_start_and_end_means_any_hour():
    assert SendingHours.parse("00:00-00:00", "UTC").next_allowed(
        NOW.replace(hour=3)
    ) == NOW.replace(hour=3)


@pytest.mark.parametrize("hours, zone", [("8-21", "UTC"), ("08:00", "UTC"),
                                         ("08:00-21:00", "Nowhere/Town")])  # fmt: skip
def test_bad_sending_hours_are_refused(hours, zone):
    with pytest.raises(ValueError):
        SendingHours.parse(hours, zone)


def test_a_customer_who_gets_no_surveys_still_gets_the_thank_you():
    planned = plan_round(7, 1, Contact(), STANDARD, NOW, HOURS, no_surveys="excluded: tag vip")
    assert [p.suppressed_reason for p in planned] == [
        None,
        "excluded: tag vip",
        "excluded: tag vip",
    ]


# Business days and per-cadence hours


@pytest.mark.parametrize(
    "start, seconds, expected",
    [
        # Friday 15:00 + 1 business day: Monday 15:00
        ("2026-11-20T15:00+00:00", 86400, "2026-11-23T15:00+00:00"),
        # Thursday + 3 business days: Tuesday
        ("2026-11-19T10:00+00:00", 3 * 86400, "2026-11-24T10:00+00:00"),
        # Friday 20:00 + 6 hours lands on Saturday: Monday 02:00
        ("2026-11-20T20:00+00:00", 6 * 3600, "2026-11-23T02:00+00:00"),
        # closed on a Sunday + 1 business day: Monday, same time
        ("2026-11-22T12:00+00:00", 86400, "2026-11-23T12:00+00:00"),
        # Wednesday + 2 hours stays Wednesday
        ("2026-11-18T09:00+00:00", 7200, "2026-11-18T11:00+00:00"),
    ],
)
def test_business_day_delays_skip_weekends(start, seconds, expected):
    assert add_business_time(at(start), seconds, HOURS.zone) == at(expected)


def test_the_weekend_is_the_customers_own():
    # Friday 23:00 UTC is Saturday noon in Auckland: one business day later is Monday noon
    # there (Sunday 23:00 UTC), not Monday in UTC.
    auckland = HOURS.in_zone("Pacific/Auckland").zone
    due = add_business_time(at("2026-11-20T23:00+00:00"), 86400, auckland)
    assert due == at("2026-11-23T12:00+13:00")


def test_a_step_in_business_days_is_planned_so():
    steps = [Step(1, 86400, "email", business_days=True)]
    friday = at("2026-11-20T15:00+00:00")
    [planned] = plan_round(7, 1, Contact(), steps, friday, HOURS)
    assert planned.due_at == at("2026-11-23T15:00+00:00")


@dataclass
class CadenceStub:
    sms_hours: str | None


def test_a_cadence_may_have_its_own_sending_hours():
    assert cadence_hours(CadenceStub(None), HOURS) is HOURS
    own = cadence_hours(CadenceStub("09:00-17:00"), HOURS)
    assert own.allows(at("2026-11-20T16:59+00:00")) and not own.allows(at("2026-11-20T17:00+00:00"))
