"""Small helpers of the HTML pages: the row a path names (or a 404), the headers of a personal
page, a query parameter as text, a paged list (its page number, its rows), and how a moment
reads on the console."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Response, abort, request

from followup.extensions import db
from followup.models.base import MAX_ID
from followup.web.forms import clean_text


def found(model, ident: int):
    """The row with this id, else a 404 (an id beyond the integer columns' range is simply
    not there)."""
    if ident > MAX_ID:
        abort(404)
    return db.get_or_404(model, ident)


def private_page(response: Response) -> Response:
    """Survey pages are personal: never cached, indexed, or leaked by the Referer header."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # same-origin, not no-referrer: Flask-WTF's strict CSRF check on HTTPS needs the Referer.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def query_text(name: str, limit: int) -> str:
    """A query parameter as text to search for or show: control characters (NUL ...)
    dropped, spaces trimmed, at most `limit` characters; "" when it is absent."""
    return (clean_text(request.args.get(name)) or "")[:limit]


def page_number(raw: str | None, pages: int) -> int:
    """The asked page, or the first when the value is not a page there is."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) < 10 and 1 <= int(raw) <= pages:
        return int(raw)
    return 1


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill (one, even empty)."""
    return max(1, -(-total // per_page))


@dataclass(frozen=True)
class Paged:
    rows: list
    page: int
    pages: int
    total: int


def paged(query: sa.Select, order_by: tuple, per_page: int, raw_page: str | None) -> Paged:
    """The asked page of a query's rows (ORM entities), in `order_by` order, with the count
    of rows and pages."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = page_count(total, per_page)
    page = page_number(raw_page, pages)
    rows = db.session.scalars(
        query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Paged(list(rows), page, pages, total)


def when(iso: str | datetime | None) -> str:
    if iso is None:
        return ""
    at = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return at.strftime("%Y-%m-%d %H:%M UTC")
