"""The hostile-input sweep of every public route (no console sign-in): the survey pages
(/s/<token>, /s/<token>/thanks), the unsubscribe page (/u/<token>), the Twilio, SendGrid and
helpdesk webhooks, the probes and the sign-in form, each fed the shared corpus
(tests.support.hostile). The JSON API has its own schema fuzz (tests/app/test_api_fuzz.py).

Bad input gets a clear 4xx with a page or JSON message, never a 5xx; what a page shows back is
escaped; a refused request stores nothing; the answer recorded before the sweep is still
there after each request. Signatures and keys are valid where the input must reach the
parser. The app and its data are made once for the module, so the thousand-odd requests
take seconds.
"""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from followup.answers import record_answer
from followup.api_keys import create_api_key
from followup.extensions import db
from followup.models import (
    Case,
    CaseEvent,
    Customer,
    Message,
    ProviderEvent,
    Response,
    Suppression,
    Survey,
    SurveyInvitation,
    User,
)
from followup.models.base import utcnow
from followup.models.surveys import SmsState
from followup.models.users import ApiScope
from followup.setup import ensure_standard_setup
from followup.web.forms import clean_text
from surveys.invitations import invitations_for
from surveys.tokens import token_for
from surveys.unsubscribe_links import unsubscribe_links_for
from tests.support.answers import SURVEY_SECRET, TWILIO_TOKEN
from tests.support.console import PASSWORD, csrf_token_in, password_hash
from tests.support.hostile import (
    FORM,
    LONG_100K,
    MARKUP,
    NUMBERS,
    PATH_SEGMENTS,
    STRINGS,
    WRONG_TYPES,
    deep_json,
    deep_object,
    duplicate_keys,
    form_body,
    just_over,
)
from tests.support.signing import post_sendgrid, post_twilio, sendgrid_public_key

PHONE = "+14155550123"
SUBJECT = 'Kettle <script>alert(1)</script> "><img src=x onerror=alert(1)>'
SMS_SID = "SM" + "a" * 32
REFUSALS = (400, 403, 404, 405, 409, 410, 413, 422)


def _message(case: Case, channel: str, recipient: str, key: str, **fields) -> Message:
    message = Message(case_id=case.id, customer_id=case.customer_id, round=1, channel=channel,
                      recipient=recipient, due_at=utcnow(), status="sent", idempotency_key=key,
                      **fields)  # fmt: skip
    db.session.add(message)
    db.session.flush()
    return message


@pytest.fixture(scope="module")
def world(module_app):
    """One closed case with HTML in its subject: a web survey answered before the sweep (kept,
    never swept), one the sweep answers (target), a texted survey, two unsubscribe links
    (one only ever refused), an API key, Twilio and SendGrid keys."""
    app = module_app
    app.config["TWILIO_AUTH_TOKEN"] = TWILIO_TOKEN
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = sendgrid_public_key(sendgrid_key)
    ensure_standard_setup()
    _, api_key = create_api_key("hostile sweep", ApiScope.INTAKE)
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    survey.questions = [
        {"key": "rebuy", "kind": "single", "label": "Would you buy from us again?",
         "options": ["Yes", "No"], "required": False},
        {"key": "channels", "kind": "multiple", "label": "How did you contact us?",
         "options": ["Email", "Chat"], "required": False},
        {"key": "ideas", "kind": "text", "label": "Any ideas?", "options": [], "required": False},
    ]  # fmt: skip
    customer = Customer(name="Ana Lima", email="ana@example.com", phone=PHONE)
    case = Case(external_id="H-1", customer=customer, subject=SUBJECT, status="closed", round=1)
    db.session.add(case)
    db.session.flush()
    now = utcnow()
    kept, target = (_message(case, "email", customer.email, key) for key in ("kept", "target"))
    sms = _message(case, "sms", PHONE, "sms", provider_id=SMS_SID)
    emails = ("refused", "accepted", "events", "old")
    refused, accepted, events, old = (
        _message(case, "email", f"{key}@example.com", key) for key in emails
    )
    pairs = [(kept, survey), (target, survey), (sms, survey)]
    invitations = invitations_for(pairs, SURVEY_SECRET, now, 14)
    invitations |= invitations_for([(old, survey)], SURVEY_SECRET, now - timedelta(days=15), 14)
    links = unsubscribe_links_for([refused, accepted], SURVEY_SECRET, now)
    links |= unsubscribe_links_for([old], SURVEY_SECRET, now - timedelta(days=400))
    db.session.flush()
    record_answer(invitations[kept.id], score=4, comment="Kept: quick and kind",
                  reason_codes=[], answers={"make_right": "nothing"}, channel="web",
                  now=now)  # fmt: skip
    db.session.commit()
    return {
        "app": app,
        "auth": {"Authorization": f"Bearer {api_key}"},
        "sendgrid_key": sendgrid_key,
        "kept": invitations[kept.id].id,
        "kept_answer": answer_of(invitations[kept.id].id),
        "target": invitations[target.id].id,
        "target_token": token_for(SURVEY_SECRET, invitations[target.id].nonce),
        "sms_message": sms.id,
        "sms_invitation": invitations[sms.id].id,
        "email_message": events.id,
        "refused_link": token_for(SURVEY_SECRET, links[refused.id].nonce),
        "accepted_link": token_for(SURVEY_SECRET, links[accepted.id].nonce),
        "expired_survey": token_for(SURVEY_SECRET, invitations[old.id].nonce),
        "expired_link": token_for(SURVEY_SECRET, links[old.id].nonce),
    }


