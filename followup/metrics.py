"""The figures' arithmetic over plain numbers (no Flask, no database): CSAT, NPS, CES, a rate
with its numerator and denominator, the Wilson interval of a proportion, the comparison of
two proportions with a plain verdict, the median, and the small-sample threshold."""

import math
import statistics
from dataclasses import dataclass

# A rate whose denominator is under this is flagged "small sample" and never ranked.
SMALL_SAMPLE = 30
Z_95 = 1.959964  # two-sided 95% confidence
Z_80_POWER = 0.841621  # 80% power


@dataclass(frozen=True)
class Rate:
    """numerator / denominator; `value` is None when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def small(self) -> bool:
        return self.denominator < SMALL_SAMPLE

    def as_dict(self) -> dict:
        return {"numerator": self.numerator, "denominator": self.denominator,
                "value": self.value, "small_sample": self.small}  # fmt: skip


def csat(positive: int, answers: int) -> Rate:
    """CSAT: the share of 4s and 5s among the 1-5 answers."""
    return Rate(positive, answers)


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    """NPS: % promoters (9-10) minus % detractors (0-6), from -100 to 100; None without
    answers."""
    if not answers:
        return None
    return 100 * (promoters - detractors) / answers


def ces(total: int, answers: int) -> float | None:
    """CES: the mean effort score (1-7); None without answers."""
    return total / answers if answers else None


def wilson(rate: Rate, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval (95% by default) of a proportion; None when n is 0."""
    n = rate.denominator
    if not n:
        return None
    p = rate.numerator / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if rate.numerator == 0 else centre - half  # exact at the ends (no rounding)
    high = 1.0 if rate.numerator == n else centre + half
    return low, high


def median(values: list[float]) -> float | None:
    """The median; None for no values."""
    return statistics.median(values) if values else None


def sample_size(p1: float, p2: float) -> int | None:
    """Cases needed in each group to tell p1 from p2 (two-sided 95%, 80% power); None when
    they are equal (no difference to detect)."""
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    top = Z_95 * math.sqrt(2 * mean * (1 - mean)) + Z_80_POWER * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(top * top / ((p1 - p2) ** 2))


# The verdicts compare() gives, each with the words its `text` says in English (a page says
# them in its reader's language from `verdict` and `values`).
VERDICTS = {
    "called": "{winner} has more {outcome} ({high} vs {low}), 95% confidence",
    "same": "no difference in {outcome} so far",
    "more_needed": "not enough data yet: about {count} more cases needed",
    "unclear": "no clear difference in {outcome} at 95% confidence",
}


@dataclass(frozen=True)
class Comparison:
    """The outcome of compare(): `winner` is a label or None, `more_needed` the cases still
    needed (0 once there are enough), `verdict` which of VERDICTS it is, `values` what fills
    its words, `text` the plain verdict in English."""

    verdict: str
    values: dict
    winner: str | None
    z: float | None
    more_needed: int

    @property
    def text(self) -> str:
        return VERDICTS[self.verdict].format(**self.values)

    def __str__(self) -> str:
        return self.text


def compare(a: Rate, b: Rate, label_a: str, label_b: str, outcome_noun: str) -> Comparison:
    """Compare two proportions, e.g. the recovery rates of cadences A and B.

    Method: the two-proportion z-test with the pooled proportion,
    z = (pB - pA) / sqrt(p(1-p)(1/nA + 1/nB)); the difference is called at 95% confidence
    when |z| >= 1.96 and both groups have at least SMALL_SAMPLE cases. Otherwise the verdict
    is "not enough data yet", with the cases still needed from the usual sample-size
    formula for two proportions at 95% confidence and 80% power for the difference seen so
    far, n = (1.96*sqrt(2*p*(1-p)) + 0.84*sqrt(pA*(1-pA) + pB*(1-pB)))^2 / (pA - pB)^2 per
    group (p their mean), less the cases each group already has (at least SMALL_SAMPLE
    each). With no difference seen, or enough cases and still no clear difference, it says
    so. E.g. "B has more recovered customers (41% vs 28%), 95% confidence".
    """
    if a.value is None or b.value is None:
        need = max(0, SMALL_SAMPLE - a.denominator) + max(0, SMALL_SAMPLE - b.denominator)
        return Comparison("more_needed", {"count": need}, None, None, need)
    pooled = (a.numerator + b.numerator) / (a.denominator + b.denominator)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.denominator + 1 / b.denominator))
    z = (b.value - a.value) / spread if spread else 0.0
    per_group = max(sample_size(a.value, b.value) or 0, SMALL_SAMPLE)
    need = max(0, per_group - a.denominator) + max(0, per_group - b.denominator)
    small = a.small or b.small
    if abs(z) >= Z_95 and not small:
        winner, high, low = (label_b, b, a) if z > 0 else (label_a, a, b)
        shares = {"high": f"{high.value:.0%}", "low": f"{low.value:.0%}"}
        return Comparison("called", {"winner": winner, "outcome": outcome_noun, **shares},
                          winner, z, 0)  # fmt: skip
    if a.value == b.value and not small:
        return Comparison("same", {"outcome": outcome_noun}, None, z, 0)
    if need:
        return Comparison("more_needed", {"count": need}, None, z, need)
    return Comparison("unclear", {"outcome": outcome_noun}, None, z, 0)
