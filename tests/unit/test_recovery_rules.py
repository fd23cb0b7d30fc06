"""Pure parts of the recovery loop: what counts as negative per survey kind, which rule
matches, working hours, the answered channel, code uploads."""

from datetime import UTC, datetime

import pytest

from followup.cadences import SendingHours, resolve_channel
from followup.goodwill import Facts, parse_codes, rule_matches
from followup.models import RecoveryRule, Survey
from surveys.scoring import verdict

KINDS = {  # scale, negative band, positive band
    "csat": (1, 5, 1, 2, 4, 5),
    "nps": (0, 10, 0, 6, 9, 10),
    "ces": (1, 7, 5, 7, 1, 3),
}


def survey(kind: str, **overrides) -> Survey:
    low, high, neg_min, neg_max, pos_min, pos_max = KINDS[kind]
    fields = dict(kind=kind, scale_min=low, scale_max=high, negative_min=neg_min,
                  negative_max=neg_max, positive_min=pos_min, positive_max=pos_max,
                  negative_keywords=[])  # fmt: skip
    return Survey(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("kind", "negative", "neutral", "positive"),
    [
        ("csat", [1, 2], [3], [4, 5]),
        ("nps", [0, 3, 6], [7, 8], [9, 10]),
        ("ces", [5, 6, 7], [4], [1, 2, 3]),  # a high effort score is the bad one
    ],
)
def test_verdict_by_survey_kind(kind, negative, neutral, positive):
    found = {score: verdict(survey(kind), score) for score in negative + neutral + positive}
    assert found == {
        **dict.fromkeys(negative, "negative"),
        **dict.fromkeys(neutral, "neutral"),
        **dict.fromkeys(positive, "positive"),
    }


def test_a_lead_may_count_csat_3_as_negative():
    assert verdict(survey("csat", negative_max=3), 3) == "negative"


def test_keywords_match_whole_words_in_any_case():
    strict = survey("csat", negative_keywords=["cancel", "lawyer", " "])
    assert verdict(strict, 5, "I will CANCEL.") == "negative"
    assert verdict(strict, 5, "my lawyer (again)") == "negative"
    assert verdict(strict, 5, "cancellation was easy") == "positive"
    assert verdict(strict, 5, "") == "positive"
    assert verdict(survey("csat", negative_keywords=["a+b (c)"]), 4, "x a+b (c) y") == "negative"


def facts(reasons=(), priority="normal", tags=(), asked="") -> Facts:
    return Facts(frozenset(reasons), priority, frozenset(tags), asked)


def rule(**conditions) -> RecoveryRule:
    fields = dict(reasons=[], priorities=[], customer_tags=[], asked=[])
    return RecoveryRule(**{**fields, **conditions})


def test_a_rule_needs_every_condition_it_sets_and_any_value_within_one():
    both = rule(reasons=["slow", "not_solved"], priorities=["high", "urgent"])
    assert rule_matches(both, facts(["slow"], "urgent"))
    assert not rule_matches(both, facts(["slow"], "normal"))
    assert not rule_matches(both, facts(["policy"], "urgent"))
    assert rule_matches(rule(), facts())
    assert rule_matches(rule(customer_tags=["Gold"]), facts(tags=["gold"]))
    assert rule_matches(rule(asked=["Refund"]), facts(asked="a refund please"))
    assert not rule_matches(rule(asked=["refund"]), facts(asked="a new one"))
    assert not rule_matches(rule(asked=["call"]), facts(asked="nobody called me"))


def test_working_hours_skip_nights_and_weekends():
    hours = SendingHours.parse("09:00-17:00", "Europe/Paris", weekdays_only=True)
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 18:30 in Paris
    assert hours.next_allowed(friday_evening) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    tuesday_noon = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert hours.next_allowed(tuesday_noon) == tuesday_noon
    saturday_morning = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert not hours.allows(saturday_morning)
    assert hours.in_zone("Asia/Tokyo").weekdays_only


class Contact:
    def __init__(self, email=None, phone=None, opted_out=()):
        self.email, self.phone, self._out = email, phone, set(opted_out)

    def opted_out(self, channel: str) -> bool:
        return channel in self._out


def test_answered_steps_go_on_the_channel_answered_on_else_the_one_that_reaches():
    both = Contact("a@example.com", "+14155550123")
    assert resolve_channel("answered", both, "sms")[:2] == ("sms", "+14155550123")
    assert resolve_channel("answered", both, "email")[:2] == ("email", "a@example.com")
    stopped = Contact("a@example.com", "+14155550123", opted_out={"sms"})
    assert resolve_channel("answered", stopped, "sms")[:2] == ("email", "a@example.com")
    nowhere = Contact(None, "+14155550123", opted_out={"sms"})
    assert resolve_channel("answered", nowhere, "sms")[2] == "customer opted out of SMS"


def test_parse_codes():
    assert parse_codes("code\nA-1\n\n A-2 ,x\nA-1\n") == ["A-1", "A-2"]
    assert parse_codes("A-1") == ["A-1"]
    with pytest.raises(ValueError, match="row 2"):
        parse_codes("ok\n" + "Z" * 101)
    with pytest.raises(ValueError, match="control character"):
        parse_codes("A\x00B")
