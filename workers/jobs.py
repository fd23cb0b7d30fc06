"""RQ jobs: the periodic sweep and the dispatch of one claimed batch. Jobs take ids only."""

from flask import current_app

from followup import outbox
from workers.queues import queue


def sweep() -> dict:
    """Claim due messages in batches and enqueue one dispatch job per batch (after commit)."""
    dispatch_queue = queue("dispatch")
    lease = current_app.config["LEASE_SECONDS"]

    def enqueue(channel: str, token: str) -> None:
        dispatch_queue.enqueue(
            dispatch,
            token,
            job_id=f"{dispatch_queue.name}-{token}",
            description=f"dispatch {channel} batch {token}",
            job_timeout=lease * 2,
            ttl=lease,  # a batch whose lease has run out is claimed again, not run late
            result_ttl=300,
            failure_ttl=86400,
        )

    result = outbox.sweep(enqueue, queued_batches=dispatch_queue.count)
    return {"batches": len(result.claimed_batches), "skipped_busy": result.skipped_busy}


def dispatch(token: str) -> dict:
    return outbox.dispatch(token)
