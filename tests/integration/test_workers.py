"""Real RQ workers and the real sweep process, sending through the real SDKs to the emulator:
workers killed mid-dispatch and Redis flushed mid-run lose nothing and send nothing twice
(a send cut off inside the provider call, one of the calls a worker had in flight, is re-sent
and marked on the timeline)."""

from collections import Counter

import sqlalchemy as sa

from followup.extensions import db
from followup.models import CaseEvent, Message
from tests.support.emulator import accepted_sends
from tests.support.waiting import wait_until


def pending() -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count(Message.id)).where(Message.status.in_(("scheduled", "sending")))
    )


def test_kill_workers_and_flush_redis_mid_run_nothing_lost_nothing_doubled(
    client, fast_cadence, emulator, stack
):
    auth = fast_cadence["auth"]
    cases = 500
    for n in range(cases):
        customer = {"name": f"Customer {n}", "email": f"c{n}@example.com"}
        if n % 2:
            customer["phone"] = f"+1415555{n:04d}"
        body = {"external_id": f"K-{n}", "subject": f"Case {n}", "customer": customer}
        assert client.post("/api/v1/cases", json=body, headers=auth).status_code == 201
        close = client.post(f"/api/v1/cases/K-{n}/close", json={"cadence": "Fast"}, headers=auth)
        assert close.status_code == 202
    planned = cases * 3
    emulator.set_faults(latency_ms=3)  # a provider a little slower than loopback

    workers = [stack.start("worker"), stack.start("worker")]
    stack.start("sweep")

    wait_until(lambda: len(emulator.requests()) >= planned // 6, 180, "the first sends")
    for worker in workers:
        stack.kill_hard(worker)  # mid-dispatch: their claimed rows wait for the lease
    workers = [stack.start("worker"), stack.start("worker")]

    wait_until(lambda: len(emulator.requests()) >= planned // 2, 180, "half of the sends")
    stack.redis.flushall()  # every queued dispatch job and the schedule's state are gone

    wait_until(lambda: pending() == 0, 300, "every message to be sent")

    statuses = Counter(db.session.scalars(sa.select(Message.status)))
    assert statuses == {"sent": planned}
    accepted = accepted_sends(emulator.requests())
    message_ids = set(db.session.scalars(sa.select(Message.id)))
    assert set(accepted) == message_ids  # nothing lost
    resent = set(
        db.session.scalars(
            sa.select(CaseEvent.message_id).where(CaseEvent.kind == "message.resending")
        )
    )
    doubled = {message_id for message_id, count in accepted.items() if count > 1}
    # A second copy only of what a killed worker had in flight (a batched email request
    # carries a whole job's emails), each noted on the timeline.
    assert doubled <= resent
    assert max(accepted.values()) <= 2
