"""Which emails share one SendGrid request: only those whose content is the same once each
one's own values are tokens, and whose values put back give each email exactly."""

from html import escape

from followup.channels.base import OutgoingMessage
from followup.channels.email_batches import MAX_PER_REQUEST, EmailBatch, email_requests


def email(n: int, name: str, first: str | None = None, html: str | None = None, **fields):
    first = first if first is not None else name.split()[0]
    link = f"https://followup.test/u/token{n}?a=1&b={n}"
    return OutgoingMessage(
        message_id=n,
        channel="email",
        to=f"c{n}@example.com",
        subject=f"Thanks, {first}",
        html=f'<p>Hi {escape(first)}</p><a href="{escape(link)}">x</a>' if html is None else html,
        text=f"Hi {first},\nUnsubscribe: {link}",
        headers={"List-Unsubscribe": f"<{link}>"},
        personal=(("customer.name", name), ("customer.first_name", first), ("link", link)),
        **fields,
    )


def filled(content: str, values: dict[str, str]) -> str:
    for token, value in values.items():
        content = content.replace(token, value)
    return content


def as_sent(requests) -> dict[int, tuple[str, str]]:
    """What each email's recipient gets, by message id."""
    got = {}
    for request in requests:
        if isinstance(request, EmailBatch):
            for out, values in request.emails:
                got[out.message_id] = (filled(request.html, values), filled(request.text, values))
        else:
            got[request.message_id] = (request.html, request.text)
    return got


def test_emails_differing_only_in_their_values_share_one_request():
    emails = [email(n, name) for n, name in enumerate(["Ana Lopez", "Zoë O'Brien & Co", "B <b>"])]
    [batch] = email_requests(emails)
    assert isinstance(batch, EmailBatch) and [o.message_id for o in batch.messages] == [0, 1, 2]
    assert "Ana" not in batch.html and "token0" not in batch.text
    assert as_sent([batch]) == {o.message_id: (o.html, o.text) for o in emails}


def test_equal_values_fit_the_shared_content_of_the_others():
    emails = [email(0, "Ana Lopez"), email(1, "Kim", "Kim"), email(2, "Bo Li")]
    [batch] = email_requests(emails)
    assert as_sent([batch]) == {o.message_id: (o.html, o.text) for o in emails}


def test_an_email_whose_content_differs_otherwise_goes_alone():
    shouting = email(2, "Bo Li", html="<p>HI BO</p>")
    requests = email_requests([email(0, "Ana Lopez"), email(1, "Kim Park"), shouting])
    assert [type(r) for r in requests] == [EmailBatch, OutgoingMessage]
    assert requests[1] is shouting


def test_text_that_could_be_taken_for_a_token_goes_alone():
    odd_value = email(1, "Lee -fu0- Park")
    odd_content = email(2, "Bo Li", html="<p>-fu1-</p>")
    requests = email_requests([email(0, "Ana Lopez"), odd_value, odd_content, email(3, "Kim Y")])
    assert [r.message_id for r in requests if isinstance(r, OutgoingMessage)] == [1, 2]
    assert as_sent(requests) == {
        o.message_id: (o.html, o.text)
        for o in [email(0, "Ana Lopez"), odd_value, odd_content, email(3, "Kim Y")]
    }


def test_emails_from_different_senders_never_share():
    ana = email(0, "Ana Lopez", from_name="Sam (Acme)")
    requests = email_requests([ana, email(1, "Kim Park"), email(2, "Bo Li")])
    assert ana in requests and len(requests) == 2


def test_values_beyond_sendgrids_limit_go_alone():
    huge = email(1, "x" * 10_001)
    requests = email_requests([email(0, "Ana Lopez"), huge, email(2, "Bo Li")])
    assert huge in requests and len(requests) == 2


def test_at_most_a_thousand_emails_a_request():
    emails = [email(n, f"Name{n} Last") for n in range(MAX_PER_REQUEST + 2)]
    requests = email_requests(emails)
    assert [len(r.emails) for r in requests] == [MAX_PER_REQUEST, 2]
    assert as_sent(requests) == {o.message_id: (o.html, o.text) for o in emails}
