"""The dashboard's filters, read from the URL so a view can be shared: the period (and the
one before it, to compare), team, agent, channel, cadence (a lineage), survey and reason."""

from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

from werkzeug.datastructures import MultiDict

PRESETS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PRESET = "30d"
MAX_DAYS = 366 * 3
TEXT_FILTERS = ("team", "agent", "channel", "cadence", "reason")


class FilterError(ValueError):
    """A filter in the URL that cannot be read; `field` names it (HTTP 422)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Filters:
    start: date  # first day of the period (UTC)
    end: date  # last day, included
    team: str = ""
    agent: str = ""
    channel: str = ""
    cadence: str = ""  # a cadence lineage
    survey_id: int = 0
    reason: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The same filters over the period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(days=self.days),
                       end=self.start - timedelta(days=1))  # fmt: skip

    def dimensions(self) -> dict[str, object]:
        """The filters that narrow the rollups' dimensions (set ones only)."""
        values = {"team": self.team, "agent": self.agent, "channel": self.channel,
                  "cadence": self.cadence, "survey_id": self.survey_id}  # fmt: skip
        return {name: value for name, value in values.items() if value}

    def query(self, **changes) -> dict[str, str]:
        """These filters as URL arguments (for links that keep them), with changes."""
        if changes.keys() - FIELDS:
            raise TypeError(f"not a filter: {', '.join(sorted(changes.keys() - FIELDS))}")
        values = {**vars(self), **changes}
        args = {"from": values["start"].isoformat(), "to": values["end"].isoformat()}
        for name, argument in ARGUMENTS:
            if value := values[name]:
                args[argument] = str(value)
        return args


FIELDS = frozenset(field.name for field in fields(Filters))
# The filters after the period, in order, and their names in the URL.
ARGUMENTS = tuple(
    (field.name, "survey" if field.name == "survey_id" else field.name)
    for field in fields(Filters)
    if field.name not in ("start", "end")
)


def parse(args: MultiDict, today: date) -> Filters:
    """Filters from URL arguments: ?period=7d|30d|90d|365d (the days up to today) or
    ?from=YYYY-MM-DD&to=YYYY-MM-DD, then team, agent, channel, cadence, survey, reason."""
    period = args.get("period") or ("" if args.get("from") or args.get("to") else DEFAULT_PRESET)
    if period:
        if period not in PRESETS:
            raise FilterError("period", f"use one of {', '.join(PRESETS)}, or from and to")
        start, end = today - timedelta(days=PRESETS[period] - 1), today
    else:
        start, end = _date(args, "from"), _date(args, "to")
        if end < start:
            raise FilterError("to", "the period ends before it starts")
        if (end - start).days + 1 > MAX_DAYS:
            raise FilterError("from", f"a period is at most {MAX_DAYS} days")
    values = {}
    for name in TEXT_FILTERS:
        value = (args.get(name) or "").strip()
        if len(value) > 200:
            raise FilterError(name, "at most 200 characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise FilterError(name, "no control characters")
        values[name] = value
    survey = (args.get("survey") or "").strip()
    if survey and (not (survey.isascii() and survey.isdigit()) or int(survey) > 2**31 - 1):
        raise FilterError("survey", "a survey is chosen by its number")
    return Filters(start=start, end=end, survey_id=int(survey or 0), **values)


def _date(args: MultiDict, name: str) -> date:
    raw = (args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(name, "a date like 2026-03-31") from None
