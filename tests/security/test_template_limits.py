"""Templates that cannot take the service down (issue 13, finding 2), and the template routes'
other guards: a hostile template is refused by the preview and at save time with a 422 within
seconds (not the minutes it would run unbounded) and without taking memory; one saved around
the checks fails its own message at send time while the batch goes on; the defaults render as
before; the preview is for those who may configure; "Send a test" is limited per user; ids
beyond the integer columns are 404."""

import re
import time
import tracemalloc
from datetime import timedelta
from html import unescape

import css_inline
import pytest
import sqlalchemy as sa
from jinja2 import DictLoader, StrictUndefined, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from followup.extensions import db
from followup.models import Case, CaseEvent, Message, MessageTemplate
from followup.models.base import utcnow
from followup.paths import ROOT
from followup.rendering import render, sample_context, template_parts, template_problems, why
from tests.support.cases import CASE, close, sent_messages, sweep_and_dispatch
from tests.support.console import csrf_token, sign_in

NEW = "/admin/templates/new"
GOOD = {
    "name": "Check-in",
    "key": "check-in",
    "email_subject": "Hi {{ customer.first_name }}",
    "email_html": "<p>Hello {{ customer.name }}</p>",
    "email_text": "Hello {{ customer.name }}",
    "sms_text": "Hi {{ customer.first_name }}",
}
SECONDS = 5  # the render limit is 1 s; unbounded, these run for minutes. Slack for slow CI
PEAK_BYTES = 50 * 1024 * 1024

LOOPS = "loops more than 10000 times"
LONG = "makes text longer than 100000 characters"
MADE = "makes more than 1000000 characters of text in all"
SLOW = "takes longer than 1 second to render"
DIGITS = "makes a number longer than 1000 digits"


def nested(times: int, body: str, over: str = "range(1000)") -> str:
    return f"{{% for i in {over} %}}" * times + body + "{% endfor %}" * times


def doubled(expression: str, times: int, start: str) -> str:
    return f"{{% set x = {start} %}}" + f"{{% set x = {expression} %}}" * times + "{{ x }}"


def literal_tower(levels: int) -> str:
    """Lists holding the level below ten times: 10**levels strings, built without an
    operator."""
    source = "{% set l0 = 'x' * 1000 %}"
    for n in range(1, levels + 1):
        source += f"{{% set l{n} = [{', '.join([f'l{n - 1}'] * 10)}] %}}"
    return source + f"{{{{ l{levels} }}}}"


