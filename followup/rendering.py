"""Rendering of lead-editable message templates in Jinja's sandbox, within the limits of
followup.template_limits, with a fixed context; the problems a template has before it is saved.
A WhatsApp message is the template's content template (its SID, and its variables each
rendered like a text part) or, without one, its SMS body as a free-form message."""

import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

import css_inline
from flask_babel import gettext
from jinja2 import DictLoader, StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from followup.brand import email_brand
from followup.languages import in_language, languages_in_use
from followup.models import Case, Customer, MessageTemplate
from followup.models.cases import Priority
from followup.models.customers import PHONE_CHANNELS
from followup.paths import ROOT
from followup.template_limits import (
    BoundedSandbox,
    check_style_work,
    check_time,
    out_of_time,
    render_part,
    time_limit,
)


@cache
def _environment(html: bool) -> BoundedSandbox:
    """Text templates render raw and may include "footer", the default emails' text footer
    (the brand's address and privacy link); HTML ones autoescape and may extend "frame", the
    default responsive email frame."""
    email = ROOT / "templates" / "email"
    if not html:
        footer = (email / "_footer.txt").read_text()
        return BoundedSandbox(
            autoescape=False, undefined=StrictUndefined, loader=DictLoader({"footer": footer})
        )
    frame = (email / "_frame.html").read_text()
    return BoundedSandbox(
        autoescape=True, undefined=StrictUndefined, loader=DictLoader({"frame": frame})
    )


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool = False) -> Template:
    """Compiling costs far more than rendering: each template source is compiled once."""
    return _environment(html).from_string(source)


def _template(source: str, html: bool = False) -> Template:
    """The compiled part, unless the time to render it has run out (compiling a part cannot
    be stopped half-way: it is not started)."""
    check_time()
    return _compiled(source, html)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str
    text: str
    # A WhatsApp content template and its ContentVariables ({"1": "Ana"}), when it has one.
    content_sid: str = ""
    content_variables: dict[str, str] = field(default_factory=dict)

    @property
    def content_variables_json(self) -> str:
        """The ContentVariables as Twilio takes them: JSON text; "" without a content template."""
        if not self.content_sid:
            return ""
        return json.dumps(self.content_variables, ensure_ascii=False)


def message_context(
    case: Case,
    customer: Customer,
    organisation: str,
    survey: dict | None,
    unsubscribe_url: str | None = None,
    language: str = "en",
    recovery: dict | None = None,
    sender: str | None = None,
) -> dict:
    """The documented variables every template may use (unsubscribe_url: in every email;
    language: a code of followup.languages, the version rendered; feedback and gesture:
    what the customer said and what we give, in a recovery's messages, else None; sender:
    who signs a recovery's messages; brand: the organisation's logo, accent colour and
    footer, followup.brand.email_brand; footer: the default frames' footer words in the
    language: case, privacy, privacy_line (with the link, else None), unsubscribe)."""
    brand = email_brand()
    with in_language(language):
        team = gettext("The %(organisation)s team", organisation=organisation)
        footer = {
            "case": gettext("Case %(case)s", case=case.external_id),
            "privacy": gettext("Privacy policy"),
            "privacy_line": brand["privacy_url"]
            and gettext("Privacy policy: %(url)s", url=brand["privacy_url"]),
            "unsubscribe": gettext("Unsubscribe"),
        }
    return {
        "language": language,
        "customer": {
            "name": customer.name,
            # "Hi there," in English; the defaults in other languages leave the name out.
            "first_name": customer.first_name or ("there" if language == "en" else ""),
            "email": customer.email,
            "phone": customer.phone,
        },
        "case": {
            "number": case.external_id,
            "subject": case.subject,
            "priority": case.priority,
            "team": case.team,
        },
        "agent": {"name": case.agent_name or team},
        "sender": {"name": sender or case.agent_name or team},
        "organisation": {"name": organisation},
        "survey": survey,
        "unsubscribe_url": unsubscribe_url,
        "feedback": (recovery or {}).get("feedback"),
        "gesture": (recovery or {}).get("gesture"),
        "brand": brand,
        "footer": footer,
    }


# A <style> block a lead writes is applied inline (what most mail clients need) and kept for
# media queries; remote stylesheets are never fetched.
_css = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


PARTS = ("email_subject", "email_html", "email_text", "sms_text", "whatsapp_content_sid",
         "whatsapp_variables")  # fmt: skip