@pytest.fixture
def client(world):
    """A fresh test client of the module's app (its own cookies)."""
    return world["app"].test_client()


def answer_of(invitation_id: int) -> tuple | None:
    db.session.expire_all()
    answer = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation_id))
    if answer is None:
        return None
    return (answer.score, answer.comment, answer.reason_codes, answer.answers, answer.updated_at)


def suppressed(address: str) -> bool:
    db.session.expire_all()
    return (
        db.session.scalar(sa.select(Suppression.id).where(Suppression.address == address))
        is not None
    )


def stored() -> tuple[int, ...]:
    """How many cases, timeline events, handled provider events, answers, suppressions and
    messages there are."""
    db.session.expire_all()
    tables = (Case, CaseEvent, ProviderEvent, Response, Suppression, Message)
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables)


def explained(response, statuses=REFUSALS, before: tuple | None = None) -> None:
    """The answer is one of these statuses with a message a person or a program can read;
    a refusal stored nothing (when `before`, what stored() said before, is given)."""
    text = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, text[:500])
    if response.status_code >= 400:
        if response.is_json:
            assert response.json.get("message"), response.json
        else:
            assert response.mimetype == "text/html" and "<h1>" in text, text[:500]
        if before is not None:
            assert stored() == before, "a refused request stored something"


@pytest.fixture(autouse=True)
def _kept_answer_survives(world):
    yield
    assert answer_of(world["kept"]) == world["kept_answer"], "the answer recorded before is gone"


# Tokens in the URL: survey and unsubscribe pages


@pytest.mark.parametrize("segment", PATH_SEGMENTS.values(), ids=PATH_SEGMENTS.keys())
def test_hostile_tokens_find_no_page(client, segment):
    before = stored()
    for method, path in (
        ("get", f"/s/{segment}"),
        ("get", f"/s/{segment}/thanks"),
        ("post", f"/s/{segment}"),
        ("get", f"/u/{segment}"),
        ("post", f"/u/{segment}"),
    ):
        response = getattr(client, method)(path, data={"score": "1"} if method == "post" else None)
        explained(response, (404,), before)
        assert "alert(1)" not in response.get_data(as_text=True)


ODD_HEADERS = {
    "accept_language": {"Accept-Language": "zz-ZZZZZZZZZ;q=abc, *;q=1e309, \u00e9;q=-1, " * 50},
    "session_cookie": {"Cookie": "session=" + "A" * 4000 + "; session=.eJx.broken"},
    "content_length": {"Content-Length": "-1"},
    "forwarded": {"X-Forwarded-For": "127.0.0.1, ::1, " * 200, "X-Forwarded-Host": "evil.test"},
}


@pytest.mark.parametrize("headers", ODD_HEADERS.values(), ids=ODD_HEADERS.keys())
def test_odd_headers_on_the_public_pages(client, world, headers):
    for path in (f"/s/{world['target_token']}", f"/u/{world['refused_link']}", "/healthz"):
        response = client.get(path, headers=headers)
        explained(response, (200, 400))
        assert "evil.test" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_a_405_with_a_message(client, world, method):
    paths = [f"/s/{world['target_token']}", f"/u/{world['refused_link']}", "/webhooks/zendesk",
             "/webhooks/twilio/sms", "/webhooks/sendgrid/events", "/healthz"]  # fmt: skip
    for path in paths:
        before = stored()
        explained(getattr(client, method)(path, data=b"x"), (405,), before)


