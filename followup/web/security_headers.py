"""The security headers of every response: a Content-Security-Policy under which only the
app's own script and style files run (templates/ has no inline script, style or handler;
Chart.js styles its canvas through the CSSOM, which the policy allows), no framing by any
site, no content sniffing, referrers kept within the site (survey and unsubscribe URLs carry
their token), and HSTS when the service is reached over https.

A response that already has a Content-Security-Policy keeps it. A page that shows an email's
HTML in a srcdoc frame (which runs under the page's own policy) calls `shows_email_html()`:
emails style themselves inline and may show images from anywhere."""

from flask import Flask, current_app, g, request

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EMAIL_HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# A year; no includeSubDomains: other hosts of the operator's domain may not serve https.
HSTS = "max-age=31536000"


def shows_email_html() -> None:
    """This request's page embeds email HTML: its policy allows inline styles and https images
    (scripts stay the app's own)."""
    g.content_security_policy = EMAIL_HTML_POLICY


def served_over_https() -> bool:
    """The client reached us over https: the request says so (behind FOLLOWUP_TRUSTED_PROXIES,
    as X-Forwarded-Proto said), or the service's public address is https."""
    return request.is_secure or current_app.config["PUBLIC_BASE_URL"].startswith("https://")


def add_security_headers(response):
    headers = response.headers
    policy = g.pop("content_security_policy", POLICY)
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Not no-referrer: Flask-WTF checks that an https form post comes from this site.
    headers.setdefault("Referrer-Policy", "same-origin")
    if served_over_https():
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
