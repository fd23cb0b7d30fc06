"""Customers' languages (English, Spanish, French, German, Portuguese (Brazil)): the catalogs
are complete and compiled, customers see pages and texts back in their own language (the
organisation's default for any other), the editors show the languages in use without losing
the others' text, and a console user picks the console's language."""

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy.exc import OperationalError

from followup.extensions import db
from followup.languages import OTHER_LANGUAGES, babel_locale, language_of
from followup.models import (
    Customer,
    GestureType,
    MessageTemplate,
    OrganisationSettings,
    Survey,
    User,
)
from followup.models.base import utcnow
from followup.organisation import SETTINGS_ID, forget
from followup.outbox_render import translated
from followup.paths import ROOT
from surveys.responses import reason_translations
from tests.support.answers import set_locale, submit, text_in
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token, form_of

CATALOGS = ROOT / "followup" / "translations"
BRACE = re.compile(r"\{\w*\}")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """Every msgid in the code and templates, as `make translations` extracts them."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F",
         CATALOGS / "babel.cfg", "-k", "_l", "-k", "translatable", "-o", pot, "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as file:
        return {m.id for m in read_po(file) if m.id}


def braces(text: str | tuple) -> list[str]:
    """A message's {name} placeholders (str.format's, in the texts the code formats)."""
    return sorted(BRACE.findall(" ".join(text) if isinstance(text, tuple) else text))


@pytest.mark.parametrize("catalog", [babel_locale(code) for code in OTHER_LANGUAGES])
def test_the_catalog_covers_every_text_and_is_compiled(extracted, catalog):
    with (CATALOGS / catalog / "LC_MESSAGES/messages.po").open("rb") as po:
        messages = read_po(po)
    translated = {m.id: m.string for m in messages if m.id and m.string and not m.fuzzy}
    assert extracted - set(translated) == set(), "run `make translations` and translate"
    # Babel's checks: the %(name)s placeholders of each translation match its message's.
    assert [(m.id, errors) for m, errors in messages.check()] == []
    assert [i for i, text in translated.items() if braces(text) != braces(i)] == []
    with (CATALOGS / catalog / "LC_MESSAGES/messages.mo").open("rb") as compiled:
        mo = read_mo(compiled)
    # A plural's id and forms: tuples in the .po reader, lists in the .mo reader.
    compiled_strings = {
        (tuple(m.id) if isinstance(m.id, list) else m.id): (
            tuple(m.string) if isinstance(m.string, list) else m.string
        )
        for m in mo
        if m.id
    }
    assert compiled_strings == translated, "run `make translations`"


@pytest.mark.parametrize(
    "locale, language",
    [("es", "es"), ("es-MX", "es"), ("es_AR", "es"), ("fr-CA", "fr"), ("de-AT", "de"),
     ("pt", "pt-BR"), ("pt-BR", "pt-BR"), ("pt_br", "pt-BR"), ("pt-PT", "pt-BR"),
     ("en-GB", "en"), ("ja", "en"), ("", "en"), (None, "en")],
)  # fmt: skip
def test_language_of(locale, language):
    assert language_of(locale) == language


def settings(**values) -> None:
    """The organisation's settings row with these values, read again on the next request."""
    row = db.session.get(OrganisationSettings, SETTINGS_ID) or OrganisationSettings(id=SETTINGS_ID)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()
    forget()


def test_a_locale_not_in_use_gets_the_organisations_default(app):
    settings(default_language="de", languages=["de", "es"])
    assert [language_of(locale) for locale in ("es-MX", "fr", "en", "ja")] == [
        "es", "de", "de", "de",
    ]  # fmt: skip


