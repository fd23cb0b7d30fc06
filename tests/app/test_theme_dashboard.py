"""Comment themes on the dashboard and in alerts: the themes table by period (comments, share
negative with its denominator, the previous period, the change and the rising mark, the
comments in no theme yet), a theme's comments (paged, newest first, escaped), both CSVs
(formula cells guarded), who may reach each route, hostile query and form input, a lead's
rename, merge and split from the theme's page (audited, refusals shown), and the "theme
rising" alert rule raised once per breach. Themes and comments are made as rows
(tests.support.theme_rows): nothing is embedded here."""

import csv
import io
import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup import alert_rules, theme_figures, themes
from followup.dashboard import themes as theme_pages
from followup.extensions import db
from followup.figures import Filters
from followup.models import (
    Alert,
    AlertBreach,
    AlertRule,
    AuditEntry,
    CommentEmbedding,
    Survey,
    Theme,
)
from followup.models.alert_rules import AlertRuleKind
from followup.models.base import utcnow
from tests.support.comment_corpus import add_answers, corpus, telling_words
from tests.support.console import csrf_token, sign_in
from tests.support.hostile import FORM, MARKUP, STRINGS, form_body
from tests.support.root_causes import agent_user
from tests.support.theme_rows import comment, day, theme

HOSTILE = ("nul", "control", "lone_surrogate", "long_10k", "script", "attribute_break", "sql",
           "crlf", "blank", "big_number", "unicode_digits", "negative", "jinja")  # fmt: skip
WEEK = {"period": "7d"}


@pytest.fixture
def made(app, seeded):
    """Over the last 7 days and the 7 before: "Late courier" 6 now (3 negative, one Spanish)
    and 2 before (rising); "Double charge" 5 now and 3 before (not double: not rising);
    "App crash" 3 now and none before (new, but under 5: not rising); "Old theme" only
    before; 2 comments in no theme now and 1 before; one comment not embedded yet; one answer
    of team South."""
    courier = theme("Late courier", ["courier", "late", "parcel"])
    charge = theme("Double charge", ["charged", "twice"], centroid=(0, 1, 0, 0))
    crash = theme("App crash", ["crash", "login"], centroid=(0, 0, 1, 0))
    old = theme("Old theme", ["old"], centroid=(0, 0, 0, 1))
    comment("The courier was <script>alert(1)</script> late", courier, score=1, days_ago=1)
    comment("El repartidor llegó tarde", courier, score=2, days_ago=2, locale="es-MX")
    comment("Parcel late again", courier, score=2, days_ago=3)
    comment('=HYPERLINK("http://x")  courier late', courier, score=4, days_ago=4)
    comment("Courier came the next day", courier, score=5, days_ago=5)
    comment("Late, but fine", courier, score=3, days_ago=0, team="South", agent="Bo")
    for days_ago in (8, 10):
        comment("Courier late last week", courier, score=2, days_ago=days_ago)
    for days_ago in range(5):
        comment("Charged twice", charge, score=4 if days_ago else 1, days_ago=days_ago,
                values=(0, 1, 0, 0))  # fmt: skip
    for days_ago in (7, 9, 11):
        comment("Charged twice before", charge, days_ago=days_ago, values=(0, 1, 0, 0))
    for days_ago in range(3):
        comment("The app crashes on login", crash, days_ago=days_ago, values=(0, 0, 1, 0))
    comment("Something old", old, days_ago=12, values=(0, 0, 0, 1))
    comment("No idea", None, days_ago=1)
    comment("Thanks anyway", None, days_ago=2, score=1)
    comment("Before", None, days_ago=9)
    comment("Just answered", None, days_ago=0, embedded=False)
    db.session.commit()
    return {"courier": courier.id, "charge": charge.id, "crash": crash.id, "old": old.id}


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- the figures ----------------------------------------------------------------------------


