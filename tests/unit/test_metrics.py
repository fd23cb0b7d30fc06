"""The figures' arithmetic: exact values and the edges (no answers, all one way, small
samples), the Wilson interval and the two-proportion verdicts."""

import pytest

from followup.metrics import (
    SMALL_SAMPLE,
    Rate,
    ces,
    compare,
    csat,
    median,
    nps,
    sample_size,
    wilson,
)


def test_csat_is_the_share_of_fours_and_fives():
    assert csat(41, 50).value == pytest.approx(0.82)
    assert csat(0, 0).value is None


def test_rate_keeps_its_parts_and_flags_small_samples():
    rate = Rate(3, 4)
    assert (rate.numerator, rate.denominator, rate.value) == (3, 4, 0.75)
    assert rate.small and not Rate(1, SMALL_SAMPLE).small
    assert Rate(0, 0).as_dict() == {"numerator": 0, "denominator": 0, "value": None,
                                    "small_sample": True}  # fmt: skip


def test_nps_is_promoters_minus_detractors_in_points():
    assert nps(50, 20, 100) == 30
    assert nps(10, 0, 10) == 100  # all promoters
    assert nps(0, 10, 10) == -100
    assert nps(0, 0, 0) is None


def test_ces_is_the_mean_score():
    assert ces(14, 4) == 3.5
    assert ces(0, 0) is None


def test_median():
    assert median([5, 1, 3]) == 3
    assert median([1, 2, 3, 10]) == 2.5
    assert median([]) is None


def test_wilson_interval():
    low, high = wilson(Rate(50, 100))
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = wilson(Rate(0, 10))
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(Rate(10, 10))
    assert high == 1 and low == pytest.approx(0.7225, abs=1e-4)
    assert wilson(Rate(0, 0)) is None


def test_sample_size_for_two_proportions():
    # 30% vs 40% at 95% / 80% power: the textbook 356 per group.
    assert sample_size(0.3, 0.4) == 356
    assert sample_size(0.5, 0.5) is None


def test_compare_calls_a_clear_difference_either_way():
    a, b = Rate(120, 400), Rate(180, 400)  # 30% vs 45%
    verdict = compare(a, b, "A", "B", "recovered customers")
    assert verdict.winner == "B" and verdict.more_needed == 0
    assert str(verdict) == "B has more recovered customers (45% vs 30%), 95% confidence"
    assert compare(b, a, "A", "B", "recovered customers").winner == "A"


def test_compare_says_how_many_more_cases_are_needed():
    verdict = compare(Rate(30, 100), Rate(40, 100), "A", "B", "recovered customers")
    assert verdict.winner is None
    assert verdict.more_needed == 2 * (356 - 100)
    assert verdict.text == "not enough data yet: about 512 more cases needed"


def test_compare_without_data_or_with_small_samples():
    assert compare(Rate(0, 0), Rate(0, 0), "A", "B", "x").text == (
        "not enough data yet: about 60 more cases needed"
    )
    # A big difference over tiny groups is not called.
    small = compare(Rate(0, 10), Rate(10, 10), "A", "B", "x")
    assert small.winner is None and small.more_needed == 40


def test_compare_with_no_difference():
    assert compare(Rate(50, 100), Rate(50, 100), "A", "B", "recoveries").text == (
        "no difference in recoveries so far"
    )
    # Enough cases for the difference seen, and still not significant.
    verdict = compare(Rate(300, 1000), Rate(330, 1000), "A", "B", "recoveries")
    assert verdict.winner is None
