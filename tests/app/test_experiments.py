"""Cadence experiments: a lead sets one up in the cadence editor (validation named), cases
closed through the API are split between A and B sticky per customer with B's steps planned
for B's customers, and the experiments page shows each variant's rates, intervals and the
verdict."""

import html
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from followup.experiments import current_version, variant_for
from followup.extensions import db
from followup.models import Cadence, CadenceStep, Case, Message
from followup.models.base import utcnow
from followup.models.figures import COUNTERS, RoundFact
from tests.support.answers import answer_on_page, survey_token
from tests.support.cadences import cadence_form, current
from tests.support.cases import close, close_tagged, sweep_and_dispatch
from tests.support.console import csrf_token, sign_in
from tests.support.figures import refresh_all, roll_up_stored


def set_up_experiment(client, b_name="Demo", share="50", **fields):
    """A new "Billing follow-up" cadence (taking billing cases) trying `b_name` as its B."""
    b = current(b_name)
    data = cadence_form(client, "/admin/cadences/new", experiment_b=b.lineage,
                        experiment_share=share, **fields)  # fmt: skip
    return client.post("/admin/cadences/new", data=data)


def test_a_lead_sets_up_an_experiment_and_the_page_says_so(as_lead, seeded):
    response = set_up_experiment(as_lead, share="30")
    assert response.status_code == 303
    a = current("Billing follow-up")
    assert (a.experiment_lineage, a.experiment_share) == (current("Demo").lineage, 30)
    page = as_lead.get(response.headers["Location"]).get_data(as_text=True)
    assert "Experiment" in page and "30% of customers get" in page
    assert f'/admin/cadences/{current("Demo").id}">Demo</a>' in page
    # The editor shows the experiment again; saving it unchanged writes no version.
    path = f"/admin/cadences/{a.id}/edit"
    edit = as_lead.get(path).get_data(as_text=True)
    assert f'<option selected value="{current("Demo").lineage}">Demo</option>' in edit
    assert 'name="experiment_share" type="number" value="30"' in edit
    # Ending the experiment is a new version without it.
    data = cadence_form(as_lead, path, experiment_b="", experiment_share="30")
    assert as_lead.post(path, data=data).status_code == 303
    db.session.expire_all()
    ended = current("Billing follow-up")
    assert (ended.version, ended.experiment_lineage, ended.experiment_share) == (2, None, 50)
    assert "Experiment:" not in as_lead.get(f"/admin/cadences/{ended.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("share", "message"),
    [("0", "Number must be between 1 and 99."), ("100", "Number must be between 1 and 99."),
     ("half", "Not a valid integer value.")],
)  # fmt: skip
def test_a_share_outside_1_to_99_is_refused(as_lead, seeded, share, message):
    response = set_up_experiment(as_lead, share=share)
    assert response.status_code == 422
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert f"B's share (percent): {message}" in page
    assert current("Billing follow-up") is None


def test_b_must_be_another_cadence_that_runs_no_experiment(as_lead, seeded):
    assert set_up_experiment(as_lead).status_code == 303
    a = current("Billing follow-up")
    path = f"/admin/cadences/{a.id}/edit"

    own = as_lead.post(path, data=cadence_form(as_lead, path, experiment_b=a.lineage))
    assert own.status_code == 422
    assert "B cadence: a cadence cannot be its own B" in own.get_data(as_text=True)

    # Standard may not try Billing follow-up: that one runs an experiment of its own.
    standard = current("Standard")
    path = f"/admin/cadences/{standard.id}/edit"
    data = cadence_form(as_lead, path, name="Standard", experiment_b=a.lineage)
    chained = as_lead.post(path, data=data)
    assert chained.status_code == 422
    assert ("B cadence: Billing follow-up runs an experiment of its own"
            in html.unescape(chained.get_data(as_text=True)))  # fmt: skip

    # Nor may Standard try Demo: Billing follow-up tries it already.
    taken = as_lead.post(path, data={**data, "experiment_b": current("Demo").lineage})
    assert taken.status_code == 422
    assert "B cadence: Billing follow-up already tries Demo" in taken.get_data(as_text=True)

    unknown = as_lead.post(path, data={**data, "experiment_b": "no-such-lineage"})
    assert unknown.status_code == 422
    assert "B cadence: choose a cadence from the list" in unknown.get_data(as_text=True)
    db.session.expire_all()
    assert current("Standard").version == standard.version