# (locale, <html lang>, question, button, a reason, the thanks).
PAGES = {
    "es": ("es-MX", "es", "¿Qué tan satisfecho estás con cómo gestionamos", "Enviar mi respuesta",
           "Tardó demasiado", "Gracias por contárnoslo"),
    "fr": ("fr-CA", "fr", "Quel est votre niveau de satisfaction concernant notre prise en",
           "Envoyer ma réponse", "Cela a pris trop de temps", "avoir dit"),
    "de": ("de-AT", "de", "Wie zufrieden sind Sie damit, wie wir", "Antwort senden",
           "Es hat zu lange gedauert", "Danke für Ihre Rückmeldung"),
    "pt-BR": ("pt", "pt-BR", "Qual é o seu nível de satisfação com a forma como tratamos",
              "Enviar minha resposta", "Demorou demais", "Obrigado por nos contar"),
    # A locale we have no catalog for, or none: the organisation's default language (German).
    "default": ("ja", "de", "Wie zufrieden sind Sie damit, wie wir", "Antwort senden",
                "Es hat zu lange gedauert", "Danke für Ihre Rückmeldung"),
    "none": (None, "de", "Wie zufrieden sind Sie damit, wie wir", "Antwort senden",
             "Es hat zu lange gedauert", "Danke für Ihre Rückmeldung"),
}  # fmt: skip


@pytest.mark.parametrize("case", PAGES)
def test_the_survey_speaks_the_customers_language(client, survey_case, case):
    locale, lang, question, button, reason, thanks = PAGES[case]
    if case in ("default", "none"):
        settings(default_language="de")
    set_locale(locale)
    page = client.get(f"/s/{survey_case['token']}?score=2").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="ltr">' in page
    assert question in page and button in page and reason in page
    answered = submit(client, survey_case["token"], "", score="2")
    assert answered.status_code == 303
    assert thanks in client.get(answered.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("translated", [False, True])
def test_a_message_goes_wholly_in_the_customers_language_or_wholly_in_english(
    app, client, seeded, translated
):
    """Its parts and its words (footer, greeting) alike: English when the template has no
    translation in the customer's language."""
    if not translated:
        for saved in db.session.scalars(sa.select(MessageTemplate)):
            saved.translations = {}
        db.session.commit()
    customer = {**CASE["customer"], "locale": "fr-CA"}
    close(client, seeded["auth"], {**CASE, "external_id": "FR-1", "customer": customer})
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    email, text = sent_messages(app)
    if translated:
        assert '<html lang="fr">' in email["html"] and "(dossier FR-1)" in email["text"]
        assert text["text"].startswith("Bonjour Ana, Acme Support :")
    else:
        assert email["subject"].startswith("Thanks for your patience")
        assert '<html lang="en">' in email["html"] and "(case FR-1)" in email["text"]
        assert "ossier" not in email["text"] + email["html"]
        assert text["text"].startswith("Hi Ana, how did Acme Support")


def test_a_customer_without_a_locale_gets_the_organisations_default(app, client, seeded):
    settings(default_language="de")
    customer = {key: value for key, value in CASE["customer"].items() if key != "locale"}
    close(client, seeded["auth"], {**CASE, "external_id": "DE-1", "customer": customer})
    assert db.session.scalar(sa.select(Customer.locale)) is None
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    email, text = sent_messages(app)
    assert email["subject"].startswith("Danke für Ihre Geduld")
    assert text["text"].startswith("Hallo Ana, wie hat Acme Support")


def test_a_recoverys_reasons_read_as_the_lead_translated_them(app):
    survey = Survey(
        reasons=[{"code": "slow", "label": "It took too long"},
                 {"code": "rude", "label": "Nobody listened"},
                 {"code": "own", "label": "Our own reason"}],
        translations={"fr": {"reasons": {"rude": "Personne n'a écouté", "gone": "?"}}},
    )  # fmt: skip
    recovery = {
        "feedback": {"reasons": ["It took too long", "Nobody listened", "Our own reason"]},
        "reason_translations": reason_translations(survey),
        "gesture": None,
    }
    # The lead's label, else the catalog's translation of a standard one, else as written.
    assert translated(recovery, "fr")["feedback"]["reasons"] == [
        "Cela a pris trop de temps", "Personne n'a écouté", "Our own reason",
    ]  # fmt: skip
    assert translated(recovery, "de")["feedback"]["reasons"][0] == "Es hat zu lange gedauert"


def test_an_error_page_renders_while_the_database_is_down(client, monkeypatch):
    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "get", down)
    page = client.get("/s/nope", headers={"Accept-Language": "fr"})
    assert page.status_code == 404  # in the browser's language, every one in use by default
    assert "Nous n&#39;avons pas trouvé cette enquête" in page.get_data(as_text=True)