def test_expired_links_are_a_410_whatever_is_sent(client, world):
    survey, link = world["expired_survey"], world["expired_link"]
    before = stored()
    for method, path, body in (
        ("get", f"/s/{survey}", None),
        ("get", f"/s/{survey}/thanks", None),
        ("post", f"/s/{survey}", form_body({"score": "1", "comment": STRINGS["script"]})),
        ("get", f"/u/{link}", None),
        ("post", f"/u/{link}", ONE_CLICK),
        ("post", f"/u/{link}", b"\xff\xfe"),
    ):
        response = getattr(client, method)(path, data=body, content_type=FORM)
        explained(response, (410,), before)


@pytest.mark.parametrize("segment", PATH_SEGMENTS.values(), ids=PATH_SEGMENTS.keys())
def test_hostile_static_paths_find_nothing(client, segment):
    for path in (f"/static/{segment}", f"/static/{segment}/style.css", f"/static/..%2F{segment}"):
        explained(client.get(path), (404,))


# The survey page: fields of an answer


def survey_post(client, token: str, fields: list[tuple[str, str]], content_type=FORM):
    """Open the survey page, then POST these fields with its CSRF token."""
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    csrf = ("csrf_token", csrf_token_in(page.get_data(as_text=True)))
    return client.post(f"/s/{token}", data=form_body([csrf, *fields]), content_type=content_type)


@pytest.mark.parametrize("field", ["comment", "extra_2"])
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_text_in_an_answer_is_stored_as_text_or_refused(client, world, name, field):
    token, value = world["target_token"], STRINGS[name]
    before = answer_of(world["target"]), stored()
    response = survey_post(client, token, [("score", "4"), (field, value)])
    explained(response, (303, 422))
    if response.status_code == 422:
        assert (answer_of(world["target"]), stored()) == before
        assert "Please keep this to 2000 characters or fewer." in response.get_data(as_text=True)
        return
    _, comment, _, answers, _ = answer_of(world["target"])
    kept = comment if field == "comment" else answers.get("ideas", "")
    if name != "lone_surrogate":  # which a form carries as its percent escapes
        assert kept == clean_text(value)  # control characters (NUL...) dropped
    shown = client.get(f"/s/{token}").get_data(as_text=True)  # the answer, to change it
    thanks = client.get(f"/s/{token}/thanks").get_data(as_text=True)  # the case's subject
    for page in (shown, thanks):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        for markup in MARKUP:
            assert markup not in page


@pytest.mark.parametrize("field", ["score", "reasons", "extra_0", "extra_1"])
@pytest.mark.parametrize("name", [*STRINGS, "100k"])
def test_hostile_choices_in_an_answer_are_refused(client, world, name, field):
    value = LONG_100K if name == "100k" else STRINGS[name]
    answer = answer_of(world["target"])
    fields = [("score", value)] if field == "score" else [("score", "2"), (field, value)]
    before = stored()
    response = survey_post(client, world["target_token"], fields)
    explained(response, (413, 422), before)
    assert answer_of(world["target"]) == answer


@pytest.mark.parametrize("field", ["reasons", "extra_0", "extra_1"])
def test_a_blank_choice_lets_no_other_value_in(client, world, field):
    before = answer_of(world["target"])
    fields = [("score", "2"), (field, " "), (field, STRINGS["script"])]
    response = survey_post(client, world["target_token"], fields)
    explained(response, (422,))
    assert answer_of(world["target"]) == before


@pytest.mark.parametrize("name", NUMBERS)
def test_numbers_out_of_range_are_not_scores(client, world, name):
    before = answer_of(world["target"])
    response = survey_post(client, world["target_token"], [("score", NUMBERS[name])])
    explained(response, (422,))
    assert answer_of(world["target"]) == before
    one_click = client.get(f"/s/{world['target_token']}?score={NUMBERS[name]}")
    assert one_click.status_code == 200


