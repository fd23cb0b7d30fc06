"""How an agent user's cases and kudos are found: each side of a link's match (the agent
email, kept lower-case from intake on, and the agent name) reads its own index."""

import pytest
import sqlalchemy as sa

from followup.agents import case_ids
from followup.extensions import db
from followup.kudos import feed
from followup.models import Response


def test_an_agents_cases_and_kudos_are_found_through_their_indexes(app):
    """Each side of a link's match reads its own index (SQLite's plan; PostgreSQL's planner
    weighs table sizes, so its plan on a test's few rows says nothing)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    queries = {
        "cases": sa.select(Response.id).where(Response.case_id.in_(case_ids("sam@example.com"))),
        "kudos": feed(agent_link="Sam", agent_teams=("North",)),
    }
    for name, query in queries.items():
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(
            row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        )
        assert "SCAN" not in plan and "lower(" not in sql, (name, plan)
        assert "_agent_email" in plan and "_agent_name" in plan, (name, plan)
