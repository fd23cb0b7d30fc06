"""Lead-editable templates: sandboxed, checked at save time with the line and reason,
CSS inlined into HTML email, SMS bodies counted in GSM-7/UCS-2 segments."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.languages import LANGUAGES
from followup.models import CaseEvent, Message, MessageTemplate
from followup.models.base import utcnow
from followup.paths import ROOT
from followup.rendering import render, sample_context, template_problems
from followup.segments import sms_segments
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch


def template(**parts) -> MessageTemplate:
    fields = {
        "email_subject": "Hi",
        "email_html": "<p>Hi</p>",
        "email_text": "Hi",
        "sms_text": "Hi",
    }
    return MessageTemplate(key="t", name="t", **{**fields, **parts})


def test_the_default_templates_have_no_problems(seeded):
    for saved in db.session.scalars(sa.select(MessageTemplate)):
        assert template_problems(saved, "Acme Support") == []


@pytest.mark.parametrize(
    "part, source, line, reason",
    [
        ("email_html", "<p>\n{{ customer.first_name }\n</p>", 2, "unexpected '}'"),
        ("sms_text", "Hi {% if case.subject %}there", 1, "Unexpected end of template"),
        ("email_subject", "{{ customer.shoe_size }}", None, "has no attribute 'shoe_size'"),
        ("email_text", "{{ nonsense }}", None, "'nonsense' is undefined"),
        ("email_html", "{{ ''.__class__.__mro__[1].__subclasses__() }}", None, "unsafe"),
        ("sms_text", "{{ case.__init__.__globals__ }}", None, "unsafe"),
        # Nothing a template does may take the server's memory or minutes of its time.
        ("email_text", "{{ 'x' * 100000000 }}", None, "longer than 100000 characters"),
        ("email_text", "{% set n = 1000000 %}{{ 'x' * n }}", None, "longer than 100000"),
        ("sms_text", "{{ 9 ** 999999 }}", None, "exponents above 64"),
        ("email_html", "{% for i in range(10**6) %}{% endfor %}", None, "limited to 1000"),
        ("email_text", "{{ 1 / 0 }}", None, "ZeroDivisionError"),
        ("email_text", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", None, "RecursionError"),
    ],
)
def test_a_broken_or_hostile_template_is_refused_with_the_line_and_reason(
    app, part, source, line, reason
):
    [problem] = template_problems(template(**{part: source}), "Acme")
    assert (problem.part, problem.line) == (part, line)
    assert reason in problem.reason
    assert str(problem).startswith(part + (f", line {line}" if line else ""))


def test_html_is_escaped_and_a_style_block_is_inlined_without_fetching_anything(app):
    context = sample_context("Acme")
    context["case"]["subject"] = "<script>alert(1)</script>"
    html = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
        "<style>p { color: #123456 }</style></head>"
        "<body><p>{{ case.subject }}</p></body></html>"
    )
    rendered = render(template(email_html=html), "email", context)
    assert '<p style="color: #123456;">&lt;script&gt;' in rendered.html
    assert "x.css" not in rendered.html


def test_the_default_check_in_text_fits_one_segment_and_truncates_the_subject_not_the_link(
    seeded,
):
    check_in = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "csat_checkin")
    )
    context = sample_context("Acme Support")
    text = render(check_in, "sms", context).text
    assert sms_segments(text) == ("GSM-7", 1, len(text))
    context["case"]["subject"] = "Refund still missing after three weeks and two phone calls"
    text = render(check_in, "sms", context).text
    assert text.endswith(context["survey"]["url"]) and "two phone calls" not in text
    assert sms_segments(text).count == 1


# Every default template with a text, as templates/sms ships them.
TEXTS = sorted(path.stem for path in (ROOT / "templates" / "sms").glob("*.txt"))


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_a_default_text_takes_no_more_segments_in_any_language_than_in_english(seeded, language):
    english, translated = sample_context("Acme Support"), sample_context("Acme Support", language)
    for key in TEXTS:
        saved = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == key))
        assert saved.translations[language]["sms_text"], key
        text = render(saved, "sms", translated).text
        assert sms_segments(text).count <= sms_segments(render(saved, "sms", english).text).count, (
            key, sms_segments(text), text,
        )  # fmt: skip


@pytest.mark.parametrize(
    "body, expected",
    [
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("€" * 80, ("GSM-7", 1)),  # extended characters count twice
        ("€" * 81, ("GSM-7", 2)),
        ("ü" * 160, ("GSM-7", 1)),
        ("😀" * 35, ("UCS-2", 1)),  # outside the BMP: two UCS-2 units each
        ("ł" * 71, ("UCS-2", 2)),
    ],
)
def test_sms_segments(body, expected):
    assert sms_segments(body)[:2] == expected


def test_a_template_that_breaks_after_saving_fails_its_message_not_the_batch(app, client, seeded):
    close(client, seeded["auth"], {**CASE, "external_id": "B-1"})
    thank_you = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "thank_you")
    )
    # As if edited around the checks: a template may raise anything, not only Jinja's errors.
    thank_you.email_subject = "{{ 1 / 0 }}"
    db.session.commit()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    statuses = db.session.execute(
        sa.select(Message.channel, Message.status).order_by(Message.due_at)
    ).all()
    assert statuses == [("email", "failed"), ("sms", "sent"), ("email", "scheduled")]
    failed = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.kind == "message.failed"))
    assert "'thank_you' cannot be rendered" in failed.detail["reason"]
    assert [m["channel"] for m in sent_messages(app)].count("sms") == 1


def test_a_spanish_speaking_customer_gets_the_spanish_messages(app, client, seeded):
    customer = {**CASE["customer"], "locale": "es-MX"}
    close(client, seeded["auth"], {**CASE, "external_id": "ES-1", "customer": customer})
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    email, text = sent_messages(app)
    assert email["subject"] == "Gracias por tu paciencia con «Broken <b>kettle</b>»"
    assert '<html lang="es">' in email["html"] and "caso ES-1" in email["html"]
    assert "Darme de baja" in email["html"] and "Darte de baja" in email["text"]
    assert text["text"].startswith("Hola Ana, ¿qué tal lo hizo Acme Support")
    assert sms_segments(text["text"]).count == 1


def test_a_locale_we_lack_gets_the_organisations_default(app, client, seeded):
    customer = {**CASE["customer"], "locale": "ja"}
    close(client, seeded["auth"], {**CASE, "external_id": "JA-1", "customer": customer})
    sweep_and_dispatch()
    [email] = sent_messages(app)
    assert email["subject"].startswith("Thanks for your patience")


def test_a_broken_translation_is_named_by_its_language(app):
    broken = template(translations={"es": {"sms_text": "Hola {{ customer.first_name"}})
    [problem] = template_problems(broken, "Acme")
    assert problem.part == "es.sms_text" and problem.line == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_recovery_texts_stay_short(seeded, language):
    """The recovery check-in and its reminder fit one segment; the apology, with its code,
    two at most."""
    context = sample_context("Acme Support", language)
    limits = {"recovery_checkin": 1, "recovery_reminder": 1, "apology": 2}
    for key, limit in limits.items():
        saved = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == key))
        text = render(saved, "sms", context).text
        assert sms_segments(text).count <= limit, (key, text)
        assert context["survey"]["url"] in text or key == "apology"
    apology = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == "apology"))
    assert "SORRY-7F3K2" in render(apology, "sms", context).text