MULTIPART = b'--x\r\nContent-Disposition: form-data; name="score"\r\n\r\n4\r\n--x--'


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param(b"", FORM, id="empty"),
        pytest.param(b"score=4", FORM, id="no_csrf"),
        pytest.param(json.dumps({"score": 4}).encode(), "application/json", id="json"),
        pytest.param(MULTIPART, "multipart/form-data; boundary=x", id="multipart_no_csrf"),
        pytest.param(b"\xff\xfe\x00score=4", FORM, id="not_utf8"),
        pytest.param(b"score=4", "text/plain", id="text_plain"),
    ],
)
def test_odd_survey_bodies_are_refused_with_the_page(client, world, body, content_type):
    answer, before = answer_of(world["target"]), stored()
    response = client.post(f"/s/{world['target_token']}", data=body, content_type=content_type)
    explained(response, (400,), before)
    assert "has not been sent yet" in response.get_data(as_text=True)
    assert answer_of(world["target"]) == answer


def test_a_survey_body_over_the_limit_is_a_413(client, world):
    limit = world["app"].config["MAX_CONTENT_LENGTH"]
    before = answer_of(world["target"])
    response = survey_post(
        client, world["target_token"], [("score", "4"), ("comment", just_over(limit))]
    )
    explained(response, (413,))
    assert answer_of(world["target"]) == before


def test_duplicate_fields_take_one_value(client, world):
    response = survey_post(
        client,
        world["target_token"],
        [("score", "5"), ("score", "1"), ("comment", "a"), ("comment", "b")],
    )
    explained(response, (303, 422))
    if response.status_code == 303:
        assert answer_of(world["target"])[:2] in ((5, "a"), (1, "b"))


# The unsubscribe page


ONE_CLICK = b"List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param(b"", FORM, id="empty"),
        pytest.param(ONE_CLICK + b"&" + ONE_CLICK, FORM, id="one_click_twice"),
        pytest.param(ONE_CLICK + b"&csrf_token=x", FORM, id="one_click_and_more"),
        pytest.param(b"List-Unsubscribe=one-click", FORM, id="lower_case"),
        pytest.param(ONE_CLICK, "text/plain", id="text_plain"),
        pytest.param(b'{"List-Unsubscribe": "One-Click"}', "application/json", id="json"),
        pytest.param(form_body({"csrf_token": STRINGS["nul"]}), FORM, id="nul_csrf"),
        pytest.param(form_body({"csrf_token": STRINGS["lone_surrogate"]}), FORM, id="surrogate"),
        pytest.param(form_body({"csrf_token": STRINGS["long_10k"]}), FORM, id="long_csrf"),
        pytest.param(b"\xff\xfe", FORM, id="not_utf8"),
        pytest.param(just_over(64 * 1024).encode(), FORM, id="over_limit"),
    ],
)
def test_odd_unsubscribe_bodies_suppress_nothing(client, world, body, content_type):
    token = world["refused_link"]
    before = stored()
    response = client.post(f"/u/{token}", data=body, content_type=content_type)
    explained(response, (400, 413), before)
    assert not suppressed("refused@example.com")
    assert client.get(f"/u/{token}").status_code == 200


def test_the_one_click_post_still_unsubscribes(client, world):
    token = world["accepted_link"]
    response = client.post(f"/u/{token}", data=ONE_CLICK, content_type=FORM)
    explained(response, (200,))
    assert suppressed("accepted@example.com")


# Twilio: texts in and status callbacks, signed


def text_form(**fields) -> dict:
    return {"From": PHONE, "To": "+15005550006", "Body": "hello", "MessageSid": "SM1", **fields}


@pytest.mark.parametrize(
    "field", ["Body", "From", "MessageSid", "ButtonPayload", "OriginalRepliedMessageSid"]
)
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_texts_are_answered_or_refused(client, world, name, field):
    form = text_form(**{"MessageSid": f"SM-{field}-{name}", field: STRINGS[name]})
    before = stored()
    response = post_twilio(client, "/webhooks/twilio/sms", form_body(form))
    explained(response, (200, 400, 413), before)
    if response.status_code == 200:
        assert response.mimetype == "application/xml"


