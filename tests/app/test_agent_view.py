"""The agent role: made by an admin (the users page, create-user) with the link to their
cases; signed in, an agent sees only their own page (their figures beside their team's,
their customers' words, their kudos) and their account, never another agent's page, the
dashboard, a case page or configuration; managers, leads and admins open any agent's page.
Their account page keeps both email preferences. Hostile input is never a 500."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from followup.agents import cases_of
from followup.cases import upsert_case
from followup.extensions import db
from followup.models import AuditEntry, User
from followup.models.base import utcnow
from tests.support.agents import agent_user, answer, case_with_message
from tests.support.console import csrf_token, sign_in
from tests.support.figures import TODAY, roll_up, roll_up_stored, round_fact
from tests.support.hostile import FORM, PATH_SEGMENTS, STRINGS, form_body
from tests.support.statements import statements

PASSWORD = "a long enough password"


@pytest.fixture
def agents(app, seeded, users):
    """Sam (North: 10 rounds, 8 of them CSAT 5, 2 of them 1) and Bo (South), each an agent
    user; North's other agent Ana (10 rounds, all 3s); a comment and a kudo for each."""
    sam = agent_user("sam@example.com", "SAM@example.com", name="Sam")
    bo = agent_user("bo@example.com", "Bo", name="Bo")
    facts = [round_fact(i, TODAY - timedelta(days=i % 5), agent="Sam Rivera",
                        score=5 if i % 5 else 1) for i in range(1, 11)]  # fmt: skip
    facts += [round_fact(100 + i, TODAY, agent="Ana", score=3) for i in range(10)]
    facts += [round_fact(200 + i, TODAY, team="South", agent="Bo", score=2) for i in range(4)]
    roll_up(facts)
    answer(case_with_message("S-1", agent_name="Sam Rivera", agent_email="sam@example.com"), 5,
           "Sam <i>sorted</i> it")  # fmt: skip
    answer(case_with_message("B-1", agent_name="Bo", team="South"), 5, "Bo rocks")
    answer(case_with_message("B-2", agent_name="Bo", team="South"), 2, "Bo was rude")
    return {"sam": sam, "bo": bo}


