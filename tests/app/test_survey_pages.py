"""The public survey pages (/s/<token>) through the test client, and record_response."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.answers import record_answer
from followup.extensions import db
from followup.models import CaseEvent, Message
from followup.models.base import utcnow
from surveys.scoring import is_negative
from tests.support.answers import checked_scores, responses, submit
from tests.support.console import csrf_token_in


def event_kinds(case_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )


def message_status(message_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Message, message_id).status


# GET


def test_page_asks_about_the_case_with_its_subject_escaped(client, survey_case):
    page = client.get(f"/s/{survey_case['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "How satisfied are you with how we handled" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<script>alert(1)</script>" not in html
    assert html.count("<h1") == 1
    assert '<html lang="en" dir="ltr">' in html
    assert "Very dissatisfied" in html and "Very satisfied" in html
    assert checked_scores(html) == []
    assert page.headers["Cache-Control"] == "no-store"


def test_page_is_accessible_without_javascript(client, survey_case):
    html = client.get(f"/s/{survey_case['token']}").get_data(as_text=True)
    assert re.search(r"<fieldset[^>]*>\s*<legend>\s*<h1>", html)
    for input_id in re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', html):
        if input_id != "csrf_token":
            assert f'for="{input_id}"' in html, f"input {input_id} has no label"
    # The negative-only questions are in the page, visible until the script hides them.
    negative = re.search(r'<div class="negative" id="negative"[^>]*>', html).group(0)
    assert "hidden" not in negative
    assert "What went wrong?" in html and "What would make this right?" in html
    assert "/static/survey.js" in html and "/static/style.css" in html


def test_one_click_score_is_preselected_and_reasons_shown(client, survey_case):
    page = client.get(f"/s/{survey_case['token']}?score=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert checked_scores(html) == ["2"]
    for reason in survey_case["survey"].reasons:
        assert f'value="{reason["code"]}"' in html
    assert "It took too long" in html


@pytest.mark.parametrize("score", ["99", "0", "-1", "abc", "2.5", "", "%C2%B2"])
def test_a_bad_one_click_score_is_ignored(client, survey_case, score):
    page = client.get(f"/s/{survey_case['token']}?score={score}")
    assert page.status_code == 200
    assert checked_scores(page.get_data(as_text=True)) == []


def test_a_get_records_nothing(client, survey_case):
    for query in ("", "?score=1", "?score=5&comment=hi&reasons=slow"):
        assert client.get(f"/s/{survey_case['token']}{query}").status_code == 200
    assert responses() == []
    assert not [k for k in event_kinds(survey_case["case_id"]) if k.startswith("response.")]
    assert message_status(survey_case["reminder_id"]) == "scheduled"


# POST


def test_a_post_without_csrf_token_is_refused(client, survey_case):
    client.get(f"/s/{survey_case['token']}")
    reply = client.post(f"/s/{survey_case['token']}", data={"score": "4", "comment": "Great"})
    assert reply.status_code == 400
    assert responses() == []
    assert message_status(survey_case["reminder_id"]) == "scheduled"
    # The page comes back with their answer and a fresh token; sending it again works.
    html = reply.get_data(as_text=True)
    assert "has not been sent yet" in html
    assert checked_scores(html) == ["4"] and "Great</textarea>" in html
    data = {"csrf_token": csrf_token_in(html), "score": "4", "comment": "Great"}
    assert client.post(f"/s/{survey_case['token']}", data=data).status_code == 303
    assert [r.score for r in responses()] == [4]


def test_a_post_with_a_forged_csrf_token_is_refused(client, survey_case):
    client.get(f"/s/{survey_case['token']}")
    reply = client.post(f"/s/{survey_case['token']}", data={"score": "4", "csrf_token": "x.y"})
    assert reply.status_code == 400
    assert responses() == []


def test_an_answer_is_recorded_and_cancels_reminders(client, survey_case):
    reply = submit(
        client,
        survey_case["token"],
        "?score=2",
        score="2",
        comment="  Took three calls.  ",
        reasons=["slow", "had_to_repeat"],
        make_right="Call me back",
    )
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/s/{survey_case['token']}/thanks")
    [response] = responses()
    assert response.invitation_id == survey_case["invitation_id"]
    assert response.case_id == survey_case["case_id"]
    assert (response.score, response.comment, response.channel) == (2, "Took three calls.", "web")
    assert response.reason_codes == ["slow", "had_to_repeat"]
    assert response.answers == {"make_right": "Call me back"}
    event = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.kind == "response.recorded"))
    assert event.case_id == survey_case["case_id"]
    assert event.detail == {
        "score": 2,
        "comment": "Took three calls.",
        "reason_codes": ["slow", "had_to_repeat"],
        "channel": "web",
    }
    assert message_status(survey_case["reminder_id"]) == "cancelled"
    assert message_status(survey_case["always_id"]) == "scheduled"


def test_changing_the_answer_updates_the_same_response(client, survey_case):
    token = survey_case["token"]
    assert submit(client, token, score="1", reasons=["slow"]).status_code == 303
    first_id = responses()[0].id
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert checked_scores(page) == ["1"]
    assert "You can change it until" in page
    assert re.search(r'<input[^>]*checked[^>]*value="slow"', page)
    assert submit(client, token, score="4", comment="Sorted now").status_code == 303
    [response] = responses()
    assert (response.id, response.score, response.comment) == (first_id, 4, "Sorted now")
    assert response.reason_codes == []
    kinds = event_kinds(survey_case["case_id"])
    assert kinds.count("response.recorded") == 1 and kinds.count("response.changed") == 1
    changed = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.kind == "response.changed"))
    assert changed.detail["previous_score"] == 1 and changed.detail["score"] == 4


def test_a_one_click_link_after_answering_preselects_the_new_score(client, survey_case):
    assert submit(client, survey_case["token"], score="5").status_code == 303
    page = client.get(f"/s/{survey_case['token']}?score=3").get_data(as_text=True)
    assert checked_scores(page) == ["3"]
    assert responses()[0].score == 5


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"score": "9"}, "Please choose a score."),
        ({"score": "abc"}, "Please choose a score."),
        ({"score": "0"}, "Please choose a score."),
        ({}, "Please choose a score."),
        ({"score": "2", "reasons": ["slow", "bogus"]}, "Please choose from the reasons"),
        ({"score": "4", "comment": "x" * 2001}, "2000 characters or fewer"),
        ({"score": "2", "make_right": "x" * 2001}, "2000 characters or fewer"),
    ],
)
def test_invalid_input_is_shown_again_with_422(client, survey_case, fields, message):
    reply = submit(client, survey_case["token"], **fields)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert message in html
    assert 'class="error-summary"' in html
    error_id = re.search(r'<p class="error-message" id="([^"]+)"', html).group(1)
    assert re.search(rf'aria-describedby="[^"]*\b{error_id}\b', html)
    assert html.count("<h1") == 1
    assert responses() == []
    assert message_status(survey_case["reminder_id"]) == "scheduled"


def test_a_comment_of_exactly_2000_characters_is_accepted(client, survey_case):
    assert submit(client, survey_case["token"], score="4", comment="y" * 2000).status_code == 303
    assert len(responses()[0].comment) == 2000


# Expired and unknown links


def test_an_expired_invitation_answers_410(client, survey_case):
    token = survey_case["token"]
    page = client.get(f"/s/{token}")
    form_token = csrf_token_in(page.get_data(as_text=True))
    invitation = survey_case["invitation"]
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    for reply in (
        client.get(f"/s/{token}"),
        client.get(f"/s/{token}?score=5"),
        client.post(f"/s/{token}", data={"csrf_token": form_token, "score": "5"}),
        client.get(f"/s/{token}/thanks"),
    ):
        assert reply.status_code == 410
        assert "This survey has closed" in reply.get_data(as_text=True)
    assert responses() == []


def test_unknown_and_tampered_tokens_answer_404(client, survey_case):
    token = survey_case["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in ("nope", tampered, "x" * 150):
        for path in (f"/s/{bad}", f"/s/{bad}/thanks"):
            reply = client.get(path)
            assert reply.status_code == 404
            assert "We couldn&#39;t find this survey" in reply.get_data(as_text=True)
    page = client.get(f"/s/{token}")
    reply = client.post(
        f"/s/{tampered}",
        data={"csrf_token": csrf_token_in(page.get_data(as_text=True)), "score": "4"},
    )
    assert reply.status_code == 404
    assert responses() == []


# Thanks


def test_thanks_before_answering_goes_back_to_the_survey(client, survey_case):
    reply = client.get(f"/s/{survey_case['token']}/thanks")
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/s/{survey_case['token']}")


def test_thanks_acknowledges_a_negative_answer(client, survey_case):
    reply = submit(client, survey_case["token"], score="1")
    page = client.get(reply.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Someone from our team will look into" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "change your answer" in html


def test_thanks_is_warm_for_a_positive_answer(client, survey_case):
    submit(client, survey_case["token"], score="5")
    html = client.get(f"/s/{survey_case['token']}/thanks").get_data(as_text=True)
    assert "Thank you!" in html and "glad we could help" in html
    assert "Someone from our team" not in html


# record_response


def test_record_response_creates_then_updates(app, survey_case):
    invitation = survey_case["invitation"]
    now = utcnow()
    first, created = record_answer(
        invitation, score=3, comment="", reason_codes=[], answers={}, channel="sms", now=now
    )
    assert created and first.score == 3 and first.round == 1
    again, created = record_answer(
        invitation,
        score=2,
        comment="meh",
        reason_codes=["slow", "slow"],
        answers={},
        channel="web",
        now=now,
    )
    assert not created and again.id == first.id
    assert again.reason_codes == ["slow"] and again.channel == "web"
    db.session.commit()
    kinds = event_kinds(survey_case["case_id"])
    assert [kind for kind in kinds if kind.startswith("response.")] == [
        "response.recorded",
        "response.changed",
    ]
    assert "recovery.started" in kinds  # 2 of 5 is negative (test_recovery.py has the rest)


def test_record_response_ignores_an_identical_resubmission(app, survey_case):
    invitation = survey_case["invitation"]
    fields = dict(score=4, comment="ok", reason_codes=[], answers={}, channel="web")
    record_answer(invitation, now=utcnow(), **fields)
    _, created = record_answer(invitation, now=utcnow(), **fields)
    db.session.commit()
    assert not created
    assert event_kinds(survey_case["case_id"]) == ["response.recorded"]


@pytest.mark.parametrize(
    "fields",
    [
        {"score": 0},
        {"score": 6},
        {"score": True},
        {"score": "4"},
        {"score": 4, "reason_codes": ["bogus"]},
        {"score": 4, "comment": "z" * 2001},
    ],
)
def test_record_response_rejects_invalid_answers(app, survey_case, fields):
    answer = {"comment": "", "reason_codes": [], "answers": {}, **fields}
    with pytest.raises(ValueError):
        record_answer(survey_case["invitation"], channel="web", now=utcnow(), **answer)
    db.session.commit()
    assert responses() == []
    assert event_kinds(survey_case["case_id"]) == []
    assert message_status(survey_case["reminder_id"]) == "scheduled"


def test_is_negative_uses_the_survey_threshold(app, survey_case):
    survey = survey_case["survey"]
    assert [is_negative(survey, s) for s in range(1, 6)] == [True, True, False, False, False]
    survey.negative_max = 3
    assert is_negative(survey, 3)


def test_control_characters_in_free_text_never_reach_the_database(client, survey_case):
    reply = submit(
        client,
        survey_case["token"],
        "",
        score="2",
        comment="bad\x00 service\x07",
        make_right="call\x00 me",
    )
    assert reply.status_code == 303
    [response] = responses()
    assert response.comment == "bad service"
    assert response.answers == {"make_right": "call me"}
