"""A realistic year of support data for the dashboard benchmark, written with PostgreSQL COPY.

`prepare(app)` adds what the standard setup lacks (NPS and CES surveys, four close cadences,
one of them running an A/B experiment against a fifth) and returns their ids as a `World`.
`generate(...)` then writes N closed cases over the 365 days before `today` (weekday and
seasonal shape), 0.4 customers per case, 200 agents in 20 teams, about 3 outbox messages,
1 survey invitation and 0.5 answers per case (skewed positive, ~15% negative with CSAT reason
codes and comments), recoveries for negative first answers (recovered ~55%, escalated ~30%,
the rest open or withdrawn), gestures with costs, and the case timeline (case.closed with
its round and cadence, message.sent, recovery.started, gesture.issued, recovery.succeeded).
It appends: a second call adds more cases to the same year.

With `facts=True` it also writes each round's RoundFact, its counters from
`followup.rollups.round_counts` on the RoundData it generated (so the rollups need not be
rebuilt from the raw rows, which takes Python time per case), and `rollups_from_facts()`
recomputes the figure and reason rollups from round_facts, an INSERT ... SELECT ... GROUP BY each.
`rollups.rebuild()` on the same rows gives the same rollups (tests/integration/
test_bench_generator.py and the benchmark's small stage check it).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import sqlalchemy as sa

from followup.models.figures import COUNTERS, FIGURE_ROLLUPS, REASON_ROLLUPS
from followup.rollups import UNDELIVERED, RoundData, recovery_time, round_channel, round_counts
from surveys.scoring import verdict

CHUNK_CASES = 20_000
TEAMS = ("Billing", "Shipping", "Returns", "Accounts", "Technical", "Onboarding", "Payments",
         "Orders", "Loyalty", "Marketplace", "Warranty", "Subscriptions", "Mobile app",
         "Stores", "Business", "Fraud", "Delivery partners", "Gift cards", "Spanish desk",
         "Escalations")  # fmt: skip
FIRST = (
    "Sam",
    "Alex",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Robin",
    "Avery",
    "Quinn",
    "Dana",
    "Kim",
    "Lee",
    "Noor",
    "Ana",
    "Luis",
    "Mia",
    "Omar",
    "Zoe",
)
LAST = ("Rivera", "Chen", "Patel", "Okafor", "Novak", "Silva", "Kowalski", "Haddad", "Berg",
        "Moreau")  # fmt: skip
AGENTS = tuple(f"{FIRST[i % 20]} {LAST[i // 20]}" for i in range(200))  # agent i: team i % 20
WEEKDAY_SHAPE = (1.0, 1.05, 1.0, 0.95, 0.9, 0.5, 0.35)  # Monday first
SCORES = {  # kind -> (scores, weights): ~15% negative by the survey's bands
    "csat": ((1, 2, 3, 4, 5), (9, 6, 8, 22, 55)),
    "nps": (tuple(range(11)), (2, 1, 1, 2, 2, 3, 4, 10, 15, 25, 35)),
    "ces": ((1, 2, 3, 4, 5, 6, 7), (30, 30, 15, 10, 7, 5, 3)),
}
NEUTRAL = {"csat": 3, "nps": 7, "ces": 4}
REASON_CODES = ("slow", "not_solved", "had_to_repeat", "unfriendly", "policy", "other")
REASON_WEIGHTS = (30, 25, 15, 10, 12, 8)
GOOD_COMMENTS = ("Thanks, quick and friendly.", "Sorted in one go.", "Great help from the team.",
                 "Very clear answer.", "")  # fmt: skip
BAD_COMMENTS = ("Waited a week for an answer.", "Still not fixed.", "Nobody read my first email.",
                "The agent was short with me.", "")  # fmt: skip
EMAIL_DELIVERY = (("delivered", 82), ("opened", 10), ("bounced", 3), (None, 5))
SMS_DELIVERY = (("delivered", 92), ("undelivered", 4), ("failed", 1), ("sent", 3))


@dataclass
class Route:
    """A close cadence the generator sends cases to: its share, survey and steps' ids."""

    name: str
    weight: int
    cadence_id: int
    lineage: str
    survey_id: int
    kind: str
    steps: dict[str, int]  # step name -> id
    checkin_sms_share: float
    b: Route | None = None  # the experiment's variant B (another cadence)