def test_the_figures_count_the_period_against_the_one_before(app, made):
    today = utcnow().date()
    week = Filters(start=today - timedelta(days=6), end=today)
    figures = theme_figures.figures(week)
    shown = [(r.name, r.comments, r.previous, r.negative.numerator, r.rising)
             for r in figures.themes]  # fmt: skip
    assert shown == [
        ("Late courier", 6, 2, 3, True),
        ("Double charge", 5, 3, 1, False),
        ("App crash", 3, 0, 0, False),
        ("Old theme", 0, 1, 0, False),
    ]
    assert (figures.unassigned.comments, figures.unassigned.previous) == (2, 1)
    assert figures.unassigned.negative.numerator == 1 and not figures.unassigned.rising
    assert (figures.comments, figures.previous, figures.waiting) == (16, 7, 1)
    assert [e.comment for e in figures.themes[0].examples][1] == "El repartidor llegó tarde"
    north = theme_figures.figures(Filters(start=week.start, end=today, team="North"))
    courier = next(row for row in north.themes if row.name == "Late courier")
    assert courier.comments == 5 and courier.rising
    # A survey's negative keyword makes a comment negative whatever its score.
    survey = db.session.scalar(sa.select(Survey).where(Survey.key == "csat"))
    survey.negative_keywords = ["courier"]
    db.session.commit()
    again = theme_figures.figures(week)
    assert again.themes[0].negative.numerator == 5  # "courier late" (4) and "next day" (5)
    assert theme_figures.rising(5, 0) and not theme_figures.rising(4, 0)
    assert theme_figures.rising(10, 5) and not theme_figures.rising(9, 5)


def test_the_page_marks_rising_themes_and_escapes_comments(as_manager, made):
    page = as_manager.get("/dashboard/themes", query_string=WEEK).get_data(as_text=True)
    table = page[page.index('id="themes"') :]
    assert table.index("Late courier") < table.index("Double charge") < table.index("App crash")
    assert table.count(">rising</span>") == 1
    courier = table[table.index(f'id="theme-{made["courier"]}"') :]
    courier = courier[: courier.index("</tr>")]
    assert "rising" in courier and "50% <span" in courier and "of 6</span>" in courier
    assert "+4 (+200%)" in courier and "courier, late, parcel" in courier
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in courier and "<script>alert" not in page
    crash = table[table.index(f'id="theme-{made["crash"]}"') :]
    assert ">new<" in crash[: crash.index("</tr>")]
    assert 'id="theme-unassigned"' in table and "Not in a theme yet" in table
    assert "16 comments in this period (7 in the previous one); 1 more waits" in page
    assert "at least 5 comments in the period and at least 2 times as many" in page
    assert f'href="/dashboard/themes/{made["courier"]}?from=' in page
    assert "Themes</a>" in as_manager.get("/dashboard/").get_data(as_text=True)
    narrowed = as_manager.get("/dashboard/themes?period=7d&cadence=x&reason=slow")
    assert "The cadence, reason filters of the dashboard do not narrow" in narrowed.get_data(
        as_text=True
    )  # fmt: skip


def test_the_csv_of_the_table(as_manager, made):
    export = as_manager.get("/dashboard/export/themes.csv", query_string=WEEK)
    assert export.headers["Content-Disposition"].startswith('attachment; filename="themes-')
    rows = rows_of(export.get_data(as_text=True))
    assert rows[0] == list(theme_pages.THEME_COLUMNS)
    assert rows[1][:11] == ["Late courier", str(made["courier"]), "live", "courier late parcel",
                            "6", "2", "4", "200.0", "3", "50.0", "yes"]  # fmt: skip
    assert rows[1][11] == (
        "The courier was <script>alert(1)</script> late | El repartidor llegó tarde | "
        "Parcel late again"
    )
    assert rows[-1][:6] == ["Not in a theme yet", "", "", "", "2", "1"]


# -- a theme's comments ---------------------------------------------------------------------


