"""The standard setup (CSAT survey, default templates, Standard and Demo cadences) and the
demo data. Every function is idempotent where it can be and flushes; callers commit."""

import sqlalchemy as sa

from followup.cases import current_cadences
from followup.extensions import db
from followup.goodwill import add_codes
from followup.languages import LANGUAGES, translatable
from followup.models import (
    Cadence,
    CadenceStep,
    Case,
    Customer,
    GestureType,
    MessageTemplate,
    RecoveryRule,
    Survey,
    SurveyExclusion,
)
from followup.models.base import utcnow
from followup.models.cadences import CadencePurpose
from followup.models.cases import Priority
from followup.paths import ROOT
from surveys.kinds import CSAT_REASONS, DEFAULT_QUESTION, standard_fields

# Customer tags never surveyed on a first setup (leads change them under Exclusions).
DEFAULT_EXCLUDED_TAGS = ("vip", "partner")

TEMPLATES = {
    "thank_you": "Thank you",
    "csat_checkin": "CSAT check-in",
    "csat_reminder": "CSAT reminder",
    "apology": "Recovery apology",
    "recovery_checkin": "Recovery check-in",
    "recovery_reminder": "Recovery reminder",
}

# (name, delay in seconds in the real cadence, delay in the demo's, channel, template,
# survey, condition)
STEPS = [
    ("thank-you", 0, 0, "email", "thank_you", None, "always"),
    ("check-in", 24 * 3600, 10, "preferred", "csat_checkin", "csat", "always"),
    ("reminder", 72 * 3600, 40, "email", "csat_reminder", "csat", "no_answer"),
]
# What follows a first negative answer: an apology soon, the check-in three days on, and one
# reminder two days after that (all in working hours, on the channel the customer answered on).
RECOVERY_STEPS = [
    ("apology", 30 * 60, 5, "answered", "apology", None, "always"),
    ("recovery check-in", 3 * 86400, 30, "answered", "recovery_checkin", "recovery", "always"),
    ("recovery reminder", 5 * 86400, 60, "answered", "recovery_reminder", "recovery",
     "no_answer"),
]  # fmt: skip
CADENCES = [  # (name, purpose, steps, index of the delay column, default)
    ("Standard", "close", STEPS, 1, True),
    ("Demo", "close", STEPS, 2, False),
    ("Recovery", "recovery", RECOVERY_STEPS, 1, True),
]

# (key, name, kind, offer, value, cost, monthly budget, due hours); amounts in cents
GESTURES = [
    ("discount-10", "10% discount", "code", "10% off your next order", 0, 500, 50_000, 24),
    ("free-shipping", "Free shipping", "code", "free shipping on your next order", 0, 800,
     40_000, 24),
    ("account-credit", "Account credit", "credit", "a $10 credit", 1000, 1000, 50_000, 24),
    ("call-back", "Call-back from a team lead", "task", "a call from a team lead", 0, 1500,
     None, 24),
    ("handwritten-note", "Handwritten note", "task", "", 0, 300, None, 72),
]  # fmt: skip
# The default offers in the other languages, by gesture key (as the apologies word them;
# Portuguese without the accents that would make a text cost UCS-2 segments).
OFFER_TRANSLATIONS = {
    "discount-10": {
        "es": "un 10 % de descuento en tu próximo pedido",
        "fr": "10 % de réduction sur votre prochaine commande",
        "de": "10 % Rabatt auf Ihre nächste Bestellung",
        "pt-BR": "10% de desconto na sua nova compra",
    },
    "free-shipping": {
        "es": "envío gratis en tu próximo pedido",
        "fr": "la livraison offerte sur votre prochaine commande",
        "de": "kostenlosen Versand für Ihre nächste Bestellung",
        "pt-BR": "frete gratuito na sua nova compra",
    },
    "account-credit": {
        "es": "un crédito de US$10",
        "fr": "un avoir de 10 $ US",
        "de": "ein Guthaben von 10 US-Dollar",
        "pt-BR": "um crédito de US$ 10",
    },
    "call-back": {
        "es": "una llamada de un responsable del equipo",
        "fr": "un appel d'un responsable d'équipe",
        "de": "einen Anruf von einer Teamleitung",
        "pt-BR": "um telefonema de um supervisor",
    },
}
# (name, reasons, priorities, customer tags, asked-for words, gesture), tried in this order.
RULES = [
    ("Urgent case: a call-back", [], ["urgent"], [], [], "call-back"),
    ("Gold customer: a call-back", [], [], ["gold"], [], "call-back"),
    ("Asked for a call: a call-back", [], [], [],
     ["call", "phone", "ring me", "llamada", "llamar", "llámame"], "call-back"),
    ("Not solved: a call-back", ["not_solved"], [], [], [], "call-back"),
    ("Asked for a refund or credit: account credit", [], [], [],
     ["refund", "credit", "money back", "reembolso", "devolución"], "account-credit"),
    ("Anyone else: a discount", [], [], [], [], "discount-10"),
    ("No codes left: a handwritten note", [], [], [], [], "handwritten-note"),
]  # fmt: skip


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


