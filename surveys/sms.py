"""Answers by text: reading a reply (keyword, score, comment) and the short conversation that
follows a check-in SMS. At most one more question is ever asked: "what went wrong?" after a
negative score, or one clarifying text after a reply we could not read; never a loop.
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

NUMBER = re.compile(r"(?<![\d.,/])\d{1,2}(?!\d)(?![.,/]\d)")
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
    "5 - quick and kind" or "I'd say 4"; None when no number on the scale stands in it."""
    for match in NUMBER.finditer(body):
        score = int(match.group())
        if lowest <= score <= highest:
            before = body[: match.start()].strip(SEPARATORS)
            after = body[match.end() :].strip(SEPARATORS)
            return score, " ".join(part for part in (before, after) if part)
    return None


@dataclass(frozen=True)
class Replies:
    """What we text back, in the organisation's voice and the language in force."""

    organisation: str

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
        return _(
            "%(organisation)s: texts about your support cases. Reply STOP to stop them, "
            "START to get them again.",
            organisation=self.organisation,
        )

    def stopped(self) -> str:
        return _(
            "You will get no more texts from %(organisation)s. Reply START to get them again.",
            organisation=self.organisation,
        )

    def started(self) -> str:
        return _(
            "You will get texts from %(organisation)s again. Reply STOP to stop them.",
            organisation=self.organisation,
        )


def phone_language(phone: str) -> str:
    """The language of the customer with this number (the latest one), else English."""
    locale = db.session.scalar(
        sa.select(Customer.locale).where(Customer.phone == phone).order_by(Customer.id.desc())
    )
    return language_of(locale)


def open_invitation(phone: str, now: datetime) -> SurveyInvitation | None:
    """The phone's most recent SMS invitation that was sent and has not expired."""
    return db.session.scalar(
        sa.select(SurveyInvitation)
        .join(Customer, Customer.id == SurveyInvitation.customer_id)
        .join(Message, Message.id == SurveyInvitation.message_id)
        .where(
            Customer.phone == phone,
            SurveyInvitation.channel == "sms",
            SurveyInvitation.expires_at > now,
            Message.status == MessageStatus.SENT,
        )
        .order_by(SurveyInvitation.created_at.desc(), SurveyInvitation.id.desc())
        .limit(1)
    )


def answer_by_text(invitation: SurveyInvitation, body: str, replies: Replies, now: datetime):
    """Record what a reply to a check-in says; the text to send back, or None. Flushes."""
    survey = invitation.survey
    body = body.strip()
    if invitation.sms_state == SmsState.COMMENT and invitation.response is not None:
        answer = invitation.response
        record_answer(
            invitation,
            score=answer.score,
            comment=body[:2000],
            reason_codes=list(answer.reason_codes or []),
            answers=dict(answer.answers or {}),
            channel="sms",
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
    answer, _new = record_answer(
        invitation, score=score, comment=comment[:2000], channel="sms", now=now
    )
    if answer.recovery_id is not None and verdict(survey, score, comment) != "positive":
        invitation.sms_state = SmsState.DONE  # still unhappy after a recovery: a person takes over
        return replies.handing_over()
    if is_negative(survey, score) and not comment and invitation.sms_state != SmsState.DONE:
        invitation.sms_state = SmsState.COMMENT
        return replies.what_went_wrong()
    invitation.sms_state = SmsState.DONE
    return replies.thanks()
