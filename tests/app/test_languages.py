"""Customers' languages (English, Spanish, French, German, Portuguese (Brazil)): the catalogs
are complete and compiled, customers see pages and texts back in their own language (the
organisation's default for any other), the editors show the languages in use without losing
the others' text, and a console user picks the console's language."""

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from followup.extensions import db
from followup.languages import language_of
from followup.models import GestureType, OrganisationSettings, Survey, User
from followup.organisation import SETTINGS_ID, forget
from followup.paths import ROOT
from tests.support.answers import set_locale, submit, text_in
from tests.support.console import csrf_token, form_of

CATALOGS = ROOT / "followup" / "translations"


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


@pytest.mark.parametrize("catalog", ["es", "fr", "de", "pt_BR"])
def test_the_catalog_covers_every_text_and_is_compiled(extracted, catalog):
    with (CATALOGS / catalog / "LC_MESSAGES/messages.po").open("rb") as po:
        translated = {m.id: m.string for m in read_po(po) if m.id and m.string and not m.fuzzy}
    assert extracted - set(translated) == set(), "run `make translations` and translate"
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
    # A locale we have no catalog for: the organisation's default language (German here).
    "default": ("ja", "de", "Wie zufrieden sind Sie damit, wie wir", "Antwort senden",
                "Es hat zu lange gedauert", "Danke für Ihre Rückmeldung"),
}  # fmt: skip


@pytest.mark.parametrize("case", PAGES)
def test_the_survey_speaks_the_customers_language(client, survey_case, case):
    locale, lang, question, button, reason, thanks = PAGES[case]
    if case == "default":
        settings(default_language="de")
    set_locale(locale)
    page = client.get(f"/s/{survey_case['token']}?score=2").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="ltr">' in page
    assert question in page and button in page and reason in page
    answered = submit(client, survey_case["token"], "", score="2")
    assert answered.status_code == 303
    assert thanks in client.get(answered.headers["Location"]).get_data(as_text=True)


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
