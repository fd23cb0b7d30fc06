"""The languages customers see (pages, texts back, default messages): English and Spanish,
by the customer's locale when the page or text is theirs, else the browser's, else English.
Catalogs live in followup/translations (`make translations` updates them)."""

from babel import Locale
from flask import g, has_request_context, request
from flask_babel import get_locale

LANGUAGES = ("en", "es")
# The languages a lead writes beside English in the editors.
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != "en")


def language_name(language: str) -> str:
    """The language's name in English, as the editors label its fields ("Spanish")."""
    return Locale.parse(language).get_display_name("en") or language


def language_of(locale: str | None) -> str:
    """ "es" for es, es-MX, es_AR ...; English for anything we have no catalog for."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LANGUAGES else "en"


def select_locale() -> str:
    """Flask-Babel's locale: the customer's (a survey or unsubscribe page sets
    g.customer_locale), else the browser's best match."""
    if g.get("customer_locale"):
        return language_of(g.customer_locale)
    if has_request_context():
        return request.accept_languages.best_match(LANGUAGES) or "en"
    return "en"


def page_language() -> str:
    """The page's language for <html lang>."""
    return str(get_locale() or "en")


def translatable(text: str) -> str:
    """Marks text that is stored in English (the default survey's question and reasons) for
    the catalogs; the pages translate it where they show it."""
    return text
