"""Channels: SendGrid email and Twilio SMS when credentials are set, the dev outbox otherwise.

The provider modules are imported here, not on first use: a worker imports them once and
every forked work horse inherits them (importing twilio costs a third of a second).
"""

from collections.abc import Mapping

from followup.channels.base import Channel
from followup.channels.dev_outbox import DevOutboxChannel
from followup.channels.email_sendgrid import SendGridChannel
from followup.channels.sms_twilio import TwilioChannel


def channel_for(kind: str, config: Mapping) -> Channel:
    if kind == "email" and config.get("SENDGRID_API_KEY"):
        return SendGridChannel(
            api_key=config["SENDGRID_API_KEY"],
            from_email=config["SENDGRID_FROM_EMAIL"],
            from_name=config["ORGANISATION_NAME"],
            host=config["SENDGRID_API_HOST"],
            timeout=config["SEND_TIMEOUT"],
        )
    if kind == "sms" and config.get("TWILIO_ACCOUNT_SID"):
        return TwilioChannel(
            account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"],
            from_number=config["TWILIO_FROM_NUMBER"],
            api_base_url=config["TWILIO_API_BASE_URL"],
            timeout=config["SEND_TIMEOUT"],
        )
    return DevOutboxChannel(config["DEV_OUTBOX_PATH"])