def test_a_themes_comments_newest_first_paged_with_their_csv(as_manager, made, monkeypatch):
    monkeypatch.setattr(theme_pages, "PAGE_SIZE", 4)
    url = f"/dashboard/themes/{made['courier']}"
    page = as_manager.get(url, query_string=WEEK).get_data(as_text=True)
    assert 'id="examples"' in page and "courier, late, parcel" in page
    first = page[page.index('id="count"') :]
    assert "6 comments; page 1 of 2" in first
    assert first.index("Late, but fine") < first.index("The courier was")
    assert first.index("The courier was") < first.index("El repartidor")
    assert "&lt;script&gt;" in first and "<script>alert" not in first
    assert 'lang="es">es<' in first and 'href="/dashboard/cases/C-' in first
    assert first.count(">negative</span>") == 3  # scores 1 and 2 of the four newest
    second = as_manager.get(url, query_string={**WEEK, "page": "2"}).get_data(as_text=True)
    assert "Courier came the next day" in second and "Late, but fine" not in second
    south = as_manager.get(url, query_string={**WEEK, "team": "South"}).get_data(as_text=True)
    assert "1 comment." in south
    export = as_manager.get("/dashboard/export/theme-comments.csv",
                            query_string={**WEEK, "theme": str(made["courier"])})  # fmt: skip
    rows = rows_of(export.get_data(as_text=True))
    assert rows[0] == list(theme_pages.COMMENT_COLUMNS) and len(rows) == 7
    assert {row[6] for row in rows[1:]} >= {'\'=HYPERLINK("http://x")  courier late'}
    assert [row[5] for row in rows[1:]].count("negative") == 3
    assert {row[8] for row in rows[1:]} == {"en", "es"}
    loose = as_manager.get("/dashboard/themes/unassigned", query_string=WEEK)
    assert "2 comments." in loose.get_data(as_text=True)
    loose_csv = as_manager.get("/dashboard/export/theme-comments.csv",
                               query_string={**WEEK, "theme": "unassigned"})  # fmt: skip
    assert sorted(r[6] for r in rows_of(loose_csv.get_data(as_text=True))[1:]) == [
        "No idea", "Thanks anyway"]  # fmt: skip
    assert as_manager.get("/dashboard/themes/999999").status_code == 404
    assert as_manager.get(f"/dashboard/themes/{2**40}").status_code == 404
    assert as_manager.get("/dashboard/export/theme-comments.csv?theme=999999").status_code == 404


# -- who, and hostile input -----------------------------------------------------------------


def read_routes(made) -> list[str]:
    return ["/dashboard/themes", f"/dashboard/themes/{made['courier']}",
            "/dashboard/themes/unassigned", "/dashboard/export/themes.csv",
            f"/dashboard/export/theme-comments.csv?theme={made['courier']}"]  # fmt: skip


@pytest.mark.parametrize("role", ["admin", "lead", "manager", "agent", "anonymous"])
def test_who_may_read_and_change_themes(app, client, users, made, role):
    if role == "agent":
        agent_user()
    if role != "anonymous":
        assert sign_in(client, f"{role}@example.com").status_code == 303
    for url in read_routes(made):
        status = client.get(url).status_code
        assert status == {"agent": 403, "anonymous": 302}.get(role, 200), url
    token = csrf_token(client, "/admin/account" if role != "anonymous" else "/admin/sign-in")
    response = client.post(f"/dashboard/themes/{made['crash']}/rename",
                           data={"csrf_token": token, "name": "Login crash"})  # fmt: skip
    assert response.status_code == {"admin": 303, "lead": 303, "anonymous": 302}.get(role, 403)
    renamed = db.session.scalar(sa.select(Theme.name).where(Theme.id == made["crash"]))
    assert renamed == ("Login crash" if role in ("admin", "lead") else "App crash")
    page = client.get(f"/dashboard/themes/{made['crash']}").get_data(as_text=True)
    assert ('id="change-theme"' in page) == (role in ("admin", "lead"))


QUERY_PARAMETERS = ("period", "from", "to", "team", "agent", "channel", "survey", "page", "theme")


def test_hostile_query_parameters_are_a_4xx_or_a_page(as_manager, made):
    for url, parameter, name in itertools.product(read_routes(made), QUERY_PARAMETERS, HOSTILE):
        base, _, given = url.partition("?")
        query = "&".join(filter(None, [given, form_body({parameter: STRINGS[name]}).decode()]))
        response = as_manager.get(base, query_string=query)
        assert response.status_code in (200, 404, 422), (url, parameter, name)
        page = response.get_data(as_text=True)
        assert not any(markup in page for markup in MARKUP) or ".csv" in url


