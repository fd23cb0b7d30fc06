"""The case as it comes in, by the intake API or a helpdesk webhook: its pydantic shape
(CaseIn, with its customer and agent) and the normalisers of its fields (email, phone, time
zone)."""

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import EMAIL_MAX_LENGTH, LOCAL_PART_MAX_LENGTH
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from followup.models.cases import PRIORITIES

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# A character that stripping keeps: what a text that must not be blank holds. (\x85 is
# whitespace to pydantic's strip though not to the document's \s.)
FILLED = r"[^\s\x85]"
EXTERNAL_ID_PATTERN = r"^[^\s/\x00-\x1f\x7f\x85]{1,200}$"
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=FILLED)
]
SourceChannel = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=30, pattern=FILLED
    ),
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=EXTERNAL_ID_PATTERN)]


def _number(value: object) -> object:
    """A JSON number, not a string or a boolean (pydantic would take "3" and true as 3 and 1);
    a fraction is refused after, a whole float like 3.0 taken as JSON Schema's integer is."""
    if isinstance(value, str | bool):
        raise ValueError("a whole number is required")
    return value


# The risk signals: at most 1000 reopens or replies, and ten years in minutes.
Count = Annotated[int, Field(ge=0, le=1000), BeforeValidator(_number)]
Minutes = Annotated[int, Field(ge=0, le=5_256_000), BeforeValidator(_number)]
# The document names the zone database's time zones; known_timezone checks a name loads from it.
TimeZone = Annotated[
    str, Field(max_length=64, json_schema_extra={"enum": sorted(available_timezones())})
]
# What normalise_email and normalise_phone take, as the document states it: an address in
# the ASCII form email_validator takes (not on a special-use domain), and a number in
# international form valid in its country's numbering plan (the "phone" format:
# libphonenumber's is_valid_number).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SPECIAL_USE = "|".join(  # test, local ...: in either case
    "".join(f"[{c}{c.upper()}]" for c in name) for name in SPECIAL_USE_DOMAIN_NAMES
)
EMAIL_SCHEMA = {
    "format": "email",
    "maxLength": EMAIL_MAX_LENGTH,
    "pattern": rf"^(?=[^@]{{1,{LOCAL_PART_MAX_LENGTH}}}@){_ATOM}(?:\.{_ATOM})*@"
    rf"(?:{_LABEL}\.)+(?:[A-Za-z0-9][A-Za-z0-9-]{{0,61}})?[A-Za-z]$",
    "not": {"pattern": rf"[@.](?:{_SPECIAL_USE})$"},
}
Email = Annotated[str, Field(max_length=320, json_schema_extra=EMAIL_SCHEMA)]
PHONE_PATTERN = r"^\+[0-9][0-9 ().-]{5,38}$"
Phone = Annotated[
    str, Field(max_length=40, json_schema_extra={"format": "phone", "pattern": PHONE_PATTERN})
]


def normalise_email(value: str | None) -> str | None:
    """The address lower-cased whole: mailboxes are matched, suppressed and looked up
    without regard to case, as every mail provider treats them."""
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None


def normalise_phone(value: str | None) -> str | None:
    """E.164, from any international form (+44 20 7946 0958, +1 (415) 555-0123 ...)."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; use the international form, like +14155550123")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def blank_as_none(value: str | None) -> str | None:
    """A blank id is no id (customers are found by it, and it is unique)."""
    return value or None


def known_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Europe/Paris"
        ) from None
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_an_address(schema: dict) -> None:
    """The document's form of upsert_customer's rule: an email address or a phone number."""
    schema["anyOf"] = [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("email", "phone")
    ]


class CustomerIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_with_an_address)

    external_id: Text200 | None = Field(None, description="The helpdesk's id for the customer.")
    name: Text200 | None = None
    email: Email | None = None
    phone: Phone | None = Field(
        None,
        description="Any international form of a number valid in its country's numbering plan (the "
        "phone format); stored as E.164.",
    )
    locale: str | None = Field(None, pattern=r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})?$")
    timezone: TimeZone | None = Field(None, description="IANA name, like Europe/Paris.")
    preferred_channel: Literal["email", "sms", "whatsapp"] | None = Field(
        None,
        description="The channel the customer asked to hear from us on: cadence steps on "
        '"preferred" use it while it reaches them (docs/whatsapp.md).',
    )
    tags: list[Tag] | None = Field(
        None, max_length=50, description="Segments, like vip; see FOLLOWUP_NO_SURVEY_TAGS."
    )

    _external_id = field_validator("external_id")(blank_as_none)
    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)

    _timezone = field_validator("timezone")(known_timezone)


class AgentIn(Strict):
    name: Text200 | None = None
    email: Email | None = None

    _email = field_validator("email")(normalise_email)


def _customer_required(schema: dict) -> None:
    """upsert_case creates no case without its customer: the document asks for one always."""
    schema["required"] = [*schema.get("required", []), "customer"]
    customer = schema["properties"]["customer"]
    customer["anyOf"] = [kind for kind in customer["anyOf"] if kind != {"type": "null"}]
    del customer["default"]


class CaseIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_customer_required)

    external_id: ExternalId = Field(
        description="The helpdesk's case or ticket id (no spaces or slashes)."
    )
    ticket_id: ExternalId | None = Field(
        None,
        max_length=100,
        description="The helpdesk's own ticket id, when it differs from external_id.",
    )
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    agent: AgentIn | None = None
    team: Text200 | None = None
    priority: Literal[PRIORITIES] | None = None  # type: ignore[valid-type]
    tags: list[Tag] | None = Field(None, max_length=50)
    source_channel: SourceChannel | None = Field(
        None, description="How the customer reached support (email, chat, phone, web ...)."
    )
    timezone: TimeZone | None = Field(
        None, description="Where the case happened; for a customer without one."
    )
    customer: CustomerIn | None = Field(
        None,
        description="A new case needs its customer; an update of a known case is also taken "
        "without it.",
    )
    # Signals the risk score reads (followup.risk, docs/risk.md): whole numbers, never a
    # string, a fraction or a negative.
    reopen_count: Count | None = Field(None, description="Times the helpdesk reopened the case.")
    resolution_minutes: Minutes | None = Field(
        None, description="Minutes from the case's creation to its resolution."
    )
    customer_replies: Count | None = Field(
        None, description="Replies the customer wrote on the case."
    )
    first_response_minutes: Minutes | None = Field(
        None, description="Minutes from the case's creation to the first agent reply."
    )

    _timezone = field_validator("timezone")(known_timezone)
