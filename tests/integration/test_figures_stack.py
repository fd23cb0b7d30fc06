"""The dashboard's rollups kept up to date by the real worker and sweep processes while they
send through the real SDKs to the emulator."""

import pytest
import sqlalchemy as sa

from followup.extensions import db
from followup.models import DailyFigure, Message
from tests.support.waiting import wait_until


@pytest.fixture
def stack_env():
    return {"FOLLOWUP_FIGURES_INTERVAL": "1", "FOLLOWUP_FIGURES_LAG": "0"}


def counted(name: str) -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(getattr(DailyFigure, name)), 0))
    )


def test_the_workers_keep_the_figures_up_to_date(client, fast_cadence, stack):
    auth = fast_cadence["auth"]
    for n in range(20):
        body = {"external_id": f"F-{n}", "customer": {"email": f"f{n}@example.com"}}
        assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
        closed = client.post(f"/api/v1/cases/F-{n}/close", json={"cadence": "Fast"}, headers=auth)
        assert closed.status_code == 202
    stack.start("worker")
    stack.start("sweep")
    wait_until(lambda: counted("closed") == 20, 120, "the closes counted")

    def check_ins_sent() -> int:
        db.session.rollback()
        return db.session.scalar(
            sa.select(sa.func.count(Message.id)).where(Message.status == "sent")
        )

    wait_until(lambda: check_ins_sent() >= 40, 120, "thank-yous and check-ins sent")
    wait_until(lambda: counted("invited") == 20, 120, "the check-ins counted as invitations")
    assert counted("closed") == 20  # nothing counted twice along the way