# The parts a language takes together or not at all (its variables fit its own SID).
WHATSAPP_PAIR = ("whatsapp_content_sid", "whatsapp_variables")
# A content template's SID (Twilio Content API), and its variables: lines "1: {{ ... }}".
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
VARIABLE_LINE = re.compile(r"^\s*(\d{1,2})\s*:[ \t]?(.*)$")
VARIABLE_CHARS = 1024  # WhatsApp's limit on one variable's value
EMPTY_VARIABLE = "-"  # WhatsApp refuses an empty value


class VariablesError(ValueError):
    """A line of a template's WhatsApp variables that is not "N: template" (N 1-99, once)."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def variable_templates(source: str) -> dict[str, tuple[int, str]]:
    """The WhatsApp variables' templates by number, each with its line; blank lines skipped."""
    found: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(source.splitlines(), 1):
        if not line.strip():
            continue
        matched = VARIABLE_LINE.match(line)
        if not matched or not 1 <= int(matched[1]) <= 99:
            raise VariablesError(number, "write each variable as “N: template”, N from 1 to 99")
        key = str(int(matched[1]))
        if key in found:
            raise VariablesError(number, f"variable {key} is set twice")
        found[key] = (number, matched[2])
    return found


def variable_value(text: str) -> str:
    """A rendered value as WhatsApp takes it: no newlines, tabs or runs of spaces (collapsed to
    one space), at most VARIABLE_CHARS characters, never empty."""
    value = " ".join(text.split())[:VARIABLE_CHARS]
    return value or EMPTY_VARIABLE


# A channel's own parts: a translation with none of them sends the channel in English.
CHANNEL_PARTS = {
    "email": ("email_subject", "email_html", "email_text"),
    "sms": ("sms_text",),
    "whatsapp": ("sms_text", "whatsapp_content_sid"),
}


def message_language(template: MessageTemplate, channel: str, language: str) -> str:
    """The language a message goes in, its words (team name, footer, greeting, recovery
    details) and its parts alike: the customer's when the template has a translation of the
    channel's parts in it, else English (a template written in English only, or one of an
    installation from before its language), never a mix of the two."""
    translated = (template.translations or {}).get(language) or {}
    own = any((translated.get(part) or "").strip() for part in CHANNEL_PARTS[channel])
    return language if own else "en"


def template_parts(template: MessageTemplate, language: str) -> dict[str, str]:
    """The template's parts in a language: its translation where it has one, else the
    template's own (English) part. WhatsApp's content SID and variables go as a pair: the
    language's own SID with its own variables, else the English SID with the English ones."""
    translated = (template.translations or {}).get(language) or {}
    parts = {part: translated.get(part) or getattr(template, part) or "" for part in PARTS}
    pair = translated if (translated.get("whatsapp_content_sid") or "").strip() else None
    for part in WHATSAPP_PAIR:
        parts[part] = (pair.get(part) or "") if pair else getattr(template, part) or ""
    return parts


def _html(source: str, context: dict) -> str:
    """The HTML part rendered, before its CSS is inlined (refused when inlining would cost
    too much)."""
    html = render_part(_template(source, html=True), context)
    check_style_work(html)
    return html


def render(template: MessageTemplate, channel: str, context: dict) -> RenderedMessage:
    """The message in a channel, within the limits of followup.template_limits (one second
    for all its parts): TemplateTooCostly says which it is over."""
    parts = template_parts(template, context.get("language", "en"))
    with time_limit():
        sid = parts["whatsapp_content_sid"].strip()
        if channel == "whatsapp" and sid:
            variables = {
                key: variable_value(render_part(_template(source), context))
                for key, (_, source) in variable_templates(parts["whatsapp_variables"]).items()
            }
            return RenderedMessage("", "", "", content_sid=sid, content_variables=variables)
        if channel in PHONE_CHANNELS:  # a WhatsApp message without one: free-form
            text = render_part(_template(parts["sms_text"]), context).strip()
            return RenderedMessage(subject="", html="", text=text)
        subject = render_part(_template(parts["email_subject"]), context)
        return RenderedMessage(
            subject=" ".join(subject.split()),
            html=_css.inline(_html(parts["email_html"], context)),
            text=render_part(_template(parts["email_text"]), context).strip() + "\n",
        )