@dataclass
class World:
    routes: list[Route]
    surveys: dict[int, object]  # id -> Survey (detached, for verdict)
    recovery_steps: dict[str, int]
    recovery_survey_id: int
    gestures: list[tuple[int, int, str]]  # (gesture type id, cost, kind)
    gesture_weights: list[int] = field(default_factory=list)


def prepare(app) -> World:
    """The standard setup plus NPS and CES surveys and the benchmark's close cadences."""
    from followup.extensions import db
    from followup.models import Cadence, GestureType, Survey
    from followup.models.base import utcnow
    from followup.setup import add_cadence, ensure_standard_setup
    from surveys.kinds import CSAT_REASONS, standard_fields

    def steps(survey: str, checkin: str, thank_you: bool = True) -> list[tuple]:
        return [
            *([("thank-you", 0, "email", "thank_you", None, "always")] if thank_you else []),
            ("check-in", 86400, checkin, "csat_checkin", survey, "always"),
            ("reminder", 3 * 86400, "email", "csat_reminder", survey, "no_answer"),
        ]

    with app.app_context():
        ensure_standard_setup()
        db.session.flush()
        for kind, name in (("nps", "Likelihood to recommend"), ("ces", "Customer effort")):
            db.session.add(Survey(
                key=kind, name=name,
                **(standard_fields(kind) | {"question": "How did we do with {subject}?"}),
                reasons=[{"code": r["code"], "label": str(r["label"])} for r in CSAT_REASONS],
            ))  # fmt: skip
        db.session.flush()
        made = {
            "Standard B (SMS check-in)": add_cadence(
                "Standard B (SMS check-in)", "close", steps("csat", "sms")
            ),
            "Priority (NPS)": add_cadence("Priority (NPS)", "close", steps("nps", "preferred")),
            "Returns (CES)": add_cadence("Returns (CES)", "close", steps("ces", "preferred")),
            "Quick SMS": add_cadence("Quick SMS", "close", steps("csat", "sms", False)),
        }
        db.session.flush()
        standard = db.session.scalar(sa.select(Cadence).where(Cadence.name == "Standard"))
        standard.experiment_lineage = made["Standard B (SMS check-in)"].lineage
        standard.experiment_share = 50
        standard.created_at = utcnow() - timedelta(days=366)  # trying B all the generated year
        db.session.commit()

        def route(cadence, weight: int, sms_share: float) -> Route:
            survey = next(s.survey for s in cadence.steps if s.survey is not None)
            return Route(cadence.name, weight, cadence.id, cadence.lineage, survey.id,
                         survey.kind, {s.name: s.id for s in cadence.steps}, sms_share)  # fmt: skip

        b = route(made["Standard B (SMS check-in)"], 0, 1.0)
        routes = [
            route(standard, 55, 0.3),
            route(made["Priority (NPS)"], 15, 0.3),
            route(made["Returns (CES)"], 15, 0.3),
            route(made["Quick SMS"], 15, 1.0),
        ]
        routes[0].b = b
        recovery = db.session.scalar(
            sa.select(Cadence).where(Cadence.purpose == "recovery", Cadence.is_default)
        )
        surveys = {s.id: s for s in db.session.scalars(sa.select(Survey))}
        for survey in surveys.values():
            db.session.expunge(survey)
        types = db.session.scalars(sa.select(GestureType).order_by(GestureType.id)).all()
        world = World(
            routes=routes,
            surveys=surveys,
            recovery_steps={s.name: s.id for s in recovery.steps},
            recovery_survey_id=next(s.survey_id for s in recovery.steps if s.survey_id),
            gestures=[(t.id, t.cost_cents, t.kind) for t in types],
            gesture_weights=[{"code": 6, "credit": 2, "task": 1}[t.kind] for t in types],
        )
        db.session.remove()
    return world


# -- the rows ---------------------------------------------------------------------------------

