"""Cadence experiments: a lead sets one up in the cadence editor (validation named), cases
closed through the API are split between A and B sticky per customer with B's steps planned
for B's customers, and the experiments page shows each variant's rates, intervals and the
verdict."""

import html

import pytest
import sqlalchemy as sa

from followup.experiments import variant_for
from followup.extensions import db
from followup.models import Cadence, CadenceStep, Case, Message
from tests.app.test_admin_cadences import cadence_form, close, current


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
    assert f"B&#39;s share (percent): {message}" in response.get_data(as_text=True)
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

    unknown = as_lead.post(path, data={**data, "experiment_b": "no-such-lineage"})
    assert unknown.status_code == 422
    assert "B cadence: choose a cadence from the list" in unknown.get_data(as_text=True)
    db.session.expire_all()
    assert current("Standard").version == standard.version


def test_a_manager_cannot_set_up_an_experiment(as_manager, seeded):
    standard = current("Standard")
    data = {"csrf_token": _token(as_manager, "/admin/cadences"), "name": "Standard",
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
        plan = close(as_lead, seeded["auth"], f"ZD-{n}", tags=["billing"], phone=f"+1415555{n:04d}")
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
        again = close(as_lead, seeded["auth"], f"{case.external_id}-again", tags=["billing"],
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
        data={"csrf_token": _token(as_lead, f"/admin/cadences/{demo.id}")},
    )
    assert archive.status_code == 303
    paused = close(as_lead, auth, "P-1", tags=["billing"])
    assert paused["case"]["cadence"] == "Billing follow-up"
    case = db.session.scalar(sa.select(Case).where(Case.external_id == "P-1"))
    assert (case.experiment, case.variant) == (None, None)
    page = as_lead.get(f"/admin/cadences/{current('Billing follow-up').id}").get_data(as_text=True)
    assert "99% of customers get" in page and "archived: paused" in page


def _token(client, path):
    from tests.conftest import csrf_token

    return csrf_token(client, path)