def test_hostile_and_invalid_forms_are_refused_and_change_nothing(as_lead, made):
    url = f"/dashboard/themes/{made['crash']}"
    token = csrf_token(as_lead, url)
    before = db.session.scalars(sa.select(Theme.name).order_by(Theme.id)).all()
    for name in HOSTILE:
        body = form_body({"csrf_token": token, "name": STRINGS[name]})
        response = as_lead.post(f"{url}/rename", data=body, content_type=FORM)
        assert response.status_code in (303, 422), name
        assert not any(markup in response.get_data(as_text=True) for markup in MARKUP)
        body = form_body({"csrf_token": token, "target": STRINGS[name]})
        response = as_lead.post(f"{url}/merge", data=body, content_type=FORM)
        assert response.status_code == 422, name
    long = as_lead.post(f"{url}/rename", data={"csrf_token": token, "name": "n" * 201})
    assert long.status_code == 422 and "200 characters" in long.get_data(as_text=True)
    unknown = as_lead.post(f"{url}/merge", data={"csrf_token": token, "target": "999999"})
    assert unknown.status_code == 422 and "no such theme" in unknown.get_data(as_text=True)
    assert as_lead.post(f"{url}/split", data={}).status_code == 400  # no CSRF token
    assert as_lead.post("/dashboard/themes/999999/split", data={"csrf_token": token}).status_code \
        == 404  # fmt: skip
    assert as_lead.post(f"{url}/rename?period=bad", data={"csrf_token": token, "name": "X"}) \
        .status_code == 422  # fmt: skip
    db.session.expire_all()
    names = db.session.scalars(sa.select(Theme.name).order_by(Theme.id)).all()
    changed = [(a, b) for a, b in zip(before, names, strict=True) if a != b]
    # Only names some hostile strings were cleaned into (control characters dropped) stuck.
    assert all(b and "\x00" not in b and len(b) <= 200 for _, b in changed)


# -- end to end, through the embedding model ------------------------------------------------


def test_a_new_problem_in_this_weeks_comments_shows_as_a_rising_theme(as_manager, seeded):
    """The generated corpus: every problem but the login crash answered 10 days ago, the
    login crash (English and Spanish) new in the last 3 days; embedded and rebuilt by
    followup.themes, the crash is the one rising theme, named by a telling word."""
    comments = corpus()
    now = utcnow()
    add_answers([c.text for c in comments if c.problem != "login"], now - timedelta(days=10))
    add_answers([c.text for c in comments if c.problem == "login"], now - timedelta(days=3))
    db.session.commit()
    while themes.embed_pending(now):
        db.session.commit()
    themes.rebuild(now)
    db.session.commit()
    figures = theme_figures.figures(Filters(start=now.date() - timedelta(days=6), end=now.date()))
    rising = [row for row in figures.themes if row.rising]
    assert len(rising) == 1, [(r.name, r.comments, r.previous) for r in figures.themes]
    [crash] = rising
    assert crash.comments >= 16 and crash.previous == 0
    assert telling_words("login") & set(crash.words), crash.words
    assert all(row.comments == 0 for row in figures.themes if row is not crash)
    page = as_manager.get("/dashboard/themes?period=7d").get_data(as_text=True)
    row = page[page.index(f'id="theme-{crash.theme_id}"') :]
    assert ">rising</span>" in row[: row.index("</tr>")]


# -- a lead's changes ------------------------------------------------------------------------


def test_a_lead_renames_merges_and_splits_from_the_themes_page(as_lead, made):
    crash = f"/dashboard/themes/{made['crash']}"
    token = csrf_token(as_lead, crash)
    renamed = as_lead.post(f"{crash}/rename?period=7d", data={"csrf_token": token,
                           "name": "  Login   <b>crash</b> "})  # fmt: skip
    assert renamed.status_code == 303 and f"{crash}?from=" in renamed.headers["Location"]
    page = as_lead.get(renamed.headers["Location"]).get_data(as_text=True)
    assert "Theme: Login &lt;b&gt;crash&lt;/b&gt;" in page and "Named by lead@example.com" in page
    # Merge "Double charge" into it: its comments move, it is kept as merged.
    charge = f"/dashboard/themes/{made['charge']}"
    merged = as_lead.post(f"{charge}/merge", data={"csrf_token": token,
                          "target": str(made["crash"])})  # fmt: skip
    assert merged.status_code == 303 and f"{crash}?from=" in merged.headers["Location"]
    table = as_lead.get("/dashboard/themes?period=7d").get_data(as_text=True)
    row = table[table.index(f'id="theme-{made["crash"]}"') :]
    assert ">8</a>" in row[: row.index("</tr>")]  # 3 + 5 in the last 7 days
    old = as_lead.get(charge).get_data(as_text=True)
    assert ">merged</span>" in old and "Merged into" in old and 'id="change-theme"' not in old
    # Merging into a merged theme, or a theme into itself: refused with 409, shown.
    again = as_lead.post(f"/dashboard/themes/{made['courier']}/merge",
                         data={"csrf_token": token, "target": str(made["charge"])})  # fmt: skip
    assert again.status_code == 409 and "retired or merged" in again.get_data(as_text=True)
    itself = as_lead.post(f"{crash}/merge", data={"csrf_token": token,
                          "target": str(made["crash"])})  # fmt: skip
    assert itself.status_code == 409 and "into itself" in itself.get_data(as_text=True)
    # Split the merged theme back in two: the crash comments and the charge comments.
    split = as_lead.post(f"{crash}/split", data={"csrf_token": token})
    assert split.status_code == 303
    parts = db.session.scalars(sa.select(Theme).where(Theme.split_from_id == made["crash"])
                               .order_by(Theme.id)).all()  # fmt: skip
    assert sorted(part.size for part in parts) == [3, 8]  # 5 + 3 charge, 3 crash
    after = as_lead.get(crash).get_data(as_text=True)
    assert ">retired</span>" in after and "Split into" in after
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.entity == "theme")
                                 .order_by(AuditEntry.id)).all()  # fmt: skip
    assert actions == ["theme.rename", "theme.merge", "theme.split"]
    retired = as_lead.post(f"{crash}/rename", data={"csrf_token": token, "name": "X"})
    assert retired.status_code == 409


