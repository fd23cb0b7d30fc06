"""Answers by text and on WhatsApp: reading a reply (keyword, score, comment; a quick-reply
button's payload) and the short conversation that follows a check-in. At most one more
question is ever asked: "what went wrong?" after a negative score, or one clarifying message
after a reply we could not read; never a loop.
"""

import re
import string
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from followup.answers import record_answer
from followup.cases import record_event
from followup.extensions import db
from followup.languages import language_of
from followup.models import Customer, Message, SurveyInvitation
from followup.models.cases import EventKind
from followup.models.messages import MessageStatus
from followup.models.surveys import SmsState
from surveys.scoring import is_negative, verdict

OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT"}
OPT_IN = {"START", "YES", "UNSTOP"}
HELP = {"HELP", "INFO"}

# One or two digits standing alone: not part of a longer number, a decimal ("3.5", "3,5"), a
# time ("10:30"), a range ("3-4") or a date ("1/2/2024", "2024-05-12"). Any script's decimal
# digits ("٤") are digits; superscripts ("²") are not.
_ALONE_BEFORE, _ALONE_AFTER = r"(?<![\d.,/:-])", r"(?!\d)(?![.,/:-]\d)"
NUMBER = re.compile(_ALONE_BEFORE + r"\d{1,2}" + _ALONE_AFTER)
# A score written as a fraction, anywhere in the reply: "4/5", "4 / 5", "4 out of 5", and as
# the customers' languages write it: "4 sur 5" (fr), "4 sobre 5" (es).
FRACTION = re.compile(
    _ALONE_BEFORE + r"(\d{1,2})(?:\s*/\s*|\s+(?:out\s+of|sur|sobre)\s+)(\d{1,2})" + _ALONE_AFTER,
    re.IGNORECASE,
)
# "4 of 5", "4 de 5" (es, pt-BR), "4 von 5" (de): a score only as the reply or its start;
# elsewhere a count ("waited 2 of 5 days, 4"), never the score.
_WORD_FRACTION = r"(\d{1,2})\s+(?:of|de|von)\s+(\d{1,2})"
WORD_FRACTION = re.compile(_ALONE_BEFORE + _WORD_FRACTION + _ALONE_AFTER, re.IGNORECASE)
LEADING_FRACTION = re.compile(r"\s*" + _WORD_FRACTION + _ALONE_AFTER, re.IGNORECASE)
# A phone number: digits joined by ( ) . - or single spaces ("+1 415 555 0123",
# "06 12 34 56 78", "(415) 555-0123"), holding PHONE_DIGITS digits or more, holds no score; a
# space and a dash ("4 - 1234567") part a score from the number, and so does a space after a
# number written in one piece ("call 0612345678 5").
PHONE = re.compile(r"\+?\d(?:[\d().-]|\s(?=[\d(]))*\d")
PHONE_DIGITS = 7
SEPARATORS = string.whitespace + "-–—:,.;!/|"


def keyword(body: str) -> str | None:
    """ "stop", "start" or "help" when the whole reply is one of those keywords (any case,
    surrounding spaces and punctuation ignored), else None."""
    word = body.strip(string.whitespace + string.punctuation).upper()
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    if word in HELP:
        return "help"
    return None


def read_score(body: str, lowest: int, highest: int) -> tuple[int, str] | None:
    """(score, the rest of the text as a comment) from replies such as "4", " 5 ",
    "5 - quick and kind", "I'd say 4", "4/5" or "4 out of 5 stars"; None when no score on
    the scale stands in it, or when a fraction is not one of this scale ("8/10" on a 1-5
    scale: never a guess). A fraction anywhere wins over a lone number ("2 days late, 4/5")."""
    # Phone numbers and counts blanked out, the text's length kept (the comment comes from
    # the body).
    text = PHONE.sub(_blank_phone, body)
    fraction = LEADING_FRACTION.match(text)
    if fraction is None:
        text = WORD_FRACTION.sub(_blank, text)
        fraction = FRACTION.search(text)
    if fraction is not None:
        score, top = int(fraction.group(1)), int(fraction.group(2))
        return _score_in(body, fraction, score) if lowest <= score <= highest == top else None
    for match in NUMBER.finditer(text):
        score = int(match.group())
        if lowest <= score <= highest:
            return _score_in(body, match, score)
    return None


def _digits(text: str) -> int:
    return sum(char.isdecimal() for char in text)


def _blank(match: re.Match) -> str:
    return "#" * len(match.group())


def _blank_phone(match: re.Match) -> str:
    """A run of digits blanked when it holds a phone number; a number of one or two digits
    after a number written in one piece ("0612345678 5") is kept."""
    run = match.group()
    if _digits(run) < PHONE_DIGITS:
        return run
    *groups, last = run.split()
    if groups and len(last) <= 2 and any(_digits(g) >= PHONE_DIGITS for g in groups):
        number = run[: len(run) - len(last)]
        return "#" * len(number.rstrip()) + number[len(number.rstrip()) :] + last
    return "#" * len(run)


def _score_in(body: str, match: re.Match, score: int) -> tuple[int, str]:
    """The score and the text around its match as the comment."""
    before = body[: match.start()].strip(SEPARATORS)
    after = body[match.end() :].strip(SEPARATORS)
    return score, " ".join(part for part in (before, after) if part)