HOSTILE = [
    # Loops: three deep over range(1000) is a billion iterations.
    pytest.param("email_text", nested(3, "x"), LOOPS, id="nested-range-writing"),
    pytest.param("email_text", nested(3, ""), LOOPS, id="nested-range-silent"),
    pytest.param("sms_text", nested(3, "", over="'x' * 1000"), LOOPS, id="nested-string-loops"),
    pytest.param(
        "email_text",
        "{% for i in range(10) recursive %}{{ loop(range(1000)) }}{% endfor %}",
        "RecursionError",
        id="recursive-loop",
    ),
    pytest.param(
        "email_text", nested(2, "{{ loop.length }}"), LOOPS, id="loop-length-counts-items"
    ),
    # Text made as wide as the template says.
    pytest.param("email_text", "{{ 'x'|center(10**9) }}", LONG, id="center"),
    pytest.param("email_subject", "{{ 'x'.ljust(10**9) }}", LONG, id="ljust"),
    pytest.param("email_text", "{{ '7'.zfill(999999999) }}", LONG, id="zfill"),
    pytest.param("email_text", "{{ ('\t' * 90000).expandtabs(90000) }}", LONG, id="expandtabs"),
    pytest.param("email_text", "{{ '%999999999s'|format(1) }}", LONG, id="format-filter"),
    pytest.param("email_text", "{{ '%999999999s' % 1 }}", LONG, id="percent"),
    pytest.param("email_text", "{{ '%*s' % (999999999, 1) }}", LONG, id="percent-star"),
    pytest.param("email_text", "{{ '{:>999999999}'.format(1) }}", LONG, id="str-format"),
    pytest.param("email_text", "{{ '{:>{}}'.format(1, 999999999) }}", LONG, id="nested-spec"),
    pytest.param("email_text", "{{ '{a:>999999999}'.format_map({'a': 1}) }}", LONG, id="map"),
    pytest.param("sms_text", "{{ (1).to_bytes(999999999, 'big') }}", LONG, id="to-bytes"),
    # Text that grows by concatenation, replacement or joining.
    pytest.param("email_text", doubled("x ~ x", 40, "'xx'"), LONG, id="doubling-tilde"),
    pytest.param("email_text", doubled("x + x", 40, "'xx'"), LONG, id="doubling-plus"),
    pytest.param(
        "email_text",
        "{% set ns = namespace(x='xx') %}{% for i in range(64) %}{% set ns.x = ns.x ~ ns.x %}"
        "{% endfor %}{{ ns.x|length }}",
        LONG,
        id="doubling-in-a-loop",
    ),
    pytest.param(
        "email_text", "{{ ('x' * 100000)|replace('x', 'y' * 100000) }}", LONG, id="replace"
    ),
    pytest.param("email_text", "{{ ('x' * 100000).replace('', 'y' * 999) }}", LONG, id="method"),
    pytest.param("email_text", "{{ range(1000)|join('x' * 100000) }}", LONG, id="join"),
    pytest.param(
        "email_text", "{{ ('x' * 99999).join(range(1000)|map('string')) }}", LONG, id="str-join"
    ),
    pytest.param(
        "email_text",
        "{{ ('x' * 1000)|list|map('center', 100000)|join|length }}",
        MADE,
        id="map-center-join",
    ),
    pytest.param("email_text", "{{ ('x\n' * 50000)|indent('y' * 100000) }}", LONG, id="indent"),
    pytest.param(
        "email_text",
        "{{ ('a ' * 50000)|wordwrap(1, wrapstring='z' * 100000) }}",
        "more than 10000 lines",
        id="wordwrap",
    ),
    pytest.param(
        "email_text", "{{ ('a' * 100000).translate({97: 'b' * 100000}) }}", LONG, id="translate"
    ),
    pytest.param("email_text", "{{ [1]|batch(999999999, 'x')|list }}", LONG, id="batch"),
    pytest.param("email_text", "{{ [[1]]|tojson(indent=999999999) }}", "indents", id="tojson"),
    pytest.param("email_text", "{{ lipsum(100000, min=999, max=1000) }}", "lipsum", id="lipsum"),
    # Output written again and again inside a loop, a {% set %} block or a macro.
    pytest.param(
        "email_text",
        "{% set big %}" + nested(2, "y" * 5000, over="range(100)") + "{% endset %}{{ big }}",
        MADE,
        id="set-block",
    ),
    pytest.param(
        "email_html",
        "{% block b %}" + "z" * 60000 + "{% endblock %}{{ self.b() ~ self.b() }}",
        LONG,
        id="block-twice",
    ),
    # Lists nesting the same list: no operator makes them, printing them would.
    pytest.param("email_text", literal_tower(8), LONG, id="literal-lists"),
    pytest.param("email_text", "{{ (['x' * 99999] * 99999)|join }}", LONG, id="list-times"),
    pytest.param(
        "email_text",
        "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
        "unsafe",
        id="list-grows",
    ),
    # Numbers.
    pytest.param("email_text", doubled("x * x", 16, "10**64"), DIGITS, id="bigint-square"),
    pytest.param("email_text", "{{ ((10**64)**64)**64 > 0 }}", DIGITS, id="bigint-power"),
    # Time: calls that branch without a loop.
    pytest.param(
        "email_text",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(60) }}",
        SLOW,
        id="macro-tree",
    ),
    pytest.param(
        "sms_text",
        "{% macro m() %}{% set a = caller() %}{% set b = caller() %}{% endmacro %}"
        + "{% call m() %}" * 40
        + "{% endcall %}" * 40,
        SLOW,
        id="caller-tree",
    ),
    # Compiling and inlining CSS cost too.
    pytest.param("email_text", "{{ x }}" * 4000, "more than 3000 tags", id="compile"),
    pytest.param(
        "email_html",
        "<style>" + "p{color:red}" * 3000 + "</style>" + "<p></p>" * 8000,
        "styles are too many for its size",
        id="css-rules",
    ),
    pytest.param(
        "email_html",
        "<style>i{" + "".join(f"--v{n}:1;" for n in range(7000)) + "}</style>" + "<i>" * 2000,
        "styles are too many for its size",
        id="css-declarations",
    ),
    pytest.param(
        "email_html",
        "<style>i{--v:" + "a" * 90000 + "}</style>" + "<i>" * 300,
        "styles are too many for its size",
        id="css-copies",
    ),
]


def preview(client, body):
    token = csrf_token(client, NEW)
    return client.post("/admin/templates/preview", json=body, headers={"X-CSRFToken": token})


def timed(request):
    """The response and the seconds it took."""
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


