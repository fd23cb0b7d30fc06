"""The baseline's job: an RQ job that does nothing, so its rate is RQ's own cost per job."""


def noop() -> None:
    """Do nothing; a worker running these measures fork, Redis round trips and bookkeeping."""
    return None
