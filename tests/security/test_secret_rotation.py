"""Rotating SECRET_KEY: a message rendered again (a retried send) carries the survey and
unsubscribe links it was first sent with while the old key is in SECRET_KEY_FALLBACKS, and a
link the given keys cannot make again gets a new token that opens the page (never a dead one).
Sessions signed with a fallback key still read (Flask's SECRET_KEY_FALLBACKS)."""

import re

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Message
from followup.outbox_render import render_all
from surveys.invitations import find_invitation
from tests.support.answers import survey_token
from tests.support.cases import CASE, close, later, sweep_and_dispatch
from tests.support.console import sign_in

OLD = "test-secret"  # the test app's SECRET_KEY


def check_in(app, client, seeded) -> tuple[Message, str]:
    """The case closed, its check-in text sent: the message and its survey token."""
    assert close(client, seeded["auth"], CASE).status_code == 202
    sweep_and_dispatch(later(hours=25))
    text = db.session.scalar(sa.select(Message).where(Message.channel == "sms"))
    return text, survey_token(app, CASE["customer"]["phone"])


def token_when_rendered_again(message: Message) -> str:
    [out] = render_all([message], later(hours=25))
    return re.search(r"/s/([A-Za-z0-9_-]{20,})", out.text).group(1)


def test_a_message_sent_again_keeps_its_link_while_the_old_key_is_a_fallback(app, client, seeded):
    message, sent = check_in(app, client, seeded)
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[OLD])
    assert token_when_rendered_again(message) == sent
    assert client.get(f"/s/{sent}").status_code == 200


def test_without_the_old_key_a_message_sent_again_gets_a_link_that_opens(app, client, seeded):
    message, sent = check_in(app, client, seeded)
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[])
    again = token_when_rendered_again(message)
    db.session.commit()
    assert again != sent
    assert find_invitation(sent) is None
    assert client.get(f"/s/{again}").status_code == 200
    assert token_when_rendered_again(message) == again  # stable from then on


def test_a_session_signed_with_a_fallback_key_still_reads(app, client, users):
    assert sign_in(client, "lead@example.com").status_code == 303
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[OLD])
    assert client.get("/admin/recoveries").status_code == 200
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get("/admin/recoveries").status_code == 302  # signed out