@pytest.mark.parametrize("part, source, reason", HOSTILE)
def test_the_preview_refuses_a_hostile_template_within_seconds(as_lead, part, source, reason):
    token = csrf_token(as_lead, NEW)
    body = {**GOOD, part: source}
    response, elapsed = timed(
        lambda: as_lead.post("/admin/templates/preview", json=body, headers={"X-CSRFToken": token})
    )
    assert response.status_code == 422 and elapsed < SECONDS
    [problem] = [p for p in response.json["problems"] if p["field"] == part]
    assert reason in problem["reason"]


@pytest.mark.parametrize("part, source, reason", HOSTILE)
def test_saving_refuses_a_hostile_template_within_seconds_and_stores_nothing(
    as_lead, part, source, reason
):
    token = csrf_token(as_lead, NEW)
    data = {"csrf_token": token, **GOOD, part: source}
    response, elapsed = timed(lambda: as_lead.post(NEW, data=data))
    assert response.status_code == 422 and elapsed < SECONDS
    error = re.search(rf'id="{part}-error">(.+?)</p>', response.get_data(as_text=True))
    assert reason in unescape(error.group(1))
    stored = sa.select(MessageTemplate).where(MessageTemplate.key == "check-in")
    assert db.session.scalar(stored) is None


@pytest.mark.parametrize("part, source, reason", HOSTILE)
def test_checking_and_rendering_a_hostile_template_takes_little_memory(app, part, source, reason):
    """What a preview does (every part checked, the message rendered), traced."""
    template = MessageTemplate(**{**GOOD, part: source})
    tracemalloc.start()
    try:
        problems = template_problems(template, "Acme")
        with pytest.raises((SecurityError, UndefinedError, RecursionError)) as refused:
            render(template, "sms" if part == "sms_text" else "email", sample_context("Acme"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES
    assert reason in why(refused.value)
    assert [reason in p.reason for p in problems if p.part == part] == [True]


def test_parts_that_are_slow_to_compile_share_the_time_too(as_lead, app):
    """Compiling a part cannot be stopped: once the time is spent, no other part is begun. Each
    part takes about half a second to compile here (a third of that on a much faster machine),
    so checking all six would take three seconds; the preview reports the ones it checked."""
    bomb = "{% for x in y %}" * 200 + "{% endfor %}" * 200
    parts = ("email_html", "email_text", "sms_text")
    body = {**GOOD, **{p: f"{n}{bomb}" for n, p in enumerate(parts)}}
    body.update({f"es_{p}": f"{n}{bomb}" for n, p in enumerate(parts, 10)})
    response = preview(as_lead, body)
    assert response.status_code == 422
    checked = [p["field"] for p in response.json["problems"]]
    assert checked and len(checked) < 2 * len(parts)
    in_order = ["email_html", "email_text", "sms_text", "es.email_html", "es.email_text"]
    assert checked == in_order[: len(checked)]


def test_a_reason_quoting_what_the_template_made_is_kept_short(as_lead, app):
    response = preview(as_lead, {**GOOD, "sms_text": "{{ {}['k' * 50000] }}"})
    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert problem["reason"].startswith("'dict object' has no attribute 'kkk")
    assert len(problem["reason"]) == 300 and problem["reason"].endswith("…")


def test_a_manager_may_not_preview(as_manager, app):
    assert preview(as_manager, GOOD).status_code == 403


def test_the_defaults_render_as_plain_jinja_renders_them(seeded):
    """Every default template, in English and Spanish, exactly as Jinja's own sandbox renders
    it: the limits change nothing a real template does."""
    frame = (ROOT / "templates" / "email" / "_frame.html").read_text()
    footer = (ROOT / "templates" / "email" / "_footer.txt").read_text()
    text = SandboxedEnvironment(undefined=StrictUndefined, loader=DictLoader({"footer": footer}))
    html = SandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, loader=DictLoader({"frame": frame})
    )
    inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
    defaults = db.session.scalars(sa.select(MessageTemplate)).all()
    assert len(defaults) >= 6
    for template in defaults:
        for language in ("en", "es"):
            context = sample_context("Acme Support", language)
            parts = template_parts(template, language)
            email = render(template, "email", context)
            subject = text.from_string(parts["email_subject"]).render(context)
            assert email.subject == " ".join(subject.split())
            assert email.html == inliner.inline(
                html.from_string(parts["email_html"]).render(context)
            )
            assert (
                email.text == text.from_string(parts["email_text"]).render(context).strip() + "\n"
            )
            sms = render(template, "sms", context)
            assert sms.text == text.from_string(parts["sms_text"]).render(context).strip()


# At send time


def close_for_someone(client, seeded, number: str, n: int) -> None:
    """A case of its own customer closed: each gets the cadence's email and text."""
    customer = {"name": "Ana Lima", "email": f"c{n}@example.com", "phone": f"+1415555012{n}"}
    close(client, seeded["auth"], {**CASE, "external_id": number, "customer": customer})


def use_subject(source: str) -> None:
    """The thank-you email's subject, as if edited around the checks."""
    thank_you = db.session.scalar(
        sa.select(MessageTemplate).where(MessageTemplate.key == "thank_you")
    )
    thank_you.email_subject = source
    db.session.commit()


def failures() -> dict[str, str]:
    """Each failed message's case number and reason, from the timeline."""
    rows = db.session.execute(
        sa.select(Case.external_id, CaseEvent.detail)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.kind == "message.failed")
    )
    return {number: detail["reason"] for number, detail in rows}


