"""Small helpers of the HTML pages: the headers of a personal page, the page number of a
paged list, and how a moment reads on the console."""

from datetime import datetime

from flask import Response


def private_page(response: Response) -> Response:
    """Survey pages are personal: never cached, indexed, or leaked by the Referer header."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # same-origin, not no-referrer: Flask-WTF's strict CSRF check on HTTPS needs the Referer.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def page_number(raw: str | None, pages: int) -> int:
    """The asked page, or the first when the value is not a page there is."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) < 10 and 1 <= int(raw) <= pages:
        return int(raw)
    return 1


def when(iso: str | datetime | None) -> str:
    if iso is None:
        return ""
    at = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return at.strftime("%Y-%m-%d %H:%M UTC")
