"""The dev outbox channel: each message is appended to a JSON-lines file that /dev/outbox shows."""

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from followup.channels.base import OutgoingMessage


class DevOutboxChannel:
    provider = "dev"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def send(self, message: OutgoingMessage) -> str:
        provider_id = f"dev-{uuid.uuid4().hex}"
        line = json.dumps(
            {
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
        )
        # One O_APPEND write per message keeps lines whole with several worker processes.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return provider_id


def read_outbox(path: str | Path, limit: int = 200) -> list[dict]:
    """The latest messages first."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()[-limit:]
    return [json.loads(line) for line in reversed(lines) if line.strip()]
