"""What a helpdesk write-back puts on a ticket, made from its outbound call's payload (a
snapshot of what was true when it was planned): the private note's text for an answer, a
recovery outcome or a recovery's root cause, the ticket tags and the score for the ticket's
score field, and the marker line that lets a retry see that the note is on the ticket already
(a note's write may have been applied when its answer was lost)."""

import hashlib
from dataclasses import dataclass, field

TAG = "followup"


def marker(key: str) -> str:
    """The last line of every note a call writes: the same on every retry of one call."""
    return f"{TAG} ref {hashlib.sha256(key.encode()).hexdigest()[:16]}"


def with_marker(text: str, key: str) -> str:
    return f"{text}\n\n{marker(key)}"


def marker_in(items: object, line: str) -> bool:
    """Whether a page of a ticket's comments or conversations (objects with a body) holds the
    marker line."""
    return isinstance(items, list) and any(
        isinstance(item, dict) and line in str(item.get("body") or "") for item in items
    )


@dataclass(frozen=True)
class Note:
    """One write-back: the private note (its last line the marker), the tags to add and to
    remove, the score for the ticket's score field (None: leave the field), and the payload
    itself for the generic connector's event."""

    text: str
    marker: str
    data: dict
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    score: int | None = None


def answer_tags(payload: dict) -> tuple[list[str], list[str]]:
    """(tags to add, tags to remove) for an answer: followup_<survey kind>_<score> (the
    other scores' tags removed) and followup_negative when it is negative (else removed)."""
    kind, score = payload["survey_kind"], payload["score"]
    scores = range(payload["scale_min"], payload["scale_max"] + 1)
    add = [f"{TAG}_{kind}_{score}"]
    remove = [f"{TAG}_{kind}_{other}" for other in scores if other != score]
    (add if payload["band"] == "negative" else remove).append(f"{TAG}_negative")
    return add, remove


def answer_text(payload: dict) -> list[str]:
    which = "Recovery check-in answer" if payload["recovery_check_in"] else "Customer feedback"
    changed = " (changed)" if payload["changed"] else ""
    lines = [
        f"{which}{changed}: {payload['score']}/{payload['scale_max']}, {payload['band']}"
        f" ({payload['channel']})"
    ]
    if payload["reasons"]:
        lines.append(f"Reasons: {', '.join(payload['reasons'])}")
    if payload["comment"]:
        lines.append(f"Comment: “{payload['comment']}”")
    if payload["make_right"]:
        lines.append(f"Would make it right: “{payload['make_right']}”")
    return lines


def root_cause_text(payload: dict) -> list[str]:
    changed = " (changed)" if payload["changed"] else ""
    lines = [f"Root cause{changed}: {payload['label']} [{payload['root_cause']}], recorded by "
             f"{payload['by']}"]  # fmt: skip
    if payload.get("comment"):
        lines.append(f"Note: “{payload['comment']}”")
    return lines


def note_for(payload: dict, key: str, latest: bool) -> Note:
    """The note of an answer's or an outcome's write-back; an answer's tags and score only
    when it is the case's latest answer written back (an older one retried late must not
    put its stale tags back)."""
    is_answer = payload["type"] == "answer"
    if is_answer:
        lines = answer_text(payload)
    elif payload["type"] == "root_cause":
        lines = root_cause_text(payload)
    else:
        lines = [payload["summary"]]
    lines.append(f"Case timeline: {payload['case_url']}")
    note = Note(with_marker("\n".join(lines), key), marker(key), payload)
    if not (is_answer and latest):
        return note
    add, remove = answer_tags(payload)
    return Note(note.text, note.marker, payload, add, remove, payload["score"])
