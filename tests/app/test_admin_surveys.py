"""The console's survey pages: the list, create, the editor (bands, keywords, reasons, extra
questions, translations), archive and the customer's preview, and what they refuse."""

import re

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import AuditEntry, Survey
from tests.support.console import csrf_token, form_of

SCRIPT = "<script>alert(1)</script>"


def survey(key: str = "csat") -> Survey:
    db.session.expire_all()
    return db.session.scalar(sa.select(Survey).where(Survey.key == key))


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def edit(client, key: str = "csat", **changes):
    """Post the editor as the page fills it, with these fields changed."""
    path = f"/admin/surveys/{survey(key).id}"
    return client.post(path, data={**form_of(client, path), **changes})


def create(client, **fields):
    data = {"csrf_token": csrf_token(client, "/admin/surveys/new"), **fields}
    return client.post("/admin/surveys/new", data=data)


def error_summary(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


# The list


def test_the_list_shows_each_survey_and_the_current_cadences_using_it(as_lead, seeded):
    page = as_lead.get("/admin/surveys")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td><a[^>]*>Customer satisfaction</a>.*?</tr>", html, re.S).group(0)
    assert "<code>csat</code>" in row and "CSAT" in row and "1–5" in row
    assert "negative 1–2, positive 4–5" in row
    assert "Demo, Standard" in row
    recovery = re.search(r"<tr>\s*<td><a[^>]*>Recovery check-in</a>.*?</tr>", html, re.S)
    assert "Recovery" in recovery.group(0).split("</code>")[1]
    assert "New survey" in html and "Archive" in html


def test_a_manager_reads_surveys_but_cannot_change_them(as_manager, seeded):
    html = as_manager.get("/admin/surveys").get_data(as_text=True)
    assert "Customer satisfaction" in html
    assert "New survey" not in html and "Archive" not in html
    editor = as_manager.get(f"/admin/surveys/{survey().id}")
    page = editor.get_data(as_text=True)
    assert editor.status_code == 200
    assert "<fieldset disabled>" in page and "Save survey" not in page
    before = survey().name
    token = csrf_token(as_manager, "/admin/surveys")
    for path, data in [
        (f"/admin/surveys/{survey().id}", {"name": "Changed"}),
        (f"/admin/surveys/{survey().id}/archive", {}),
        ("/admin/surveys/new", {"key": "x", "name": "x", "kind": "nps"}),
    ]:
        assert as_manager.post(path, data={"csrf_token": token, **data}).status_code == 403
    assert survey().name == before and survey().archived_at is None
    assert survey("x") is None
    assert as_manager.get(f"/admin/surveys/{survey().id}/preview").status_code == 200


def test_signed_out_visitors_go_to_sign_in(client, seeded):
    reply = client.get("/admin/surveys")
    assert reply.status_code == 302 and "/admin/sign-in" in reply.headers["Location"]
    assert client.post(f"/admin/surveys/{survey().id}/archive").status_code in (302, 400)
    assert survey().archived_at is None


def test_unknown_surveys_are_404(as_lead, seeded):
    token = csrf_token(as_lead, "/admin/surveys")
    assert as_lead.get("/admin/surveys/9999").status_code == 404
    assert as_lead.get(f"/admin/surveys/{2**40}").status_code == 404
    assert as_lead.get("/admin/surveys/9999/preview").status_code == 404
    assert (
        as_lead.post("/admin/surveys/9999/archive", data={"csrf_token": token}).status_code == 404
    )


# Create


@pytest.mark.parametrize(
    "kind, scale, negative, positive, question",
    [
        ("csat", (1, 5), (1, 2), (4, 5), "How satisfied are you"),
        ("nps", (0, 10), (0, 6), (9, 10), "how likely are you to recommend us"),
        ("ces", (1, 7), (5, 7), (1, 3), "How easy was it"),
    ],
)
def test_a_new_survey_has_its_kinds_scale_bands_and_question(
    as_lead, seeded, kind, scale, negative, positive, question
):
    reply = create(as_lead, key=f"new-{kind}_1", name=f"New {kind}", kind=kind)
    assert reply.status_code == 303
    made = survey(f"new-{kind}_1")
    assert reply.headers["Location"].endswith(f"/admin/surveys/{made.id}")
    assert (made.kind, made.scale_min, made.scale_max) == (kind, *scale)
    assert (made.negative_min, made.negative_max) == negative
    assert (made.positive_min, made.positive_max) == positive
    assert question in made.question and "{subject}" in made.question
    assert [r["code"] for r in made.reasons][:2] == ["slow", "not_solved"]
    assert made.questions == [] and made.translations == {} and made.archived_at is None
    [entry] = audit_entries("create")
    assert entry.entity_id == str(made.id) and entry.actor == "lead@example.com"
    assert entry.before is None and entry.after["kind"] == kind


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"key": "Upper", "name": "n", "kind": "nps"}, "key", "lower-case letters"),
        ({"key": "has space", "name": "n", "kind": "nps"}, "key", "lower-case letters"),
        ({"key": SCRIPT, "name": "n", "kind": "nps"}, "key", "lower-case letters"),
        ({"key": "k" * 101, "name": "n", "kind": "nps"}, "key", "100 characters"),
        ({"key": "csat", "name": "n", "kind": "nps"}, "key", "exists already"),
        ({"key": "ok", "name": "", "kind": "nps"}, "name", "required"),
        ({"key": "ok", "name": "n" * 201, "kind": "nps"}, "name", "200 characters"),
        ({"key": "ok", "name": "n"}, "kind", "choose a kind"),
        ({"key": "ok", "name": "n", "kind": "stars"}, "kind", "choose one of the kinds"),
    ],
)
def test_a_bad_new_survey_is_refused_with_422(as_lead, seeded, fields, field, message):
    count = db.session.scalar(sa.select(sa.func.count(Survey.id)))
    reply = create(as_lead, **fields)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    summary = error_summary(html)
    assert f'href="#{field}"' in summary and message in summary
    assert f'id="{field}"' in html
    assert db.session.scalar(sa.select(sa.func.count(Survey.id))) == count
    assert audit_entries("create") == []
    assert SCRIPT not in html


