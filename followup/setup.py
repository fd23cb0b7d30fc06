"""The standard setup (CSAT survey, default templates, Standard and Demo cadences), API keys
and the demo data. Every function is idempotent where it can be and flushes; callers commit."""

import hashlib
import secrets

import sqlalchemy as sa

from followup import ROOT
from followup.extensions import db
from followup.languages import LANGUAGES, translatable
from followup.models import ApiKey, Cadence, CadenceStep, Case, Customer, MessageTemplate, Survey

CSAT_REASONS = [
    {"code": "slow", "label": translatable("It took too long")},
    {"code": "not_solved", "label": translatable("My problem isn't solved")},
    {"code": "had_to_repeat", "label": translatable("I had to explain it more than once")},
    {"code": "unfriendly", "label": translatable("The person wasn't friendly or helpful")},
    {"code": "policy", "label": translatable("I don't agree with the policy or outcome")},
    {"code": "other", "label": translatable("Something else")},
]

TEMPLATES = {
    "thank_you": "Thank you",
    "csat_checkin": "CSAT check-in",
    "csat_reminder": "CSAT reminder",
}

# (name, delay in seconds for Standard, delay for Demo, channel, template, with survey, condition)
STEPS = [
    ("thank-you", 0, 0, "email", "thank_you", False, "always"),
    ("check-in", 24 * 3600, 10, "preferred", "csat_checkin", True, "always"),
    ("reminder", 72 * 3600, 40, "email", "csat_reminder", True, "no_answer"),
]


def _default_template(key: str) -> dict:
    """The default template's parts from templates/email and templates/sms, with the
    translations in their language folders (templates/email/es ...)."""

    def parts(folder: str) -> dict:
        email, sms = ROOT / "templates" / "email" / folder, ROOT / "templates" / "sms" / folder
        return {
            "email_subject": (email / f"{key}.subject.txt").read_text().strip(),
            "email_html": (email / f"{key}.html").read_text(),
            "email_text": (email / f"{key}.txt").read_text(),
            "sms_text": (sms / f"{key}.txt").read_text().strip(),
        }

    translations = {language: parts(language) for language in LANGUAGES if language != "en"}
    return {**parts(""), "translations": translations}


def ensure_standard_setup() -> None:
    """The CSAT survey, default templates and the Standard (default) and Demo cadences."""
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    if survey is None:
        survey = Survey(
            key="csat",
            kind="csat",
            name="Customer satisfaction",
            question=translatable("How satisfied are you with how we handled {subject}?"),
            scale_min=1,
            scale_max=5,
            negative_max=2,
            reasons=CSAT_REASONS,
        )
        db.session.add(survey)
    templates = {}
    for key, name in TEMPLATES.items():
        template = db.session.scalar(sa.select(MessageTemplate).where(MessageTemplate.key == key))
        if template is None:
            template = MessageTemplate(key=key, name=name, **_default_template(key))
            db.session.add(template)
        templates[key] = template
    db.session.flush()
    has_default = db.session.scalar(sa.select(Cadence.id).where(Cadence.is_default.is_(True)))
    for cadence_name, delay_index in (("Standard", 1), ("Demo", 2)):
        if db.session.scalar(sa.select(Cadence.id).where(Cadence.name == cadence_name)):
            continue
        cadence = Cadence(
            name=cadence_name, is_default=cadence_name == "Standard" and not has_default
        )
        for position, step in enumerate(STEPS):
            cadence.steps.append(
                CadenceStep(
                    position=position,
                    name=step[0],
                    delay_seconds=step[delay_index],
                    channel=step[3],
                    template=templates[step[4]],
                    survey=survey if step[5] else None,
                    condition=step[6],
                )
            )
        db.session.add(cadence)
    db.session.flush()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str) -> str:
    """A new API key; only its hash is stored, so the caller must show it now."""
    key = "fu_" + secrets.token_urlsafe(32)
    db.session.add(ApiKey(name=name, prefix=key[:10], key_hash=hash_api_key(key)))
    db.session.flush()
    return key


DEMO_CASE = "DEMO-1001"


def seed_demo() -> None:
    """A demo customer with an email and a phone, and an open demo case."""
    ensure_standard_setup()
    if db.session.scalar(sa.select(Case.id).where(Case.external_id == DEMO_CASE)):
        return
    customer = db.session.scalar(sa.select(Customer).where(Customer.external_id == "demo-customer"))
    if customer is None:
        customer = Customer(
            external_id="demo-customer",
            name="Dana Demo",
            email="dana@example.com",
            phone="+14155550123",
            locale="en",
            timezone="America/Los_Angeles",
        )
    db.session.add(
        Case(
            external_id=DEMO_CASE,
            customer=customer,
            subject="Refund for a double charge",
            agent_name="Sam Rivera",
            team="Billing",
            priority="normal",
            tags=["billing"],
        )
    )
    db.session.flush()
