"""The case document the API answers with: the case, its customer, every message, every
response, its recoveries and the timeline (from followup.case_history)."""

from followup.case_history import case_history
from followup.models import Case
from followup.models.base import utcnow


def case_document(case: Case) -> dict:
    """The case with its customer, every message, every response, its recoveries and the
    timeline."""
    history = case_history(case, utcnow())
    return {
        "case": case.to_dict(),
        "customer": case.customer.to_dict(),
        "messages": [m.to_dict() for m in history.messages],
        "responses": [r.to_dict() for r in history.responses],
        "recoveries": history.recoveries,
        "timeline": [e.to_dict() for e in history.timeline],
    }
