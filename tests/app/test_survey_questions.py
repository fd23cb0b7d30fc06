"""The survey page's extra questions, the survey's own translations, and NPS and CES scales
on the customer's page (/s/<token>)."""

import re

import pytest

from followup.extensions import db
from followup.models import Survey
from tests.support.answers import checked_scores, responses, set_locale, submit
from tests.support.answers import survey_page as page

SCRIPT = "<script>alert(1)</script>"
QUESTIONS = [
    {"key": "rebuy", "kind": "single", "label": "Would you buy from us again?",
     "options": ["Yes", "Maybe", "No"], "required": True},
    {"key": "channels", "kind": "multiple", "label": "How did you contact us?",
     "options": ["Email", "Phone", "Chat"], "required": False},
    {"key": "ideas", "kind": "text", "label": "Any ideas for us?", "options": [],
     "required": False},
]  # fmt: skip
SPANISH = {
    "question": "¿Cómo lo hicimos con {subject}?",
    "reasons": {"slow": "Fue lentísimo"},
    "questions": {
        "rebuy": {"label": "¿Volverías a comprarnos?", "options": ["Sí", "Quizás", "No"]},
        "channels": {"label": "¿Cómo nos contactaste?", "options": ["Correo", "", "Chat"]},
    },
}


@pytest.fixture
def with_questions(survey_case):
    survey = db.session.get(Survey, survey_case["survey"].id)
    survey.questions = QUESTIONS
    survey.translations = {"es": SPANISH}
    db.session.commit()
    return survey_case


def test_extra_questions_follow_the_score_as_radios_checkboxes_and_a_text_box(
    client, with_questions
):
    html = page(client, with_questions["token"])
    score_at, rebuy_at = html.index('name="score"'), html.index('name="extra_0"')
    assert score_at < rebuy_at < html.index('name="extra_1"') < html.index('name="extra_2"')
    assert re.search(r"<fieldset[^>]*>\s*<legend>Would you buy from us again\?</legend>", html)
    assert re.findall(r'<input[^>]*name="extra_0"[^>]*type="radio"[^>]*value="([^"]+)"', html) == [
        "Yes", "Maybe", "No"
    ]  # fmt: skip
    assert re.search(r"<legend>How did you contact us\?</legend>", html)
    assert len(re.findall(r'<input[^>]*name="extra_1"[^>]*type="checkbox"', html)) == 3
    assert re.search(r'<label for="extra_2">Any ideas for us\?</label>', html)
    assert re.search(r'<textarea[^>]*name="extra_2"', html)
    for input_id in re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', html):
        if input_id != "csrf_token":
            assert f'for="{input_id}"' in html, f"input {input_id} has no label"


def test_answers_are_stored_under_their_keys_beside_make_right(client, with_questions):
    reply = submit(
        client,
        with_questions["token"],
        score="2",
        make_right="Call me",
        extra_0="Maybe",
        extra_1=["Email", "Chat"],
        extra_2="  More updates \x00please ",
    )
    assert reply.status_code == 303
    [response] = responses()
    assert response.answers == {
        "make_right": "Call me",
        "rebuy": "Maybe",
        "channels": ["Email", "Chat"],
        "ideas": "More updates please",
    }


def test_unanswered_optional_questions_are_left_out(client, with_questions):
    assert submit(client, with_questions["token"], score="5", extra_0="Yes").status_code == 303
    assert responses()[0].answers == {"rebuy": "Yes"}


def test_a_customer_coming_back_sees_their_answers(client, with_questions):
    token = with_questions["token"]
    submit(client, token, score="4", extra_0="No", extra_1=["Phone"], extra_2="Faster <b>")
    html = page(client, token)
    assert checked_scores(html) == ["4"]
    assert re.search(r'<input checked[^>]*name="extra_0"[^>]*value="No"', html)
    assert re.findall(r'<input checked[^>]*name="extra_1"[^>]*value="([^"]+)"', html) == ["Phone"]
    assert "Faster &lt;b&gt;</textarea>" in html
    # Changing only an extra answer changes the response.
    assert submit(client, token, score="4", extra_0="Yes").status_code == 303
    assert responses()[0].answers == {"rebuy": "Yes"}


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"score": "4"}, "extra_0", "Please answer: Would you buy from us again?"),
        ({"score": "4", "extra_0": "Perhaps"}, "extra_0", "Please choose from the answers"),
        ({"score": "4", "extra_0": "Yes", "extra_1": ["Email", "Fax"]}, "extra_1",
         "Please choose from the answers"),
        ({"score": "4", "extra_0": "Yes", "extra_2": "x" * 2001}, "extra_2",
         "2000 characters or fewer"),
    ],
)  # fmt: skip
def test_bad_extra_answers_come_back_with_422(client, with_questions, fields, message, field):
    reply = submit(client, with_questions["token"], **fields)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    anchor = field if field == "extra_2" else f"{field}-0"
    assert f'href="#{anchor}"' in summary and message in summary
    assert f'id="{field}-error"' in html
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error\b', html)
    assert checked_scores(html) == ["4"]
    assert responses() == []


