"""Cadence planning: a pure function from (case, customer, cadence, now) to planned messages."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from followup.models.cadences import StepCondition
from followup.models.cases import Case
from followup.models.customers import CONTACT_CHANNELS, PHONE_CHANNELS


class ContactLike(Protocol):
    email: str | None
    phone: str | None
    preferred_channel: str | None  # email, sms, whatsapp or None

    def opted_out(self, channel: str) -> bool: ...


class StepLike(Protocol):
    id: int
    delay_seconds: int
    channel: str  # email, sms, whatsapp, preferred or answered
    condition: str  # always or no_answer
    survey_id: int | None
    business_days: bool  # the delay counts Monday to Friday only


@dataclass(frozen=True)
class SendingHours:
    """The local hours messages may go out in (08:00-21:00 by default), in one time zone,
    optionally on weekdays only (working hours); the same start and end ("00:00-00:00") mean
    at any hour."""

    start: time
    end: time
    zone: ZoneInfo
    weekdays_only: bool = False

    @classmethod
    def parse(cls, hours: str, zone: str, weekdays_only: bool = False) -> "SendingHours":
        """From "08:00-21:00" and an IANA zone name; ValueError naming what is wrong."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in hours.split("-"))
        except ValueError:
            raise ValueError(f"sending hours must look like 08:00-21:00, got {hours!r}") from None
        try:
            return cls(start, end, ZoneInfo(zone), weekdays_only)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None

    def in_zone(self, zone: str | None) -> "SendingHours":
        """The same hours in the customer's zone, when it is a known one."""
        try:
            return replace(self, zone=ZoneInfo(zone)) if zone else self
        except (ZoneInfoNotFoundError, ValueError):
            return self

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if self.weekdays_only and local.weekday() >= 5:
            return False
        now = local.time()
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # a window across midnight

    def next_allowed(self, moment: datetime) -> datetime:
        """The moment itself when messages may go out then, else the next local start time."""
        if self.allows(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        while True:
            start = datetime.combine(day, self.start, tzinfo=self.zone)
            if start > local and self.allows(start):
                return start.astimezone(UTC)
            day += timedelta(days=1)


def add_business_time(start: datetime, seconds: int, zone: ZoneInfo) -> datetime:
    """start + a delay counted on weekdays only, in the zone's calendar: whole days skip
    Saturdays and Sundays, and a moment landing on a weekend moves to Monday, same time."""
    days, rest = divmod(seconds, 86400)
    moment = start.astimezone(zone)
    while days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    moment += timedelta(seconds=rest)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class PlannedMessage:
    step_id: int
    channel: str
    recipient: str | None
    due_at: datetime
    condition: str
    idempotency_key: str
    suppressed_reason: str | None = None


# Each channel's name in the reasons we write (a step on PHONE_CHANNELS is held to the sending
# hours, the quiet hours).
LABELS = {"email": "email", "sms": "SMS", "whatsapp": "WhatsApp"}


def _address(customer: ContactLike, channel: str) -> str | None:
    return customer.phone if channel in PHONE_CHANNELS else customer.email


def reachable(customer: ContactLike, channel: str) -> bool:
    """Whether we have the customer's address on the channel and they have not opted out."""
    return bool(_address(customer, channel)) and not customer.opted_out(channel)


def resolve_channel(
    step_channel: str, customer: ContactLike, answered_channel: str | None = None
) -> tuple[str, str | None, str | None]:
    """(channel, recipient, why it cannot be sent or None) for a step's channel choice.

    "preferred" means the customer's preferred channel when we have its address (opted out
    of it: suppressed, not sent elsewhere), else SMS when there is a phone and no SMS
    opt-out, else email. "answered" means the channel the customer answered on, else the
    other one when only it reaches them.
    """
    if step_channel == "preferred":
        chosen = customer.preferred_channel
        if chosen in CONTACT_CHANNELS and _address(customer, chosen):
            step_channel = chosen
        else:
            step_channel = "sms" if reachable(customer, "sms") else "email"
    elif step_channel == "answered":
        answered = answered_channel if answered_channel in CONTACT_CHANNELS else "email"
        other = "sms" if answered == "email" else "email"
        usable = reachable(customer, answered) or not reachable(customer, other)
        step_channel = answered if usable else other
    address = _address(customer, step_channel)
    if not address:
        noun = "phone number" if step_channel in PHONE_CHANNELS else "email address"
        return step_channel, None, f"no {noun} for this customer"
    if customer.opted_out(step_channel):
        return step_channel, address, f"customer opted out of {LABELS[step_channel]}"
    return step_channel, address, None


def plan_round(
    case_id: int,
    round_number: int,
    customer: ContactLike,
    steps: Sequence[StepLike],
    now: datetime,
    sms_hours: SendingHours,
    no_surveys: str | None = None,
    answered_channel: str | None = None,
    working_hours: SendingHours | None = None,
) -> list[PlannedMessage]:
    """Every message one close round of a cadence plans, suppressed ones included; a text or
    WhatsApp message due outside the customer's sending hours is due at the next allowed
    minute instead. Business-day delays are counted in the customer's calendar (`sms_hours.zone`).

    `no_surveys` says why this customer gets no survey now (excluded, or surveyed recently):
    the steps that carry one are planned as suppressed with that reason; a thank-you is not.
    A recovery's messages come from a person: `working_hours` holds every one of them to
    working hours, and "answered" steps go on `answered_channel`.
    """
    planned = []
    for step in steps:
        channel, recipient, suppressed = resolve_channel(step.channel, customer, answered_channel)
        if step.survey_id is not None and no_surveys:
            suppressed = no_surveys
        due_at = (
            add_business_time(now, step.delay_seconds, sms_hours.zone)
            if step.business_days
            else now + timedelta(seconds=step.delay_seconds)
        )
        if working_hours is not None:
            due_at = working_hours.next_allowed(due_at)
        planned.append(
            PlannedMessage(
                step_id=step.id,
                channel=channel,
                recipient=recipient,
                due_at=sms_hours.next_allowed(due_at) if channel in PHONE_CHANNELS else due_at,
                condition=step.condition,
                idempotency_key=f"case:{case_id}:round:{round_number}:step:{step.id}",
                suppressed_reason=suppressed,
            )
        )
    return planned


class HoursLike(Protocol):
    @property
    def sms_hours(self) -> str | None: ...


def cadence_hours(cadence: HoursLike, default: SendingHours) -> SendingHours:
    """The cadence's own sending hours when it has them, in the deployment's zone."""
    if not cadence.sms_hours:
        return default
    return SendingHours.parse(cadence.sms_hours, default.zone.key)


MIN_RISK = "min_risk"  # Cadence.rules["min_risk"]: risk at least this many percent


def case_facts(case: Case) -> dict[str, set[str]]:
    """What a cadence's rules look at, lower-cased: the case's priority, tags, team and
    source channel, the customer's segments (their tags), and the round's risk in percent
    (followup.risk; empty when not assessed)."""

    def lowered(values: Iterable[object] | None) -> set[str]:
        return {str(v).strip().lower() for v in values or () if v and str(v).strip()}

    return {
        "priorities": lowered([case.priority]),
        "tags": lowered(case.tags),
        "teams": lowered([case.team]),
        "sources": lowered([case.source_channel]),
        "segments": lowered(case.customer.tags if case.customer else ()),
        "risk": _risk_percent(getattr(case, "risk_score", None)),
    }


def _risk_percent(score: float | None) -> set[str]:
    return set() if score is None else {repr(round(float(score) * 100, 6))}


def risk_at_least(min_risk: object, facts: dict[str, set[str]]) -> bool:
    """The "risk at least X" rule: the case's risk (percent) is X or more; a case with no
    risk assessed matches no such rule."""
    risk = facts.get("risk")
    return bool(risk) and float(next(iter(risk))) >= float(min_risk)  # type: ignore[arg-type]


def rules_match(rules: dict | None, facts: dict[str, set[str]]) -> bool:
    """Whether every rule a cadence sets holds for the case: each non-empty list must share a
    value with the case's (any case), and "min_risk" (0-100) wants the round's risk at least
    that many percent. A cadence without rules matches nothing by rule: it takes cases by
    name or as the default."""
    rules = rules or {}
    wanted = {f: values for f, values in rules.items() if values and f != MIN_RISK}
    min_risk = rules.get(MIN_RISK)
    if min_risk is not None and not risk_at_least(min_risk, facts):
        return False
    return (bool(wanted) or min_risk is not None) and all(
        facts.get(field, set()) & {str(v).strip().lower() for v in values}
        for field, values in wanted.items()
    )


@dataclass(frozen=True)
class StepDraft:
    """A step as a lead wrote it, before it is saved: what validation looks at."""

    name: str
    delay_seconds: int
    channel: str
    template_name: str | None  # None: no template chosen
    template_parts: frozenset[str]  # the template's non-empty parts: email_subject, sms_text ...
    survey_id: int | None
    survey_name: str | None
    condition: str


MAX_DELAY_SECONDS = 366 * 86400


class Words(Protocol):
    """gettext's shape: a message in the reader's language with its %(name)s values filled.
    The console passes Flask-Babel's; the planning stays free of Flask."""

    def __call__(self, text: str, **values: object) -> str: ...


def english(text: str, **values: object) -> str:
    """The problems' words as written (the default)."""
    return text % values if values else text


def channel_problems(
    channel: str, template_name: str, parts: frozenset[str], _: Words = english
) -> list[str]:
    """What a template (its non-empty parts) lacks for a step's channel: an SMS body for a
    step that can go by SMS, a subject and a body for one that can go by email, a WhatsApp
    content template or an SMS body (free-form, inside the 24-hour window) for a WhatsApp
    step. A "preferred" step on WhatsApp without a content template, outside the window, goes
    by SMS (followup.fallbacks)."""
    problems = []
    name = repr(template_name)
    if channel == "whatsapp" and not parts & {"whatsapp_content_sid", "sms_text"}:
        problems.append(
            _(
                "can go by WhatsApp but template %(name)s has no WhatsApp content template nor "
                "SMS body",
                name=name,
            )
        )
    if channel in ("sms", "preferred", "answered") and "sms_text" not in parts:
        problems.append(_("can go by SMS but template %(name)s has no SMS body", name=name))
    email_ready = "email_subject" in parts and parts & {"email_text", "email_html"}
    if channel in ("email", "preferred", "answered") and not email_ready:
        problems.append(
            _("can go by email but template %(name)s has no email subject and body", name=name)
        )
    return problems


def step_problems(steps: Sequence[StepDraft], _: Words = english) -> list[tuple[int | None, str]]:
    """What keeps a cadence's steps from working, as (step index or None, message): no steps;
    a step without a template; a channel whose message the template lacks; a reminder (a
    no-answer step) with no check-in of its survey before it; an answer-dependent step with
    no survey before it to answer."""
    if not steps:
        return [(None, _("add at least one step"))]
    problems: list[tuple[int | None, str]] = []
    for index, step in enumerate(steps):
        label = {"number": index + 1, "name": repr(step.name)}

        def problem(message: str) -> None:
            text = _("step %(number)s (%(name)s): %(problem)s", problem=message, **label)  # noqa: B023
            problems.append((index, text))  # noqa: B023

        if step.delay_seconds < 0 or step.delay_seconds > MAX_DELAY_SECONDS:
            problem(_("the delay must be between 0 and 366 days"))
        if step.template_name is None:
            problem(_("choose a template"))
            continue
        for message in channel_problems(step.channel, step.template_name, step.template_parts, _):
            problem(message)
        earlier = [other for other in steps if other.delay_seconds < step.delay_seconds]
        if step.condition == StepCondition.NO_ANSWER:
            if step.survey_id is None:
                problem(_("a reminder (only if no answer yet) needs the survey it reminds about"))
            elif not any(
                o.survey_id == step.survey_id and o.condition != StepCondition.NO_ANSWER
                for o in earlier
            ):
                problem(
                    _(
                        "reminds about %(survey)s but no earlier step asks it: put the check-in "
                        "before the reminder",
                        survey=repr(step.survey_name),
                    )
                )
        if not any(o.survey_id for o in earlier):
            if step.condition == StepCondition.NEGATIVE:
                problem(_("depends on a negative answer but no earlier step carries a survey"))
            elif step.condition == StepCondition.POSITIVE:
                problem(_("depends on a positive answer but no earlier step carries a survey"))
    return problems


def proactive_problem(
    task: str | None, due_hours: int, steps: Sequence[StepDraft], _: Words = english
) -> str | None:
    """Why a cadence's proactive task cannot come before its survey: the first step that
    carries a survey goes out before the task is due (the person must reach out first)."""
    if not task:
        return None
    surveys = [step for step in steps if step.survey_id is not None]
    if not surveys:
        return None
    first = min(surveys, key=lambda step: step.delay_seconds)
    if first.delay_seconds <= due_hours * 3600:
        return _(
            "the proactive task is due %(hours)s hours after the close but step %(step)s asks "
            "the survey by then: give the step a longer delay or the task a shorter one",
            hours=due_hours,
            step=repr(first.name),
        )
    return None
