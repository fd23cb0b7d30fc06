"""Integration fixtures: the provider emulator, with fixed fake credentials as its attributes
(sendgrid_api_key, twilio_account_sid, twilio_auth_token) and its base URL as .url."""

import pytest

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