@pytest.mark.parametrize("prefix", ["", "whatsapp:"], ids=["sms", "whatsapp"])
@pytest.mark.parametrize("keyword", ["STOP", "START"])
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_numbers_opting_out_and_in(client, world, name, keyword, prefix):
    sender = prefix + STRINGS[name]
    form = text_form(**{"MessageSid": f"SM-{keyword}-{name}", "From": sender}, Body=keyword)
    before = stored()
    response = post_twilio(client, "/webhooks/twilio/sms", form_body(form))
    explained(response, (200, 400), before)


@pytest.mark.parametrize("name", STRINGS)
def test_a_hostile_comment_by_text_is_stored_as_text(client, world, name):
    """After a low score the next text is the comment: it is kept without control characters."""
    invitation = db.session.get(SurveyInvitation, world["sms_invitation"])
    if invitation.response is None:
        record_answer(invitation, score=1, channel="sms", now=utcnow())
    invitation.sms_state = SmsState.COMMENT
    db.session.commit()
    form = text_form(MessageSid=f"SM-comment-{name}", Body=STRINGS[name])
    response = post_twilio(client, "/webhooks/twilio/sms", form_body(form))
    explained(response, (200,))
    comment = answer_of(world["sms_invitation"])[1]
    if name != "lone_surrogate":  # which arrives as its percent escapes
        assert comment == clean_text(STRINGS[name])[:2000]


@pytest.mark.parametrize(
    "body, content_type",
    [
        pytest.param(b"", FORM, id="empty"),
        pytest.param(json.dumps(text_form()).encode(), "application/json", id="json"),
        pytest.param(form_body(text_form(Body=LONG_100K)), FORM, id="100k"),
        pytest.param(b"From=%2B14155550123&From=%2B1500&Body=1&Body=STOP", FORM, id="duplicates"),
        pytest.param(b"\xff\xfeFrom=x", FORM, id="not_utf8"),
    ],
)
def test_odd_twilio_bodies(client, body, content_type):
    before = stored()
    response = post_twilio(client, "/webhooks/twilio/sms", body, content_type)
    explained(response, (200, 400, 413), before)


@pytest.mark.parametrize(
    "signature",
    ["", "x", "\u00e9" * 10, "A" * 10_000, "=" * 28],
    ids=["empty", "short", "latin1", "long", "padding"],
)
def test_bad_twilio_signatures_are_refused(client, signature):
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/status?m=1"):
        before = stored()
        response = client.post(path, data=text_form(), headers={"X-Twilio-Signature": signature})
        explained(response, (403,), before)
        assert response.is_json


@pytest.mark.parametrize("name", [*PATH_SEGMENTS, *(f"number_{n}" for n in NUMBERS)])
def test_hostile_message_ids_in_status_callbacks(client, name):
    m = PATH_SEGMENTS.get(name) or NUMBERS[name.removeprefix("number_")]
    body = form_body({"MessageStatus": "delivered", "MessageSid": SMS_SID})
    before = stored()
    response = post_twilio(client, f"/webhooks/twilio/status?m={m}", body)
    explained(response, (400, 404), before)
    assert response.is_json


@pytest.mark.parametrize("field", ["MessageStatus", "ErrorCode", "MessageSid"])
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_status_callbacks(client, world, name, field):
    form = {"MessageStatus": "undelivered", "MessageSid": SMS_SID, field: STRINGS[name]}
    path = f"/webhooks/twilio/status?m={world['sms_message']}"
    before = stored()
    response = post_twilio(client, path, form_body(form))
    explained(response, (200, 400, 404, 413), before)
    assert response.is_json


# SendGrid's event webhook, signed


def sendgrid_event(world, **fields) -> dict:
    """A spam report: it suppresses the address and goes on the message's timeline each time."""
    return {"email": "events@example.com", "timestamp": 1700000000, "event": "spamreport",
            "sg_event_id": "ev-1", "followup_message_id": str(world["email_message"]),
            **fields}  # fmt: skip


@pytest.mark.parametrize("field", ["sg_event_id", "event", "followup_message_id", "reason"])
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_sendgrid_events(client, world, name, field):
    event = sendgrid_event(world, **{"sg_event_id": f"ev-{field}-{name}", field: STRINGS[name]})
    response = post_sendgrid(client, world["sendgrid_key"], json.dumps([event]).encode())
    explained(response, (200,))
    assert response.json["received"] == 1