COLUMNS = {
    "customers": ("id", "external_id", "name", "email", "phone", "locale", "timezone", "tags",
                  "created_at", "updated_at"),
    "cases": ("id", "external_id", "customer_id", "subject", "agent_name", "agent_email", "team",
              "priority", "tags", "source_channel", "status", "closed_at", "round",
              "cadence_id", "experiment", "variant", "created_at", "updated_at"),
    "recoveries": ("id", "case_id", "round", "customer_id", "channel", "status", "rule_name",
                   "started_at", "answer_deadline_at", "outcome_at", "outcome_reason"),
    "messages": ("id", "case_id", "customer_id", "step_id", "recovery_id", "round", "channel",
                 "recipient", "condition", "due_at", "status", "attempts", "provider",
                 "provider_id", "delivery_status", "delivery_updated_at", "idempotency_key",
                 "sent_at", "created_at", "updated_at"),
    "survey_invitations": ("id", "survey_id", "case_id", "customer_id", "message_id", "round",
                           "channel", "nonce", "token_hash", "expires_at", "created_at"),
    "responses": ("id", "invitation_id", "case_id", "survey_id", "round", "score", "comment",
                  "reason_codes", "answers", "channel", "recovery_id", "created_at",
                  "updated_at"),
    "gestures": ("id", "recovery_id", "gesture_type_id", "code", "cost_cents", "status",
                 "issued_at"),
    "case_events": ("id", "case_id", "at", "kind", "message_id", "detail"),
    "round_facts": ("id", "case_id", "round", "closed_at", "day", "team", "agent", "channel",
                    "cadence", "variant", "experiment", "survey_id", "survey_kind",
                    "first_score", "reasons", "recovery_seconds", "counts"),
}  # fmt: skip
# Parents before children (foreign keys).
ORDER = ("cases", "recoveries", "messages", "survey_invitations", "responses", "gestures",
         "case_events", "round_facts")  # fmt: skip


def day_weights(today: date) -> list[float]:
    """The relative volume of the 365 days before today: weekdays busier, a winter peak."""
    days = [today - timedelta(days=365 - k) for k in range(365)]
    return [WEEKDAY_SHAPE[d.weekday()] * (1 + 0.25 * math.cos(2 * math.pi * (d.timetuple().tm_yday
            - 350) / 365)) for d in days]  # fmt: skip


class Ids:
    """The next id of each table (the generator writes ids itself; sequences are set after)."""

    def __init__(self, conn: psycopg.Connection):
        self.next = {}
        for table in ("customers", *ORDER):
            self.next[table] = conn.execute(
                f"SELECT coalesce(max(id), 0) + 1 FROM {table}"
            ).fetchone()[0]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Batch:
    """The rows of one chunk of cases, per table, in COLUMNS order."""

    def __init__(self):
        self.rows: dict[str, list[tuple]] = {table: [] for table in ORDER}

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)


def _delivery(rng: random.Random, channel: str) -> str | None:
    options = EMAIL_DELIVERY if channel == "email" else SMS_DELIVERY
    return rng.choices([o[0] for o in options], [o[1] for o in options])[0]


