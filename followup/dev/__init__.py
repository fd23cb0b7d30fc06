"""The dev outbox page (/dev/outbox): a mailbox and a phone (texts and WhatsApp messages, a
content template with its variables) showing the messages the dev channel sent, newest first,
a page at a time. Registered only in the demo (FOLLOWUP_DEV_OUTBOX) while a channel has no
provider credentials."""

import re

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup, escape

from followup.channels.dev_outbox import read_outbox
from followup.models.customers import PHONE_CHANNELS
from followup.web.security_headers import shows_email_html

bp = Blueprint("dev", __name__, url_prefix="/dev")

URL = re.compile(r"https?://[^\s<>\"']+")
MAX_PAGE = 10_000  # far more than the bounded files hold


def linkify(text: str) -> Markup:
    """Escape text and turn its URLs into links."""
    parts, last = [], 0
    for match in URL.finditer(text):
        parts.append(escape(text[last : match.start()]))
        url = escape(match.group(0))
        parts.append(Markup(f'<a href="{url}">{url}</a>'))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@bp.get("/outbox")
def outbox():
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    found = read_outbox(current_app.config["DEV_OUTBOX_PATH"], page)
    if page > 1 and not found.messages:
        abort(404)
    shows_email_html()  # the emails' own HTML, in sandboxed frames, styles itself inline
    return render_template(
        "dev/outbox.html",
        page=page,
        has_older=found.has_older,
        emails=[m for m in found.messages if m["channel"] == "email"],
        texts=[m for m in found.messages if m["channel"] in PHONE_CHANNELS],
        linkify=linkify,
    )
