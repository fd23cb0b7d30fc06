"""What an answer means: its verdict (negative, neutral, positive) by the survey's bands and
negative keywords. Pure: no Flask, no database."""

import re
from collections.abc import Sequence
from typing import Protocol


class Survey(Protocol):
    """What scoring reads of a survey (a followup.models.Survey has it)."""

    @property
    def negative_min(self) -> int: ...
    @property
    def negative_max(self) -> int: ...
    @property
    def positive_min(self) -> int: ...
    @property
    def positive_max(self) -> int: ...
    @property
    def negative_keywords(self) -> Sequence[str] | None: ...


def verdict(survey: Survey, score: int, comment: str = "") -> str:
    """ "negative", "neutral" or "positive": by the survey's bands (CSAT 1-2 / 4-5, NPS 0-6 /
    9-10, CES 5-7 / 1-3), and negative whatever the score when the comment says one of the
    survey's negative keywords (whole words, any case)."""
    if survey.negative_min <= score <= survey.negative_max:
        return "negative"
    if mentions(comment, survey.negative_keywords or []):
        return "negative"
    if survey.positive_min <= score <= survey.positive_max:
        return "positive"
    return "neutral"


def mentions(text: str, phrases: Sequence[str]) -> bool:
    """Whether the text holds one of the words or phrases, whole (any case): "call" is in
    "please call me", not in "nobody called"."""
    words = [re.escape(phrase.strip()) for phrase in phrases if phrase.strip()]
    pattern = rf"(?<!\w)(?:{'|'.join(words)})(?!\w)"
    return bool(words) and re.search(pattern, text or "", re.IGNORECASE) is not None


def is_negative(survey: Survey, score: int, comment: str = "") -> bool:
    return verdict(survey, score, comment) == "negative"
