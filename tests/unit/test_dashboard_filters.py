"""The dashboard's filters as the URL gives them: periods, the one before, what is refused."""

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from followup.dashboard.filters import FilterError, parse

TODAY = date(2026, 3, 31)


def test_presets_and_explicit_periods_and_the_one_before():
    assert (parse(MultiDict(), TODAY).start, parse(MultiDict(), TODAY).end) == (
        date(2026, 3, 2), TODAY
    )  # fmt: skip
    week = parse(MultiDict({"period": "7d", "team": " Billing "}), TODAY)
    assert (week.start, week.days, week.team) == (date(2026, 3, 25), 7, "Billing")
    before = week.previous()
    assert (before.start, before.end, before.team) == (date(2026, 3, 18), date(2026, 3, 24),
                                                       "Billing")  # fmt: skip
    march = parse(MultiDict({"from": "2026-03-01", "to": "2026-03-31", "survey": "3"}), TODAY)
    assert (march.days, march.survey_id, march.dimensions()) == (31, 3, {"survey_id": 3})
    assert march.query(team="Shipping") == {
        "from": "2026-03-01", "to": "2026-03-31", "team": "Shipping", "survey": "3"
    }  # fmt: skip


@pytest.mark.parametrize(
    "args, field",
    [
        ({"period": "1y"}, "period"),
        ({"from": "2026-03-01"}, "to"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "from"),
        ({"team": "x" * 201}, "team"),
        ({"agent": "a\x00b"}, "agent"),
        ({"reason": "sl\now"}, "reason"),
        ({"survey": "one"}, "survey"),
        ({"survey": str(2**40)}, "survey"),
    ],
)
def test_unreadable_filters_name_their_field(args, field):
    with pytest.raises(FilterError) as refused:
        parse(MultiDict(args), TODAY)
    assert refused.value.field == field


def test_several_agent_names_narrow_together_and_stay_out_of_urls():
    from followup.figures import Filters, rollup_where
    from followup.models.figures import DailyAgentFigure

    both = Filters(start=TODAY, end=TODAY, agents=("Sam", "Sam R"))
    assert both.dimensions() == {"agent": ("Sam", "Sam R")}
    assert both.query() == {"from": "2026-03-31", "to": "2026-03-31"}
    assert both.previous().agents == ("Sam", "Sam R")
    [_, _, agent] = rollup_where(DailyAgentFigure, both, TODAY, TODAY)
    assert "agent IN" in str(agent.compile(compile_kwargs={"literal_binds": True}))
    nothing = Filters(start=TODAY, end=TODAY, agents=())
    assert nothing.dimensions() == {"agent": ()}  # narrowed to no rows, not to every agent
    assert Filters(start=TODAY, end=TODAY).dimensions() == {}
    with pytest.raises(ValueError):
        Filters(start=TODAY, end=TODAY, agent="Bo", agents=("Sam",))
