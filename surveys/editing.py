"""Changing surveys from the console: the current cadences that use a survey, creating one of
a kind with its standard scale, archiving (not while a current cadence sends it) and
unarchiving, and the rules a survey's bands, keywords and extra questions keep. Operations
flush; the caller audits and commits."""

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from followup.extensions import db
from followup.models import Cadence, CadenceStep, Survey
from surveys.kinds import CSAT_REASONS, standard_fields

MAX_LABEL = 200
MAX_REASONS = 20
MAX_QUESTIONS = 10
MAX_OPTIONS = 20
MAX_KEYWORDS = 50
MAX_KEYWORD = 100
RESERVED_KEYS = {"make_right"}  # Response.answers keeps the "what would make this right?"
BANDS = {  # a survey's band columns, with how a message names each
    "negative_min": _l("negative from"),
    "negative_max": _l("negative to"),
    "positive_min": _l("positive from"),
    "positive_max": _l("positive to"),
}


def used_by() -> dict[int, list[str]]:
    """The names of the current cadence versions using each survey, by survey id."""
    rows = db.session.execute(
        sa.select(CadenceStep.survey_id, Cadence.name, Cadence.archived_at)
        .join(Cadence, Cadence.id == CadenceStep.cadence_id)
        .where(Cadence.superseded_at.is_(None), CadenceStep.survey_id.is_not(None))
        .distinct()
        .order_by(Cadence.name)
    )
    used: dict[int, list[str]] = {}
    for survey_id, name, archived_at in rows:
        label = _("%(name)s (archived)", name=name) if archived_at else name
        used.setdefault(cast(int, survey_id), []).append(label)  # not None: see the WHERE
    return used


def sending_cadences(survey: Survey) -> list[str]:
    """The names of the current, unarchived cadences that still send this survey, sorted."""
    names = db.session.scalars(
        sa.select(Cadence.name)
        .join(CadenceStep, CadenceStep.cadence_id == Cadence.id)
        .where(
            CadenceStep.survey_id == survey.id,
            Cadence.superseded_at.is_(None),
            Cadence.archived_at.is_(None),
        )
        .distinct()
    ).all()
    return sorted(names)


def key_taken(key: str) -> bool:
    return db.session.scalar(sa.select(Survey.id).where(Survey.key == key)) is not None


def create(key: str, name: str, kind: str) -> Survey:
    """A survey of this kind with its standard question, scale and bands and the default
    reasons. Raises IntegrityError when the key was taken at the same moment."""
    survey = Survey(
        key=key,
        name=name,
        **standard_fields(kind),
        negative_keywords=[],
        reasons=[dict(reason) for reason in CSAT_REASONS],
        questions=[],
        translations={},
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def set_archived(survey: Survey, archived: bool, now: datetime) -> bool:
    """Archive or unarchive the survey; whether that changed it. The caller checks
    sending_cadences before archiving."""
    if archived == (survey.archived_at is not None):
        return False
    survey.archived_at = now if archived else None
    db.session.flush()
    return True


def band_problems(lowest: int, highest: int, bands: dict[str, int]) -> list[tuple[str, str]]:
    """What is wrong with a survey's bands (BANDS: value), as (band, message): each inside
    the scale, no band upside down, and the positive band apart from the negative one."""
    problems = [
        (name, _("must be from %(lowest)s to %(highest)s", lowest=lowest, highest=highest))
        for name, value in bands.items()
        if not lowest <= value <= highest
    ]
    if problems:
        return problems
    for low, high in (("negative_min", "negative_max"), ("positive_min", "positive_max")):
        if bands[low] > bands[high]:
            problems.append((high, _("must not be below %(band)s", band=BANDS[low])))
    overlap = max(bands["negative_min"], bands["positive_min"]) <= min(
        bands["negative_max"], bands["positive_max"]
    )
    if overlap and not problems:
        problems.append(("positive_min", _("the positive band must not overlap the negative one")))
    return problems


def keyword_problems(keywords: list[str]) -> list[str]:
    """What is wrong with a survey's negative keywords."""
    problems = []
    if len(keywords) > MAX_KEYWORDS:
        problems.append(_("give at most %(most)s keywords", most=MAX_KEYWORDS))
    if any(len(keyword) > MAX_KEYWORD for keyword in keywords):
        problems.append(_("keep each keyword to %(most)s characters or fewer", most=MAX_KEYWORD))
    return problems


def option_problems(options: list[str], kind: str) -> list[str]:
    """What is wrong with the options of an extra question of this kind."""
    if kind == "text":
        return [_("a text question has no options: leave them empty")] if options else []
    problems = []
    if len(options) < 2:
        problems.append(_("give at least 2 options, one per line"))
    elif len(options) > MAX_OPTIONS:
        problems.append(_("give at most %(most)s options", most=MAX_OPTIONS))
    elif len(set(options)) != len(options):
        problems.append(_("each option must be different"))
    if any(len(option) > MAX_LABEL for option in options):
        problems.append(_("keep each option to %(most)s characters or fewer", most=MAX_LABEL))
    return problems
