"""Email unsubscribe: the link and RFC 8058 headers in every email, and the /u/<token> page
(a GET never unsubscribes; the page's form or a one-click POST does, once)."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import CaseEvent, Message, Suppression, UnsubscribeLink
from followup.models.base import utcnow
from surveys.unsubscribe_links import unsubscribe_links_for
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token_in

EMAIL_ONLY = {
    "external_id": "U-1",
    "subject": "Late parcel",
    "customer": {"name": "Ana Lima", "email": "ana@example.com"},
}
LINK = re.compile(r"http://followup\.test/u/([A-Za-z0-9_-]{43})")


@pytest.fixture
def token(app, client, seeded) -> str:
    """The thank-you sent to an email-only customer; check-in and reminder still planned."""
    close(client, seeded["auth"], EMAIL_ONLY)
    sweep_and_dispatch()
    [thank_you] = sent_messages(app)
    return LINK.search(thank_you["text"]).group(1)


def suppressions() -> list[tuple[str, str, str, str]]:
    rows = db.session.execute(
        sa.select(Suppression.channel, Suppression.address, Suppression.reason, Suppression.detail)
    )
    return [tuple(row) for row in rows]


def unsubscribed_events() -> list[dict]:
    return list(
        db.session.scalars(
            sa.select(CaseEvent.detail).where(CaseEvent.kind == "customer.unsubscribed")
        )
    )


# The link in every email


def test_every_email_carries_the_link_and_one_click_headers_and_texts_do_not(app, client, seeded):
    close(client, seeded["auth"], CASE)
    sweep_and_dispatch(at=utcnow() + timedelta(hours=80))  # thank-you, check-in (SMS), reminder
    emails = [m for m in sent_messages(app) if m["channel"] == "email"]
    [text] = [m for m in sent_messages(app) if m["channel"] == "sms"]
    assert len(emails) == 2 and text["headers"] == {}
    tokens = set()
    for email in emails:
        url = LINK.search(email["text"]).group(0)
        assert email["headers"] == {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        assert f'<a href="{url}"' in email["html"]
        assert email["text"].endswith(f"Unsubscribe from these emails: {url}\n")
        tokens.add(url)
    assert len(tokens) == 2  # one link per email


def test_a_resent_email_keeps_its_link(app, token):
    message = db.session.scalar(sa.select(Message).where(Message.status == "sent"))
    [link] = db.session.scalars(sa.select(UnsubscribeLink))
    again = unsubscribe_links_for([message], "test-secret", utcnow())
    assert again[message.id].nonce == link.nonce
    assert db.session.scalar(sa.select(sa.func.count(UnsubscribeLink.id))) == 1
    assert link.expires_at - link.created_at == timedelta(days=365)
    assert token not in link.token_hash  # only a hash is stored


# The page


def test_opening_the_link_only_asks(client, token):
    page = client.get(f"/u/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Unsubscribe from our emails?" in html and "ana@example.com" in html
    assert '<button type="submit" class="button">Unsubscribe</button>' in html
    assert page.headers["Cache-Control"] == "no-store"
    assert suppressions() == []


def test_the_button_unsubscribes_once_and_suppresses_what_is_planned(client, token):
    data = {"csrf_token": csrf_token_in(client.get(f"/u/{token}").get_data(as_text=True))}
    done = client.post(f"/u/{token}", data=data)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.get_data(as_text=True)
    assert suppressions() == [
        ("email", "ana@example.com", "unsubscribe", "unsubscribe link (page)")
    ]
    pending = db.session.scalars(sa.select(Message.status).where(Message.status != "sent")).all()
    assert pending == ["suppressed", "suppressed"]
    assert unsubscribed_events() == [
        {"channel": "email", "address": "ana@example.com", "via": "page"}
    ]

    again = client.post(f"/u/{token}", data=data)
    assert again.status_code == 200 and "You are unsubscribed" in again.get_data(as_text=True)
    assert len(suppressions()) == 1 and len(unsubscribed_events()) == 1


def test_a_one_click_post_from_a_mail_provider_needs_no_csrf_token(client, token):
    done = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert suppressions() == [
        ("email", "ana@example.com", "unsubscribe", "unsubscribe link (one-click)")
    ]
    multipart = client.post(
        f"/u/{token}", data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
    )
    assert multipart.status_code == 200 and len(suppressions()) == 1


@pytest.mark.parametrize(
    "body",
    [
        "",
        "List-Unsubscribe=Yes",
        "List-Unsubscribe=One-Click&List-Unsubscribe=One-Click",
        "List-Unsubscribe=One-Click&csrf_token=forged",
        "csrf_token=forged",
    ],
)
def test_any_other_post_without_a_valid_csrf_token_unsubscribes_nobody(client, token, body):
    answer = client.post(f"/u/{token}", data=body, content_type="application/x-www-form-urlencoded")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "this page has expired" in html and "Unsubscribe</button>" in html
    assert suppressions() == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_or_tampered_token_is_a_404_page(client, token, method):
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", "y" * 500):
        answer = getattr(client, method)(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 404
        assert "find this link" in answer.get_data(as_text=True)
    assert suppressions() == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_is_a_410_page(client, token, method):
    db.session.execute(sa.update(UnsubscribeLink).values(expires_at=utcnow() - timedelta(1)))
    db.session.commit()
    answer = getattr(client, method)(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 410
    assert "This link has expired" in answer.get_data(as_text=True)
    assert suppressions() == []
