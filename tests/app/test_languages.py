"""English and Spanish: the catalogs are complete and compiled, and customers see pages and
texts back in their own language (English for any other)."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from followup.languages import language_of
from followup.paths import ROOT
from tests.support.answers import set_locale, submit, text_in

CATALOGS = ROOT / "followup" / "translations"


def test_the_spanish_catalog_covers_every_text_and_is_compiled(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F",
         CATALOGS / "babel.cfg", "-k", "_l", "-k", "translatable", "-o", pot, "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as extracted, (CATALOGS / "es/LC_MESSAGES/messages.po").open("rb") as po:
        wanted = {m.id for m in read_po(extracted) if m.id}
        translated = {m.id: m.string for m in read_po(po) if m.id and m.string and not m.fuzzy}
    assert wanted - set(translated) == set(), "run `make translations` and translate"
    with (CATALOGS / "es/LC_MESSAGES/messages.mo").open("rb") as compiled:
        mo = read_mo(compiled)
    assert {m.id: m.string for m in mo if m.id} == translated, "run `make translations`"


@pytest.mark.parametrize(
    "locale, language",
    [("es", "es"), ("es-MX", "es"), ("es_AR", "es"), ("fr-CA", "fr"), ("de-AT", "de"),
     ("pt", "pt-BR"), ("pt-BR", "pt-BR"), ("pt_br", "pt-BR"), ("pt-PT", "pt-BR"),
     ("en-GB", "en"), ("ja", "en"), ("", "en"), (None, "en")],
)  # fmt: skip
def test_language_of(locale, language):
    assert language_of(locale) == language


@pytest.mark.parametrize(
    "locale, language, heading, button",
    [
        ("es-MX", "es", "¿Qué tan satisfecho estás con cómo gestionamos", "Enviar mi respuesta"),
        ("fr", "en", "How satisfied are you with how we handled", "Send my answer"),
    ],
)
def test_the_survey_speaks_the_customers_language(
    client,
    survey_case,
    locale,
    language,
    heading,
    button,  # noqa: F811  (fixture)
):
    set_locale(locale)
    page = client.get(f"/s/{survey_case['token']}?score=2").get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    assert heading in page and button in page
    reason = "Tardó demasiado" if language == "es" else "It took too long"
    assert reason in page
    thanks = submit(client, survey_case["token"], "", score="2")
    assert thanks.status_code == 303
    done = client.get(thanks.headers["Location"]).get_data(as_text=True)
    assert ("Gracias por contárnoslo" if language == "es" else "Thank you for telling us") in done


def test_an_unknown_survey_link_speaks_the_browsers_language(client):
    page = client.get("/s/nope", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert page.status_code == 404
    assert "No encontramos esta encuesta" in page.get_data(as_text=True)


def test_texts_back_speak_the_customers_language(client, checked_in):
    set_locale("es")
    assert "¿Qué salió mal?" in text_in(client, "1")
    assert "Responde START" in text_in(client, "STOP")