def test_a_manager_cannot_set_up_an_experiment(as_manager, seeded):
    standard = current("Standard")
    data = {"csrf_token": csrf_token(as_manager, "/admin/cadences"), "name": "Standard",
            "experiment_b": current("Demo").lineage}  # fmt: skip
    response = as_manager.post(f"/admin/cadences/{standard.id}/edit", data=data)
    assert response.status_code == 403
    assert current("Standard").experiment_lineage is None


def steps_of(case: Case) -> set[int]:
    return set(db.session.scalars(sa.select(Message.step_id).where(Message.case_id == case.id)))


def cadence_steps(cadence: Cadence) -> set[int]:
    return set(db.session.scalars(sa.select(CadenceStep.id).where(
        CadenceStep.cadence_id == cadence.id)))  # fmt: skip


def test_closed_cases_are_split_sticky_per_customer_with_b_steps_for_b(as_lead, seeded):
    assert set_up_experiment(as_lead).status_code == 303
    a, b = current("Billing follow-up"), current("Demo")
    for n in range(30):
        plan = close_tagged(
            as_lead, seeded["auth"], f"ZD-{n}", tags=["billing"], phone=f"+1415555{n:04d}"
        )
        assert plan["case"]["cadence"] in ("Billing follow-up", "Demo")
    db.session.expire_all()
    cases = list(db.session.scalars(sa.select(Case).order_by(Case.id)))
    assert {case.experiment for case in cases} == {a.lineage}
    by_variant = {"A": [], "B": []}
    for case in cases:
        assert case.variant == variant_for(case.customer_id, a.lineage, 50)
        by_variant[case.variant].append(case)
        runs = b if case.variant == "B" else a
        assert case.cadence_id == runs.id
        assert steps_of(case) and steps_of(case) <= cadence_steps(runs)
    assert len(by_variant["A"]) >= 5 and len(by_variant["B"]) >= 5

    # The same customers' next cases get the same variants.
    for case in by_variant["A"][:3] + by_variant["B"][:3]:
        again = close_tagged(as_lead, seeded["auth"], f"{case.external_id}-again", tags=["billing"],
                      email=case.customer.email, phone=case.customer.phone)  # fmt: skip
        assert again["case"]["cadence"] == ("Demo" if case.variant == "B" else a.name)
        db.session.expire_all()
        second = db.session.scalar(
            sa.select(Case).where(Case.external_id == f"{case.external_id}-again")
        )
        assert (second.customer_id, second.variant) == (case.customer_id, case.variant)


def test_a_named_cadence_or_an_archived_b_runs_no_experiment(as_lead, client, seeded):
    assert set_up_experiment(as_lead, share="99").status_code == 303
    auth = seeded["auth"]
    body = {"external_id": "N-1", "tags": ["billing"],
            "customer": {"email": "named@example.com"}}  # fmt: skip
    assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
    named = client.post("/api/v1/cases/N-1/close", headers=auth,
                        json={"cadence": "Billing follow-up"})  # fmt: skip
    assert named.json["case"]["cadence"] == "Billing follow-up"
    case = db.session.scalar(sa.select(Case).where(Case.external_id == "N-1"))
    assert (case.experiment, case.variant) == (None, None)

    demo = current("Demo")
    archive = as_lead.post(
        f"/admin/cadences/{demo.id}/archive",
        data={"csrf_token": csrf_token(as_lead, f"/admin/cadences/{demo.id}")},
    )
    assert archive.status_code == 303
    paused = close_tagged(as_lead, auth, "P-1", tags=["billing"])
    assert paused["case"]["cadence"] == "Billing follow-up"
    case = db.session.scalar(sa.select(Case).where(Case.external_id == "P-1"))
    assert (case.experiment, case.variant) == (None, None)
    page = as_lead.get(f"/admin/cadences/{current('Billing follow-up').id}").get_data(as_text=True)
    assert "99% of customers get" in page and "archived: paused" in page


# The experiments page.