# -- the "theme rising" alert rule ------------------------------------------------------------


def test_a_rising_theme_alerts_once_and_again_only_after_it_cleared(app, made):
    # Checked at 18:00 today, whatever the clock says: the comments lie at noon of their days,
    # so the rolling 7 days hold days 0-6 of them (just after midnight, today's noon would be
    # ahead and day 7's inside).
    evening = day(0, hour=18)
    rule = AlertRule(name="Rising themes", kind=AlertRuleKind.THEME_RISING, threshold=100,
                     min_answers=5, created_by="manager@example.com")  # fmt: skip
    db.session.add(rule)
    db.session.commit()
    assert "up on the 7 days before by at least 100% · everyone · at least 5 comments" in (
        alert_rules.describe(rule)
    )
    assert alert_rules.evaluate(evening) == {"checked": 1, "raised": 1}
    assert alert_rules.evaluate(evening) == {"checked": 1, "raised": 0}
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert "Late courier" in alert.title and "6 comments" in alert.detail
    assert f"/dashboard/themes/{made['courier']}?from=" in alert.detail
    assert alert.key == alert_rules.alert_key(rule, f"theme:{made['courier']}", 1)
    # The courier comments of the last week are moved into no theme: the breach clears ...
    recent = sa.select(CommentEmbedding.response_id).where(
        CommentEmbedding.theme_id == made["courier"])  # fmt: skip
    ids = db.session.scalars(recent).all()
    db.session.execute(sa.update(CommentEmbedding).where(CommentEmbedding.response_id.in_(ids))
                       .values(theme_id=None))  # fmt: skip
    db.session.commit()
    assert alert_rules.evaluate(evening)["raised"] == 0
    state = db.session.scalar(sa.select(AlertBreach).where(AlertBreach.rule_id == rule.id))
    assert (state.subject, state.breaching, state.breaches) == (f"theme:{made['courier']}",
                                                                False, 1)  # fmt: skip
    # ... and when they come back, it alerts again with a new key.
    db.session.execute(sa.update(CommentEmbedding).where(CommentEmbedding.response_id.in_(ids))
                       .values(theme_id=made["courier"]))  # fmt: skip
    db.session.commit()
    assert alert_rules.evaluate(evening)["raised"] == 1
    # A lower bar (50%, 5 comments) also catches Double charge (5 against 3? no: +67%).
    rule.threshold, rule.min_answers = 50, 3
    db.session.commit()
    assert alert_rules.evaluate(evening)["raised"] == 2  # Double charge and App crash (new)


def test_the_console_sets_a_theme_rising_rule(as_manager, made):
    token = csrf_token(as_manager, "/admin/alert-rules")
    page = as_manager.get("/admin/alert-rules").get_data(as_text=True)
    assert 'value="theme_rising"' in page
    rule = {"csrf_token": token, "name": "Themes", "kind": "theme_rising", "min_answers": "5"}
    bad = as_manager.post("/admin/alert-rules", data={**rule, "threshold": "0"})
    assert bad.status_code == 422 and "rise in percent" in bad.get_data(as_text=True)
    good = as_manager.post("/admin/alert-rules", data={**rule, "threshold": "100"})
    assert good.status_code == 303
    listed = as_manager.get("/admin/alert-rules").get_data(as_text=True)
    assert "by at least 100% · everyone · at least 5 comments" in listed