@dataclass(frozen=True)
class Replies:
    """What we write back on the channel the customer wrote by (sms, whatsapp), in the
    organisation's voice and the language in force."""

    organisation: str
    channel: str = "sms"

    def thanks(self) -> str:
        return _("Thank you for your answer! - %(organisation)s", organisation=self.organisation)

    def what_went_wrong(self) -> str:
        return _("Sorry to hear that. What went wrong?")

    def noted(self) -> str:
        return _(
            "Thank you for telling us. We will look into it. - %(organisation)s",
            organisation=self.organisation,
        )

    def handing_over(self) -> str:
        return _(
            "Thank you for telling us. Someone from our team will contact you personally. "
            "- %(organisation)s",
            organisation=self.organisation,
        )

    def clarify(self, lowest: int, highest: int) -> str:
        return _(
            "Sorry, we didn't understand. Please reply with a number from %(lowest)s to "
            "%(highest)s.",
            lowest=lowest,
            highest=highest,
        )

    def help(self) -> str:
        if self.channel == "whatsapp":
            return _(
                "%(organisation)s: WhatsApp messages about your support cases. Reply STOP to "
                "stop them, START to get them again.",
                organisation=self.organisation,
            )
        return _(
            "%(organisation)s: texts about your support cases. Reply STOP to stop them, "
            "START to get them again.",
            organisation=self.organisation,
        )

    def stopped(self) -> str:
        if self.channel == "whatsapp":
            return _(
                "You will get no more WhatsApp messages from %(organisation)s. Reply START to "
                "get them again.",
                organisation=self.organisation,
            )
        return _(
            "You will get no more texts from %(organisation)s. Reply START to get them again.",
            organisation=self.organisation,
        )

    def started(self) -> str:
        if self.channel == "whatsapp":
            return _(
                "You will get WhatsApp messages from %(organisation)s again. Reply STOP to stop "
                "them.",
                organisation=self.organisation,
            )
        return _(
            "You will get texts from %(organisation)s again. Reply STOP to stop them.",
            organisation=self.organisation,
        )


def phone_language(phone: str) -> str:
    """The language of the customer with this number (the latest one), else (no such
    customer, no locale, or one not in use) the organisation's default language."""
    locale = db.session.scalar(
        sa.select(Customer.locale).where(Customer.phone == phone).order_by(Customer.id.desc())
    )
    return language_of(locale)


def open_invitation(
    phone: str, channel: str, now: datetime, replied_to: str = ""
) -> SurveyInvitation | None:
    """The phone's open invitation on this channel (sms, whatsapp: the one the reply came
    by), sent and not expired: the one whose message the reply answers (replied_to: its
    provider id, as a WhatsApp quick-reply tap names it) while it is open, else the most
    recent."""
    query = (
        sa.select(SurveyInvitation)
        .join(Customer, Customer.id == SurveyInvitation.customer_id)
        .join(Message, Message.id == SurveyInvitation.message_id)
        .where(
            Customer.phone == phone,
            SurveyInvitation.channel == channel,
            SurveyInvitation.expires_at > now,
            Message.status == MessageStatus.SENT,
        )
    )
    if replied_to and (tapped := db.session.scalar(query.where(Message.provider_id == replied_to))):
        return tapped
    newest = query.order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc())
    return db.session.scalar(newest.limit(1))


def answer_by_text(
    invitation: SurveyInvitation,
    body: str,
    replies: Replies,
    now: datetime,
    *,
    button: bool = False,
) -> str | None:
    """Record what a reply to a check-in says, answered on the invitation's channel (the one
    the reply came by: open_invitation finds it by channel); the text to send
    back, or None. A quick-reply button's payload (button) is a score alone: it changes the
    score and keeps what the answer said before (comment, reasons). Flushes."""
    survey = invitation.survey
    body = body.strip()
    answer = invitation.response
    if not button and invitation.sms_state == SmsState.COMMENT and answer is not None:
        record_answer(
            invitation,
            score=answer.score,
            comment=body[:2000],
            reason_codes=list(answer.reason_codes or []),
            answers=dict(answer.answers or {}),
            channel=invitation.channel,
            now=now,
        )
        invitation.sms_state = SmsState.DONE
        return replies.noted()
    read = read_score(body, survey.scale_min, survey.scale_max)
    if read is None:
        record_event(invitation.case_id, EventKind.SMS_UNREADABLE, {"body": body[:500]}, at=now)
        if invitation.sms_state is None:
            invitation.sms_state = SmsState.CLARIFY
            return replies.clarify(survey.scale_min, survey.scale_max)
        return None  # asked once already: a person reads it on the timeline
    score, comment = read
    kept = answer if button else None  # a button changes the score alone: the rest stays
    if button:
        comment = kept.comment if kept else ""
    answer, _new = record_answer(
        invitation,
        score=score,
        comment=comment[:2000],
        reason_codes=list(kept.reason_codes or []) if kept else None,
        answers=dict(kept.answers or {}) if kept else None,
        channel=invitation.channel,
        now=now,
    )
    if answer.recovery_id is not None and verdict(survey, score, comment) != "positive":
        invitation.sms_state = SmsState.DONE  # still unhappy after a recovery: a person takes over
        return replies.handing_over()
    if is_negative(survey, score) and not comment and invitation.sms_state != SmsState.DONE:
        if invitation.sms_state == SmsState.COMMENT:
            return None  # a button while we wait for the comment: asked once already
        invitation.sms_state = SmsState.COMMENT
        return replies.what_went_wrong()
    invitation.sms_state = SmsState.DONE
    return replies.thanks()