def rounds(variant, experiment, how_many, start=0, at=None, **counts_for):
    """`how_many` closed rounds of one variant, as the rollups would write their facts (A's
    rounds ran A's cadence, B's the cadence A tries); counts_for: counter -> how many of
    them count 1. roll_up_stored() sums them into the rollups."""
    at = at or utcnow()
    a = current_version(experiment) if experiment else None
    cadence = {"A": experiment, "B": a.experiment_lineage if a else ""}.get(variant, "")
    for n in range(how_many):
        counts = dict.fromkeys(COUNTERS, 0) | {"closed": 1}
        counts |= {name: int(n < k) for name, k in counts_for.items()}
        db.session.add(RoundFact(case_id=start + n, round=1, closed_at=at, day=at.date(),
                                 cadence=cadence, variant=variant, experiment=experiment,
                                 counts=counts))  # fmt: skip


def rows(page: str) -> list[str]:
    """The text of each table row and verdict, tags dropped, spaces squeezed."""
    found = re.findall(
        r"<tr>\s*(<th scope=\"row\">.*?)</tr>|<dd class=\"verdict\">(.*?)</dd>", page, re.S
    )
    return [" ".join(re.sub(r"<[^>]+>", " ", "".join(parts)).split()) for parts in found]


def test_a_clear_difference_and_one_that_needs_more_data(as_lead, client, seeded, users):
    assert set_up_experiment(as_lead, share="40").status_code == 303
    a = current("Billing follow-up").lineage
    # Responses: 30 of 100 (A) against 60 of 100 (B). Recoveries: 10 of 40 against 12 of 40.
    rounds("A", a, 100, delivered=100, responded=30, negative=40, recovered=10)
    rounds("B", a, 100, start=1000, delivered=100, responded=60, negative=40, recovered=12)
    # Rounds outside the experiment: another experiment, no variant, before it started.
    rounds("B", "other-lineage", 50, start=2000, delivered=50, responded=50)
    rounds("", "", 50, start=3000, delivered=50)
    rounds("A", a, 50, start=4000, at=utcnow() - timedelta(days=1), delivered=50)
    roll_up_stored()
    sign_in(client, users["manager"].email)

    page = client.get("/dashboard/experiments").get_data(as_text=True)
    assert "Billing follow-up</a> vs <a" in page and "40% of customers get B, since" in page
    assert rows(page) == [
        "A Billing follow-up 100 30% (22-40%) of 100 30 responded 25% (14-40%) of 40 10 recovered",
        "B Demo 100 60% (50-69%) of 100 60 responded 30% (18-45%) of 40 12 recovered",
        "B (Demo) has more survey responses (60% vs 30%), 95% confidence",
        "not enough data yet: about 2422 more cases needed",
    ]


def test_too_little_data_says_how_many_more_cases(as_manager, seeded):
    standard, demo = current("Standard"), current("Demo")
    standard.experiment_lineage = demo.lineage
    db.session.commit()
    rounds("A", standard.lineage, 5, delivered=5, responded=2, negative=1)
    rounds("B", standard.lineage, 4, start=100, delivered=4, responded=1)
    roll_up_stored()
    page = as_manager.get("/dashboard/experiments").get_data(as_text=True)
    assert rows(page) == [
        "A Standard 5 40% (12-77%) of 5 small sample 2 responded 0% (0-79%) of 1 small sample "
        "0 recovered",
        "B Demo 4 25% (5-70%) of 4 small sample 1 responded no data yet (0) small sample "
        "0 recovered",
        "not enough data yet: about 295 more cases needed",
        "not enough data yet: about 59 more cases needed",  # 29 more negative in A, 30 in B
    ]


def test_no_experiment_and_bad_filters(as_manager, seeded):
    page = as_manager.get("/dashboard/experiments")
    assert page.status_code == 200 and "No experiment is running" in page.get_data(as_text=True)
    bad = as_manager.get("/dashboard/experiments?from=yesterday&to=2026-01-01")
    assert bad.status_code == 422 and "from" in bad.get_data(as_text=True)
    assert as_manager.get("/dashboard/experiments?period=2d").status_code == 422


def test_a_period_narrows_the_rounds(as_manager, seeded):
    standard, demo = current("Standard"), current("Demo")
    standard.experiment_lineage = demo.lineage
    db.session.commit()
    rounds("A", standard.lineage, 3, delivered=3, responded=3)
    rounds("A", standard.lineage, 2, start=10, at=utcnow() + timedelta(days=20), delivered=2)
    roll_up_stored()
    everything = rows(as_manager.get("/dashboard/experiments").get_data(as_text=True))
    assert everything[0].startswith("A Standard 5 60% (23-88%) of 5")
    today = utcnow().date().isoformat()
    page = as_manager.get(f"/dashboard/experiments?from={today}&to={today}")
    assert rows(page.get_data(as_text=True))[0].startswith("A Standard 3 100% (44-100%) of 3")
    assert f"Rounds closed {today} to {today}" in page.get_data(as_text=True)


