"""Fixtures that several app test modules use, defined beside the tests they grew up with."""

from tests.app.test_recovery import negative_answer  # noqa: F401
from tests.app.test_survey_pages import survey_case  # noqa: F401
from tests.app.test_twilio_webhooks import checked_in, twilio  # noqa: F401
