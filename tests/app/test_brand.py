"""The organisation's brand: its console page (admins only, checks at save, nothing saved on
bad input), the public logo and stylesheet, and the brand on a survey page and in the
default emails (escaped), with the sender name as the emails' From name."""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from followup.admin.organisation import OrganisationForm
from followup.brand import contrast_ratio, darker_passing, read_image
from followup.extensions import db
from followup.models import AuditEntry, Message, MessageTemplate, OrganisationSettings
from followup.models.base import utcnow
from followup.organisation import forget
from followup.rendering import render, sample_context
from followup.web.brand import page_brand
from tests.support.agents import agent_user
from tests.support.answers import answer_on_page
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token, sign_in
from tests.support.images import png, png_header

BRAND = {
    "accent_colour": "#0F5132",
    "sender_name": "Acme Care",
    "footer_address": "1 Main St <script>alert(1)</script>\r\nSpringfield",
    "privacy_url": "https://acme.example/privacy?a=1&b=2",
    "languages": ["en", "es"],
    "default_language": "es",
}


def save(client, logo: bytes | None = None, filename: str = "logo.png", **fields):
    data = {"csrf_token": csrf_token(client, "/admin/organisation"), **BRAND, **fields}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), filename, "image/png")
    return client.post("/admin/organisation", data=data, content_type="multipart/form-data")


def stored() -> OrganisationSettings | None:
    db.session.expire_all()
    forget()
    return db.session.get(OrganisationSettings, 1)


def test_the_contrast_rule_is_wcags():
    assert round(contrast_ratio("#000000"), 2) == 21.0
    assert round(contrast_ratio("#777777"), 2) == 4.48  # WCAG's well-known just-failing grey
    assert contrast_ratio(darker_passing("#7ab8ff")) >= 4.5 > contrast_ratio("#7ab8ff")
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    jpeg += b"\xff\xc0\x00\x11\x08\x00\x1e\x00\x50\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    assert read_image(jpeg).type == "image/jpeg"
    assert (read_image(jpeg).width, read_image(jpeg).height) == (80, 30)


def test_only_admins_reach_the_page(app, users):
    agent_user("agent@example.com", None)
    for email in ("lead@example.com", "manager@example.com", "agent@example.com"):
        client = app.test_client()
        sign_in(client, email)
        assert client.get("/admin/organisation").status_code == 403
        data = {**BRAND, "csrf_token": csrf_token(client, "/admin/account")}
        assert client.post("/admin/organisation", data=data).status_code == 403
    assert stored() is None