def test_the_page_counts_what_the_rollups_derive_from_closed_and_answered_cases(
    app, as_lead, client, seeded
):
    """End to end: cases closed through the API, surveys sent and answered (A customers
    unhappy, B customers happy), the rollups refreshed; the page counts them."""
    assert set_up_experiment(as_lead).status_code == 303
    lineage = current("Billing follow-up").lineage
    emails: dict[str, str] = {}
    # The split hashes the customer with the experiment's (random) lineage: close cases until
    # at least eight and both variants are there (eight alone are all A once in 128 runs).
    while len(emails) < 8 or set(emails.values()) != {"A", "B"}:
        n = len(emails)
        assert n < 64, "64 customers and still a single variant"
        email = f"exp-{n}@example.com"
        body = {"external_id": f"E-{n}", "tags": ["billing"], "customer": {"email": email}}
        assert close(client, seeded["auth"], body).status_code == 202
        emails[email] = db.session.scalar(
            sa.select(Case.variant).where(Case.external_id == f"E-{n}")
        )
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    for email, variant in emails.items():
        token = survey_token(app, email)
        assert answer_on_page(client, token, 1 if variant == "A" else 5).status_code == 303
    refresh_all()
    page = as_lead.get("/dashboard/experiments").get_data(as_text=True)
    n_a = sum(v == "A" for v in emails.values())
    n_b = len(emails) - n_a
    a_row, b_row, *_ = rows(page)
    # A: every delivered invitation answered, every answer negative, none recovered yet.
    assert re.fullmatch(rf"A Billing follow-up {n_a} 100% \(\d+-100%\) of {n_a} small sample "
                        rf"{n_a} responded 0% \(0-\d+%\) of {n_a} small sample 0 recovered",
                        a_row), a_row  # fmt: skip
    # B: every invitation answered, happily: no negative answer to recover.
    assert re.fullmatch(
        rf"B Demo {n_b} 100% \(\d+-100%\) of {n_b} small sample {n_b} "
        r"responded no data yet \(0\) small sample 0 recovered",
        b_row,
    ), b_row
    assert {fact.experiment for fact in db.session.scalars(sa.select(RoundFact))} == {lineage}


def test_the_first_day_counts_from_the_facts_and_later_days_from_the_rollups(as_manager, seeded):
    """An experiment that started at noon three days ago: that day's rounds count from
    noon on; the later days' rounds come from the rollups; earlier ones never count."""
    standard, demo = current("Standard"), current("Demo")
    started = datetime.combine(utcnow().date() - timedelta(days=3), time(12), UTC)
    standard.experiment_lineage, standard.created_at = demo.lineage, started
    db.session.commit()
    rounds("A", standard.lineage, 4, at=started - timedelta(minutes=1), delivered=4)
    rounds("A", standard.lineage, 3, start=10, at=started + timedelta(minutes=1), delivered=3,
           responded=1)  # fmt: skip
    rounds("A", standard.lineage, 2, start=20, at=started + timedelta(days=2), delivered=2,
           responded=2)  # fmt: skip
    rounds("B", standard.lineage, 5, start=30, at=started + timedelta(days=1), delivered=5,
           responded=5)  # fmt: skip
    rounds("B", standard.lineage, 6, start=40, at=started - timedelta(days=1), delivered=6)
    roll_up_stored()
    found = rows(as_manager.get("/dashboard/experiments").get_data(as_text=True))
    assert found[0].startswith("A Standard 5 60% (23-88%) of 5 small sample 3 responded")
    assert found[1].startswith("B Demo 5 100% (57-100%) of 5 small sample 5 responded")
    # A period of the later days only: the rollups' rounds.
    later = (started + timedelta(days=1)).date().isoformat()
    found = rows(as_manager.get(f"/dashboard/experiments?from={later}&to={later}").text)
    assert found[0].startswith("A Standard 0 no data yet (0)")
    assert found[1].startswith("B Demo 5 100% (57-100%) of 5")
