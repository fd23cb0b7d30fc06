"""The dashboard's filters, read from the URL so a view can be shared: the period (and the
one before it, to compare), team, agent, channel, cadence (a lineage), survey and reason.
The Filters themselves are the domain's (followup.figures): the digest and the alert rules
make the same ones."""

from datetime import date, timedelta

from werkzeug.datastructures import MultiDict

from followup.figures import ARGUMENTS, FIELDS, Filters
from followup.languages import translatable

__all__ = ["ARGUMENTS", "FIELDS", "PRESETS", "FilterError", "Filters", "parse"]

PRESETS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PRESET = "30d"
MAX_DAYS = 366 * 3
# The dates a period may take: room around them for the period before it and the trend's
# weeks, which date arithmetic beyond date.min and date.max cannot give.
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)
TEXT_FILTERS = ("team", "agent", "channel", "cadence", "reason")


class FilterError(ValueError):
    """A filter in the URL that cannot be read; `field` names it (HTTP 422). `text` is the
    English message with %(name)s placeholders for `values` (marked translatable: the page
    says it in the reader's language); `message` is it filled in, in English (the JSON's)."""

    def __init__(self, field: str, text: str, **values):
        self.field, self.text, self.values = field, text, values
        self.message = text % values if values else text
        super().__init__(self.message)


def parse(args: MultiDict, today: date) -> Filters:
    """Filters from URL arguments: ?period=7d|30d|90d|365d (the days up to today) or
    ?from=YYYY-MM-DD&to=YYYY-MM-DD, then team, agent, channel, cadence, survey, reason."""
    period = args.get("period") or ("" if args.get("from") or args.get("to") else DEFAULT_PRESET)
    if period:
        if period not in PRESETS:
            raise FilterError("period", translatable("use one of %(presets)s, or from and to"),
                              presets=", ".join(PRESETS))  # fmt: skip
        start, end = today - timedelta(days=PRESETS[period] - 1), today
    else:
        start, end = _date(args, "from"), _date(args, "to")
        if end < start:
            raise FilterError("to", translatable("the period ends before it starts"))
        if (end - start).days + 1 > MAX_DAYS:
            raise FilterError(
                "from", translatable("a period is at most %(days)s days"), days=MAX_DAYS
            )
    values = {}
    for name in TEXT_FILTERS:
        value = (args.get(name) or "").strip()
        if len(value) > 200:
            raise FilterError(name, translatable("at most %(count)s characters"), count=200)
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise FilterError(name, translatable("no control characters"))
        values[name] = value
    survey = (args.get("survey") or "").strip()
    if survey and (not (survey.isascii() and survey.isdigit()) or int(survey) > 2**31 - 1):
        raise FilterError("survey", translatable("a survey is chosen by its number"))
    return Filters(start=start, end=end, survey_id=int(survey or 0), **values)


def _date(args: MultiDict, name: str) -> date:
    raw = (args.get(name) or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(name, translatable("a date like 2026-03-31")) from None
    if not EARLIEST <= day <= LATEST:
        raise FilterError(name, translatable("a date from %(earliest)s to %(latest)s"),
                          earliest=EARLIEST, latest=LATEST)  # fmt: skip
    return day
