"""Which emails of a dispatch may go out as one SendGrid request (FOLLOWUP_EMAIL_BATCHING).

SendGrid's v3 mail/send takes up to 1,000 personalizations, each with its own recipient,
subject, headers, custom_args and substitutions (text replaced in the shared content). Emails
share a request only when their rendered content is the same once each one's own values
(the customer's name and address, the case, the survey and unsubscribe links: whatever the
template context gave that differs between them) are replaced by one token per value, and
when putting each email's values back into that shared content gives exactly the email as
rendered. Anything else (a template that formats a name, a value that cannot be told apart
from the rest of the text) goes out one request per email, as before.
"""

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from followup.channels.base import OutgoingMessage

MAX_PER_REQUEST = 1000  # SendGrid's limit of personalizations per request
MAX_SUBSTITUTION_BYTES = 10_000  # SendGrid's limit per personalization
_TOKEN = "-fu{}-"  # a token never holds another: "-fu1-", "-fu1h-" (as in HTML), "-fu12-"
_MARK = "-fu"  # content or a value holding this could be mistaken for a token: it goes alone


@dataclass(frozen=True)
class EmailBatch:
    """Emails sent as one request: the shared content, and each email with its values."""

    html: str
    text: str
    emails: tuple[tuple[OutgoingMessage, dict[str, str]], ...]

    @property
    def messages(self) -> list[OutgoingMessage]:
        return [out for out, _ in self.emails]


def email_requests(emails: list[OutgoingMessage]) -> list[OutgoingMessage | EmailBatch]:
    """The emails as requests: a batch for each group of two or more that share their
    content, each other email alone."""
    groups: dict[tuple, list[OutgoingMessage]] = defaultdict(list)
    for out in emails:
        groups[(out.from_name, tuple(sorted(out.headers)))].append(out)
    requests: list[OutgoingMessage | EmailBatch] = []
    for group in groups.values():
        tokens = _tokens(group)
        made = []
        for out in group:
            values = _values(out, tokens)
            if values is None:
                requests.append(out)
            else:
                made.append((_shared(out, values), out, values))
        requests += _shares(made)
    return requests


def _tokens(group: list[OutgoingMessage]) -> dict[str, str]:
    """A token for each name whose value differs between the emails: "-fu0{}-", ..."""
    named = [dict(out.personal) for out in group]
    names = {name for values in named for name in values}
    varying = sorted(name for name in names if len({values.get(name) for values in named}) > 1)
    return {name: _TOKEN.format(f"{n}{{}}") for n, name in enumerate(varying)}


def _values(out: OutgoingMessage, tokens: dict[str, str]) -> dict[str, str] | None:
    """The email's own values by token (its HTML-escaped form has a token of its own), or
    None when its content or a value could be mistaken for a token."""
    if _MARK in out.html or _MARK in out.text:
        return None
    values: dict[str, str] = {}
    for name, value in out.personal:
        if name not in tokens or not value:
            continue
        if _MARK in value:
            return None
        values[tokens[name].format("")] = value
        if escape(value) != value:
            values[tokens[name].format("h")] = escape(value)
    return values


def _shares(made: list[tuple[tuple[str, str], OutgoingMessage, dict[str, str]]]) -> list:
    """Requests for emails with their shared content (each email's values replaced by
    tokens, longest value first): the content most of them make takes every email it gives
    back exactly (one whose two values are equal, "Kim" and "Kim", makes another content but
    fits this one); the others are grouped by the content they made."""
    if not made:
        return []
    by_content: dict[tuple[str, str], list] = defaultdict(list)
    for content, out, values in made:
        by_content[content].append((out, values))
    most = max(by_content, key=lambda content: len(by_content[content]))
    groups = [(most, [(out, values) for _, out, values in made])]
    groups += [(content, group) for content, group in by_content.items() if content != most]
    requests, placed = [], set()
    for (html, text), group in groups:
        members = []
        for out, values in group:
            used = None if out.message_id in placed else _fits(out, html, text, values)
            if used is not None:
                members.append((out, used))
                placed.add(out.message_id)
        requests += _chunks(html, text, members)
    return requests + [out for _, out, _ in made if out.message_id not in placed]


def _shared(out: OutgoingMessage, values: dict[str, str]) -> tuple[str, str]:
    html, text = out.html, out.text
    for token, value in sorted(values.items(), key=lambda item: -len(item[1])):
        html, text = html.replace(value, token), text.replace(value, token)
    return html, text


def _fits(out: OutgoingMessage, html: str, text: str, values: dict[str, str]) -> dict | None:
    """The values the shared content needs to give back this email exactly, within
    SendGrid's limit; None when it does not."""
    used = {token: value for token, value in values.items() if token in html or token in text}
    if sum(len(k) + len(v.encode()) for k, v in used.items()) > MAX_SUBSTITUTION_BYTES:
        return None
    if (_filled(html, used), _filled(text, used)) != (out.html, out.text):
        return None
    return used


def _chunks(html: str, text: str, members: list) -> list[OutgoingMessage | EmailBatch]:
    """Requests of at most MAX_PER_REQUEST emails; an email left on its own goes alone."""
    requests: list[OutgoingMessage | EmailBatch] = []
    for start in range(0, len(members), MAX_PER_REQUEST):
        chunk = tuple(members[start : start + MAX_PER_REQUEST])
        requests.append(EmailBatch(html, text, chunk) if len(chunk) > 1 else chunk[0][0])
    return requests


def _filled(content: str, values: dict[str, str]) -> str:
    """What SendGrid makes of shared content for one recipient."""
    for token, value in values.items():
        content = content.replace(token, value)
    return content
