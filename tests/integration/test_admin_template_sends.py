"""A template's test send from the console through the real SendGrid and Twilio SDKs to the
provider emulator: delivered with the rendered message, and a provider error on a 502 page."""

import re

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import MessageTemplate
from tests.support.console import csrf_token


@pytest.fixture
def providers(app, real_providers):
    """The console sends through SendGrid and Twilio (the emulator)."""
    app.config["SENDGRID_FROM_EMAIL"] = "support@acme.test"
    return real_providers


def send_test(client, data: dict):
    """Post the test-send form of the CSAT check-in: (its page, the answer)."""
    template_id = db.session.scalar(
        sa.select(MessageTemplate.id).where(MessageTemplate.key == "csat_checkin")
    )
    page = f"/admin/templates/{template_id}"
    token = csrf_token(client, page)
    return page, client.post(f"{page}/test-send", data={"csrf_token": token, **data})


def test_a_test_email_goes_through_sendgrid(as_lead, seeded, providers):
    page, response = send_test(as_lead, {"channel": "email", "language": "en"})
    assert response.status_code == 303
    [sent] = providers.requests("sendgrid")
    assert sent["status"] == 202
    body = sent["body"]
    assert body["personalizations"][0]["to"] == [{"email": "lead@example.com"}]
    assert body["subject"] == 'How did we do with "Parcel never arrived"?'
    assert body["custom_args"] == {"followup_message_id": "0"}
    assert "Hi Test," in body["content"][0]["value"]
    confirmation = as_lead.get(page).get_data(as_text=True)
    assert f"Sent to lead@example.com (provider id {sent['provider_id']})." in confirmation


def test_a_test_text_goes_through_twilio(as_lead, seeded, providers):
    page, response = send_test(as_lead, {"channel": "sms", "phone": "+14155550123"})
    assert response.status_code == 303
    [sent] = providers.requests("twilio")
    assert sent["body"]["To"] == "+14155550123" and "StatusCallback" not in sent["body"]
    assert sent["body"]["Body"].startswith("Hi Test")
    assert f"(provider id {sent['provider_id']})" in as_lead.get(page).get_data(as_text=True)


@pytest.mark.parametrize("status", [503, 400])
def test_a_provider_error_is_shown_on_a_502_page(as_lead, seeded, providers, status):
    providers.set_faults(rate=1.0, status=status, providers=["sendgrid"])
    _, response = send_test(as_lead, {"channel": "email"})
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "The test was not sent" in page
    assert re.search(rf"Not sent to lead@example.com: SendGrid {status}: Injected fault", page)
