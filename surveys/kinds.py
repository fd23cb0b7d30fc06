"""The survey kinds (models.surveys.SurveyKind), defined once: each kind's label, standard
scale, negative and positive bands and question, and the reasons a new survey starts with.
A lead may change a survey's bands, question and reasons afterwards; its scale stays."""

from followup.languages import translatable
from followup.models.surveys import SurveyKind

DEFAULT_QUESTION = translatable("How satisfied are you with how we handled {subject}?")

CSAT_REASONS = [
    {"code": "slow", "label": translatable("It took too long")},
    {"code": "not_solved", "label": translatable("My problem isn't solved")},
    {"code": "had_to_repeat", "label": translatable("I had to explain it more than once")},
    {"code": "unfriendly", "label": translatable("The person wasn't friendly or helpful")},
    {"code": "policy", "label": translatable("I don't agree with the policy or outcome")},
    {"code": "other", "label": translatable("Something else")},
]

# CES asks about effort: a low score (little effort) is the good one.
KINDS: dict[str, dict] = {
    SurveyKind.CSAT: {
        "label": translatable("CSAT: customer satisfaction, 1 to 5"),
        "scale": (1, 5),
        "negative": (1, 2),
        "positive": (4, 5),
        "question": DEFAULT_QUESTION,
    },
    SurveyKind.NPS: {
        "label": translatable("NPS: net promoter score, 0 to 10"),
        "scale": (0, 10),
        "negative": (0, 6),
        "positive": (9, 10),
        "question": translatable(
            "After how we handled {subject}, how likely are you to recommend us to a friend "
            "or colleague?"
        ),
    },
    SurveyKind.CES: {
        "label": translatable("CES: customer effort score, 1 (very easy) to 7 (very difficult)"),
        "scale": (1, 7),
        "negative": (5, 7),
        "positive": (1, 3),
        "question": translatable("How easy was it to get {subject} sorted out with us?"),
    },
}


def standard_fields(kind: str) -> dict:
    """A new survey's columns from its kind: the kind, question, scale and bands."""
    spec = KINDS[kind]
    return {
        "kind": kind,
        "question": spec["question"],
        "scale_min": spec["scale"][0],
        "scale_max": spec["scale"][1],
        "negative_min": spec["negative"][0],
        "negative_max": spec["negative"][1],
        "positive_min": spec["positive"][0],
        "positive_max": spec["positive"][1],
    }
