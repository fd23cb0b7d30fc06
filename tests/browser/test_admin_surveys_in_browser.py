"""A lead builds an NPS survey with an extra question and its Spanish text in a real browser,
previews it in Spanish, a customer answers it, and a manager can only read it."""

import re

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import Case, Customer, Message, Response, Survey
from followup.models.base import utcnow
from surveys.invitations import invitations_for
from surveys.tokens import token_for
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/admin/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def invitation_token(survey: Survey, app) -> str:
    """A case whose sent check-in carries the survey (as the outbox makes them)."""
    customer = Customer(name="Ana Lima", email="ana@example.com")
    case = Case(
        external_id="B-2", customer=customer, subject="Wrong size", status="closed", round=1
    )
    db.session.add(case)
    db.session.flush()
    checkin = Message(
        case_id=case.id,
        customer_id=customer.id,
        round=1,
        channel="email",
        recipient=customer.email,
        condition="always",
        due_at=utcnow(),
        status="sent",
        idempotency_key="browser-checkin",
    )
    db.session.add(checkin)
    db.session.flush()
    secret = app.config["SECRET_KEY"]
    invitation = invitations_for([(checkin, survey)], secret, utcnow(), 14)[checkin.id]
    db.session.commit()
    return token_for(secret, invitation.nonce)


def test_a_lead_builds_an_nps_survey_a_customer_answers_it(app, users, live_server, page):
    sign_in(page, live_server, "lead@example.com")
    page.goto(f"{live_server}/admin/surveys")
    page.get_by_role("link", name="New survey").click()
    page.get_by_label("Key").fill("nps-web")
    page.get_by_label("Name").fill("Web NPS")
    page.get_by_label(re.compile("^NPS")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create survey").click()
    assert page.locator("h1").inner_text() == "Web NPS"

    page.get_by_label("Question in Spanish").fill("¿Nos recomendarías tras {subject}?")
    page.get_by_label("Question 1: kind", exact=True).select_option("single")
    page.get_by_label("Question 1: key", exact=True).fill("rebuy")
    page.get_by_label("Question 1: label", exact=True).fill("Would you buy again?")
    page.get_by_label("Question 1: options", exact=True).fill("Yes\nNo")
    page.get_by_label("Question 1: an answer is required").check()
    page.get_by_label("Question 1: label in Spanish").fill("¿Volverías a comprar?")
    page.get_by_label("Question 1: options in Spanish").fill("Sí\nNo")
    with page.expect_navigation():
        page.get_by_role("button", name="Save survey").click()
    assert "is saved" in page.locator(".flash").inner_text()

    page.get_by_role("link", name="Preview in Spanish").click()
    page.wait_for_url("**/preview?language=es")
    assert page.locator("h1").inner_text() == "¿Nos recomendarías tras “Parcel never arrived”?"
    assert page.get_by_role("group", name="¿Volverías a comprar?").is_visible()
    assert page.get_by_role("radio", name="Sí").is_visible()
    assert page.get_by_role("button", name="Enviar mi respuesta").is_disabled()
    assert "Preview" in page.locator(".preview-banner").inner_text()

    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "nps-web"))
    token = invitation_token(survey, app)
    page.goto(f"{live_server}/s/{token}")
    page.get_by_role("radio", name=re.compile(r"^9\b")).check()
    page.get_by_role("button", name="Send my answer").click()
    assert page.locator(".error-summary").inner_text().count("Please answer") == 1
    page.get_by_role("radio", name="Yes").check()
    page.get_by_label("Anything else you would like to tell us?").fill("Great")
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url("**/thanks")
    db.session.expire_all()
    [response] = db.session.scalars(sa.select(Response))
    assert (response.score, response.comment) == (9, "Great")
    assert response.answers == {"rebuy": "Yes"}


def test_a_manager_sees_the_survey_read_only(app, users, live_server, page):
    from followup.setup import ensure_standard_setup

    ensure_standard_setup()
    db.session.commit()
    survey_id = db.session.scalar(sa.select(Survey.id).where(Survey.key == "csat"))
    sign_in(page, live_server, "manager@example.com")
    page.goto(f"{live_server}/admin/surveys/{survey_id}")
    assert page.get_by_label("Name").is_disabled()
    assert page.get_by_role("button", name="Save survey").count() == 0
    token = page.locator('input[name="csrf_token"]').first.input_value()
    reply = page.request.post(
        f"{live_server}/admin/surveys/{survey_id}",
        form={"csrf_token": token, "name": "Changed"},
        headers={"Referer": f"{live_server}/admin/surveys/{survey_id}"},
    )
    assert reply.status == 403
    db.session.expire_all()
    assert db.session.get(Survey, survey_id).name == "Customer satisfaction"
