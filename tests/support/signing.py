"""Webhook requests signed as the providers sign them, for bodies of any shape: Twilio's
X-Twilio-Signature over the form the app will parse from the raw body, and SendGrid's ECDSA
signature over the timestamp and the raw body."""

import base64
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twilio.request_validator import RequestValidator
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from tests.support.answers import TWILIO_TOKEN
from tests.support.hostile import FORM

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def post_twilio(client, path: str, body: bytes, content_type: str = FORM, token=TWILIO_TOKEN):
    """POST a raw body to a Twilio webhook, signed over the form the app parses from it."""
    environ = EnvironBuilder(path, method="POST", data=body, content_type=content_type)
    _, form, _ = parse_form_data(environ.get_environ())
    url = "http://followup.test" + path  # PUBLIC_BASE_URL of the test app
    signature = RequestValidator(token).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature}
    return client.post(path, data=body, content_type=content_type, headers=headers)


def sendgrid_public_key(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The key as SendGrid's settings page shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sendgrid_signature(private_key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    der = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(der).decode()


def post_sendgrid(client, private_key, body: bytes):
    """POST a raw body to the SendGrid Event Webhook, signed now."""
    timestamp = str(int(time.time()))
    headers = {
        SENDGRID_SIGNATURE: sendgrid_signature(private_key, timestamp, body),
        SENDGRID_TIMESTAMP: timestamp,
    }
    url = "/webhooks/sendgrid/events"
    return client.post(url, data=body, content_type="application/json", headers=headers)
