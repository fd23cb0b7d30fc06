"""The variant a customer gets in an experiment: sticky, split close to the share, and
independent between experiments; a variant's rate as the page writes it."""

import pytest

from followup.experiments import Measure, variant_for
from followup.metrics import Rate, wilson


def test_the_same_customer_always_gets_the_same_variant():
    first = [variant_for(customer, "lineage-a", 50) for customer in range(200)]
    assert first == [variant_for(customer, "lineage-a", 50) for customer in range(200)]
    assert set(first) == {"A", "B"}


@pytest.mark.parametrize("share", [1, 10, 30, 50, 90, 99])
def test_the_split_is_close_to_the_share_over_10000_customers(share):
    b = sum(variant_for(customer, "lineage-a", share) == "B" for customer in range(10_000))
    # Binomial(10000, share%): four standard deviations are at most 200 customers.
    assert abs(b - share * 100) < 200


def test_a_larger_share_keeps_every_customer_already_in_b():
    for customer in range(1000):
        if variant_for(customer, "lineage-a", 30) == "B":
            assert variant_for(customer, "lineage-a", 60) == "B"


def test_shares_0_and_100_send_everyone_to_one_variant():
    assert {variant_for(customer, "x", 0) for customer in range(1000)} == {"A"}
    assert {variant_for(customer, "x", 100) for customer in range(1000)} == {"B"}


def test_each_experiment_splits_customers_afresh():
    one = [variant_for(customer, "lineage-a", 50) for customer in range(1000)]
    two = [variant_for(customer, "lineage-b", 50) for customer in range(1000)]
    same = sum(x == y for x, y in zip(one, two, strict=True))
    assert 400 < same < 600


@pytest.mark.parametrize(
    ("numerator", "denominator", "text"),
    [(30, 100, "30% (22-40%) of 100"), (0, 3, "0% (0-56%) of 3"), (3, 3, "100% (44-100%) of 3"),
     (410, 1000, "41% (38-44%) of 1,000"), (0, 0, "no data yet (0)")],
)  # fmt: skip
def test_a_rate_reads_with_its_interval_and_denominator(numerator, denominator, text):
    rate = Rate(numerator, denominator)
    assert Measure(rate, wilson(rate)).text == text