class Generator:
    """Makes the rows of cases one at a time (see the module docstring for the shape)."""

    def __init__(self, world: World, now: datetime, rng: random.Random, ids: Ids, facts: bool):
        self.world, self.now, self.rng, self.ids, self.facts = world, now, rng, ids, facts
        self.route_weights = [r.weight for r in world.routes]
        self.agent_weights = [1 + (i * 7919 % 13) / 6 for i in range(len(AGENTS))]

    def message(self, batch: Batch, case: tuple, step_id: int, channel: str, due: datetime,
                status: str, recovery_id: int | None = None) -> tuple:  # fmt: skip
        """One outbox row; returns (id, status, sent_at, delivery status)."""
        case_id, customer_id, email, phone = case
        if status == "sent" and due > self.now:
            status = "scheduled"
        message_id = self.ids.take("messages")
        sent_at = due + timedelta(seconds=self.rng.randint(1, 90)) if status == "sent" else None
        if sent_at and sent_at > self.now:
            sent_at = self.now
        delivery = _delivery(self.rng, channel) if sent_at else None
        provider = ("sendgrid" if channel == "email" else "twilio") if sent_at else None
        key = (f"case:{case_id}:round:1:recovery:{recovery_id}:step:{step_id}" if recovery_id
               else f"case:{case_id}:round:1:step:{step_id}")  # fmt: skip
        batch.add("messages", (
            message_id, case_id, customer_id, step_id, recovery_id, 1, channel,
            phone if channel == "sms" else email, "always", due, status, int(bool(sent_at)),
            provider, f"p{message_id}" if sent_at else None, delivery,
            sent_at + timedelta(minutes=2) if delivery else None, key, sent_at, due, sent_at or due,
        ))  # fmt: skip
        if sent_at:
            batch.add("case_events", (self.ids.take("case_events"), case_id, sent_at,
                                      "message.sent", message_id, "{}"))  # fmt: skip
        return message_id, status, sent_at, delivery

    def invitation(self, batch: Batch, case: tuple, survey_id: int, message_id: int,
                   channel: str, sent_at: datetime) -> int:  # fmt: skip
        invitation_id = self.ids.take("survey_invitations")
        token = f"{invitation_id:064x}"
        batch.add("survey_invitations", (invitation_id, survey_id, case[0], case[1], message_id,
                                         1, channel, token, token, sent_at + timedelta(days=30),
                                         sent_at))  # fmt: skip
        return invitation_id

    def answer_at(self, sent_at: datetime) -> datetime | None:
        at = sent_at + timedelta(seconds=int(self.rng.expovariate(1 / 18000)) + 60)
        return at if at < self.now - timedelta(seconds=60) else None

    def case(self, batch: Batch, day: date, customer: tuple) -> None:
        rng, world, now = self.rng, self.world, self.now
        case_id = self.ids.take("cases")
        closed_at = datetime.combine(day, time(7), UTC) + timedelta(
            seconds=rng.randint(0, 12 * 3600)
        )  # noqa: E501
        if closed_at > now - timedelta(minutes=5):
            closed_at = now - timedelta(minutes=rng.randint(5, 60))
        agent_index = rng.choices(range(len(AGENTS)), self.agent_weights)[0]
        agent, team = AGENTS[agent_index], TEAMS[agent_index % len(TEAMS)]
        route = rng.choices(world.routes, self.route_weights)[0]
        experiment = variant = None
        if route.b is not None:
            experiment, variant = route.lineage, rng.choice("AB")
            if variant == "B":
                route = route.b
        reopened = rng.random() < 0.03
        created_at = closed_at - timedelta(seconds=rng.randint(600, 5 * 86400))
        customer_id, email, phone, _ = customer
        batch.add("cases", (
            case_id, f"BENCH-{case_id}", customer_id, f"Order {case_id}: {team.lower()} question",
            agent, f"{agent.lower().replace(' ', '.')}@example.com", team,
            rng.choices(("low", "normal", "high", "urgent"), (15, 65, 15, 5))[0], "[]",
            rng.choice(("email", "chat", "phone", "web")), "open" if reopened else "closed",
            closed_at, 1, route.cadence_id, experiment, variant, created_at, closed_at,
        ))  # fmt: skip
        detail = {"round": 1, "cadence": route.name, "cadence_id": route.cadence_id, "planned":
                  len(route.steps), **({"experiment": experiment, "variant": variant}
                                       if variant else {})}  # fmt: skip
        batch.add("case_events", (self.ids.take("case_events"), case_id, closed_at,
                                  "case.closed", None, json.dumps(detail)))  # fmt: skip
        who = (case_id, customer_id, email, phone)
        if "thank-you" in route.steps:
            status = rng.choices(("sent", "suppressed", "cancelled"), (97, 2, 1))[0]
            self.message(batch, who, route.steps["thank-you"], "email", closed_at, status)
        sends: list[tuple[str, str, str | None]] = []
        answer = None  # (at, channel, invitation id)
        checkin_channel = "sms" if rng.random() < route.checkin_sms_share else "email"
        status = rng.choices(("sent", "suppressed", "cancelled"), (92, 4, 4))[0]
        message_id, status, sent_at, delivery = self.message(
            batch,
            who,
            route.steps["check-in"],
            checkin_channel,
            closed_at + timedelta(days=1),
            status,
        )
        sends.append((checkin_channel, status, delivery))
        if sent_at:
            invitation = self.invitation(batch, who, route.survey_id, message_id,
                                         checkin_channel, sent_at)  # fmt: skip
            if delivery not in UNDELIVERED and rng.random() < 0.42:
                at = self.answer_at(sent_at)
                answer = (at, checkin_channel, invitation) if at else None
        due = closed_at + timedelta(days=3)
        status = "cancelled" if answer else rng.choices(("sent", "cancelled"), (90, 10))[0]
        message_id, status, sent_at, delivery = self.message(
            batch, who, route.steps["reminder"], "email", due, status
        )
        sends.append(("email", status, delivery))
        if sent_at:
            invitation = self.invitation(batch, who, route.survey_id, message_id, "email",
                                         sent_at)  # fmt: skip
            if answer is None and delivery not in UNDELIVERED and rng.random() < 0.17:
                at = self.answer_at(sent_at)
                answer = (at, "email", invitation) if at else None
        data = RoundData(closed_at=closed_at, survey_sends=sends, survey_kind=route.kind,
                         reopened=reopened)  # fmt: skip
        reasons: list[str] = []
        if answer:
            reasons = self.respond(batch, who, route, answer, data)
        if self.facts:
            counts = round_counts(data)
            channel = round_channel(sends)
            batch.add("round_facts", (
                self.ids.take("round_facts"), case_id, 1, closed_at, closed_at.date(),
                team, agent, channel, route.lineage, variant or "", experiment or "",
                route.survey_id, route.kind, data.first_score, json.dumps(reasons),
                recovery_time(counts), json.dumps(counts),
            ))  # fmt: skip

    def respond(self, batch: Batch, who: tuple, route: Route, answer: tuple,
                data: RoundData) -> list[str]:  # fmt: skip
        """The first answer and, when negative, its recovery; fills `data`; returns reasons."""
        rng, now = self.rng, self.now
        at, channel, invitation_id = answer
        scores, weights = SCORES[route.kind]
        score = rng.choices(scores, weights)[0]
        survey = self.world.surveys[route.survey_id]
        negative = verdict(survey, score) == "negative"
        withdrawn = negative and rng.random() < 0.05
        if withdrawn:  # the customer changed the answer to a neutral one
            score, negative = NEUTRAL[route.kind], False
        comment = (
            rng.choice(BAD_COMMENTS if negative else GOOD_COMMENTS) if rng.random() < 0.35 else ""
        )  # noqa: E501
        reasons = []
        if negative and rng.random() < 0.85:
            reasons = sorted(
                set(rng.choices(REASON_CODES, REASON_WEIGHTS, k=rng.choice((1, 1, 2))))
            )  # noqa: E501
        data.answered, data.first_score = True, score
        data.first_verdict = verdict(survey, score, comment)
        recovery_id = None
        if negative or withdrawn:
            recovery_id = self.ids.take("recoveries")
        batch.add("responses", (self.ids.take("responses"), invitation_id, who[0],
                                route.survey_id, 1, score, comment, json.dumps(reasons), "{}",
                                channel, None, at, at))  # fmt: skip
        if recovery_id is None:
            return reasons
        started = at + timedelta(seconds=5)
        if withdrawn:
            status, outcome_at = "withdrawn", started + timedelta(hours=rng.randint(1, 20))
        elif started > now - timedelta(days=8):
            status, outcome_at = "open", None
        else:
            status = rng.choices(("recovered", "escalated"), (64, 36))[0]
            outcome_at = None
        self.recovery_rows(batch, who, recovery_id, channel, started, status, outcome_at, data)
        return reasons

    def recovery_rows(self, batch, who, recovery_id, channel, started, status, outcome_at,
                      data: RoundData) -> None:  # fmt: skip
        rng, steps = self.rng, self.world.recovery_steps
        events = [(started, "recovery.started", {"recovery_id": recovery_id})]
        gesture = None
        if status != "withdrawn" and rng.random() < 0.8:
            type_id, cost, kind = rng.choices(self.world.gestures, self.world.gesture_weights)[0]
            state = (
                ("failed" if rng.random() < 0.03 else "requested") if kind == "credit" else "issued"
            )  # noqa: E501
            gesture = (type_id, cost, kind, state)
            if state != "failed":
                data.gesture_cost_cents = cost
        rows = []
        if status != "withdrawn":
            rows.append((steps["apology"], started + timedelta(minutes=30), "sent"))
            checkin_due = started + timedelta(days=3)
            rows.append((steps["recovery check-in"], checkin_due, "sent"))
        checkin_answer = None
        if status in ("recovered", "escalated"):
            answered = status == "recovered" or rng.random() < 0.5
            if answered:
                checkin_answer = checkin_due + timedelta(seconds=rng.randint(600, 2 * 86400))
                outcome_at = checkin_answer
            else:
                outcome_at = started + timedelta(days=8)
        batch.add("recoveries", (recovery_id, who[0], 1, who[1], channel, status,
                                 "Anyone else: a discount", started, started + timedelta(days=8),
                                 outcome_at, None if status == "open" else status))  # fmt: skip
        if status != "withdrawn":
            rows.append((steps["recovery reminder"], started + timedelta(days=5),
                         "cancelled" if checkin_answer else "sent"))  # fmt: skip
        for step_id, due, state in rows:
            message_id, _, sent_at, _ = self.message(batch, who, step_id, channel, due, state,
                                                     recovery_id)  # fmt: skip
            if step_id == steps["recovery check-in"] and sent_at and checkin_answer:
                invitation = self.invitation(batch, who, self.world.recovery_survey_id,
                                             message_id, channel, sent_at)  # fmt: skip
                score = rng.choice((4, 5)) if status == "recovered" else rng.choice((1, 2))
                batch.add(
                    "responses",
                    (
                        self.ids.take("responses"),
                        invitation,
                        who[0],
                        self.world.recovery_survey_id,
                        1,
                        score,
                        "",
                        "[]",
                        "{}",
                        channel,
                        recovery_id,
                        checkin_answer,
                        checkin_answer,
                    ),
                )
                data.checkin_answered = True  # fmt: skip
        if gesture:
            type_id, cost, kind, state = gesture
            issued = started + timedelta(minutes=1)
            batch.add("gestures", (self.ids.take("gestures"), recovery_id, type_id,
                                   f"BENCH{recovery_id}" if kind == "code" else None, cost,
                                   state, issued))  # fmt: skip
            events.append((issued, "gesture.issued", {"gesture_type_id": type_id}))
        if status == "recovered":
            events.append((outcome_at, "recovery.succeeded", {"recovery_id": recovery_id}))
            data.recovery_seconds = int((outcome_at - started).total_seconds())
        data.recovery_status = status
        for at, kind, detail in events:
            batch.add("case_events", (self.ids.take("case_events"), who[0], at, kind, None,
                                      json.dumps(detail)))  # fmt: skip


