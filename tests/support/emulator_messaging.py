"""The emulated messaging APIs: SendGrid v3 mail-send (with the real endpoint's body
validation, up to 1,000 personalizations a request) and Twilio Messages, SMS and WhatsApp, as
a mixin of ProviderEmulator.

WhatsApp on the Messages endpoint: To (and From, unless a Messaging Service sends) are
"whatsapp:+E164"; a ContentSid must be HX and 32 hex digits and registered with
``add_content_template`` (else 21655), its ContentVariables a JSON object of non-empty strings
without newlines, tabs or more than 4 spaces in a row (else 21656); a free-form Body goes only
to a number whose last message (``whatsapp_inbound``) is under 24 hours old (else 63016); a
number marked with ``not_on_whatsapp`` is refused with 63003 (Channel could not find To
address), at once, or (``later=True``) accepted and then reported "undelivered" with 63003 to
the message's StatusCallback, a form POST signed with X-Twilio-Signature as Twilio signs it."""

from __future__ import annotations

import base64
import email.utils
import json
import os
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import requests
from twilio.request_validator import RequestValidator

from followup.segments import sms_segments
from tests.support.emulator_http import Handler, basic_auth, parse_json, same

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SENDGRID_BAD_AUTH = "The provided authorization grant is invalid, expired, or revoked"
TWILIO_MAX_BODY = 1600
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
WHATSAPP = "whatsapp:"
WHATSAPP_WINDOW_SECONDS = 24 * 3600
SENDGRID_MAX_PERSONALIZATIONS = 1000  # and at most 1,000 recipients in all


def sendgrid_error(message: str, field: str | None = None) -> dict[str, Any]:
    return {"message": message, "field": field, "help": None}


