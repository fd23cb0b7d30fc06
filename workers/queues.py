"""RQ queues by purpose (sweep, dispatch, recovery, default) on the app's Redis connection."""

from flask import current_app
from rq import Queue

from followup.extensions import redis_connection

QUEUE_NAMES = ("sweep", "dispatch", "recovery", "default")


def queue(name: str) -> Queue:
    return Queue(current_app.config["QUEUE_PREFIX"] + name, connection=redis_connection())
