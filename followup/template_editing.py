"""Changing message templates from the console: where a template's problems belong (the
part's field in the editor's flat mapping of parts), a template rendered on sample data with
its SMS segments and problems, what an edit would take away that a current cadence still
needs, and the cadences using each template. Nothing here writes."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from followup.cadences import channel_problems
from followup.extensions import db
from followup.models import Cadence, CadenceStep, MessageTemplate
from followup.rendering import (
    PARTS,
    RenderedMessage,
    TemplateProblem,
    message_language,
    render,
    sample_context,
    template_problems,
    why,
)
from followup.segments import sms_segments
from followup.template_limits import time_limit


def field_name(language: str, part: str) -> str:
    """The form field of a part: sms_text in English, es_sms_text in Spanish."""
    return part if language == "en" else f"{language}_{part}"


def used_by() -> dict[int, list[tuple[str, bool]]]:
    """The current cadence versions using each template, by template id: (name, archived)."""
    used: dict[int, list] = {}
    for template_id, name, archived_at in db.session.execute(
        sa.select(CadenceStep.template_id, Cadence.name, Cadence.archived_at)
        .join(Cadence, Cadence.id == CadenceStep.cadence_id)
        .where(Cadence.superseded_at.is_(None))
        .distinct()
        .order_by(Cadence.name)
    ):
        used.setdefault(template_id, []).append((name, archived_at is not None))
    return used


def key_taken(key: str) -> bool:
    query = sa.select(MessageTemplate.id).where(MessageTemplate.key == key)
    return db.session.scalar(query) is not None


def _problems(template: MessageTemplate) -> list[TemplateProblem]:
    return template_problems(template, current_app.config["ORGANISATION_NAME"])


def try_render(
    template: MessageTemplate, channel: str, context: dict
) -> tuple[RenderedMessage | None, list[str]]:
    """The message, or None and why it cannot be rendered."""
    try:
        return render(template, channel, context), []
    except Exception as error:  # a sandboxed template may raise anything
        return None, [f"The {channel} cannot be rendered: {why(error)}"]


def _problem_field(problem: TemplateProblem, template: MessageTemplate) -> str | None:
    """The form field a problem belongs on: a translated part's own field, or the English
    field when the translation has no such part (it renders the English one)."""
    language, _dot, part = problem.part.rpartition(".")
    if part not in PARTS:
        return None
    if language and part in (template.translations or {}).get(language, {}):
        return field_name(language, part)
    return part


def located_problems(template: MessageTemplate) -> list[dict]:
    """The template's problems (as JSON values), each with the form field it belongs on and
    only once: a translation without a part repeats the English part's problems."""
    located, seen = [], set()
    for problem in _problems(template):
        field = _problem_field(problem, template)
        if (field, problem.line, problem.reason) in seen:
            continue
        seen.add((field, problem.line, problem.reason))
        located.append({"field": field, "part": problem.part, "line": problem.line,
                        "reason": problem.reason, "message": str(problem)})  # fmt: skip
    return located


def _sample(template: MessageTemplate, channel: str, language: str) -> dict:
    """The sample context a channel's message renders with: in the language it would go in
    (rendering.message_language)."""
    language = message_language(template, channel, language)
    return sample_context(current_app.config["ORGANISATION_NAME"], language)


def preview(template: MessageTemplate, language: str, problems: list[dict] | None = None) -> dict:
    """The template rendered on sample data as a customer of a language gets it (each
    channel in rendering.message_language): email, SMS with its segments, the WhatsApp
    content template with its ContentVariables (when it has one), and the problems of every
    part (as JSON values; given when the caller has found them). Every
    render shares one time limit, the checks first: a part that takes it all is named."""
    with time_limit():
        if problems is None:
            problems = located_problems(template)
        email, email_problems = try_render(template, "email", _sample(template, "email", language))
        sms, sms_problems = try_render(template, "sms", _sample(template, "sms", language))
        whatsapp, whatsapp_problems = try_render(
            template, "whatsapp", _sample(template, "whatsapp", language)
        )
    if not problems:  # only this language's sample context breaks it, if anything does
        problems = [{"field": None, "part": None, "line": None, "reason": r, "message": r}
                    for r in email_problems + sms_problems + whatsapp_problems]  # fmt: skip
    return {
        "language": language,
        "email": email and {"subject": email.subject, "html": email.html, "text": email.text},
        "sms": sms and {"body": sms.text, **sms_segments(sms.text)._asdict()},
        "whatsapp": {"content_sid": whatsapp.content_sid, "variables": whatsapp.content_variables}
        if whatsapp and whatsapp.content_sid
        else None,
        "problems": problems,
    }


def needed_by_cadences(template: MessageTemplate, candidate: MessageTemplate) -> list[str]:
    """What this edit would take away that a current cadence's step still needs."""
    parts = frozenset(part for part in PARTS if getattr(candidate, part))
    steps = db.session.execute(
        sa.select(Cadence.name, CadenceStep.name, CadenceStep.channel)
        .join(CadenceStep, CadenceStep.cadence_id == Cadence.id)
        .where(
            CadenceStep.template_id == template.id,
            Cadence.superseded_at.is_(None),
            Cadence.archived_at.is_(None),
        )
    )
    return [
        _("cadence %(cadence)s, step %(step)s %(problem)s", cadence=repr(cadence),
          step=repr(step), problem=problem)
        for cadence, step, channel in steps
        for problem in channel_problems(channel, candidate.name or template.name, parts, _)
    ]  # fmt: skip
