"""Rendering the messages a dispatch sends: each one's survey links, unsubscribe link and
headers, recovery details in the message's language, and its template, into an
OutgoingMessage for the channel, with what is kept of it once sent (its subject and text, the
one-time links replaced by placeholders). A WhatsApp message goes as its template's content
template, or free-form only in the 24 hours after the customer last wrote on WhatsApp (else it
fails, and a "preferred" step goes on the next channel: followup.fallbacks). A template that
cannot be rendered fails its message alone; one that takes all its time
(followup.template_limits) fails the batch's other messages it would render the same way at
once, so the batch's time goes to the messages that can be sent."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext

from followup.cadences import PHONE_CHANNELS
from followup.channels.base import OutgoingMessage
from followup.fallbacks import WHATSAPP_NO_TEMPLATE, handle_send_error
from followup.languages import in_language, language_of
from followup.models import Message, SurveyInvitation, UnsubscribeLink
from followup.models.cases import EventKind
from followup.models.messages import SUBJECT_CHARS, MessageStatus
from followup.outbox_checks import unclaim
from followup.recovery_queue import template_details
from followup.rendering import message_context, message_language, render, template_parts, why
from followup.template_limits import TemplateTooSlow
from surveys.invitations import invitations_for, survey_links
from surveys.unsubscribe_links import unsubscribe_links_for, unsubscribe_url

SURVEY_LINK, UNSUBSCRIBE_LINK = "[survey link]", "[unsubscribe link]"
# Free-form WhatsApp messages may go this long after the customer's last WhatsApp message.
WHATSAPP_WINDOW = timedelta(hours=24)


def render_all(due: list[Message], now: datetime) -> list[OutgoingMessage]:
    """The due messages rendered; one whose template fails is marked failed and given back. A
    WhatsApp message that may not go (no content template, outside the window) fails before
    its survey invitation is made."""
    config = current_app.config
    due = [message for message in due if not _refused_by_whatsapp(message, now)]
    invitations = invitations_for(
        [(m, m.step.survey) for m in due if m.step.survey is not None],
        config["SECRET_KEY"],
        now,
        config["SURVEY_WINDOW_DAYS"],
    )
    recoveries = template_details({m.recovery_id for m in due if m.recovery_id is not None})
    unsubscribe_links = unsubscribe_links_for(
        [m for m in due if m.channel == "email" and m.recipient], config["SECRET_KEY"], now
    )
    outgoing = []
    too_slow: dict[tuple, str] = {}  # (template, channel, language): why
    for message in due:
        out = _outgoing(
            message,
            invitations.get(message.id),
            recoveries.get(message.recovery_id) if message.recovery_id is not None else None,
            unsubscribe_links.get(message.id),
            now,
            too_slow,
        )
        if out is not None:
            outgoing.append(out)
    return outgoing


def _links(
    message: Message, invitation: SurveyInvitation | None, link: UnsubscribeLink | None
) -> tuple[dict | None, str | None, dict[str, str]]:
    """The message's survey links, its unsubscribe URL and the headers that go with it."""
    config = current_app.config
    keys = [config["SECRET_KEY"], *config["SECRET_KEY_FALLBACKS"]]
    survey = message.step.survey
    links = None
    if survey is not None:
        assert invitation is not None  # render_all made one for every message with a survey
        links = survey_links(invitation, survey, keys, config["PUBLIC_BASE_URL"])
    unsubscribe, headers = None, {}
    if link is not None:
        unsubscribe = unsubscribe_url(link, keys, config["PUBLIC_BASE_URL"])
        headers = {  # RFC 8058 one-click unsubscribe
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return links, unsubscribe, headers


def _failed(message: Message, reason: str, now: datetime, code: str | None = None) -> None:
    """The message fails alone, with its reason (and code) on the timeline; the batch goes on."""
    message.status, message.error = MessageStatus.FAILED, reason
    detail = {"reason": reason, "code": code} if code else {"reason": reason}
    unclaim(message, EventKind.MESSAGE_FAILED, detail, now)


def _refused_by_whatsapp(message: Message, now: datetime) -> bool:
    """Fail a WhatsApp message whose template has no content template in the customer's
    language while the customer's last WhatsApp message is too long ago for a free-form one
    (a "preferred" step goes on the next channel); True when it failed."""
    if message.channel != "whatsapp":
        return False
    template = message.step.template
    language = message_language(template, "whatsapp", language_of(message.customer.locale))
    parts = template_parts(template, language)
    inbound = message.customer.whatsapp_inbound_at
    if parts["whatsapp_content_sid"].strip() or (inbound and now - inbound < WHATSAPP_WINDOW):
        return False
    _failed(message, f"template {template.key!r} has no WhatsApp content template, and a "
            "free-form message may go only within 24 hours of the customer's last WhatsApp "
            "message", now, WHATSAPP_NO_TEMPLATE)  # fmt: skip
    handle_send_error(message, WHATSAPP_NO_TEMPLATE, now)
    return True


def _outgoing(
    message: Message,
    invitation: SurveyInvitation | None,
    recovery: dict | None,
    link: UnsubscribeLink | None,
    now: datetime,
    too_slow: dict[tuple, str],
) -> OutgoingMessage | None:
    """One message rendered; None (the message failed) when its template cannot be (or took all
    its time for an earlier message of the batch), or it has no address."""
    config = current_app.config
    links, unsubscribe, headers = _links(message, invitation, link)
    template = message.step.template
    language = message_language(template, message.channel, language_of(message.customer.locale))
    sender = None
    if recovery is not None:
        recovery = translated(recovery, language)
        sender = config["RECOVERY_SENDER"] or message.case.agent_name
    context = message_context(
        message.case,
        message.customer,
        config["ORGANISATION_NAME"],
        links,
        unsubscribe,
        language,
        recovery,
        sender,
    )
    slow = (template.id, message.channel, language)
    if slow in too_slow:
        _failed(message, too_slow[slow], now)
        return None
    try:
        rendered = render(template, message.channel, context)
    except Exception as error:  # a lead's template may raise anything; it fails alone
        reason = f"template {template.key!r} cannot be rendered: {why(error)}"
        if isinstance(error, TemplateTooSlow):
            too_slow[slow] = reason
        _failed(message, reason, now)
        return None
    if message.recipient is None:  # planning suppresses these: a row changed since fails alone
        _failed(message, "no address to send to", now)
        return None
    placeholders = _placeholders(links, unsubscribe)
    variables = rendered.content_variables_json
    kept = f"[content {rendered.content_sid}] {variables}" if variables else rendered.text
    brand_name = context["brand"]["sender_name"]
    return OutgoingMessage(
        message_id=message.id,
        channel=message.channel,
        to=message.recipient,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        headers=headers,
        # The brand's sender name, else the channel's (ORGANISATION_NAME); a recovery's is signed.
        from_name=f"{context['sender']['name']} ({brand_name or config['ORGANISATION_NAME']})"
        if recovery is not None
        else brand_name,
        status_callback=(
            f"{config['PUBLIC_BASE_URL']}/webhooks/twilio/status?m={message.id}"
            if message.channel in PHONE_CHANNELS
            else None
        ),
        personal=tuple(_texts(context)) if message.channel == "email" else (),
        kept_subject=_without_links(rendered.subject, placeholders)[:SUBJECT_CHARS],
        kept_text=_without_links(kept, placeholders),
        content_sid=rendered.content_sid,
        content_variables=variables,
    )


def _placeholders(links: dict | None, unsubscribe: str | None) -> dict[str, str]:
    """The message's one-time links, each with the placeholder that replaces it in what is
    kept of the message (its survey links' tokens are stored hashed only)."""
    placeholders = {}
    if links is not None:
        for url in (links["url"], *(score["url"] for score in links["score_urls"])):
            placeholders[url] = SURVEY_LINK
    if unsubscribe is not None:
        placeholders[unsubscribe] = UNSUBSCRIBE_LINK
    return placeholders


def _without_links(text: str, placeholders: dict[str, str]) -> str:
    """The text with each link replaced, the longest first ("?score=10" before "?score=1")."""
    for url in sorted(placeholders, key=len, reverse=True):
        text = text.replace(url, placeholders[url])
    return text


def _texts(value: object, name: str = "") -> Iterator[tuple[str, str]]:
    """Every text in a template context, by its dotted name (lists by position)."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _texts(inner, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _texts(inner, f"{name}.{index}")


def translated(recovery: dict, language: str) -> dict:
    """A recovery's template details in the message's language: the reason labels (the
    lead's translation in the survey, else the catalog's), and the gesture's offer where the
    lead wrote it in that language."""
    own = recovery["reason_translations"].get(language) or {}
    with in_language(language):
        reasons = [own.get(label) or gettext(label) for label in recovery["feedback"]["reasons"]]
    gesture = recovery["gesture"]
    if gesture is not None:
        offers = gesture["offer_translations"]
        gesture = {key: value for key, value in gesture.items() if key != "offer_translations"}
        gesture["offer"] = offers.get(language) or gesture["offer"]
    feedback = {**recovery["feedback"], "reasons": reasons}
    return {"feedback": feedback, "gesture": gesture}