def test_an_agent_sees_their_own_figures_beside_their_teams_and_nothing_else(client, agents):
    sam, bo = agents["sam"], agents["bo"]
    signed = sign_in(client, "sam@example.com")
    assert signed.status_code == 303
    home = client.get("/admin/")
    assert home.status_code == 303 and home.headers["Location"] == f"/dashboard/agents/{sam.id}"
    assert client.get("/dashboard/agents").headers["Location"] == f"/dashboard/agents/{sam.id}"
    page = client.get(f"/dashboard/agents/{sam.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index('id="agent-csat"') : html.index("</tr>", html.index('id="agent-csat"'))]
    assert "80%" in row and "8 of 10" in row  # Sam's own CSAT ...
    assert "40%" in row and "8 of 20" in row  # ... beside North's (Sam and Ana)
    assert "Sam &lt;i&gt;sorted&lt;/i&gt; it" in html and "<i>sorted" not in html
    assert "Bo rocks" not in html and "Bo was rude" not in html
    nav = html[html.index('class="console-nav"') : html.index("</nav>")]
    assert "My figures" in nav and "Kudos" in nav
    for absent in ("Dashboard", "Cadences", "Recoveries", "Audit log", "Agents"):
        assert f">{absent}<" not in nav, absent

    assert client.get(f"/dashboard/agents/{bo.id}").status_code == 403
    admin_id = db.session.scalar(sa.select(User.id).where(User.role == "admin"))
    for path in (f"/dashboard/agents/{admin_id}", "/dashboard/agents/999999",
                 "/dashboard/", "/dashboard/figures.json", "/dashboard/cases",
                 "/dashboard/cases/S-1", "/dashboard/cases/B-1", "/dashboard/export/cases.csv",
                 "/admin/cadences", "/admin/recoveries", "/admin/users", "/admin/audit-log",
                 "/dashboard/experiments"):  # fmt: skip
        assert client.get(path).status_code == 403, path
    assert client.get("/admin/account").status_code == 200


@pytest.mark.parametrize("role", ["admin", "lead", "manager"])
def test_managers_leads_and_admins_open_any_agents_page(client, agents, role):
    assert sign_in(client, f"{role}@example.com").status_code == 303
    listing = client.get("/dashboard/agents").get_data(as_text=True)
    assert "Sam" in listing and "Bo" in listing
    page = client.get(f"/dashboard/agents/{agents['bo'].id}").get_data(as_text=True)
    assert "Bo was rude" in page and "Sam &lt;i&gt;" not in page
    assert client.get(f"/dashboard/agents/{agents['sam'].id}").status_code == 200
    not_agent = db.session.scalar(sa.select(User.id).where(User.role == "lead"))
    assert client.get(f"/dashboard/agents/{not_agent}").status_code == 404


def test_anonymous_visitors_sign_in_first(client, agents):
    for path in ("/dashboard/agents", f"/dashboard/agents/{agents['sam'].id}", "/dashboard/kudos"):
        reply = client.get(path)
        assert reply.status_code == 302 and "/admin/sign-in" in reply.headers["Location"]


def test_hostile_query_parameters_and_ids_on_agents_pages_are_never_a_500(client, agents):
    assert sign_in(client, "sam@example.com").status_code == 303
    for name, value in STRINGS.items():
        for field in ("period", "from", "to", "page", "team", "agent"):
            query = form_body({field: value}).decode()
            reply = client.get(f"/dashboard/agents/{agents['sam'].id}?{query}")
            assert reply.status_code in (200, 422), (name, field, reply.status_code)
            assert "<script>alert(1)" not in reply.get_data(as_text=True)
    for name, segment in PATH_SEGMENTS.items():
        assert client.get(f"/dashboard/agents/{segment}").status_code in (403, 404), name


def new_user(client, **fields):
    form = {"email": "ag@example.com", "name": "Ag", "role": "agent", "password": PASSWORD,
            **fields}  # fmt: skip
    form.setdefault("csrf_token", csrf_token(client, "/admin/users/new"))
    return client.post("/admin/users/new", data=form)


def test_an_admin_makes_an_agent_who_needs_their_link(client, as_admin, users):
    refused = new_user(as_admin)
    assert refused.status_code == 422 and "An agent needs the agent name" in refused.text
    assert new_user(as_admin, agent=" Ag.Ent@Example.COM ").status_code == 303
    made = db.session.scalar(sa.select(User).where(User.email == "ag@example.com"))
    assert (made.role, made.agent) == ("agent", "ag.ent@example.com")
    lead = users["lead"]
    token = csrf_token(as_admin, f"/admin/users/{lead.id}")
    to_agent = {"csrf_token": token, "role": "agent", "agent": ""}
    assert as_admin.post(f"/admin/users/{lead.id}/role", data=to_agent).status_code == 422
    linked = {**to_agent, "agent": "Lee Lead"}
    assert as_admin.post(f"/admin/users/{lead.id}/role", data=linked).status_code == 303
    db.session.expire_all()
    assert (lead.role, lead.agent) == ("agent", "Lee Lead")
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.after == {"role": "agent", "agent": "Lee Lead"}
    as_admin.post("/admin/sign-out", data={"csrf_token": token})
    assert sign_in(client, "ag@example.com", PASSWORD).status_code == 303
    assert client.get("/admin/").headers["Location"] == f"/dashboard/agents/{made.id}"


def test_hostile_agent_links_are_refused_or_kept_as_text(as_admin, users):
    token = csrf_token(as_admin, "/admin/users/new")
    lead = users["lead"].id
    for number, (name, value) in enumerate(STRINGS.items()):
        email = f"ag{number}@example.com"
        body = form_body({"csrf_token": token, "email": email, "role": "agent",
                          "password": PASSWORD, "agent": value})  # fmt: skip
        reply = as_admin.post("/admin/users/new", data=body, content_type=FORM)
        assert reply.status_code in (303, 422), name
        made = db.session.scalar(sa.select(User).where(User.email == email))
        assert made is None or (made.agent and "\x00" not in made.agent), name
        body = form_body({"csrf_token": token, "role": "agent", "agent": value})
        changed = as_admin.post(f"/admin/users/{lead}/role", data=body, content_type=FORM)
        assert changed.status_code in (303, 422), name


def test_create_user_makes_an_agent_with_a_link(runner, app):
    base = ["create-user", "--email", "ag@example.com", "--role", "agent", "--password", PASSWORD]
    missing = runner.invoke(args=base)
    assert missing.exit_code == 2 and "--agent" in missing.output
    made = runner.invoke(args=[*base, "--agent", "Sam@Example.com"])
    assert made.exit_code == 0, made.output
    agent = db.session.scalar(sa.select(User).where(User.email == "ag@example.com"))
    assert (agent.role, agent.agent) == ("agent", "sam@example.com")


def test_the_account_page_keeps_both_email_preferences(client, agents):
    assert sign_in(client, "sam@example.com").status_code == 303
    page = client.get("/admin/account").get_data(as_text=True)
    assert (
        '<input checked id="kudos_delivery-0" name="kudos_delivery" type="radio" value="daily">'
        in page
    )
    assert 'checked id="weekly_digest"' in page
    token = csrf_token(client, "/admin/account")
    saved = client.post("/admin/account/preferences",
                        data={"csrf_token": token, "kudos_delivery": "instant"})  # fmt: skip
    assert saved.status_code == 303
    db.session.expire_all()
    sam = db.session.get(User, agents["sam"].id)
    assert (sam.kudos_delivery, sam.weekly_digest) == ("instant", False)
    again = {"csrf_token": token, "kudos_delivery": "off", "weekly_digest": "y"}
    assert client.post("/admin/account/preferences", data=again).status_code == 303
    db.session.expire_all()
    assert (sam.kudos_delivery, sam.weekly_digest) == ("off", True)


def test_hostile_preferences_are_refused(client, agents):
    assert sign_in(client, "manager@example.com").status_code == 303
    token = csrf_token(client, "/admin/account")
    for name, value in STRINGS.items():
        body = form_body({"csrf_token": token, "kudos_delivery": value, "weekly_digest": value})
        reply = client.post("/admin/account/preferences", data=body, content_type=FORM)
        assert reply.status_code == 422, name
    assert db.session.scalar(sa.select(User.kudos_delivery).where(User.role == "manager")) == (
        "daily"
    )


def test_names_other_agents_cases_carry_are_left_out_of_an_agents_figures(client, agents):
    """Sam's cases (linked by email) also carry the generic name "Support": once a case of
    another agent (another email) carries it too, its figures are not Sam's."""
    sam = agents["sam"]
    case_with_message("S-2", agent_name="Support", agent_email="sam@example.com")
    db.session.add_all([round_fact(300 + i, TODAY, team="Desk", agent="Support", score=1)
                        for i in range(5)])  # fmt: skip
    roll_up_stored()
    assert cases_of(sam).names == ("Sam Rivera", "Support")  # only Sam's cases carry it
    case_with_message("K-1", agent_name="Support", agent_email="kim@example.com")
    scope = cases_of(sam)
    assert (scope.names, scope.shared) == (("Sam Rivera",), ("Support",))

    assert sign_in(client, "sam@example.com").status_code == 303
    html = client.get(f"/dashboard/agents/{sam.id}").get_data(as_text=True)
    row = html[html.index('id="agent-csat"') : html.index("</tr>", html.index('id="agent-csat"'))]
    assert "8 of 10" in row  # not 8 of 15: the other agent's "Support" rounds stay out
    assert 'id="shared-names"' in html


def test_an_agents_names_are_read_together_with_the_dashboards_figures(client, agents, seeded):
    """Two names of Sam's are one query each (agent IN (...)): the median time to recovery,
    the trends (an incident's week marked) and the reasons are theirs, the team's beside
    them; no other agent's name, no link an agent may not follow."""
    sam = agents["sam"]
    outage = {"name": "Outage", "starts_at": (utcnow() - timedelta(days=2)).isoformat(),
              "ends_at": (utcnow() - timedelta(days=1)).isoformat()}  # fmt: skip
    assert client.post("/api/v1/incidents", json=outage, headers=seeded["auth"]).status_code == 201
    case_with_message("S-3", agent_name="Sam R", agent_email="sam@example.com")
    db.session.add_all([round_fact(400, TODAY, agent="Sam R", score=1, reasons=["slow"],
                                   recovered_after=7200),
                        round_fact(401, TODAY, agent="Sam Rivera", score=1, reasons=["slow"],
                                   recovered_after=3 * 3600)])  # fmt: skip
    roll_up_stored()
    assert sign_in(client, "sam@example.com").status_code == 303
    with statements() as issued:
        html = client.get(f"/dashboard/agents/{sam.id}").get_data(as_text=True)
    theirs = [s for s in issued if "daily_agent_figures.agent IN (" in s]
    assert len(theirs) == 3  # now, before, trends: one each for both names
    median = html[html.index('id="agent-median_recovery"') :]
    assert "2.5 h" in median[: median.index("</tr>")]  # the median of both names' rounds
    assert 'id="trend-csat"' in html and 'id="trend-csat-team-1"' in html
    reasons = html[html.index('id="reasons"') : html.index("</table>", html.index('id="reasons"'))]
    assert "Team North" in reasons and ">2<" in reasons  # slow: Sam's 2, North's 2
    assert "Ana" not in html and ">Bo<" not in html
    assert 'data-incident="Outage"' in html
    assert "/dashboard/cases" not in html and 'href="/dashboard/?' not in html
    assert "/admin/incidents" not in html


def test_an_agents_verbatims_are_those_of_the_period(client, agents):
    sam = agents["sam"]
    old = case_with_message("S-4", agent_name="Sam Rivera", agent_email="sam@example.com")
    answer(old, 5, "An old thank-you", now=utcnow() - timedelta(days=40))
    assert sign_in(client, "sam@example.com").status_code == 303

    def verbatims(query: str = "") -> str:
        html = client.get(f"/dashboard/agents/{sam.id}{query}").get_data(as_text=True)
        return html[html.index('id="verbatims"') :]

    recent = verbatims()
    assert "Sam &lt;i&gt;sorted" in recent and "An old thank-you" not in recent
    assert "An old thank-you" in verbatims("?period=90d")


def test_a_reader_follows_a_one_name_agents_figures_into_the_dashboard(client, agents):
    assert sign_in(client, "manager@example.com").status_code == 303
    html = client.get(f"/dashboard/agents/{agents['bo'].id}").get_data(as_text=True)
    assert "These figures on the dashboard" in html and "agent=Bo" in html


def test_intake_keeps_agent_emails_lower_case(app, seeded):
    case, _ = upsert_case({"external_id": "L-1", "agent": {"email": "Kim.Lee@Example.COM"},
                           "customer": {"email": "l1@example.com"}})  # fmt: skip
    assert case.agent_email == "kim.lee@example.com"
