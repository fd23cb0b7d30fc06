"""Integration fixtures: the provider emulator, with fixed fake credentials as its attributes
(sendgrid_api_key, twilio_account_sid, twilio_auth_token, zendesk_email, zendesk_api_token,
freshdesk_api_key) and its base URL as .url."""

import pytest
import requests

from followup.emulator import ProviderEmulator


@pytest.fixture
def emulator():
    emu = ProviderEmulator(
        sendgrid_api_key="SG.fake-key.for-tests",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="fake-twilio-token",
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def http():
    """A requests session that reaches the emulator directly (no proxy from the environment)."""
    with requests.Session() as session:
        session.trust_env = False
        yield session
