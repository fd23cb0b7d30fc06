"""Survey answers as customers give them: the survey link in a sent message, the survey page
filled in and submitted, an SMS reply signed as Twilio signs it; and what the answers made."""

import re

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from followup.answers import record_answer
from followup.extensions import db
from followup.models import Case, Customer, GestureType, Message, Recovery, Response, Survey
from followup.models.base import utcnow
from surveys.invitations import invitations_for
from tests.support.cases import CASE, sent_messages
from tests.support.console import csrf_token_in


def survey_token(app, to: str) -> str:
    """The survey token of the latest message sent to this address."""
    for message in reversed(sent_messages(app)):
        found = re.search(r"/s/([A-Za-z0-9_-]{20,})", message["text"])
        if message["to"] == to and found:
            return found.group(1)
    raise AssertionError(f"no survey link sent to {to}")


def answer_on_page(client, token: str, score: int, reasons=(), comment="", make_right=""):
    """Answer on the survey page as a customer would (its CSRF token included)."""
    page = client.get(f"/s/{token}")
    form = {
        "csrf_token": csrf_token_in(page.get_data(as_text=True)),
        "score": str(score),
        "reasons": list(reasons),
        "comment": comment,
        "make_right": make_right,
    }
    return client.post(f"/s/{token}", data=form)


def record_negative_answer(
    n: int, score=1, comment="", reasons=(), make_right="", priority="normal", tags=()
) -> Recovery:
    """A first negative answer (on the web) on a new closed case R-<n>, its invitation on a
    sent email, recorded and committed; returns the recovery it started. Needs the standard
    setup (the csat survey)."""
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    customer = Customer(name=f"Customer {n}", email=f"c{n}@example.com", tags=list(tags))
    case = Case(external_id=f"R-{n}", customer=customer, subject="Late parcel",
                agent_email="sam@example.com", priority=priority, status="closed",
                round=1)  # fmt: skip
    db.session.add(case)
    db.session.flush()
    sent = Message(case_id=case.id, customer_id=customer.id, round=1, channel="email",
                   recipient=customer.email, due_at=utcnow(), status="sent",
                   idempotency_key=f"sent-{n}")  # fmt: skip
    db.session.add(sent)
    db.session.flush()
    invitation = invitations_for([(sent, survey)], SURVEY_SECRET, utcnow(), 14)[sent.id]
    db.session.flush()
    db.session.expire(invitation)
    answers = {"make_right": make_right} if make_right else {}
    record_answer(invitation, score=score, comment=comment, reason_codes=list(reasons),
                  answers=answers, channel="web", now=utcnow())  # fmt: skip
    db.session.commit()
    return db.session.scalar(sa.select(Recovery).where(Recovery.case_id == case.id))


def gesture_type(key: str) -> GestureType:
    return db.session.scalar(sa.select(GestureType).where(GestureType.key == key))


SURVEY_SECRET = "test-secret"  # the test app's SECRET_KEY, which signs survey tokens
SURVEY_SUBJECT = "Refund <script>alert(1)</script> & more"


def checked_scores(html: str) -> list[str]:
    tags = re.findall(r'<input[^>]*name="score"[^>]*>', html)
    assert tags, "no score radios on the page"
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in tags if " checked" in tag]


def responses() -> list[Response]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Response)))


def submit(client, token: str, query: str = "", **fields):
    """Open the survey page (with a query string) and post these fields with its CSRF token."""
    page = client.get(f"/s/{token}{query}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token_in(page.get_data(as_text=True)), **fields}
    return client.post(f"/s/{token}", data=data)


TWILIO_TOKEN = "twilio-test-token"
PHONE = CASE["customer"]["phone"]


def post_signed(client, path: str, form: dict, token: str = TWILIO_TOKEN):
    """POST a form to a Twilio webhook, signed with this auth token."""
    url = "http://followup.test" + path  # PUBLIC_BASE_URL of the test app
    signature = RequestValidator(token).compute_signature(url, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


_sids = iter(range(10**6))


def text_in(client, body: str, phone: str = PHONE):
    """An SMS reply from this phone through the signed Twilio webhook: the TwiML answer."""
    form = {"From": phone, "To": "+15005550006", "Body": body, "MessageSid": f"SM{next(_sids)}"}
    reply = post_signed(client, "/webhooks/twilio/sms", form)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.mimetype == "application/xml"
    return reply.get_data(as_text=True)


def survey_page(client, token: str, query: str = "") -> str:
    """The survey page's HTML (it must answer 200)."""
    reply = client.get(f"/s/{token}{query}")
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def set_locale(locale: str | None) -> None:
    """Every customer's locale."""
    for customer in db.session.scalars(sa.select(Customer)):
        customer.locale = locale
    db.session.commit()
