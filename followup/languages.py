"""The languages customers and the console see (pages, texts back, default messages):
English, Spanish, French, German and Portuguese (Brazil), those the organisation uses
(followup.organisation: empty = every one), chosen by the customer's locale when the page or
text is theirs, else the console user's setting, else the browser's, else the organisation's
default language. Product codes ("pt-BR") are stored; Babel and the catalogs in
followup/translations use locale names ("pt_BR"). `make translations` updates the catalogs."""

from contextlib import AbstractContextManager

from babel import Locale
from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import force_locale, get_locale
from flask_login import current_user

from followup.organisation import organisation

LANGUAGES = ("en", "es", "fr", "de", "pt-BR")
# The languages a lead may write beside English in the editors (those in use are shown).
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != "en")
# Locales of a language with one catalog: a Portuguese customer reads the Brazilian one.
SAME_LANGUAGE = {"pt": "pt-BR"}


def known_languages() -> tuple[str, ...]:
    """The languages this app has catalogs for: LANGUAGES, or the app's LANGUAGES setting
    (a test adds a right-to-left one with its own catalog)."""
    if has_app_context():
        return tuple(current_app.config.get("LANGUAGES", LANGUAGES))
    return LANGUAGES


def languages_in_use() -> tuple[str, ...]:
    """The organisation's languages (every known one when it chose none), its default among
    them, in the order of known_languages()."""
    if not has_app_context():
        return LANGUAGES
    settings = organisation()
    chosen = {*settings.languages, settings.default_language} if settings.languages else None
    return tuple(code for code in known_languages() if chosen is None or code in chosen)


def other_languages_in_use() -> tuple[str, ...]:
    """The languages in use the editors show beside English."""
    return tuple(language for language in languages_in_use() if language != "en")


def not_shown(translations: dict | None, shown: tuple[str, ...]) -> dict:
    """The stored translations of the languages an editor did not show (not in use now): an
    edit keeps them as they are."""
    return {
        language: text for language, text in (translations or {}).items() if language not in shown
    }


def default_language() -> str:
    """The organisation's language for a customer whose locale is not in use."""
    if not has_app_context():
        return "en"
    language = organisation().default_language
    return language if language in known_languages() else "en"


def language_name(language: str) -> str:
    """The language's name in the console's language (English outside a request), as the
    editors label its fields: "Portuguese (Brazil)", "portugais (Brésil)"."""
    return Locale.parse(babel_locale(language)).get_display_name(get_locale() or "en") or language


def native_name(language: str) -> str:
    """The language's name in itself, as a reader looks for it ("Português (Brasil)")."""
    name = Locale.parse(babel_locale(language)).get_display_name() or language
    return name[:1].upper() + name[1:]


def babel_locale(language: str) -> str:
    """The Babel locale (catalog directory) of a product code: pt-BR -> pt_BR."""
    return language.replace("-", "_")


def in_language(language: str) -> AbstractContextManager[None]:
    """Flask-Babel's force_locale for a product code: gettext speaks that language within."""
    return force_locale(babel_locale(language))


def product_code(locale: str) -> str:
    """The product code of a Babel locale: pt_BR -> pt-BR."""
    return locale.replace("_", "-")


def _candidates(locale: str | None) -> tuple[str, tuple[str | None, ...]]:
    """A locale's primary subtag, and the product codes it may be, best first."""
    parts = (locale or "").strip().replace("_", "-").split("-")
    primary = parts[0].lower()
    exact = "-".join([primary, *(part.upper() for part in parts[1:2])])
    return primary, (exact, primary, SAME_LANGUAGE.get(primary))


def language_of(locale: str | None) -> str:
    """The language in use for a customer's locale: es-MX -> es, fr-CA -> fr, pt / pt-PT /
    pt_BR -> pt-BR; the organisation's default language when there is none, we lack it or it
    is not in use."""
    in_use = languages_in_use()
    for candidate in _candidates(locale)[1]:
        if candidate in in_use:
            return candidate
    return default_language()


def spoken_language(locale: str | None) -> str:
    """The language a locale names, whatever the organisation's settings (the themes' label
    of what a customer wrote in): the product code we have a catalog for (es-MX -> es,
    pt-PT -> pt-BR), else its primary subtag as written (it, ja), "" when there is none."""
    primary, candidates = _candidates(locale)
    known = known_languages()
    return next((candidate for candidate in candidates if candidate in known), primary)


def select_locale() -> str:
    """Flask-Babel's locale: the customer's (a survey or unsubscribe page sets
    g.customer_locale, None for a customer without one: the organisation's default), else
    the signed-in console user's language, else the browser's best match among the languages
    in use, else the organisation's default."""
    if "customer_locale" in g:  # a customer without a locale reads the default language
        return babel_locale(language_of(g.customer_locale))
    if has_request_context():
        user_language = getattr(current_user, "language", None)
        if user_language in known_languages():
            return babel_locale(user_language)
        in_use = languages_in_use()
        # Browsers say "pt" or "pt-PT" for Portuguese: offer the primary tag too.
        offered = [*in_use, *(code.split("-")[0] for code in in_use if "-" in code)]
        if best := request.accept_languages.best_match(offered):
            return babel_locale(language_of(best))
    return babel_locale(default_language())


def page_language() -> str:
    """The page's language for <html lang>, in BCP 47 form ("pt-BR")."""
    return product_code(str(get_locale() or "en"))


def page_direction() -> str:
    """The page's direction for <html dir>: "rtl" for a right-to-left language."""
    locale = get_locale()
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def translatable(text: str) -> str:
    """Marks text that is stored in English (the default survey's question and reasons) for
    the catalogs; the pages translate it where they show it."""
    return text
