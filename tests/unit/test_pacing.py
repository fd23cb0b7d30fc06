"""A provider's Retry-After read safely: seconds or an HTTP date, within an hour; anything
else (missing, garbage, NaN, negative) a short default pause, never an error or a stall."""

import time
from email.utils import formatdate

import pytest

from followup.channels.pacing import (
    DEFAULT_PAUSE_SECONDS,
    MAX_PAUSE_SECONDS,
    ProviderPause,
    retry_after_seconds,
)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-5", 0.0),
        ("999999999", MAX_PAUSE_SECONDS),
        ("inf", MAX_PAUSE_SECONDS),
        ("nan", DEFAULT_PAUSE_SECONDS),
        ("", DEFAULT_PAUSE_SECONDS),
        (None, DEFAULT_PAUSE_SECONDS),
        ("soon", DEFAULT_PAUSE_SECONDS),
        ("Wed, 99 Foo 2026 25:61:00 GMT", DEFAULT_PAUSE_SECONDS),
    ],
)
def test_a_retry_after_is_read_within_bounds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_a_retry_after_date_counts_from_now():
    now = time.time()
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), now) == 0.0


def test_a_pause_holds_until_its_retry_after_and_a_shorter_one_never_shortens_it():
    pause = ProviderPause()
    assert pause.left() == 0.0
    assert pause.hold("20") == 20.0
    pause.hold("1")
    assert 19 < pause.left() <= 20