def test_an_admin_saves_the_brand_and_it_is_served(as_admin):
    logo = png(300, 100)
    response = save(as_admin, logo)
    assert response.status_code == 303
    settings = stored()
    assert (settings.accent_colour, settings.sender_name, settings.default_language) == (
        "#0f5132", "Acme Care", "es"
    )  # fmt: skip
    assert settings.footer_address == "1 Main St <script>alert(1)</script>\nSpringfield"
    assert (settings.logo, settings.logo_type) == (logo, "image/png")
    assert settings.languages == ["en", "es"]
    audit = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.entity == "organisation_settings")
    )
    assert audit.after["logo"] == f"image/png, {len(logo)} bytes"

    # The console reads the new default language (es) unless the browser asks for English.
    page = as_admin.get("/admin/organisation", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert 'value="Acme Care"' in page and "#0f5132 is 9." in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    version = re.search(r'src="/brand/logo\?v=(\d+)"', page).group(1)

    served = as_admin.get(f"/brand/logo?v={version}")
    assert (served.data, served.mimetype) == (logo, "image/png")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert as_admin.get("/brand/logo?v=1").headers["Cache-Control"] == "public, max-age=300"
    css = as_admin.get("/brand/style.css")
    assert css.mimetype == "text/css" and "--accent: #0f5132;" in css.get_data(as_text=True)

    assert save(as_admin, remove_logo="y").status_code == 303
    assert stored().logo is None
    assert as_admin.get("/brand/logo").status_code == 404


# A JPEG cut off inside its first segment, and one whose segment length is below 2.
JPEG_CUT_OFF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
JPEG_BAD_SEGMENT = b"\xff\xd8\xff\xe0\x00\x01" + b"\x00" * 64
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>'


@pytest.mark.parametrize(
    "logo, filename, fields, error",
    [
        (None, "", {"accent_colour": "#7ab8ff"}, "#7ab8ff has a contrast of 2.07:1"),
        (None, "", {"accent_colour": "blue"}, "six hexadecimal digits"),
        (SVG, "logo.png", {}, "SVG images are not accepted"),
        (b"GIF89a" + b"\x00" * 100, "logo.png", {}, "not a PNG or JPEG"),
        (png_header(10, 10) + b"\x00" * 210_000, "logo.png", {}, "up to 200 KB"),
        (png_header(2400, 300), "logo.png", {}, "2400 × 300 pixels"),
        (None, "", {"sender_name": "Acme\r\nBcc: all@example.com"}, "without line breaks"),
        (None, "", {"privacy_url": "javascript:alert(1)"}, "an http or https address"),
        (None, "", {"privacy_url": "https://acme.example@evil.example/"}, "an http or https"),
        (None, "", {"footer_address": "x" * 501}, "at most 500 characters"),
        (None, "", {"languages": ["en", "fr"], "default_language": "es"}, "must be one of"),
        # Hostile input: refused with the reason, never a 500.
        (JPEG_CUT_OFF, "logo.jpg", {}, "not a PNG or JPEG"),
        (JPEG_BAD_SEGMENT, "logo.jpg", {}, "not a PNG or JPEG"),
        (png_header(0, 0), "logo.png", {}, "0 × 0 pixels"),
        (None, "", {"languages": ["xx"], "default_language": "en"}, "not a valid choice"),
        (None, "", {"default_language": "xx"}, "Not a valid choice"),
        (None, "", {"sender_name": "A" * 101}, "at most 100 characters"),
        (None, "", {"privacy_url": "https://acme.example/" + "p" * 480}, "at most 500 characters"),
    ],
)
def test_bad_input_is_refused_with_the_input_kept_and_nothing_saved(
    as_admin, logo, filename, fields, error
):
    response = save(as_admin, logo, filename, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error in page.replace("&#39;", "'")
    assert 'value="Acme Care"' in page or "sender_name" in fields
    assert stored() is None


def test_control_characters_in_the_footer_address_are_dropped(as_admin):
    assert save(as_admin, footer_address="1 Main St\x00\x1b[31m\r\nSpringfield").status_code == 303
    assert stored().footer_address == "1 Main St[31m\nSpringfield"


def test_control_characters_in_the_sender_name_are_dropped_and_never_reach_a_header(as_admin):
    """Every text field drops control characters (followup.text.clean_text); the line breaks
    it keeps are what the sender name's rule refuses."""
    assert save(as_admin, sender_name="Acme\x00\x1b Care\x7f").status_code == 303
    assert stored().sender_name == "Acme Care"


def test_a_lone_surrogate_in_the_sender_name_is_refused(app, users):
    # HTTP cannot carry one (Werkzeug keeps a bad percent-escape as text and replaces bad
    # UTF-8), so the form is given it as a decoded value would be.
    fields = {**BRAND, "sender_name": "Acme \ud800"}
    with app.test_request_context(method="POST"):
        form = OrganisationForm(formdata=MultiDict(fields), meta={"csrf": False})
        assert not form.validate()
        assert form.sender_name.errors == [
            "Use one line of text, without line breaks or control characters."
        ]


def test_the_brand_on_a_survey_page_and_in_the_default_emails(app, as_admin, client, seeded):
    assert save(as_admin, png(300, 100)).status_code == 303
    close(client, seeded["auth"], {**CASE, "customer": {"name": "Ana", "email": "ana@example.com"}})
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))  # the thank-you and the check-in
    # They go out together, in either order: each is found by its message's step.
    by_step = {
        db.session.get_one(Message, sent["message_id"]).step.name: sent
        for sent in sent_messages(app)
    }
    thank_you, check_in = by_step["thank-you"], by_step["check-in"]
    assert thank_you["from_name"] == "Acme Care"
    html = check_in["html"]
    assert re.search(r'<img src="http://followup.test/brand/logo\?v=\d+" alt="Acme Support"', html)
    assert "background:#0f5132" in html
    assert 'href="https://acme.example/privacy?a=1&amp;b=2"' in html
    assert "1 Main St &lt;script&gt;alert(1)&lt;/script&gt;<br>Springfield" in html
    # The text part's footer: the address as written (plain text) and the privacy link.
    assert re.search(
        r"\n\n1 Main St <script>alert\(1\)</script>\nSpringfield\n.+: "
        r"https://acme.example/privacy\?a=1&b=2\n$", check_in["text"]
    )  # fmt: skip

    token = re.search(r"/s/([A-Za-z0-9_-]{20,})", check_in["text"]).group(1)
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert re.search(r'<img class="logo" src="/brand/logo\?v=\d+" alt="Acme Support"', page)
    assert re.search(r'<link rel="stylesheet" href="/brand/style.css\?v=\d+">', page)
    assert "1 Main St &lt;script&gt;alert(1)&lt;/script&gt;<br>Springfield" in page
    assert "<script>alert" not in page
    answer_on_page(client, token, 1)  # a recovery's apology is signed by the agent
    sweep_and_dispatch(at=utcnow() + timedelta(hours=26))
    assert sent_messages(app)[-1]["from_name"] == "Sam Rivera (Acme Care)"
    console = as_admin.get("/admin/").get_data(as_text=True)
    assert "/brand/" not in console and "Springfield" not in console


def test_a_stored_privacy_link_the_rule_refuses_is_never_shown(app, seeded):
    """A row written before the rule (or by hand): neither page nor email links to it."""
    db.session.add(OrganisationSettings(id=1, privacy_url="javascript:alert(1)"))
    db.session.commit()
    forget()
    template = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == "apology"))
    message = render(template, "email", sample_context("Acme"))
    assert "javascript" not in message.html + message.text
    assert message.text.endswith("/u/" + "U" * 43 + "\n")  # and no footer without a brand
    with app.test_request_context("/s/" + "T" * 43):
        assert page_brand()["privacy_url"] is None