def sendgrid_validate(body: Any) -> list[dict[str, Any]]:
    """The errors the real v3 mail/send endpoint would report for this body (empty when valid)."""
    if not isinstance(body, dict):
        return [sendgrid_error("The request body must be a JSON object.")]
    errors = []
    pers = body.get("personalizations")
    if not isinstance(pers, list) or not pers:
        errors.append(
            sendgrid_error(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        pers = []
    if len(pers) > SENDGRID_MAX_PERSONALIZATIONS:
        errors.append(
            sendgrid_error(
                f"The personalizations field may have at most {SENDGRID_MAX_PERSONALIZATIONS} "
                "personalizations.",
                "personalizations",
            )
        )
    recipients = sum(
        len(p.get(k) or ()) if isinstance(p.get(k), list) else 0
        for p in pers
        if isinstance(p, dict)
        for k in ("to", "cc", "bcc")
    )
    if recipients > SENDGRID_MAX_PERSONALIZATIONS:
        errors.append(
            sendgrid_error(
                f"The total number of recipients must be at most {SENDGRID_MAX_PERSONALIZATIONS}.",
                "personalizations",
            )
        )
    for i, p in enumerate(pers):
        for key in ("headers", "custom_args", "substitutions"):
            errors += _strings_only(p.get(key) if isinstance(p, dict) else None,
                                    f"personalizations.{i}.{key}")  # fmt: skip
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to:
            errors.append(
                sendgrid_error(
                    "The to array is required for all personalization objects, and must have "
                    "at least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                )
            )
            continue
        for j, rcpt in enumerate(to):
            addr = rcpt.get("email") if isinstance(rcpt, dict) else None
            if not isinstance(addr, str) or not EMAIL.match(addr):
                errors.append(
                    sendgrid_error(
                        "Does not contain a valid address.", f"personalizations.{i}.to.{j}.email"
                    )
                )
    sender = body.get("from")
    sender_addr = sender.get("email") if isinstance(sender, dict) else None
    if not isinstance(sender_addr, str) or not EMAIL.match(sender_addr):
        errors.append(
            sendgrid_error(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from.email",
            )
        )
    has_subject = isinstance(body.get("subject"), str) and body["subject"] != ""
    every_p_subject = bool(pers) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"] for p in pers
    )
    if not has_subject and not every_p_subject and not body.get("template_id"):
        errors.append(
            sendgrid_error(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )
    content = body.get("content")
    if not isinstance(content, list) or not content:
        if not body.get("template_id"):
            errors.append(
                sendgrid_error(
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block.",
                    "content",
                )
            )
        content = []
    types = []
    for i, part in enumerate(content):
        ctype = part.get("type") if isinstance(part, dict) else None
        value = part.get("value") if isinstance(part, dict) else None
        if not isinstance(ctype, str) or not ctype:
            errors.append(sendgrid_error("The content type is required.", f"content.{i}.type"))
        if not isinstance(value, str) or not value:
            errors.append(
                sendgrid_error(
                    "The content value must be a string at least one character in length.",
                    f"content.{i}.value",
                )
            )
        types.append(ctype)
    if "text/plain" in types and "text/html" in types and types.index("text/plain") != 0:
        errors.append(
            sendgrid_error(
                "If present, text/plain must be first, followed by text/html, followed by any "
                "other content.",
                "content",
            )
        )
    for key in ("headers", "custom_args"):
        errors += _strings_only(body.get(key), key)
    return errors


def _strings_only(values: Any, field: str) -> list[dict[str, Any]]:
    """Errors for the values of a headers/custom_args/substitutions object that are not text."""
    return [
        sendgrid_error(
            f"Invalid type. Expected: string, given: {type(v).__name__}.", f"{field}.{k}"
        )
        for k, v in (values.items() if isinstance(values, dict) else ())
        if not isinstance(v, str)
    ]


def sendgrid_parts(body: Any) -> list[dict[str, Any]]:
    """One record's own fields per personalization: its index, first recipient, custom_args
    and email_headers (the body's, overridden by the personalization's, as SendGrid merges them),
    and what that recipient gets: subject, text and html with its substitutions made."""
    if not isinstance(body, dict) or not isinstance(body.get("personalizations"), list):
        return []

    def mapping(holder: dict, key: str) -> dict:
        return holder.get(key) if isinstance(holder.get(key), dict) else {}

    content = {
        c.get("type"): c.get("value")
        for c in (body.get("content") if isinstance(body.get("content"), list) else [])
        if isinstance(c, dict) and isinstance(c.get("value"), str)
    }
    parts = []
    for i, p in enumerate(body["personalizations"]):
        p = p if isinstance(p, dict) else {}
        to = p.get("to")
        first = to[0] if isinstance(to, list) and to and isinstance(to[0], dict) else {}
        substitutions = mapping(p, "substitutions")

        def filled(text: Any, substitutions: dict = substitutions) -> Any:
            for key, value in substitutions.items() if isinstance(text, str) else ():
                text = text.replace(key, str(value))
            return text

        parts.append(
            {
                "personalization": i,
                "recipient": first.get("email"),
                "custom_args": mapping(body, "custom_args") | mapping(p, "custom_args"),
                "email_headers": mapping(body, "headers") | mapping(p, "headers"),
                "subject": filled(p.get("subject", body.get("subject"))),
                "text": filled(content.get("text/plain")),
                "html": filled(content.get("text/html")),
            }
        )
    return parts


def _variables_problem(raw: Any) -> str | None:
    """Why ContentVariables are not a JSON object of values WhatsApp takes, or None."""
    try:
        variables = json.loads(raw)
    except (TypeError, ValueError):
        return "The ContentVariables Parameter is not a JSON String."
    if not isinstance(variables, dict):
        return "The ContentVariables Parameter must be a JSON object."
    for key, value in variables.items():
        if not isinstance(value, str) or not value:
            return f"ContentVariables {key} must be a non-empty string."
        if "\n" in value or "\t" in value or "     " in value:
            return f"ContentVariables {key} has a newline, a tab or more than 4 spaces in a row."
    return None


class MessagingAPIs:
    """SendGrid and Twilio answers; ProviderEmulator supplies credentials, the lock,
    ``_answer`` (faults, records, latency) and the WhatsApp state set by the methods below."""

    _content_templates: set[str]
    _whatsapp_inbound: dict[str, float]
    _not_on_whatsapp: dict[str, bool]  # number: refused later (a status callback), not at once

    # -- WhatsApp state -----------------------------------------------------------------------

    def add_content_template(self, sid: str) -> None:
        """Register an approved content template (as Twilio's Content Template Builder does)."""
        assert CONTENT_SID.match(sid), sid
        with self._lock:
            self._content_templates.add(sid)

    def whatsapp_inbound(self, number: str, at: float | None = None) -> None:
        """Note the customer's last WhatsApp message (epoch seconds; now): free-form messages
        to the number may go for 24 hours after it."""
        with self._lock:
            self._whatsapp_inbound[number] = time.time() if at is None else at

    def not_on_whatsapp(self, number: str, later: bool = False) -> None:
        """Mark a number as having no WhatsApp account: messages to it are refused (63003) at
        once, or with ``later`` accepted and then reported undelivered to their status callback."""
        with self._lock:
            self._not_on_whatsapp[number] = later

    def _report_undelivered(self, url: str, fields: dict[str, Any], sid: str, code: int) -> None:
        """POST a signed "undelivered" status callback, as Twilio does after accepting a message
        it then cannot deliver (on a thread: the API's answer goes first)."""
        form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": str(code),
                "To": str(fields.get("To")), "From": str(fields.get("From") or ""),
                "AccountSid": self.twilio_account_sid}  # fmt: skip
        signature = RequestValidator(self.twilio_auth_token).compute_signature(url, form)

        def post() -> None:
            time.sleep(0.05)
            with requests.Session() as session:
                session.trust_env = False  # no proxy: the app is local in tests
                session.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=5)

        threading.Thread(target=post, name="emulator-status-callback", daemon=True).start()

    def _whatsapp_problem(self, number: str, fields: dict[str, Any]) -> tuple[int, str] | None:
        """(Twilio error code, message) refusing a WhatsApp message, or None."""
        sid, variables = fields.get("ContentSid"), fields.get("ContentVariables")
        with self._lock:
            registered = sid in self._content_templates
            inbound = self._whatsapp_inbound.get(number)
            absent = self._not_on_whatsapp.get(number)
        if absent is False:
            return 63003, "Channel could not find To address"
        if variables is not None and not sid:
            return 21654, "A ContentSid must be specified if ContentVariables are provided."
        if sid is not None:
            if not isinstance(sid, str) or not CONTENT_SID.match(sid) or not registered:
                return 21655, "The ContentSid is Invalid"
            problem = variables is not None and _variables_problem(variables)
            return (21656, problem) if problem else None
        if inbound is None or time.time() - inbound >= WHATSAPP_WINDOW_SECONDS:
            return 63016, (
                "Failed to send freeform message because you are outside the allowed window. "
                "If you are using WhatsApp, please use a Message Template."
            )
        return None

    # -- SendGrid -------------------------------------------------------------------------------

    def _sendgrid(self, handler: Handler, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        body, parsed = parse_json(raw)
        recipient = None
        try:
            recipient = body["personalizations"][0]["to"][0]["email"]
        except (KeyError, IndexError, TypeError):
            pass

        def decide():
            auth = handler.headers.get("Authorization", "")
            if not same(auth, f"Bearer {self.sendgrid_api_key}"):
                return 401, {"errors": [sendgrid_error(SENDGRID_BAD_AUTH)]}, {}, None
            if not parsed:
                return 400, {"errors": [sendgrid_error("Invalid JSON", None)]}, {}, None
            errors = sendgrid_validate(body)
            if errors:
                return 400, {"errors": errors}, {}, None
            msg_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
            return 202, None, {"X-Message-Id": msg_id}, msg_id

        return self._answer(handler, "sendgrid", body, recipient, at, decide, sendgrid_parts(body))

    # -- Twilio -------------------------------------------------------------------------------

    def _twilio_authorized(self, handler: Handler, path_sid: str) -> bool:
        user, password = basic_auth(handler) or ("", "")
        return (
            same(user, self.twilio_account_sid)
            and same(password, self.twilio_auth_token)
            and path_sid == self.twilio_account_sid
        )

    def _twilio(
        self, handler: Handler, path_sid: str, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        at = time.time()
        fields = {
            k: v[0] if len(v) == 1 else v
            for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()
        }

        def error(status: int, code: int, message: str):
            return (
                status,
                {
                    "code": code,
                    "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                },
                {},
                None,
            )

        def decide():
            if not self._twilio_authorized(handler, path_sid):
                status, payload, _, _ = error(401, 20003, "Authenticate")
                return status, payload, {"WWW-Authenticate": 'Basic realm="Twilio API"'}, None
            to, sender = fields.get("To"), fields.get("From")
            service, text = fields.get("MessagingServiceSid"), fields.get("Body")
            if not to:
                return error(400, 21604, "A 'To' phone number is required.")
            whatsapp = isinstance(to, str) and to.startswith(WHATSAPP)
            number = to.removeprefix(WHATSAPP) if isinstance(to, str) else to
            if not isinstance(number, str) or not E164.match(number):
                return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if not sender and not service:
                return error(400, 21603, "A 'From' phone number is required.")
            if sender and whatsapp != str(sender).startswith(WHATSAPP):
                return error(400, 63007, "Twilio could not find a Channel with the From address")
            if whatsapp and (refused := self._whatsapp_problem(number, fields)):
                return error(400, *refused)
            content = whatsapp and fields.get("ContentSid")
            if not text and not fields.get("MediaUrl") and not content:
                return error(400, 21602, "Message body is required.")
            text = text if isinstance(text, str) else ""
            if len(text) > TWILIO_MAX_BODY:
                return error(
                    400,
                    21617,
                    f"The concatenated message body exceeds the {TWILIO_MAX_BODY} character limit.",
                )
            sid = "SM" + secrets.token_hex(16)
            if whatsapp and fields.get("StatusCallback") and self._not_on_whatsapp.get(number):
                self._report_undelivered(str(fields["StatusCallback"]), fields, sid, 63003)
            now = email.utils.format_datetime(datetime.now(UTC)).replace("GMT", "+0000")
            base = f"/2010-04-01/Accounts/{path_sid}/Messages/{sid}"
            payload = {
                "account_sid": path_sid,
                "api_version": "2010-04-01",
                "body": text,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "num_media": "0" if not fields.get("MediaUrl") else "1",
                "num_segments": str(sms_segments(text).count),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued" if sender else "accepted",
                "status_callback": fields.get("StatusCallback"),
                "subresource_uris": {"media": f"{base}/Media.json"},
                "to": to,
                "uri": f"{base}.json",
            }
            return 201, payload, {}, sid

        recipient = fields.get("To") if isinstance(fields.get("To"), str) else None
        part = {
            "recipient": recipient,
            "status_callback": fields.get("StatusCallback"),
            "content_sid": fields.get("ContentSid"),
            "content_variables": fields.get("ContentVariables"),
        }
        return self._answer(handler, "twilio", fields, recipient, at, decide, [part])