def test_a_new_survey_with_a_forged_csrf_token_is_400(as_lead, seeded):
    reply = as_lead.post(
        "/admin/surveys/new", data={"csrf_token": "forged", "key": "x", "name": "x", "kind": "nps"}
    )
    assert reply.status_code == 400
    assert survey("x") is None


# Edit


def test_the_editor_saves_bands_keywords_reasons_questions_and_translations(as_lead, seeded):
    reply = edit(
        as_lead,
        name="Satisfaction",
        question="How did we do with {subject}?",
        question_es="¿Qué tal con {subject}?",
        negative_max="3",
        negative_keywords="cancel my account\n\n  lawyer  \ncancel my account",
        reason_0_code="slow",
        reason_0_label="Too slow",
        reason_0_label_es="Muy lento",
        reason_6_code="rude",
        reason_6_label="Rude",
        extra_0_kind="single",
        extra_0_key="rebuy",
        extra_0_label="Would you buy again?",
        extra_0_options="Yes\nNo\n",
        extra_0_required="y",
        extra_0_label_es="¿Volverías a comprar?",
        extra_0_options_es="Sí\nNo",
        extra_1_kind="text",
        extra_1_key="ideas",
        extra_1_label="Any ideas?",
    )
    assert reply.status_code == 303
    saved = survey()
    assert (saved.name, saved.question) == ("Satisfaction", "How did we do with {subject}?")
    assert (saved.negative_min, saved.negative_max) == (1, 3)
    assert saved.negative_keywords == ["cancel my account", "lawyer"]
    assert saved.reasons[0] == {"code": "slow", "label": "Too slow"}
    assert saved.reasons[-1] == {"code": "rude", "label": "Rude"} and len(saved.reasons) == 7
    assert saved.questions == [
        {"key": "rebuy", "kind": "single", "label": "Would you buy again?",
         "options": ["Yes", "No"], "required": True},
        {"key": "ideas", "kind": "text", "label": "Any ideas?", "options": [], "required": False},
    ]  # fmt: skip
    assert saved.translations == {
        "es": {
            "question": "¿Qué tal con {subject}?",
            "reasons": {"slow": "Muy lento"},
            "questions": {"rebuy": {"label": "¿Volverías a comprar?", "options": ["Sí", "No"]}},
        }
    }
    [entry] = audit_entries("update")
    assert entry.before["negative_max"] == 2 and entry.after["negative_max"] == 3
    assert entry.before["questions"] == [] and len(entry.after["questions"]) == 2
    assert "key" not in entry.after  # only what changed
    # The editor shows it all again, with blank rows to add more.
    form = form_of(as_lead, f"/admin/surveys/{saved.id}")
    assert form["extra_0_options"] == "Yes\nNo" and form["extra_0_required"] == "y"
    assert form["extra_0_options_es"] == "Sí\nNo" and form["reason_0_label_es"] == "Muy lento"
    assert "extra_3_key" in form and "extra_4_key" not in form
    assert "reason_8_code" in form


