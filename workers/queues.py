"""RQ queues by purpose (sweep, dispatch, recovery, default) and the app's Redis connection."""

import redis
from flask import current_app
from rq import Queue

QUEUE_NAMES = ("sweep", "dispatch", "recovery", "default")


def redis_connection() -> redis.Redis:
    """One connection pool per app, made on first use (never at import)."""
    extensions = current_app.extensions
    if "followup_redis" not in extensions:
        extensions["followup_redis"] = redis.Redis.from_url(current_app.config["REDIS_URL"])
    return extensions["followup_redis"]


def queue(name: str) -> Queue:
    return Queue(current_app.config["QUEUE_PREFIX"] + name, connection=redis_connection())