@pytest.mark.parametrize("name", NUMBERS)
def test_sendgrid_message_ids_out_of_range(client, world, name):
    event = f'{{"event": "bounce", "sg_event_id": "ev-n-{name}", "followup_message_id": RAW}}'
    body = "[" + event.replace("RAW", NUMBERS[name]) + "]"
    response = post_sendgrid(client, world["sendgrid_key"], body.encode())
    explained(response, (200,))
    assert response.json["ignored"] + response.json["invalid"] == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{}", id="object"),
        pytest.param(b'[1, "a", null, [], {}]', id="not_events"),
        pytest.param(
            json.dumps([{"event": WRONG_TYPES, "sg_event_id": WRONG_TYPES}]).encode(),
            id="wrong_types",
        ),  # fmt: skip
        pytest.param(deep_json().encode(), id="deep_list"),
        pytest.param(f"[{deep_object('event')}]".encode(), id="deep_object"),
        pytest.param(f"[{duplicate_keys('event', 'bounce', {'a': 1})}]".encode(), id="duplicate"),
        pytest.param(b"[NaN, Infinity]", id="nan"),
        pytest.param(b"\xff\xfe[]", id="not_utf8"),
    ],
)
def test_odd_sendgrid_bodies(client, world, body):
    before = stored()
    response = post_sendgrid(client, world["sendgrid_key"], body)
    explained(response, (200, 400), before)
    assert response.is_json


# Helpdesk intake webhooks, with the API key


def zendesk(**ticket) -> dict:
    requester = {"name": "Bo Chen", "email": "bo@example.com"}
    return {"ticket": {"id": "4711", "status": "solved", "title": "P", "requester": requester,
                       **ticket}}  # fmt: skip


def freshdesk(**ticket) -> dict:
    return {"freshdesk_webhook": {"ticket_id": 812, "ticket_status": "Resolved",
                                  "ticket_subject": "R", "ticket_contact_email": "bo@example.com",
                                  **ticket}}  # fmt: skip


def intake(client, world, helpdesk: str, body: bytes, content_type="application/json"):
    return client.post(f"/webhooks/{helpdesk}", data=body, content_type=content_type,
                       headers=world["auth"])  # fmt: skip


ZENDESK_FIELDS = ["title", "tags", "requester.email", "status"]


@pytest.mark.parametrize("field", ZENDESK_FIELDS)
@pytest.mark.parametrize("name", STRINGS)
def test_hostile_zendesk_tickets(client, world, name, field):
    value = STRINGS[name]
    ticket = {"id": str(1000 + 10 * list(STRINGS).index(name) + ZENDESK_FIELDS.index(field))}
    if field.startswith("requester."):
        ticket["requester"] = {"name": "Bo", "email": "bo@example.com", field.split(".")[1]: value}
    else:
        ticket[field] = value
    before = stored()
    response = intake(client, world, "zendesk", json.dumps(zendesk(**ticket)).encode())
    explained(response, (200, 422), before)
    assert response.is_json
    if response.json.get("action") == "ignored":
        assert stored() == before
    elif response.status_code == 200 and field == "title" and value.isprintable():
        assert response.json["case"]["subject"] == value.strip()


@pytest.mark.parametrize("name", [*NUMBERS, *WRONG_TYPES])
@pytest.mark.parametrize(
    "field", ["ticket_id", "ticket_subject", "ticket_tags", "ticket_contact_email"]
)
def test_freshdesk_fields_of_the_wrong_type(client, world, name, field):
    raw = NUMBERS.get(name) or json.dumps(WRONG_TYPES[name])
    body = json.dumps(freshdesk(**{field: "RAW"})).replace('"RAW"', raw)
    before = stored()
    response = intake(client, world, "freshdesk", body.encode())
    explained(response, (200, 400, 422), before)
    assert response.is_json


