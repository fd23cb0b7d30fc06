"""Which case a cadence takes (its rules) and what keeps a cadence's steps from working:
plain functions over plain values."""

from types import SimpleNamespace

import pytest

from followup.cadences import StepDraft, case_facts, rules_match, step_problems

EMAIL_AND_SMS = frozenset({"email_subject", "email_text", "sms_text"})


def case(**fields):
    defaults = {"priority": "normal", "tags": [], "team": None, "source_channel": None,
                "customer": SimpleNamespace(tags=[])}  # fmt: skip
    return SimpleNamespace(**{**defaults, **fields})


@pytest.mark.parametrize(
    "rules, facts_of, matches",
    [
        ({}, case(), False),  # no rules: only by name or as the default
        ({"tags": []}, case(tags=["x"]), False),
        ({"tags": ["Billing"]}, case(tags=["billing", "vip"]), True),
        ({"tags": ["billing"]}, case(tags=["shipping"]), False),
        ({"priorities": ["urgent", "high"]}, case(priority="high"), True),
        ({"teams": ["Shipping"]}, case(team="shipping "), True),
        ({"teams": ["Shipping"]}, case(team=None), False),
        ({"sources": ["chat"]}, case(source_channel="chat"), True),
        ({"segments": ["gold"]}, case(customer=SimpleNamespace(tags=["Gold"])), True),
        # Every rule set must hold.
        ({"tags": ["billing"], "priorities": ["urgent"]}, case(tags=["billing"]), False),
        ({"tags": ["billing"], "priorities": ["urgent"]},
         case(tags=["billing"], priority="urgent"), True),
    ],
)  # fmt: skip
def test_rules_match(rules, facts_of, matches):
    assert rules_match(rules, case_facts(facts_of)) is matches


def draft(name, delay, channel="email", survey=None, condition="always", parts=EMAIL_AND_SMS,
          template="T"):  # fmt: skip
    return StepDraft(name, delay, channel, template, parts, survey,
                     f"survey {survey}" if survey else None, condition)  # fmt: skip


def messages(steps):
    return [message for _, message in step_problems(steps)]


def test_a_working_cadence_has_no_problems():
    steps = [draft("thanks", 0), draft("check-in", 60, "preferred", 1),
             draft("reminder", 120, "email", 1, "no_answer"), draft("sorry", 180, "email",
             None, "negative")]  # fmt: skip
    assert step_problems(steps) == []


def test_problems_name_the_step():
    assert messages([]) == ["add at least one step"]
    assert messages(
        [draft("text", 0, "sms", parts=frozenset({"email_subject", "email_text"}))]
    ) == ["step 1 ('text'): can go by SMS but template 'T' has no SMS body"]
    assert messages([draft("mail", 0, "email", parts=frozenset({"sms_text"}))]) == [
        "step 1 ('mail'): can go by email but template 'T' has no email subject and body"
    ]
    assert messages([draft("both", 0, "preferred", parts=frozenset({"sms_text"}))]) == [
        "step 1 ('both'): can go by email but template 'T' has no email subject and body"
    ]
    assert messages([draft("x", 0, template=None)]) == ["step 1 ('x'): choose a template"]
    assert messages([draft("late", 400 * 86400)]) == [
        "step 1 ('late'): the delay must be between 0 and 366 days"
    ]


def test_a_reminder_needs_its_check_in_before_it():
    early = [draft("reminder", 60, survey=1, condition="no_answer"), draft("check-in", 120,
             survey=1)]  # fmt: skip
    assert messages(early) == [
        "step 1 ('reminder'): reminds about 'survey 1' but no earlier step asks it: put the "
        "check-in before the reminder"
    ]
    same_time = [draft("check-in", 60, survey=1), draft("reminder", 60, survey=1,
                 condition="no_answer")]  # fmt: skip
    assert len(messages(same_time)) == 1
    other_survey = [draft("check-in", 0, survey=1), draft("reminder", 60, survey=2,
                    condition="no_answer")]  # fmt: skip
    assert len(messages(other_survey)) == 1
    assert messages([draft("nudge", 60, condition="no_answer")]) == [
        "step 1 ('nudge'): a reminder (only if no answer yet) needs the survey it reminds about"
    ]


def test_an_answer_dependent_step_needs_a_survey_before_it():
    assert messages([draft("glad", 60, condition="positive")]) == [
        "step 1 ('glad'): depends on a positive answer but no earlier step carries a survey"
    ]