def test_emptying_a_row_removes_it_and_saving_nothing_new_records_nothing(as_lead, seeded):
    assert (
        edit(as_lead, reason_5_code="", reason_5_label="", reason_5_label_es="").status_code == 303
    )
    assert [r["code"] for r in survey().reasons][-1] == "policy"
    assert len(audit_entries("update")) == 1
    assert edit(as_lead).status_code == 303
    assert len(audit_entries("update")) == 1


def test_script_tags_are_stored_as_text_and_shown_escaped(as_lead, seeded):
    reply = edit(
        as_lead,
        name=SCRIPT,
        reason_0_label=SCRIPT,
        extra_0_key="x",
        extra_0_label=SCRIPT,
        extra_0_options=f"{SCRIPT}\nfine",
        extra_0_label_es=SCRIPT,
    )
    assert reply.status_code == 303
    saved = survey()
    assert saved.name == SCRIPT and saved.questions[0]["options"][0] == SCRIPT
    for path in ("/admin/surveys", f"/admin/surveys/{saved.id}",
                 f"/admin/surveys/{saved.id}/preview?score=1",
                 f"/admin/surveys/{saved.id}/preview?language=es&score=1"):  # fmt: skip
        html = as_lead.get(path).get_data(as_text=True)
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"negative_min": "0"}, "negative_min", "must be from 1 to 5"),
        ({"positive_max": "6"}, "positive_max", "must be from 1 to 5"),
        ({"negative_max": "abc"}, "negative_max", "integer"),
        ({"negative_max": ""}, "negative_max", "required"),
        ({"negative_min": "2", "negative_max": "1"}, "negative_max", "must not be below"),
        ({"negative_max": "4"}, "positive_min", "must not overlap"),
        ({"negative_min": "2", "negative_max": "3", "positive_min": "1", "positive_max": "2"},
         "positive_min", "must not overlap"),
        ({"name": ""}, "name", "required"),
        ({"name": "n" * 201}, "name", "200 characters"),
        ({"question": "q" * 501}, "question", "500 characters"),
        ({"question_es": "q" * 501}, "question_es", "500 characters"),
        ({"negative_keywords": "\n".join(f"w{i}" for i in range(51))}, "negative_keywords",
         "at most 50"),
        ({"negative_keywords": "w" * 101}, "negative_keywords", "100 characters"),
        ({"reason_1_code": "slow"}, "reason_1_code", "used by another reason"),
        ({"reason_1_code": "Not OK"}, "reason_1_code", "lower-case letters"),
        ({"reason_1_code": ""}, "reason_1_code", "give this reason a code"),
        ({"reason_1_label": ""}, "reason_1_label", "give this reason a label"),
        ({"reason_1_label": "l" * 201}, "reason_1_label", "200 characters"),
        ({"reason_1_label_es": "l" * 201}, "reason_1_label_es", "200 characters"),
        ({"extra_0_label": "Buy again?", "extra_0_options": "Yes\nNo"}, "extra_0_key",
         "give this question a key"),
        ({"extra_0_key": "a", "extra_0_options": "Yes\nNo"}, "extra_0_label",
         "give this question a label"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_options": "Only"},
         "extra_0_options", "at least 2 options"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_options": "Yes\nYes"},
         "extra_0_options", "different"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_options": "o" * 201 + "\nNo"},
         "extra_0_options", "200 characters"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_kind": "text",
          "extra_0_options": "Yes\nNo"}, "extra_0_options", "no options"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_kind": "stars",
          "extra_0_options": "Yes\nNo"}, "extra_0_kind", "choose single choice"),
        ({"extra_0_key": "make_right", "extra_0_label": "A?", "extra_0_kind": "text"},
         "extra_0_key", "kept for"),
        ({"extra_0_key": "A!", "extra_0_label": "A?", "extra_0_kind": "text"}, "extra_0_key",
         "lower-case letters"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_kind": "text",
          "extra_1_key": "a", "extra_1_label": "B?", "extra_1_kind": "text"}, "extra_1_key",
         "used by another question"),
        ({"extra_0_key": "a", "extra_0_label": "A?", "extra_0_options": "Yes\nNo",
          "extra_0_options_es": "Sí"}, "extra_0_options_es", "one translation per option"),
        ({"extra_0_key": "a", "extra_0_label": "l" * 501, "extra_0_kind": "text"},
         "extra_0_label", "500 characters"),
    ],
)  # fmt: skip
def test_bad_edits_are_refused_with_422_naming_the_field(as_lead, seeded, changes, field, message):
    before = {c: getattr(survey(), c) for c in ("name", "question", "reasons", "questions")}
    reply = edit(as_lead, **changes)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    summary = error_summary(html)
    assert f'href="#{field}"' in summary and message in summary
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"',
                     html) or f'id="{field}-error"' in html  # fmt: skip
    after = {c: getattr(survey(), c) for c in before}
    assert after == before
    assert audit_entries("update") == []


