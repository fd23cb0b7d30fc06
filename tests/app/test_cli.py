"""The commands a deployer runs: api-keys create and seed-demo (tests/security/test_api_keys.py
has the rest of api-keys)."""

import sqlalchemy as sa

from followup.extensions import db
from followup.models import Cadence, Case


def test_create_api_key_prints_a_working_key_and_sets_up_the_standard_cadence(runner, client):
    result = runner.invoke(args=["api-keys", "create", "--name", "zendesk", "--scope", "read"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("fu_") and len(key) > 40
    response = client.get("/api/v1/cases/NONE", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 404  # authenticated, the case just doesn't exist
    default = db.session.scalar(
        sa.select(Cadence).where(Cadence.is_default.is_(True), Cadence.purpose == "close")
    )
    assert default.name == "Standard"
    assert [s.delay_seconds for s in default.steps] == [0, 24 * 3600, 72 * 3600]


def test_seed_demo_is_idempotent(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    cases = db.session.scalars(sa.select(Case)).all()
    assert [c.external_id for c in cases] == ["DEMO-1001"]
    assert cases[0].status == "open"
    names = set(db.session.scalars(sa.select(Cadence.name)))
    assert names == {"Standard", "Demo", "Recovery", "Demo recovery"}
    recovery = db.session.scalar(
        sa.select(Cadence).where(Cadence.is_default.is_(True), Cadence.purpose == "recovery")
    )
    assert recovery.name == "Demo recovery"
    assert [s.delay_seconds for s in recovery.steps] == [5, 30, 60]
