"""A right-to-left language in a real browser: with an Arabic catalog of a few strings (made
here, never shipped) and "ar" among the app's languages, an Arabic customer's survey page is
dir=rtl, asks in Arabic, lays the score scale out mirrored, and fits a phone's width."""

from datetime import timedelta

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from followup.languages import LANGUAGES
from followup.models.base import utcnow
from followup.paths import ROOT
from tests.support.answers import survey_token
from tests.support.apps import app_for_test
from tests.support.cases import close, deliver_due_messages

pytestmark = pytest.mark.browser

ARABIC = {
    "How satisfied are you with how we handled {subject}?":
        "ما مدى رضاك عن طريقة تعاملنا مع {subject}؟",
    "Very dissatisfied": "غير راضٍ إطلاقًا",
    "Very satisfied": "راضٍ جدًا",
    "Send my answer": "أرسل إجابتي",
}  # fmt: skip


def arabic_catalogs(directory) -> str:
    """A catalog directory with ar/LC_MESSAGES/messages.po of ARABIC, compiled."""
    catalog = Catalog(locale="ar")
    for english, arabic in ARABIC.items():
        catalog.add(english, arabic)
    folder = directory / "ar" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as po:
        write_po(po, catalog)
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, read_po(po, locale="ar"))
    return str(directory)


@pytest.fixture
def app(app_config, _schema, tmp_path):
    """The test app, with Arabic among its languages and its catalog beside ours."""
    catalogs = f"{ROOT / 'followup' / 'translations'};{arabic_catalogs(tmp_path / 'catalogs')}"
    config = {**app_config, "LANGUAGES": (*LANGUAGES, "ar"),
              "BABEL_TRANSLATION_DIRECTORIES": catalogs}  # fmt: skip
    with app_for_test(config, tmp_path / "dev-outbox.jsonl") as app:
        yield app


def test_an_arabic_survey_page_is_right_to_left(app, client, seeded, live_server, page):
    customer = {"name": "Layla Haddad", "email": "layla@example.com", "locale": "ar-EG"}
    body = {"external_id": "AR-1", "subject": "Late parcel", "customer": customer}
    assert close(client, seeded["auth"], body).status_code == 202
    deliver_due_messages(utcnow() + timedelta(hours=25))  # the thank-you and the check-in
    page.goto(f"{live_server}/s/{survey_token(app, 'layla@example.com')}")

    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert page.locator("h1").inner_text().startswith("ما مدى رضاك عن طريقة تعاملنا مع")
    assert page.get_by_role("button", name="أرسل إجابتي").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways on a phone"
    lowest = page.locator(".scale-option label").first  # a row: its number, then its words
    number, words = lowest.locator(".scale-number"), lowest.locator(".scale-label")
    assert words.inner_text() == "غير راضٍ إطلاقًا"
    assert number.bounding_box()["x"] > words.bounding_box()["x"], "the number starts the row"

    page.set_viewport_size({"width": 1024, "height": 800})  # the scale in one row
    options = page.locator(".scale-option label")
    first, last = options.first.bounding_box(), options.last.bounding_box()
    assert first["y"] == last["y"] and first["x"] > last["x"], "1 is on the right, 5 on the left"
