"""Rendering of lead-editable message templates in Jinja's sandbox with a fixed context."""

from dataclasses import dataclass
from functools import cache, lru_cache

import css_inline
from jinja2 import DictLoader, StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from followup.models import Case, Customer, MessageTemplate
from followup.models.cases import Priority
from followup.paths import ROOT

# A lead's template may not make text or numbers this large, nor loop this often: a
# preview or a send must not take the server's memory or minutes of its time.
MAX_SIZE = 100_000
MAX_RANGE = 1_000


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items in templates")
    return numbers


class _LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with `*` and `**` refused when they would build something huge."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, **options):
        super().__init__(**options)
        self.globals["range"] = _bounded_range

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
            counts = [v for v in (left, right) if isinstance(v, int)]
            if sizes and counts and sizes[0] * max(counts[0], 0) > MAX_SIZE:
                raise SecurityError(f"text longer than {MAX_SIZE} characters is not allowed")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponents above 64 are not allowed in templates")
        return super().call_binop(context, operator, left, right)


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    """Text templates render raw; HTML ones autoescape and may extend "frame", the default
    responsive email frame."""
    if not html:
        return _LimitedSandbox(autoescape=False, undefined=StrictUndefined)
    frame = (ROOT / "templates" / "email" / "_frame.html").read_text()
    return _LimitedSandbox(
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
    language: str = "en",
    recovery: dict | None = None,
    sender: str | None = None,
) -> dict:
    """The documented variables every template may use (unsubscribe_url: in every email;
    language: en or es, the version of the template being rendered; feedback and gesture:
    what the customer said and what we give, in a recovery's messages, else None; sender:
    who signs a recovery's messages)."""
    spanish = language == "es"
    team = f"El equipo de {organisation}" if spanish else f"The {organisation} team"
    return {
        "language": language,
        "customer": {
            "name": customer.name,
            # "Hi there," in English; the Spanish defaults leave the name out instead.
            "first_name": customer.first_name or ("" if spanish else "there"),
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
    }


# A <style> block a lead writes is applied inline (what most mail clients need) and kept for
# media queries; remote stylesheets are never fetched.
_css = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


PARTS = ("email_subject", "email_html", "email_text", "sms_text")


def template_parts(template: MessageTemplate, language: str) -> dict[str, str]:
    """The template's parts in a language: its translation where it has one, else the
    template's own (English) part."""
    translated = (template.translations or {}).get(language) or {}
    return {part: translated.get(part) or getattr(template, part) or "" for part in PARTS}


def render(template: MessageTemplate, channel: str, context: dict) -> RenderedMessage:
    parts = template_parts(template, context.get("language", "en"))
    if channel == "sms":
        text = _compiled(parts["sms_text"]).render(context).strip()
        return RenderedMessage(subject="", html="", text=text)
    subject = _compiled(parts["email_subject"]).render(context)
    return RenderedMessage(
        subject=" ".join(subject.split()),
        html=_css.inline(_compiled(parts["email_html"], html=True).render(context)),
        text=_compiled(parts["email_text"]).render(context).strip() + "\n",
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


@dataclass(frozen=True)
class TemplateProblem:
    part: str  # email_subject, email_html, email_text or sms_text; es.sms_text for Spanish
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line else self.part
        return f"{where}: {self.reason}"


def template_problems(template: MessageTemplate, organisation: str) -> list[TemplateProblem]:
    """What keeps a template from rendering, found when it is saved rather than when it is
    sent: syntax errors with their line, unknown variables, and what the sandbox forbids."""
    problems = []
    for language in ("en", *sorted(template.translations or {})):
        context = sample_context(organisation, language)
        name = "{}" if language == "en" else f"{language}.{{}}"
        for part, source in template_parts(template, language).items():
            try:
                _compiled(source, part == "email_html").render(context)
            except TemplateSyntaxError as error:
                reason = error.message or str(error)
                problems.append(TemplateProblem(name.format(part), error.lineno, reason))
            except (UndefinedError, SecurityError) as error:
                problems.append(TemplateProblem(name.format(part), None, str(error)))
            except Exception as error:  # a lead's template may raise anything (1/0, recursion)
                reason = f"{type(error).__name__}: {error}"
                problems.append(TemplateProblem(name.format(part), None, reason))
    return problems
