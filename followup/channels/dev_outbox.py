"""The dev outbox channel (the demo's, FOLLOWUP_DEV_OUTBOX): each message is appended to a
JSON-lines file that /dev/outbox shows, newest first, a page at a time.

The file is bounded: once it holds MAX_BYTES the next message moves it aside to `<name>.1`
(replacing the one before) and starts a new one. Pages are read from the end of the files in
blocks, so a page costs what it shows, not the size of the file.
"""

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from followup.channels.base import OutgoingMessage
from followup.channels.pacing import ProviderPause

MAX_BYTES = 4 * 1024 * 1024
PER_PAGE = 20
BLOCK = 64 * 1024
APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def previous_file(path: Path) -> Path:
    """Where a full outbox file is moved aside."""
    return path.with_name(path.name + ".1")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


class DevOutboxChannel:
    provider = "dev"
    pace: tuple[str, int] | None = None  # not paced

    def __init__(self, path: str | Path, max_bytes: int = MAX_BYTES):
        self.pause = ProviderPause()  # never held: a file does not answer 429
        self.path = Path(path)
        self.max_bytes = max_bytes

    def send(self, message: OutgoingMessage) -> str:
        provider_id = f"dev-{uuid.uuid4().hex}"
        record = {
            "provider_id": provider_id,
            "message_id": message.message_id,
            "channel": message.channel,
            "to": message.to,
            "from_name": message.from_name,
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "headers": message.headers,
            "at": datetime.now(UTC).isoformat(),
        }
        if message.content_sid:  # a WhatsApp content template
            record |= {"content_sid": message.content_sid,
                       "content_variables": message.content_variables}  # fmt: skip
        line = json.dumps(record)
        # One O_APPEND write per message keeps lines whole with several worker processes.
        fd = self._open()
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return provider_id

    def _open(self) -> int:
        """The outbox file to append to; a full one is first moved aside, by whichever process
        takes its lock first (the others then find a new file in its place)."""
        fd = os.open(self.path, APPEND, 0o600)
        if os.fstat(fd).st_size < self.max_bytes:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, self.path):
                os.replace(self.path, previous_file(self.path))
        finally:
            os.close(fd)  # and with it the lock
        return os.open(self.path, APPEND, 0o600)


@dataclass(frozen=True)
class OutboxPage:
    messages: list[dict]  # newest first
    has_older: bool


def read_outbox(path: str | Path, page: int = 1, per_page: int = PER_PAGE) -> OutboxPage:
    """One page of messages (page 1: the newest), read from the end of the files."""
    start = (page - 1) * per_page
    found = list(islice(_newest_first(Path(path)), start, start + per_page + 1))
    return OutboxPage(found[:per_page], has_older=len(found) > per_page)


def _newest_first(path: Path) -> Iterator[dict]:
    """The messages of the outbox and then of the file moved aside before it, newest first
    (a line that does not parse, say one cut short by a full disk, is passed over)."""
    for file in (path, previous_file(path)):
        for line in _lines_from_the_end(file):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def _lines_from_the_end(path: Path) -> Iterator[bytes]:
    """The file's non-blank lines, last first, reading blocks backwards from its end."""
    try:
        file = open(path, "rb")  # noqa: SIM115  (closed below, also when the caller stops early)
    except FileNotFoundError:
        return
    with file:
        position = file.seek(0, os.SEEK_END)
        partial = b""  # the start of a line whose beginning is in an earlier block
        while position > 0:
            size = min(BLOCK, position)
            position -= size
            file.seek(position)
            lines = (file.read(size) + partial).split(b"\n")
            partial = lines[0]
            yield from (line for line in reversed(lines[1:]) if line.strip())
        if partial.strip():
            yield partial