def _survey(key: str, name: str, question: str) -> None:
    if not db.session.scalar(sa.select(Survey.id).where(Survey.key == key)):
        db.session.add(
            Survey(
                key=key,
                name=name,
                **(standard_fields("csat") | {"question": question}),
                reasons=CSAT_REASONS,
            )
        )


def ensure_standard_setup() -> None:
    """The CSAT and recovery surveys, default templates, the Standard (default), Demo and
    Recovery cadences, the goodwill catalogue with its rules and, on a first setup, the
    segments never surveyed (vip, partner)."""
    first_setup = not db.session.scalar(sa.select(Survey.id).limit(1))
    if first_setup and not db.session.scalar(sa.select(SurveyExclusion.id).limit(1)):
        for tag in DEFAULT_EXCLUDED_TAGS:
            db.session.add(SurveyExclusion(field="customer_tag", value=tag))
    _survey(
        "csat",
        "Customer satisfaction",
        DEFAULT_QUESTION,
    )
    _survey(
        "recovery",
        "Recovery check-in",
        translatable("Did we make it right? How do you feel now about how we handled {subject}?"),
    )
    for key, name in TEMPLATES.items():
        if not db.session.scalar(sa.select(MessageTemplate.id).where(MessageTemplate.key == key)):
            db.session.add(MessageTemplate(key=key, name=name, **_default_template(key)))
    db.session.flush()
    for name, purpose, steps, delay_index, default in CADENCES:
        if db.session.scalar(sa.select(Cadence.id).where(Cadence.name == name)):
            continue  # any version: a lead may have renamed or archived it since
        has_default = db.session.scalar(
            current_cadences(purpose).where(Cadence.is_default.is_(True)).limit(1)
        )
        timed = [(step[0], step[delay_index], *step[3:]) for step in steps]
        add_cadence(name, purpose, timed, is_default=default and not has_default)
    db.session.flush()
    _ensure_goodwill()


def add_cadence(name: str, purpose: str, steps: list[tuple], is_default: bool = False) -> Cadence:
    """A cadence from rows of (step name, delay in seconds, channel, template key, survey key
    or None, condition)."""
    templates = {t.key: t for t in db.session.scalars(sa.select(MessageTemplate))}
    surveys = {s.key: s for s in db.session.scalars(sa.select(Survey))}
    cadence = Cadence(name=name, purpose=purpose, is_default=is_default)
    for position, (step, delay, channel, template, survey, condition) in enumerate(steps):
        cadence.steps.append(
            CadenceStep(
                position=position,
                name=step,
                delay_seconds=delay,
                channel=channel,
                template=templates[template],
                survey=surveys[survey] if survey else None,
                condition=condition,
            )
        )
    db.session.add(cadence)
    return cadence


def _ensure_goodwill() -> None:
    """The default goodwill catalogue and rules, on a first setup only (leads change them)."""
    if db.session.scalar(sa.select(GestureType.id).limit(1)):
        return
    types = {}
    for key, name, kind, offer, value, cost, budget, hours in GESTURES:
        types[key] = GestureType(
            key=key,
            name=name,
            kind=kind,
            offer=offer,
            offer_translations=OFFER_TRANSLATIONS.get(key, {}),
            value_cents=value,
            cost_cents=cost,
            monthly_budget_cents=budget,
            due_hours=hours,
        )
        db.session.add(types[key])
    for position, (name, reasons, priorities, tags, asked, gesture) in enumerate(RULES):
        db.session.add(
            RecoveryRule(
                position=position,
                name=name,
                reasons=reasons,
                priorities=priorities,
                customer_tags=tags,
                asked=asked,
                gesture_type=types[gesture],
            )
        )
    db.session.flush()


DEMO_CASE = "DEMO-1001"


def seed_demo() -> None:
    """A demo customer with an email and a phone, an open demo case, a recovery that runs in
    seconds (the Demo recovery cadence) and discount codes to give."""
    ensure_standard_setup()
    if not db.session.scalar(sa.select(Cadence.id).where(Cadence.name == "Demo recovery")):
        db.session.execute(
            sa.update(Cadence)
            .where(Cadence.purpose == CadencePurpose.RECOVERY, Cadence.superseded_at.is_(None))
            .values(is_default=False)
        )
        demo_steps = [(step[0], step[2], *step[3:]) for step in RECOVERY_STEPS]
        add_cadence("Demo recovery", "recovery", demo_steps, is_default=True)
        discount = db.session.scalar(sa.select(GestureType).where(GestureType.key == "discount-10"))
        if discount is not None:
            add_codes(discount, [f"DEMO-SORRY-{n:04d}" for n in range(1, 51)], utcnow())
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
            priority=Priority.NORMAL,
            tags=["billing"],
            # What a helpdesk reports with a case: the case page shows the risk they give.
            reopen_count=1,
            resolution_minutes=2880,
            customer_replies=6,
            first_response_minutes=240,
        )
    )
    db.session.flush()
