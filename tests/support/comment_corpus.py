"""A generated corpus of survey comments with known themes, in English and Spanish mixed within
each theme, plus noise: the comment themes' tests and bench/embeddings.py share it. Fixed
seed: the same call gives the same comments in the same order. Also the answers that hold
them (bulk inserts) and a memo of the embedding model's vectors, so a test module embeds
each distinct text once."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from followup import themes
from followup.extensions import db
from followup.models import Case, Customer, Response, Survey, SurveyInvitation

SEED = 17
NOISE = "noise"

# problem: (a word a sensible name holds (any of), English phrasings, Spanish phrasings)
PROBLEMS: dict[str, tuple[set[str], list[str], list[str]]] = {
    "delivery": (
        {
            "delivery",
            "courier",
            "package",
            "late",
            "arrived",
            "entrega",
            "paquete",
            "mensajero",
            "llegó",
            "tarde",
            "repartidor",
        },
        [
            "My package arrived {n} days late.",
            "The courier never showed up and the delivery was late.",
            "Delivery took {n} days longer than promised.",
            "The parcel was late again, the courier keeps failing.",
            "Still waiting for my package, the delivery date passed {n} days ago.",
            "The courier left my order at the wrong address and it came late.",
            "Late delivery, the {item} arrived after {n} days.",
            "The shipment was delayed and the courier gave no tracking updates.",
        ],
        [
            "Mi paquete llegó {n} días tarde.",
            "El repartidor nunca vino y la entrega llegó tarde.",
            "La entrega tardó {n} días más de lo prometido.",
            "El paquete llegó tarde otra vez, el mensajero siempre falla.",
            "Sigo esperando mi paquete, la fecha de entrega pasó hace {n} días.",
            "El mensajero dejó mi pedido en otra dirección y llegó tarde.",
            "Entrega con retraso, el {item_es} llegó después de {n} días.",
            "El envío se retrasó y el repartidor no actualizó el seguimiento.",
        ],
    ),
    "billing": (
        {
            "charged",
            "charge",
            "refund",
            "twice",
            "double",
            "card",
            "cobro",
            "cobraron",
            "reembolso",
            "dos",
            "veces",
            "tarjeta",
            "money",
            "dinero",
        },
        [
            "I was charged twice for the same order.",
            "You billed my card two times and I still have no refund.",
            "Double charge of ${n}0 on my credit card, please refund me.",
            "I got charged twice and the refund never arrived.",
            "The payment went through two times, I want my money back.",
            "Still waiting for the refund of the duplicate charge.",
            "My card shows the same charge twice for the {item}.",
            "I paid twice for one order and nobody refunded me.",
        ],
        [
            "Me cobraron dos veces el mismo pedido.",
            "Cargaron mi tarjeta dos veces y todavía no tengo el reembolso.",
            "Cobro doble de {n}0 dólares en mi tarjeta, quiero el reembolso.",
            "Me cobraron dos veces y el reembolso nunca llegó.",
            "El pago se hizo dos veces, quiero que me devuelvan mi dinero.",
            "Sigo esperando el reembolso del cobro duplicado.",
            "Mi tarjeta muestra el mismo cargo dos veces por el {item_es}.",
            "Pagué dos veces un solo pedido y nadie me devolvió el dinero.",
        ],
    ),
    "login": (
        {
            "app",
            "crash",
            "crashes",
            "login",
            "log",
            "crashing",
            "aplicación",
            "sesión",
            "cierra",
            "iniciar",
            "password",
            "contraseña",
        },
        [
            "The app crashes every time I try to log in.",
            "I can't log in, the app closes as soon as I enter my password.",
            "The mobile app keeps crashing on the login screen.",
            "After the update the app crashes when I sign in.",
            "Login is broken, the app freezes and closes.",
            "Every time I open the app and log in it crashes on my {phone}.",
            "The app shuts down at the login page, I cannot use my account.",
            "Signing in makes the app crash, I have reinstalled it {n} times.",
        ],
        [
            "La aplicación se cierra cada vez que intento iniciar sesión.",
            "No puedo entrar, la app se cierra al poner mi contraseña.",
            "La app móvil se bloquea en la pantalla de inicio de sesión.",
            "Después de la actualización la aplicación falla al iniciar sesión.",
            "El inicio de sesión no funciona, la app se congela y se cierra.",
            "Cada vez que abro la app e inicio sesión se cierra en mi {phone}.",
            "La aplicación se cae en la página de inicio de sesión, no puedo usar mi cuenta.",
            "Al iniciar sesión la app se cierra, la reinstalé {n} veces.",
        ],
    ),
    "agent": (
        {
            "rude",
            "agent",
            "unhelpful",
            "impolite",
            "attitude",
            "grosero",
            "agente",
            "maleducado",
            "actitud",
            "amable",
            "trato",
            "representative",
        },
        [
            "The agent was rude and did not help me at all.",
            "Very unhelpful agent, he was impolite and hung up on me.",
            "The support representative was rude to me.",
            "Your agent had a terrible attitude and was dismissive.",
            "The person I spoke to was rude and condescending.",
            "The agent was unfriendly and refused to help.",
            "Rude agent, she laughed at my question.",
            "The representative was disrespectful and unhelpful.",
        ],
        [
            "El agente fue grosero y no me ayudó en nada.",
            "Agente muy poco servicial, fue maleducado y me colgó.",
            "El representante de soporte fue grosero conmigo.",
            "Su agente tuvo una actitud terrible y fue despectivo.",
            "La persona con la que hablé fue grosera y prepotente.",
            "El agente fue antipático y se negó a ayudar.",
            "Agente maleducada, se rió de mi pregunta.",
            "El representante fue irrespetuoso y no me ayudó.",
        ],
    ),
    "slow": (
        {
            "reply",
            "response",
            "answer",
            "slow",
            "respond",
            "weeks",
            "days",
            "wait",
            "waiting",
            "respuesta",
            "responder",
            "responde",
            "lenta",
            "contestar",
            "semanas",
            "email",
            "correo",
        },
        [
            "It took {n} days to get a reply to my email.",
            "Support is so slow to answer, I waited {n} days for a response.",
            "Nobody answered my email for over a week.",
            "Very slow response from customer service.",
            "I had to write {n} times before anyone replied.",
            "Your team takes forever to respond to messages.",
            "Waiting {n} days for an answer from support is too long.",
            "The reply to my ticket came after two weeks.",
        ],
        [
            "Tardaron {n} días en responder a mi correo.",
            "El soporte es muy lento para contestar, esperé {n} días una respuesta.",
            "Nadie contestó mi correo en más de una semana.",
            "Respuesta muy lenta del servicio al cliente.",
            "Tuve que escribir {n} veces antes de que alguien respondiera.",
            "Su equipo tarda muchísimo en responder los mensajes.",
            "Esperar {n} días una respuesta del soporte es demasiado.",
            "La respuesta a mi ticket llegó después de dos semanas.",
        ],
    ),
}
NOISE_TEXTS = [
    "Thanks!",
    "ok",
    "Gracias",
    "Great service, thank you.",
    "Todo bien, gracias.",
    "No comment.",
    "Everything was fine.",
    "Sin comentarios.",
    "Good.",
    "Muy bien.",
    "I like the new colours of the website.",
    "Me gusta el nuevo diseño de la web.",
]
ITEMS = [("kettle", "hervidor"), ("lamp", "lámpara"), ("chair", "silla"), ("blender",
         "licuadora")]  # fmt: skip
PHONES = ["iPhone", "Android phone", "tablet", "Pixel"]


@dataclass(frozen=True)
class Comment:
    text: str
    problem: str  # a PROBLEMS key, or NOISE
    language: str  # "en" or "es"


def corpus(per_language: int = 10, noise: int = 12, seed: int = SEED) -> list[Comment]:
    """`per_language` comments of each problem in English and as many in Spanish (the
    phrasings drawn in turn, with their blanks filled at random), and `noise` short comments
    that name no problem; shuffled, with no text twice."""
    rng = random.Random(seed)
    comments: list[Comment] = []
    seen: set[str] = set()
    for problem, (_, english, spanish) in PROBLEMS.items():
        for language, phrasings in (("en", english), ("es", spanish)):
            made = 0
            while made < per_language:
                item, item_es = rng.choice(ITEMS)
                text = phrasings[made % len(phrasings)].format(
                    n=rng.randint(2, 9), item=item, item_es=item_es, phone=rng.choice(PHONES)
                )
                if made >= len(phrasings):
                    text = rng.choice(OPENERS[language]) + text[0].lower() + text[1:]
                if text not in seen:
                    seen.add(text)
                    comments.append(Comment(text, problem, language))
                    made += 1
    for text in NOISE_TEXTS[:noise]:
        comments.append(Comment(text, NOISE, "es" if _spanish(text) else "en"))
    rng.shuffle(comments)
    return comments


OPENERS = {
    "en": ["Honestly, ", "Again: ", "To be clear, ", "Well, ", "Sadly, ", "As I said, "],
    "es": ["Sinceramente, ", "Otra vez: ", "Para que quede claro, ", "Bueno, ", "Por desgracia, ",
           "Como dije, "],
}  # fmt: skip


def _spanish(text: str) -> bool:
    return any(word in text for word in ("Gracias", "gracias", "Sin", "Muy", "Me gusta"))


def telling_words(problem: str) -> set[str]:
    """Words a sensible name of this problem's theme holds (any one of them)."""
    return PROBLEMS[problem][0]