def test_an_unknown_survey_link_speaks_the_browsers_language(client):
    page = client.get("/s/nope", headers={"Accept-Language": "pt-PT,pt;q=0.9"})
    assert page.status_code == 404
    assert "Não encontramos esta pesquisa" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "locale, what_went_wrong, start",
    [("es", "¿Qué salió mal?", "Responde START"),
     ("fr", "pas fonctionné ?", "Répondez START"),
     ("de", "Was ist schiefgelaufen?", "Antworten Sie START"),
     ("pt-BR", "O que deu errado?", "Responda START")],
)  # fmt: skip
def test_texts_back_speak_the_customers_language(client, checked_in, locale, what_went_wrong,
                                                  start):  # fmt: skip
    set_locale(locale)
    assert what_went_wrong in text_in(client, "1")
    assert start in text_in(client, "STOP")


def test_the_editors_show_the_languages_in_use_and_keep_the_others_text(as_lead, seeded):
    settings(languages=["en", "es"])
    csat = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    csat.translations = {"fr": {"question": "Votre avis ?"}, "es": {"question": "¿Tu opinión?"}}
    discount = db.session.scalar(sa.select(GestureType).where(GestureType.key == "discount-10"))
    db.session.commit()
    path = f"/admin/surveys/{csat.id}"
    fields = form_of(as_lead, path)
    assert "question_es" in fields and "question_fr" not in fields
    assert as_lead.post(path, data={**fields, "question_es": "cambiado"}).status_code == 303
    path = f"/admin/goodwill/{discount.id}"
    page = as_lead.get(path).get_data(as_text=True)
    assert 'name="offer_es"' in page and 'name="offer_fr"' not in page
    offer = {"name": "10% discount", "kind": "code", "offer": "10% off", "offer_es": "cambiado",
             "value": "0", "cost": "5", "currency": "USD", "low_codes": "10", "due_hours": "24",
             "csrf_token": csrf_token(as_lead, path)}  # fmt: skip
    assert as_lead.post(path, data=offer).status_code == 303
    db.session.expire_all()
    assert csat.translations == {"fr": {"question": "Votre avis ?"}, "es": {"question": "cambiado"}}
    assert discount.offer_translations["fr"] == "10 % de réduction sur votre prochaine commande"
    assert discount.offer_translations["es"] == "cambiado"
    # A hidden language's broken text is neither checked nor offered, and is kept.
    thank_you = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "thank_you")
    )
    thank_you.translations = {**thank_you.translations, "fr": {"sms_text": "{{ broken"}}
    db.session.commit()
    path = f"/admin/templates/{thank_you.id}"
    page = as_lead.get(path).get_data(as_text=True)
    assert 'name="fr_sms_text"' not in page and 'value="fr"' not in page
    assert 'value="es"' in page
    fields = form_of(as_lead, path)
    assert as_lead.post(path, data={**fields, "es_sms_text": "Hola"}).status_code == 303
    db.session.expire_all()
    assert thank_you.translations["fr"] == {"sms_text": "{{ broken"}
    assert thank_you.translations["es"]["sms_text"] == "Hola"


def test_a_console_user_picks_the_consoles_language(as_manager, users):
    page = as_manager.get("/admin/account").get_data(as_text=True)
    assert '<option lang="pt-BR" value="pt-BR">Português (Brasil)</option>' in page
    token = csrf_token(as_manager, "/admin/account")
    save = {"csrf_token": token, "kudos_delivery": "daily"}
    for bad in ("xx", "fr-FR", "<script>", "de\x00"):
        refused = as_manager.post("/admin/account/preferences", data={**save, "language": bad})
        assert refused.status_code == 422, bad
        assert "choose one of the languages listed" in refused.get_data(as_text=True)
    saved = as_manager.post("/admin/account/preferences", data={**save, "language": "de"})
    assert saved.status_code == 303
    assert db.session.get(User, users["manager"].id).language == "de"
    assert '<html lang="de" dir="ltr">' in as_manager.get("/admin/account").get_data(as_text=True)
    settings(languages=["en", "es"])  # French is not in use: refused
    refused = as_manager.post("/admin/account/preferences", data={**save, "language": "fr"})
    assert refused.status_code == 422
    browser = as_manager.post("/admin/account/preferences", data={**save, "language": ""})
    assert browser.status_code == 303
    assert db.session.get(User, users["manager"].id).language is None
