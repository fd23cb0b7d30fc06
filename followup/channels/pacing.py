"""How fast a provider may be called.

- A pause for the whole process: a provider that answers 429 with ``Retry-After`` is asked
  nothing more by this process until then (`ProviderPause`, one per channel, kept from one
  job to the next), not only the message that got the 429.
- A sender's pace for the whole deployment: Twilio takes a fixed number of texts per second
  from a long code, short code or Messaging Service (more are queued at Twilio, then
  refused). `next_slot` hands out one call's time at that pace to every worker through
  Redis, so two workers together keep to it too.
"""

import threading
import time
from email.utils import parsedate_to_datetime

import redis

MAX_PAUSE_SECONDS = 3600.0
DEFAULT_PAUSE_SECONDS = 1.0  # a 429 without a usable Retry-After


def retry_after_seconds(value: str | None, now: float | None = None) -> float:
    """A Retry-After header (seconds or an HTTP date) as seconds from now, within one hour;
    one second when it is missing or unreadable."""
    if not value:
        return DEFAULT_PAUSE_SECONDS
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            return DEFAULT_PAUSE_SECONDS
    if seconds != seconds:  # NaN
        return DEFAULT_PAUSE_SECONDS
    return min(max(seconds, 0.0), MAX_PAUSE_SECONDS)


class ProviderPause:
    """The time until which this process asks a provider nothing more (thread-safe)."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def hold(self, retry_after: str | None) -> float:
        """Pause for a 429's Retry-After (a later pause already set stays); its seconds."""
        seconds = retry_after_seconds(retry_after)
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)
        return seconds

    def left(self) -> float:
        """Seconds until the provider may be called again (0 when it may now)."""
        return max(0.0, self._until - time.monotonic())


# Reserve the next free slot of a pace: the sender's next free time (microseconds, Redis's
# clock, so every worker shares one) moves one interval on; answers how long to wait.
_NEXT_SLOT = """
local now = redis.call('TIME')
local us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local slot = math.max(us, tonumber(redis.call('GET', KEYS[1]) or '0'))
local following = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', following), 'PX',
           math.floor((following - us) / 1000) + 1000)
return slot - us
"""


def next_slot(connection: redis.Redis, key: str, per_second: float) -> float:
    """Reserve the next call at `per_second` calls a second under `key` (every process that
    uses the key shares the pace); the seconds to wait before making it."""
    interval_us = max(1, round(1_000_000 / per_second))
    wait_us = connection.eval(_NEXT_SLOT, 1, key, interval_us)
    return int(wait_us) / 1_000_000