def add_answers(
    texts: list[str],
    at: datetime,
    step: timedelta = timedelta(minutes=1),
    score: int = 2,
    channel: str = "email",
) -> list[int]:
    """One answered case per text (bulk inserts: a customer, the standard survey, which the
    test has set up, and an invitation each), answered `at` plus `step` per answer on
    `channel`; the answers' ids in the texts' order."""
    survey_id = db.session.scalar(sa.select(Survey.id).order_by(Survey.id).limit(1))
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) + 1
    customer = Customer(name=f"Corpus Customer {n}", email=f"corpus{n}@example.com")
    db.session.add(customer)
    db.session.flush()
    prefix = f"T{customer.id}"
    db.session.execute(
        sa.insert(Case),
        [dict(external_id=f"{prefix}-{n}", customer_id=customer.id, subject="Corpus",
              status="closed", round=1, tags=[], priority="normal", created_at=at,
              updated_at=at) for n in range(len(texts))],
    )  # fmt: skip
    case_ids = list(db.session.scalars(
        sa.select(Case.id).where(Case.external_id.like(f"{prefix}-%")).order_by(Case.id)
    ))  # fmt: skip
    db.session.execute(
        sa.insert(SurveyInvitation),
        [dict(survey_id=survey_id, case_id=case_id, customer_id=customer.id, round=1,
              channel=channel, nonce=f"n{case_id}", token_hash=f"{prefix}-{case_id}",
              expires_at=at + timedelta(days=14), created_at=at) for case_id in case_ids],
    )  # fmt: skip
    invitations = dict(db.session.execute(
        sa.select(SurveyInvitation.case_id, SurveyInvitation.id)
        .where(SurveyInvitation.case_id.in_(case_ids))
    ).all())  # fmt: skip
    db.session.execute(
        sa.insert(Response),
        [dict(invitation_id=invitations[case_id], case_id=case_id, survey_id=survey_id,
              round=1, score=score, comment=text, reason_codes=[], answers={},
              channel=channel, created_at=at + step * n, updated_at=at + step * n)
         for n, (case_id, text) in enumerate(zip(case_ids, texts, strict=True))],
    )  # fmt: skip
    return list(db.session.scalars(
        sa.select(Response.id).where(Response.case_id.in_(case_ids)).order_by(Response.case_id)
    ))  # fmt: skip


class MemoEmbed:
    """An embed function that asks `embed` only for texts it has not seen (the tests embed
    the same corpus again in every test; the model gives the same vector for the same text)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]):
        self.embed = embed
        self.vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


def embed_all(now: datetime) -> int:
    """As the embed_comments job: batches until none is left, a commit each."""
    done = 0
    while batch := themes.embed_pending(now):
        db.session.commit()
        done += batch
    return done