def _copy(conn: psycopg.Connection, table: str, rows: list[tuple]) -> None:
    if not rows:
        return
    with conn.cursor().copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _customers(conn, ids: Ids, n: int, now: datetime) -> list[tuple]:
    """N customers (COPY); returns (id, email, phone, locale) of each."""
    made, rows = [], []
    for _ in range(n):
        cid = ids.take("customers")
        email, phone = f"customer{cid}@example.com", f"+1415{cid:07d}"
        made.append((cid, email, phone, "en"))
        rows.append((cid, f"bench-c{cid}", f"Customer {cid}", email, phone, "en",
                     "America/New_York", "[]", now, now))  # fmt: skip
    with conn.cursor().copy(
        f"COPY customers ({', '.join(COLUMNS['customers'])}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    return made


def generate(database_url: str, world: World, cases: int, now: datetime, seed: int = 6,
             facts: bool = True, days: list[date] | None = None) -> dict[str, int]:  # fmt: skip
    """Append `cases` closed cases (and everything around them) over the year before `now`
    (or over `days`, evenly); returns the rows written per table."""
    rng = random.Random(seed)
    today = now.date()
    year = [today - timedelta(days=365 - k) for k in range(365)]
    counts = dict.fromkeys(("customers", *ORDER), 0)
    with psycopg.connect(_libpq(database_url)) as conn:
        ids = Ids(conn)
        customers = _customers(conn, ids, max(1, cases * 2 // 5), now)
        counts["customers"] = len(customers)
        conn.commit()
        generator = Generator(world, now, rng, ids, facts)
        picked = days or year
        weights = None if days else day_weights(today)
        for start in range(0, cases, CHUNK_CASES):
            size = min(CHUNK_CASES, cases - start)
            batch = Batch()
            for day in rng.choices(picked, weights, k=size):
                generator.case(batch, day, rng.choice(customers))
            for table in ORDER:
                _copy(conn, table, batch.rows[table])
                counts[table] += len(batch.rows[table])
            conn.commit()
        for table in ("customers", *ORDER):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")  # fmt: skip
        conn.commit()
    return counts


def rollup_contents(database_url: str) -> list[tuple]:
    """Every non-zero rollup row's dimensions and counters, in order (to compare two ways of
    making the rollups)."""
    rows = []
    with psycopg.connect(_libpq(database_url)) as conn:
        for model in FIGURE_ROLLUPS:
            dims = ", ".join(("day", *model.dimensions))
            order = ", ".join(str(k + 1) for k in range(len(model.dimensions) + 1))
            rows += [(model.__tablename__, *row) for row in conn.execute(
                f"SELECT {dims}, {', '.join(COUNTERS)} FROM {model.__tablename__} "
                f"WHERE closed <> 0 ORDER BY {order}")]  # fmt: skip
        for model in REASON_ROLLUPS:
            dims = ", ".join(("day", *model.dimensions, "reason"))
            order = ", ".join(str(k + 1) for k in range(len(model.dimensions) + 2))
            rows += [(model.__tablename__, *row) for row in conn.execute(
                f"SELECT {dims}, negative, recovered FROM {model.__tablename__} "
                f"WHERE negative <> 0 ORDER BY {order}")]  # fmt: skip
    return rows


def _libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def rollups_from_facts(database_url: str, last_event: bool = True) -> None:
    """The figure and reason rollups again from round_facts (GROUP BY in PostgreSQL),
    and the rollups' place in the timeline set to its end (what refresh would have read)."""
    sums = ", ".join(f"sum((counts->>'{c}')::int)" for c in COUNTERS)
    with psycopg.connect(_libpq(database_url)) as conn:
        for model in FIGURE_ROLLUPS:
            dims = ", ".join(model.dimensions)
            conn.execute(f"DELETE FROM {model.__tablename__}")
            conn.execute(
                f"INSERT INTO {model.__tablename__} (day, {dims}, {', '.join(COUNTERS)}) "
                f"SELECT day, {dims}, {sums} FROM round_facts GROUP BY day, {dims}"
            )
        for model in REASON_ROLLUPS:
            dims = ", ".join(("day", *model.dimensions))
            conn.execute(f"DELETE FROM {model.__tablename__}")
            conn.execute(
                f"INSERT INTO {model.__tablename__} ({dims}, reason, negative, recovered) "
                f"SELECT {dims}, left(r.reason, 100), count(*), "
                f"sum((counts->>'recovered')::int) FROM round_facts, "
                f"json_array_elements_text(reasons) AS r(reason) "
                f"WHERE (counts->>'negative')::int = 1 GROUP BY {dims}, left(r.reason, 100)"
            )
        if last_event:
            conn.execute(
                "INSERT INTO figure_state (id, last_event_id, refreshed_at) "
                "VALUES (1, (SELECT coalesce(max(id), 0) FROM case_events), now()) "
                "ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id, "
                "refreshed_at = excluded.refreshed_at"
            )
        conn.commit()
