"""The dev outbox page (/dev/outbox): a mailbox and a phone showing every message the dev
channel sent. Registered only while a channel has no provider credentials."""

import re

from flask import Blueprint, current_app, render_template
from markupsafe import Markup, escape

from followup.channels.dev_outbox import read_outbox

bp = Blueprint("dev", __name__, url_prefix="/dev")

URL = re.compile(r"https?://[^\s<>\"']+")


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
    messages = read_outbox(current_app.config["DEV_OUTBOX_PATH"])
    return render_template(
        "dev/outbox.html",
        emails=[m for m in messages if m["channel"] == "email"],
        texts=[m for m in messages if m["channel"] == "sms"],
        linkify=linkify,
    )