def test_a_saved_hostile_template_fails_its_own_message_and_the_batch_goes_on(app, client, seeded):
    for n, number in enumerate(("B-1", "B-2")):
        close_for_someone(client, seeded, number, n)
    # Hostile for one case only: the other case's email, in the same batch, goes out.
    use_subject("{% if case.number == 'B-1' %}" + nested(3, "") + "{% endif %}Thanks")
    started = time.monotonic()
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    assert time.monotonic() - started < 10
    assert failures() == {"B-1": f"template 'thank_you' cannot be rendered: this template {LOOPS}"}
    sent = sent_messages(app)
    assert [m["subject"] for m in sent if m["channel"] == "email"] == ["Thanks"]
    assert [m["channel"] for m in sent].count("sms") == 2
    statuses = db.session.scalars(sa.select(Message.status).where(Message.channel == "email"))
    assert sorted(statuses) == ["failed", "scheduled", "scheduled", "sent"]


def test_a_template_that_takes_all_its_time_costs_a_batch_that_time_once(app, client, seeded):
    for n, number in enumerate(("S-1", "S-2", "S-3")):
        close_for_someone(client, seeded, number, n)
    use_subject(
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    )
    started = time.thread_time()  # the limit's clock: this thread's processor time
    sweep_and_dispatch(at=utcnow() + timedelta(hours=25))
    assert time.thread_time() - started < 2.5  # one second, not one per message
    assert set(failures()) == {"S-1", "S-2", "S-3"}
    assert all(SLOW in reason for reason in failures().values())
    assert [m["channel"] for m in sent_messages(app)] == ["sms"] * 3


# Send a test: limited per user


def send_test(client, template_id: int):
    page = f"/admin/templates/{template_id}"
    token = csrf_token(client, page)
    data = {"csrf_token": token, "channel": "email", "language": "en"}
    return client.post(f"{page}/test-send", data=data)


def thank_you_id() -> int:
    return db.session.scalar(
        sa.select(MessageTemplate.id).where(MessageTemplate.key == "thank_you")
    )


def test_test_sends_are_limited_per_user(app, as_lead, seeded):
    template_id = thank_you_id()
    page = f"/admin/templates/{template_id}"
    for _ in range(3):  # refused before anything is sent: not counted
        token = csrf_token(as_lead, page)
        data = {"csrf_token": token, "channel": "sms", "phone": "not a number"}
        assert as_lead.post(f"{page}/test-send", data=data).status_code == 422
    for _ in range(5):
        assert send_test(as_lead, template_id).status_code == 303
    limited = send_test(as_lead, template_id)
    assert limited.status_code == 429
    assert "You have sent as many tests as you may for now" in limited.get_data(as_text=True)
    assert "Retry-After" in limited.headers
    assert len(sent_messages(app)) == 5
    other = app.test_client()
    assert sign_in(other, "admin@example.com").status_code == 303
    assert send_test(other, template_id).status_code == 303


# Ids beyond the integer columns


@pytest.mark.parametrize("template_id", [2**31, 2**40, 2**64])
def test_ids_beyond_the_integer_columns_are_404(as_lead, seeded, template_id):
    assert as_lead.get(f"/admin/templates/{template_id}").status_code == 404
    token = csrf_token(as_lead, NEW)
    data = {"csrf_token": token, "channel": "email"}
    send = as_lead.post(f"/admin/templates/{template_id}/test-send", data=data)
    assert send.status_code == 404
    edit = as_lead.post(f"/admin/templates/{template_id}", data={"csrf_token": token, **GOOD})
    assert edit.status_code == 404