@pytest.mark.parametrize("status", ["solved", "open"])
@pytest.mark.parametrize("number", ["9" * 300, "0" * 50, "\u0663" * 3])
def test_ticket_numbers_no_case_can_have(client, world, status, number):
    before = stored()
    response = intake(
        client, world, "zendesk", json.dumps(zendesk(id=number, status=status)).encode()
    )
    explained(response, (200, 422), before)


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"[]", id="list"),
        pytest.param(b'{"ticket": [], "freshdesk_webhook": []}', id="ticket_list"),
        pytest.param(b'{"ticket": "x", "freshdesk_webhook": "x"}', id="ticket_string"),
        pytest.param(deep_json().encode(), id="deep_list"),
        pytest.param(deep_object("ticket").encode(), id="deep_ticket"),
        pytest.param(deep_object("freshdesk_webhook", 2500).encode(), id="deep_freshdesk"),
        pytest.param(deep_object("ticket", 900).encode(), id="deep_900"),
        pytest.param(duplicate_keys("ticket", zendesk()["ticket"], []).encode(), id="duplicate"),
        pytest.param(b'{"ticket": {"id": NaN, "status": "solved"}}', id="nan"),
        pytest.param(b"\xff\xfe{}", id="not_utf8"),
        pytest.param(
            b'{"ticket": {"title": "\\ud800", "id": 5, "status": "solved"}}', id="escaped_surrogate"
        ),  # fmt: skip
        pytest.param(just_over(64 * 1024).encode(), id="over_limit"),
    ],
)
def test_odd_helpdesk_bodies(client, world, helpdesk, body):
    before = stored()
    response = intake(client, world, helpdesk, body)
    explained(response, (200, 400, 413, 422), before)
    assert response.is_json


@pytest.mark.parametrize("content_type", ["text/plain", FORM, "multipart/form-data; boundary=x"])
def test_a_ticket_not_sent_as_json_is_a_400(client, world, content_type):
    body = json.dumps(zendesk()).encode() if content_type == "text/plain" else b"ticket=1"
    before = stored()
    response = intake(client, world, "zendesk", body, content_type)
    explained(response, (200, 400), before)


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer \u00e9",
        "Bearer " + "k" * 10_000,
        "Basic YTpi",
        "bearer  ",
        "Bearer ' OR 1=1 --",
    ],
)
def test_bad_api_keys_on_helpdesk_webhooks(client, authorization):
    headers = {"Authorization": authorization}
    before = stored()
    response = client.post("/webhooks/zendesk", json=zendesk(), headers=headers)
    explained(response, (401,), before)


# Probes and the sign-in form


@pytest.mark.parametrize("name", ["nul", "encoded_surrogate", "invalid_escape", "crlf", "long_5k"])
def test_probes_ignore_hostile_queries(client, name):
    for path in ("/healthz", "/readyz", "/metrics"):
        response = client.get(f"{path}?x={PATH_SEGMENTS[name]}&{PATH_SEGMENTS[name]}=1")
        assert response.status_code == 200, (path, response.status_code)
    assert client.post("/healthz").status_code == 405


# Each wrong sign-in takes a password hash's time: a few strings, mostly in the email.
SIGN_IN_STRINGS = [
    *((name, "email") for name in ("nul", "lone_surrogate", "long_10k", "script", "crlf")),
    ("nul", "password"),
    ("long_10k", "password"),
]


@pytest.mark.parametrize(
    "name, field", [pytest.param(n, f, id=f"{n}-{f}") for n, f in SIGN_IN_STRINGS]
)
def test_hostile_sign_in_forms(client, name, field):
    page = client.get("/admin/sign-in")
    fields = {"csrf_token": csrf_token_in(page.get_data(as_text=True)), "email": "a@example.com",
              "password": "wrong", field: STRINGS[name]}  # fmt: skip
    before = stored()
    response = client.post("/admin/sign-in", data=form_body(fields), content_type=FORM)
    explained(response, (400, 413, 422, 429), before)
    for markup in MARKUP:
        assert markup not in response.get_data(as_text=True)


@pytest.fixture(scope="module")
def lead(world):
    user = User(email="lead@example.com", role="lead", name="Lead", password_hash=password_hash(),
                session_version=1)  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user.email


@pytest.mark.parametrize("segment", PATH_SEGMENTS.values(), ids=PATH_SEGMENTS.keys())
def test_hostile_next_after_a_right_password_stays_on_the_site(client, lead, segment):
    page = client.get(f"/admin/sign-in?next=/admin/{segment}")
    fields = {"csrf_token": csrf_token_in(page.get_data(as_text=True)), "email": lead,
              "password": PASSWORD}  # fmt: skip
    response = client.post(f"/admin/sign-in?next=/admin/{segment}", data=fields)
    explained(response, (303,))
    assert response.headers["Location"].startswith("/")
    assert not response.headers["Location"].startswith("//")
