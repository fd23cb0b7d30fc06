"""Waiting on a condition instead of a fixed time: what workers, sweeps, refreshes and browsers
do takes longer on a busy machine, so tests poll for the outcome under a generous ceiling."""

import time


def wait_until(condition, timeout: float = 60, what="the condition", interval: float = 0.1):
    """Poll `condition` until it is true; after `timeout` seconds an AssertionError names
    `what` (a string, or a function giving one then, such as a process's log so far)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {said}")
        time.sleep(interval)
