"""Reading a score from a text or WhatsApp reply (surveys.sms.read_score): a number on the
scale, or a fraction of the scale's top in the customers' languages; dates, decimals, times,
ranges and phone numbers are no score, and a fraction of another scale is never guessed."""

import time

import pytest

from surveys.sms import read_score
from tests.support.hostile import LONG_100K, STRINGS

CSAT, NPS = (1, 5), (0, 10)


@pytest.mark.parametrize(
    "body, scale, expected",
    [
        # lone numbers, the rest of the text the comment
        ("4", CSAT, (4, "")),
        (" 5 ", CSAT, (5, "")),
        ("5 - quick and kind", CSAT, (5, "quick and kind")),
        ("I'd say 4", CSAT, (4, "I'd say")),
        ("2, took ages", CSAT, (2, "took ages")),
        ("5-star service", CSAT, (5, "star service")),
        ("7", CSAT, None),
        ("great", CSAT, None),
        ("", CSAT, None),
        # fractions of the scale's top
        ("4/5", CSAT, (4, "")),
        ("4 / 5", CSAT, (4, "")),
        ("4 out of 5 stars", CSAT, (4, "stars")),
        ("4 Of 5", CSAT, (4, "")),
        ("4 sur 5, rapide", CSAT, (4, "rapide")),
        ("4 von 5", CSAT, (4, "")),
        ("4 de 5", CSAT, (4, "")),
        ("nota 4 de 5", CSAT, None),  # "of", "de", "von": as the reply or its start only
        ("waited 2 of 5 days, 4", CSAT, (4, "waited 2 of 5 days")),
        ("un 4 sobre 5", CSAT, (4, "un")),
        ("8/10", NPS, (8, "")),
        ("0 out of 10", NPS, (0, "")),
        ("2 days late, 4/5", CSAT, (4, "2 days late")),
        # a fraction of another scale, or off this one: asked again, never guessed
        ("8/10", CSAT, None),
        ("10/10", CSAT, None),
        ("6/5", CSAT, None),
        ("0/5", CSAT, None),
        ("4/5", NPS, None),
        ("2 of 3 parcels broken, 1", CSAT, None),
        # dates, decimals, times, ranges, phone numbers
        ("4.5", CSAT, None),
        ("3,5", CSAT, None),
        ("1/2/2024", CSAT, None),
        ("4/5/2024", CSAT, None),
        ("2024-05-12", CSAT, None),
        ("12-05-2024 it broke", CSAT, None),
        ("call me at 10:30", NPS, None),
        ("3-4", CSAT, None),
        ("call +1 415 555 0123", CSAT, None),
        ("+33 6 12 34 56 78", NPS, None),
        ("(415) 555-0123, 4", CSAT, (4, "(415) 555-0123")),
        ("4 - 1234567 was my order", CSAT, (4, "1234567 was my order")),
        ("call 0612345678 5", CSAT, (5, "call 0612345678")),
        ("06 12 34 56 78", CSAT, None),
        # other scripts' decimal digits are digits; superscripts are not
        ("٤", CSAT, (4, "")),
        ("４/５", CSAT, (4, "")),
        ("²", CSAT, None),
        (STRINGS["unicode_digits"], CSAT, None),
        # a quick-reply button's payload
        ("csat_4", CSAT, (4, "csat_")),
    ],
)
def test_read_score(body, scale, expected):
    assert read_score(body, *scale) == expected


@pytest.mark.parametrize(
    "body",
    [
        LONG_100K + " 4/5",
        "1 of " * 20_000,
        "1" + " " * 100_000 + "x",
        ("1" + " " * 1000 + "x") * 100,
        "12 34 5x" * 12_500,
        "9" * 100_000,
    ],
    ids=["long_text", "many_fractions", "long_space", "spaced_runs", "phone_like", "digits"],
)
def test_long_hostile_replies_are_read_quickly(body):
    started = time.perf_counter()
    read_score(body, *CSAT)
    assert time.perf_counter() - started < 0.5
