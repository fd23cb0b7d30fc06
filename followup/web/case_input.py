"""The case as it comes in, by the intake API or a helpdesk webhook: its pydantic shape
(CaseIn, with its customer and agent) and the normalisers of its fields (email, phone, time
zone)."""

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from followup.models.cases import PRIORITIES

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
EXTERNAL_ID_PATTERN = r"^[^\s/\x00-\x1f\x7f]{1,200}$"
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
SourceChannel = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=30)
]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=EXTERNAL_ID_PATTERN)]
# The document names the zone database's time zones; known_timezone checks a name loads from it.
TimeZone = Annotated[
    str, Field(max_length=64, json_schema_extra={"enum": sorted(available_timezones())})
]


def normalise_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
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


class CustomerIn(Strict):
    external_id: Text200 | None = Field(None, description="The helpdesk's id for the customer.")
    name: Text200 | None = None
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(
        None, max_length=40, description="Any international form; stored as E.164."
    )
    locale: str | None = Field(None, pattern=r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})?$")
    timezone: TimeZone | None = Field(None, description="IANA name, like Europe/Paris.")
    tags: list[Tag] | None = Field(
        None, max_length=50, description="Segments, like vip; see FOLLOWUP_NO_SURVEY_TAGS."
    )

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)

    _timezone = field_validator("timezone")(known_timezone)


class AgentIn(Strict):
    name: Text200 | None = None
    email: str | None = Field(None, max_length=320)

    _email = field_validator("email")(normalise_email)


class CaseIn(Strict):
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
    customer: CustomerIn | None = Field(None, description="Required when the case is new.")

    _timezone = field_validator("timezone")(known_timezone)