def test_a_required_text_question_needs_more_than_spaces(client, with_questions):
    survey = db.session.get(Survey, with_questions["survey"].id)
    survey.questions = [{**QUESTIONS[2], "required": True}]
    db.session.commit()
    reply = submit(client, with_questions["token"], score="3", extra_0="   ")
    assert reply.status_code == 422
    assert "Please answer: Any ideas for us?" in reply.get_data(as_text=True)
    assert submit(client, with_questions["token"], score="3", extra_0="Yes").status_code == 303


def test_the_page_speaks_the_survey_s_own_spanish(client, with_questions):
    set_locale("es-MX")
    html = page(client, with_questions["token"], "?score=2")
    assert "¿Cómo lo hicimos con &ldquo;" in html
    assert "Fue lentísimo" in html  # the lead's translation of a reason
    assert "Mi problema no está resuelto" in html  # no lead's translation: the catalog's
    assert "<legend>¿Volverías a comprarnos?</legend>" in html
    assert re.search(r'value="Maybe"> <label for="extra_0-1">Quizás</label>', html)
    assert re.search(r'value="Phone"> <label for="extra_1-1">Phone</label>', html)  # left blank
    assert "Any ideas for us?" in html  # no translation: as written
    reply = submit(client, with_questions["token"], score="2", extra_1=["Email"])
    assert "Responde a esta pregunta: ¿Volverías a comprarnos?" in reply.get_data(as_text=True)
    assert submit(client, with_questions["token"], score="2", extra_0="Maybe").status_code == 303
    assert responses()[0].answers == {"rebuy": "Maybe"}  # stored in the default wording


def test_without_a_translation_spanish_customers_get_the_catalog_or_the_leads_words(
    client, with_questions
):
    survey = db.session.get(Survey, with_questions["survey"].id)
    survey.translations = {}
    db.session.commit()
    set_locale("es")
    html = page(client, with_questions["token"])
    assert "¿Qué tan satisfecho estás con cómo gestionamos" in html
    assert "Tardó demasiado" in html and "Would you buy from us again?" in html


def test_lead_text_with_script_tags_is_escaped_on_the_customer_page(client, with_questions):
    survey = db.session.get(Survey, with_questions["survey"].id)
    survey.question = f"{SCRIPT} {{subject}}"
    survey.reasons = [{"code": "x", "label": SCRIPT}]
    survey.questions = [{**QUESTIONS[0], "label": SCRIPT, "options": [SCRIPT, "ok"]}]
    survey.translations = {}
    db.session.commit()
    html = page(client, with_questions["token"])
    assert SCRIPT not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4


def test_an_nps_survey_takes_a_zero_and_labels_both_ends(client, survey_case):
    survey = db.session.get(Survey, survey_case["survey"].id)
    survey.kind, survey.scale_min, survey.scale_max = "nps", 0, 10
    survey.negative_min, survey.negative_max, survey.positive_min, survey.positive_max = 0, 6, 9, 10
    db.session.commit()
    html = page(client, survey_case["token"], "?score=0")
    assert checked_scores(html) == ["0"]
    assert "Least likely" in html and "Most likely" in html
    assert 'data-negative-min="0" data-negative-max="6"' in html
    assert submit(client, survey_case["token"], score="0").status_code == 303
    assert responses()[0].score == 0
    assert submit(client, survey_case["token"], score="11").status_code == 422


def make_ces(survey_case) -> None:
    survey = db.session.get(Survey, survey_case["survey"].id)
    survey.kind, survey.scale_min, survey.scale_max = "ces", 1, 7
    survey.negative_min, survey.negative_max, survey.positive_min, survey.positive_max = 5, 7, 1, 3
    db.session.commit()


def test_a_ces_survey_is_labelled_easy_to_difficult(client, survey_case):
    make_ces(survey_case)
    html = page(client, survey_case["token"])
    assert "Choose a score from 1 (very easy) to 7 (very difficult)." in html
    assert re.search(
        r'<span class="scale-number">1</span> <span class="scale-label">Very easy', html
    )
    assert 'data-negative-min="5" data-negative-max="7"' in html
    assert submit(client, survey_case["token"], score="7").status_code == 303
    thanks = client.get(f"/s/{survey_case['token']}/thanks").get_data(as_text=True)
    assert "Thank you for telling us" in thanks  # 7 is a lot of effort: negative


def test_a_ces_survey_in_spanish(client, survey_case):
    make_ces(survey_case)
    set_locale("es")
    html = page(client, survey_case["token"])
    assert "del 1 (muy fácil) al 7 (muy difícil)" in html