def test_at_most_ten_extra_questions(as_lead, seeded):
    questions = {}
    for i in range(11):
        questions |= {
            f"extra_{i}_key": f"q{i}",
            f"extra_{i}_label": "Q?",
            f"extra_{i}_kind": "text",
        }
    reply = edit(as_lead, **questions)
    assert reply.status_code == 422
    assert "at most 10 extra questions" in error_summary(reply.get_data(as_text=True))
    assert survey().questions == []
    ten = {k: v for k, v in questions.items() if not k.startswith("extra_10_")}
    assert edit(as_lead, **ten).status_code == 303
    assert len(survey().questions) == 10


def test_a_forged_csrf_token_on_the_editor_is_400_and_stores_nothing(as_lead, seeded):
    reply = edit(as_lead, csrf_token="forged", name="Forged")
    assert reply.status_code == 400
    assert survey().name == "Customer satisfaction"
    assert audit_entries("update") == []


# Archive


def test_archive_and_unarchive_an_unused_survey(as_lead, seeded):
    create(as_lead, key="spare", name="Spare", kind="ces")
    spare = survey("spare")
    token = csrf_token(as_lead, "/admin/surveys")
    reply = as_lead.post(f"/admin/surveys/{spare.id}/archive", data={"csrf_token": token})
    assert reply.status_code == 303
    assert survey("spare").archived_at is not None
    html = as_lead.get("/admin/surveys").get_data(as_text=True)
    assert "is archived" in html and "Unarchive" in html
    [entry] = audit_entries("archive")
    assert entry.before == {"archived_at": None} and entry.after["archived_at"]
    as_lead.post(f"/admin/surveys/{spare.id}/unarchive", data={"csrf_token": token})
    assert survey("spare").archived_at is None
    assert len(audit_entries("unarchive")) == 1


def test_a_survey_a_current_cadence_sends_is_not_archived(as_lead, seeded):
    token = csrf_token(as_lead, "/admin/surveys")
    reply = as_lead.post(f"/admin/surveys/{survey().id}/archive", data={"csrf_token": token})
    assert reply.status_code == 303
    assert survey().archived_at is None
    html = as_lead.get("/admin/surveys").get_data(as_text=True)
    assert "is not archived: the cadences Demo, Standard still send it" in html
    assert audit_entries("archive") == []


def test_archive_with_a_forged_csrf_token_is_400(as_lead, seeded):
    create(as_lead, key="spare", name="Spare", kind="ces")
    reply = as_lead.post(f"/admin/surveys/{survey('spare').id}/archive", data={"csrf_token": "x"})
    assert reply.status_code == 400
    assert survey("spare").archived_at is None


# Preview


def test_the_preview_shows_the_customers_page_in_spanish_with_extra_questions(as_lead, seeded):
    create(as_lead, key="nps", name="NPS", kind="nps")
    assert edit(
        as_lead, "nps",
        question_es="¿Nos recomendarías tras {subject}?",
        extra_0_key="rebuy", extra_0_label="Would you buy again?", extra_0_options="Yes\nNo",
        extra_0_label_es="¿Volverías a comprar?", extra_0_options_es="Sí\nNo",
    ).status_code == 303  # fmt: skip
    nps = survey("nps")
    page = as_lead.get(f"/admin/surveys/{nps.id}/preview?language=es&score=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="es" dir="ltr">' in html
    assert "¿Nos recomendarías tras &ldquo;Parcel never arrived&rdquo;?" in html
    assert "<legend>¿Volverías a comprar?</legend>" in html
    assert 'value="Yes"> <label for="extra_0-0">Sí</label>' in html
    assert "Tardó demasiado" in html  # the default reasons' catalog translation
    assert re.search(r'<input checked[^>]*value="2"', html)
    assert "Preview:" in html and "can't be sent from a preview" in html
    form = re.search(r"<form[^>]*class=\"survey\"[^>]*>", html).group(0)
    assert "action=" not in form and "post" not in form
    assert re.search(r'<button type="submit" class="button" disabled>', html)
    english = as_lead.get(f"/admin/surveys/{nps.id}/preview").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english
    assert "<legend>Would you buy again?</legend>" in english
    assert "how likely are you to recommend us" in english and "Least likely" in english
    unknown = as_lead.get(f"/admin/surveys/{nps.id}/preview?language=xx&score=99")
    assert unknown.status_code == 200
    assert '<html lang="en" dir="ltr">' in unknown.get_data(as_text=True)