def sample_context(organisation: str, language: str = "en") -> dict:
    """The context on sample data, as long as a real one: for previews and save-time checks."""
    case = Case(
        external_id="ZD-4711",
        subject="Parcel never arrived",
        priority=Priority.NORMAL,
        team="Shipping",
        agent_name="Sam Rivera",
    )
    customer = Customer(name="Ana Lima", email="ana@example.com", phone="+14155550123")
    url = "https://support.example.com/s/" + "T" * 43
    survey = {
        "url": url,
        "question": "How satisfied are you with how we handled this?",
        "score_urls": [{"score": n, "url": f"{url}?score={n}"} for n in range(1, 6)],
    }
    recovery = {
        "feedback": {
            "score": 2,
            "scale_max": 5,
            "comment": "Nobody told me the parcel was lost.",
            "reasons": ["It took too long"],
            "make_right": "Send a new one",
        },
        "gesture": {
            "kind": "code",
            "name": "10% discount",
            "offer": "10% off your next order",
            "code": "SORRY-7F3K2",
        },  # fmt: skip
    }
    return message_context(
        case, customer, organisation, survey, "https://support.example.com/u/" + "U" * 43,
        language, recovery,
    )  # fmt: skip


REASON_CHARS = 300  # an error may quote what the template made: a reason is kept this short


def clipped(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def why(error: Exception) -> str:
    """Why a template cannot be rendered, short: what the sandbox forbids (limits included)
    and unknown variables as they say, anything else with its type (ZeroDivisionError: ...)."""
    if isinstance(error, UndefinedError | SecurityError):
        return clipped(str(error))
    return clipped(f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class TemplateProblem:
    part: str  # a part of PARTS; es.sms_text for Spanish
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line else self.part
        return f"{where}: {self.reason}"


def template_problems(template: MessageTemplate, organisation: str) -> list[TemplateProblem]:
    """What keeps a template from rendering, found when it is saved rather than when it is
    sent: syntax errors with their line, unknown variables, what the sandbox forbids and
    what costs too much. English and the translations in languages in use are checked (the
    editor shows those; a hidden language's stored text is kept as it is, and never sent).
    Every part shares one second: once it is spent, the part that spent it is the last one
    checked."""
    problems = []
    in_use = languages_in_use()
    translations = sorted(
        language for language in template.translations or {} if language in in_use
    )
    with time_limit():
        for language in ("en", *translations):
            problems += _problems_in(template, organisation, language)
            if out_of_time():
                break
    return problems


def _problems_in(template: MessageTemplate, organisation: str, language: str) -> list:
    problems: list[TemplateProblem] = []
    context = sample_context(organisation, language)
    name = "{}" if language == "en" else f"{language}.{{}}"
    parts = template_parts(template, language)
    own = parts if language == "en" else (template.translations or {}).get(language) or {}
    # A language's own variables are checked even without its own SID (then refused below).
    parts.update({part: own[part] for part in WHATSAPP_PAIR if own.get(part)})
    for part, source in parts.items():
        if part.startswith("whatsapp_"):
            problems += _whatsapp_problems(part, source, context, name.format(part))
            continue
        try:
            if part == "email_html":
                _html(source, context)
            else:
                render_part(_template(source), context)
        except TemplateSyntaxError as error:
            reason = error.message or str(error)
            problems.append(TemplateProblem(name.format(part), error.lineno, clipped(reason)))
        except Exception as error:  # a lead's template may raise anything (1/0, recursion)
            problems.append(TemplateProblem(name.format(part), None, why(error)))
        if out_of_time():
            break
    # The language's own variables go with its own SID alone (template_parts).
    if (own.get("whatsapp_variables") or "").strip() and not (
        own.get("whatsapp_content_sid") or ""
    ).strip():
        reason = "variables are sent only with a content template: set its SID too"
        problems.append(TemplateProblem(name.format("whatsapp_variables"), None, reason))
    return problems


def _whatsapp_problems(part: str, source: str, context: dict, name: str) -> list[TemplateProblem]:
    """A content SID that is not one; variable lines that are not "N: template", or whose
    template does not render."""
    if part == "whatsapp_content_sid":
        if source.strip() and not CONTENT_SID.match(source.strip()):
            reason = (
                "a content SID is HX and 32 hexadecimal digits (Twilio's Content Template Builder)"
            )
            return [TemplateProblem(name, None, reason)]
        return []
    try:
        variables = variable_templates(source)
    except VariablesError as error:
        return [TemplateProblem(name, error.line, error.reason)]
    problems = []
    for key, (line, value) in variables.items():
        try:
            render_part(_template(value), context)
        except TemplateSyntaxError as error:
            reason = f"variable {key}: {error.message or error}"
            problems.append(TemplateProblem(name, line, clipped(reason)))
        except Exception as error:  # a lead's template may raise anything
            problems.append(TemplateProblem(name, line, clipped(f"variable {key}: {why(error)}")))
        if out_of_time():
            break
    return problems
