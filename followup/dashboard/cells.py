"""The figures page's many small pieces of HTML, made in Python: counts, percentages, the
"small sample" badge, a rate's cell and a breakdown's row. A year's page has a couple of
hundred breakdown rows of five linked cells each; as Jinja macros they were most of the
page's time (a macro call costs far more than the text it makes). The templates keep the
page's structure and call these; `_figures.html` keeps the few per-page figures (headlines,
deltas, durations) as macros, and its `n`, `pct` and `small_badge` make the same text as
these (tests/app/test_dashboard.py checks both agree). Their words are in the reader's language
(flask_babel: a page's Cells look them up once)."""

from collections.abc import Callable, Mapping

from flask_babel import format_date, gettext
from markupsafe import Markup, escape

from followup.languages import translatable
from followup.metrics import Comparison, Rate

NO_VALUE = "–"
BADGE = Markup(' <span class="badge warn">%s</span>')
# The words of followup.metrics.VERDICTS as the pages say them (in the reader's language).
VERDICT_WORDS = {
    "called": translatable(
        "%(winner)s has more %(outcome)s (%(high)s vs %(low)s), 95%% confidence"
    ),
    "same": translatable("no difference in %(outcome)s so far"),
    "more_needed": translatable("not enough data yet: about %(count)s more cases needed"),
    "unclear": translatable("no clear difference in %(outcome)s at 95%% confidence"),
}


def n(value: int) -> str:
    """A count with thousands separators: 1,204."""
    return f"{value:,}"


def pct(value: float | None) -> str:
    """A share as a whole percentage (82%), or a dash without one."""
    return NO_VALUE if value is None else f"{value:.0%}"


def small_badge(rate: Rate | Mapping) -> Markup:
    """The "small sample" badge (with its leading space) when the rate's denominator is
    under SMALL_SAMPLE, else nothing; a rate or a headline figure's dict."""
    small = rate["small_sample"] if isinstance(rate, Mapping) else rate.small
    return BADGE % gettext("small sample") if small else Markup("")


def verdict(comparison: Comparison) -> str:
    """A comparison's verdict in the reader's language; its outcome and the winner's label
    too when the catalogs know them (a cadence's name stays as it is)."""
    values = dict(comparison.values)
    for key in ("winner", "outcome"):
        if key in values:
            values[key] = gettext(values[key])
    return gettext(VERDICT_WORDS[comparison.verdict], **values)


class Cells:
    """The linked cells of one page. `drill(metric, **changes)` makes the link to the cases
    behind a number (routes.drill_links); `href(metric, changes)` the same link escaped
    for an attribute (a URL-encoded link's only character to escape is "&"), its parts
    cached, for the cells that share them."""

    def __init__(self, drill: Callable[..., str]):
        self.drill = drill
        self._hrefs: dict[tuple, str] = {}
        self._weeks: dict[tuple, str] = {}
        self._small = str(BADGE % gettext("small sample"))
        self._of = gettext("of %(count)s")

    def href(self, metric: str, changes: Mapping | None = None) -> str:
        key = (metric, *(changes or {}).items())
        found = self._hrefs.get(key)
        if found is None:
            found = self._hrefs[key] = str(escape(self.drill(metric, **(changes or {}))))
        return found

    def _rate_cell(self, rate: Rate, metric: str, of: str, changes) -> str:
        badge = self._small if rate.small else ""
        return (
            f'<td class="num"><a href="{self.href(metric, changes)}">{pct(rate.value)}</a> '
            f'<span class="of">{escape(of % {"count": n(rate.denominator)})}</span>{badge}</td>'
        )

    def rate_cell(self, rate: Rate, metric: str, delivered: bool = False, changes=None) -> Markup:
        """`<td>` with the rate linked to its cases, "of" its denominator (of delivered
        invitations: "of 40 delivered")."""
        of = gettext("of %(count)s delivered") if delivered else self._of
        return Markup(self._rate_cell(rate, metric, of, changes))

    def breakdown_row(self, dimension: str, row, columns: Mapping) -> Markup:
        """A breakdown's `<tr>`: its label ("(none)" for the cases without a value, in the
        reader's language), closed cases and a cell per column of COLUMNS."""
        changes = {dimension: row.key}
        cells = "".join(
            self._rate_cell(row.rates[key], numerator, self._of, changes)
            for key, (_, numerator, _) in columns.items()
        )
        return Markup(
            f'<tr><th scope="row">{escape(row.label if row.key else gettext("(none)"))}</th>'
            f'<td class="num"><a href="'
            f'{self.href("closed", changes)}">{n(row.counts["closed"])}</a></td>{cells}</tr>'
        )

    @staticmethod
    def reason(label: str) -> str:
        """A reason's label in the reader's language: the default survey's reasons are in the
        catalogs (surveys.kinds), a lead's own stay as written."""
        return gettext(label) if label else label

    def trend_row(self, week: Mapping, key: str) -> Markup:
        """A weekly trend table's `<tr>`: the week, its rate of `key` and what it is out of."""
        rate = week[key]
        span = (week["start"], week["end"])
        label = self._weeks.get(span)
        if label is None:
            names = week.get("incidents")  # those overlapping the week (dashboard.routes)
            mark = (
                f' data-incident="{escape(", ".join(names))}"', BADGE % gettext("incident")
            ) if names else ("", "")  # fmt: skip
            label = self._weeks[span] = (
                f'<th scope="row" data-week="{week["end"].isoformat()}"{mark[0]}>'
                f"{escape(format_date(week['start'], 'dd MMM'))} – "
                f"{escape(format_date(week['end'], 'dd MMM'))}{mark[1]}</th>"
            )
        value = "" if rate.value is None else rate.value
        return Markup(
            f'<tr>{label}\n        <td class="num" data-value="{value}">{pct(rate.value)}</td>'
            f'<td class="num">{n(rate.denominator)}</td></tr>'
        )
