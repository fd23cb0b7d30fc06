"""Rendering of lead-editable message templates in Jinja's sandbox with a fixed context."""

from dataclasses import dataclass
from functools import cache, lru_cache

from jinja2 import DictLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from followup import ROOT
from followup.models import Case, Customer, MessageTemplate


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    """Text templates render raw; HTML ones autoescape and may extend "frame", the default
    responsive email frame."""
    if not html:
        return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
    frame = (ROOT / "templates" / "email" / "_frame.html").read_text()
    return SandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, loader=DictLoader({"frame": frame})
    )


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool = False) -> Template:
    """Compiling costs far more than rendering: each template source is compiled once."""
    return _environment(html).from_string(source)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str
    text: str


def message_context(
    case: Case,
    customer: Customer,
    organisation: str,
    survey: dict | None,
    unsubscribe_url: str | None = None,
) -> dict:
    """The documented variables every template may use (unsubscribe_url: in every email)."""
    return {
        "customer": {
            "name": customer.name,
            "first_name": customer.first_name or "there",
            "email": customer.email,
            "phone": customer.phone,
        },
        "case": {
            "number": case.external_id,
            "subject": case.subject,
            "priority": case.priority,
            "team": case.team,
        },
        "agent": {"name": case.agent_name or f"The {organisation} team"},
        "organisation": {"name": organisation},
        "survey": survey,
        "unsubscribe_url": unsubscribe_url,
    }


def render(template: MessageTemplate, channel: str, context: dict) -> RenderedMessage:
    if channel == "sms":
        text = _compiled(template.sms_text).render(context).strip()
        return RenderedMessage(subject="", html="", text=text)
    subject = _compiled(template.email_subject).render(context)
    return RenderedMessage(
        subject=" ".join(subject.split()),
        html=_compiled(template.email_html, html=True).render(context),
        text=_compiled(template.email_text).render(context).strip() + "\n",
    )
