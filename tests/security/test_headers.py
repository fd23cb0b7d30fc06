"""Security headers on every kind of response: a Content-Security-Policy that runs only the
app's own scripts and styles and lets no site frame a page (the survey page included), nosniff,
a referrer policy that keeps token URLs on the site, and HSTS only when the service is reached
over https (directly, behind a trusted proxy, or by its public address); no inline script or
style left in the templates that would break under the policy."""

import re
from pathlib import Path

import pytest
from flask import Response

from followup.models import MessageTemplate
from followup.web.security_headers import EMAIL_HTML_POLICY, HSTS, POLICY
from tests.support.apps import other_app
from tests.support.console import sign_in
from tests.support.links import link_tokens

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def assert_protected(response: Response) -> None:
    headers = response.headers
    policy = directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # http://followup.test


@pytest.fixture
def tokens(client, seeded):
    return link_tokens(client, seeded["auth"])


def test_public_pages(client, seeded, tokens):
    survey = client.get(f"/s/{tokens['survey']}")
    unsubscribe = client.get(f"/u/{tokens['unsubscribe']}")
    for page in (survey, unsubscribe):
        assert page.status_code == 200
        assert_protected(page)
        assert page.headers["Content-Security-Policy"] == POLICY


def test_console_dashboard_sign_in_and_static_files(client, users):
    assert_protected(client.get("/admin/sign-in"))
    assert sign_in(client, "manager@example.com").status_code == 303
    for path in ("/admin/", "/dashboard/", "/static/dashboard.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_protected(response)
        assert response.headers["Content-Security-Policy"] == POLICY
        response.close()  # the static file's


def test_api_json_and_errors(client, seeded):
    assert_protected(client.get("/api/v1/cases/NOPE", headers=seeded["auth"]))
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 200 and api.is_json
    assert_protected(api)
    for path in ("/no-such-page", "/s/no-such-token", "/api/v1/no-such-thing"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert_protected(missing)


def test_the_template_editor_allows_the_email_preview_its_inline_styles(client, users, seeded):
    """The preview's srcdoc frame runs under the page's policy: emails style themselves
    inline; scripts and framing stay as strict as elsewhere."""
    template = MessageTemplate.query.filter_by(key="thank_you").first()
    assert sign_in(client, "lead@example.com").status_code == 303
    editor = client.get(f"/admin/templates/{template.id}")
    assert editor.status_code == 200
    assert editor.headers["Content-Security-Policy"] == EMAIL_HTML_POLICY
    assert_protected(editor)
    assert directives(EMAIL_HTML_POLICY)["style-src"] == "'self' 'unsafe-inline'"
    # The next page is back under the strict policy.
    assert client.get("/admin/").headers["Content-Security-Policy"] == POLICY


def test_a_view_that_sets_its_own_policy_keeps_it(app, client):
    own = "default-src 'none'; frame-ancestors 'none'"
    app.add_url_rule("/own-policy", "own_policy", lambda: ("", {"Content-Security-Policy": own}))
    assert client.get("/own-policy").headers["Content-Security-Policy"] == own


# HSTS


def test_hsts_when_the_request_came_over_https(client, seeded):
    response = client.get("/no-such-page", base_url="https://followup.test")
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_hsts_when_the_public_address_is_https(app, client, tokens):
    app.config["PUBLIC_BASE_URL"] = "https://followup.example"
    response = client.get(f"/s/{tokens['survey']}")
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_hsts_behind_a_trusted_proxy_only(app_config, client, seeded):
    """X-Forwarded-Proto counts only from FOLLOWUP_TRUSTED_PROXIES: a client cannot ask for it
    on a plain-http deployment."""
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = client.get("/no-such-page", headers=forwarded)
    assert "Strict-Transport-Security" not in untrusted.headers
    with other_app(app_config, TRUSTED_PROXIES=1) as proxied:  # its error page reads the db
        trusted = proxied.test_client().get(
            "/no-such-page", headers={**forwarded, "X-Forwarded-For": "10.0.0.9"}
        )
    assert trusted.headers["Strict-Transport-Security"] == HSTS


# What the policy would block


INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"""\sstyle\s*=""", re.I),
    "event handler": re.compile(r"""\son[a-z]+\s*=\s*["'{]""", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_page_template_has_inline_script_or_style():
    """Every page template (emails are not pages: they are sent, not served)."""
    pages = [p for p in TEMPLATES.rglob("*.html") if "email" not in p.relative_to(TEMPLATES).parts]
    assert len(pages) > 20
    found = [
        f"{page.relative_to(TEMPLATES)}: {kind}"
        for page in pages
        for kind, pattern in INLINE.items()
        if pattern.search(page.read_text())
    ]
    assert found == []
