"""What the figures page costs in database round trips (counted with a SQLAlchemy event
listener, never timed) and how its many cells are made: a fixed, small number of statements
whatever the period, none issued twice, the unfiltered sums and trends from the leanest
rollup; the cells made in Python (followup/dashboard/cells.py) format numbers as the
template's macros do and escape what they show."""

from datetime import timedelta
from html import unescape

import pytest
from markupsafe import Markup

from followup.dashboard import cells
from followup.metrics import Rate
from followup.models.figures import DailyChannelFigure, rollup_for
from tests.support.figures import TODAY, roll_up, round_fact
from tests.support.statements import statements

# The page: the signed-in user, the sums by agent (and team) and by channel and cadence,
# the previous period's by channel, the cadences' names, the reasons' labels, the median
# time to recovery, the reasons, the trends, the incidents overlapping the trends' weeks, the
# surveys the filter form offers, and the organisation's settings (the page's language from
# the browser's among those in use, and its brand).
PAGE_MAX = 12
JSON_MAX = PAGE_MAX - 2  # no filter form, no page


@pytest.mark.parametrize(
    ("url", "most"),
    [
        ("/dashboard/?period=30d", PAGE_MAX),
        ("/dashboard/?period=365d&sort=csat", PAGE_MAX),
        ("/dashboard/figures.json?period=365d", JSON_MAX),
    ],
)
def test_the_figures_issue_a_fixed_number_of_statements(as_manager, rounds, url, most):
    as_manager.get(url)  # the console session's "last seen" is written now, not below
    with statements() as issued:
        assert as_manager.get(url).status_code == 200
    assert len(issued) <= most, "\n".join(issued)
    assert len(set(issued)) == len(issued), "a statement issued twice"


def test_unfiltered_sums_and_trends_read_the_leanest_rollup(as_manager, rounds):
    assert rollup_for(()) is DailyChannelFigure
    assert rollup_for({"channel", "cadence"}) is DailyChannelFigure
    with statements() as issued:
        assert as_manager.get("/dashboard/?period=365d").status_code == 200
    read = " ".join(issued)
    assert "daily_channel_figures" in read and "daily_agent_figures" in read
    assert "daily_team_figures" not in read and "FROM daily_figures" not in read
    assert "FROM daily_reason_totals" in read and "FROM daily_reasons" not in read


def test_filtered_views_read_a_rollup_with_their_dimensions(as_manager, rounds):
    with statements() as issued:
        assert as_manager.get("/dashboard/figures.json?team=North&channel=email").status_code
    assert "daily_team_figures" in " ".join(issued) and "FROM daily_reasons" in " ".join(issued)
    body = as_manager.get("/dashboard/figures.json?team=North&channel=email").get_json()
    assert body["sums"]["closed"] == 36
    assert {row["reason"]: row["negative"] for row in body["reasons"]} == {"slow": 7, "rude": 7}


@pytest.mark.parametrize("value", [0, 7, 999, 1000, 1204, 1234567])
def test_counts_are_formatted_as_the_macros_do(app, value):
    macros = app.jinja_env.get_template("dashboard/_figures.html").module
    assert cells.n(value) == str(macros.n(value)) == f"{value:,}"


@pytest.mark.parametrize("value", [None, 0, 0.004, 0.005, 0.5, 0.8249, 0.825, 1.0])
def test_shares_are_formatted_as_the_macros_do(app, value):
    macros = app.jinja_env.get_template("dashboard/_figures.html").module
    assert cells.pct(value) == str(macros.pct(value))


@pytest.mark.parametrize(
    "rate",
    [Rate(1, 10), Rate(30, 30), Rate(0, 0), {"small_sample": True}, {"small_sample": False}],
)
def test_the_small_sample_badge_is_the_macros(app, rate):
    macros = app.jinja_env.get_template("dashboard/_figures.html").module
    assert cells.small_badge(rate) == Markup(str(macros.small_badge(rate)))


def test_a_breakdown_row_escapes_its_label_and_links_its_cases(as_manager, app):
    agent = '<b>"Jo & Co"</b>'
    roll_up([round_fact(i + 1, TODAY - timedelta(days=i), agent=agent, score=5) for i in range(3)])
    page = as_manager.get("/dashboard/?period=30d&team=North").get_data(as_text=True)
    row = page.split('id="by-agent"')[1].split("</table>")[0]
    assert agent not in page
    assert '<th scope="row">&lt;b&gt;&#34;Jo &amp; Co&#34;&lt;/b&gt;</th>' in row
    links = [unescape(href) for href in row.split('href="')[1:]]
    closed = [link.split('"')[0] for link in links if "metric=closed" in link]
    assert closed[0].startswith("/dashboard/cases?metric=closed&from=")
    assert closed[0].endswith("&team=North&agent=%3Cb%3E%22Jo+%26+Co%22%3C%2Fb%3E")
    assert ">3</a>" in row and '>100%</a> <span class="of">of 3</span>' in row
