"""All models, one module per aggregate; importing this registers every table."""

from followup.models.cadences import Cadence, CadenceStep, MessageTemplate
from followup.models.cases import Case, CaseEvent
from followup.models.customers import Customer, Suppression, UnsubscribeLink
from followup.models.messages import Message, ProviderEvent
from followup.models.surveys import Response, Survey, SurveyInvitation
from followup.models.users import ApiKey

__all__ = [
    "ApiKey",
    "Cadence",
    "CadenceStep",
    "Case",
    "CaseEvent",
    "Customer",
    "Message",
    "MessageTemplate",
    "ProviderEvent",
    "Response",
    "Survey",
    "SurveyInvitation",
    "Suppression",
    "UnsubscribeLink",
]
