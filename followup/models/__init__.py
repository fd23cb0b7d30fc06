"""All models, one module per aggregate; importing this registers every table."""

from followup.models.alert_rules import AlertBreach, AlertRule
from followup.models.audit import AuditEntry
from followup.models.cadences import Cadence, CadenceStep, MessageTemplate
from followup.models.cases import Case, CaseEvent
from followup.models.customers import (
    Customer,
    CustomerIdentity,
    Suppression,
    SurveyExclusion,
    UnsubscribeLink,
)
from followup.models.figures import (
    DailyAgentFigure,
    DailyChannelFigure,
    DailyFigure,
    DailyReason,
    DailyReasonTotal,
    DailyTeamFigure,
    FigureState,
    RoundFact,
)
from followup.models.incidents import Incident, IncidentHold
from followup.models.kudos import Kudo
from followup.models.messages import Message, ProviderEvent
from followup.models.organisation import OrganisationSettings
from followup.models.proactive import ProactiveHoldout, ProactiveTask
from followup.models.recovery import (
    Alert,
    Gesture,
    GestureType,
    GoodwillCode,
    OutboundCall,
    Recovery,
    RecoveryRule,
    RecoveryTask,
)
from followup.models.risk import RiskModel
from followup.models.root_causes import RootCause
from followup.models.sign_in import ConsoleSession, RecoveryCode
from followup.models.surveys import Response, Survey, SurveyInvitation
from followup.models.themes import CommentEmbedding, Theme
from followup.models.users import ApiKey, User

__all__ = [
    "Alert",
    "AlertBreach",
    "AlertRule",
    "ApiKey",
    "AuditEntry",
    "Cadence",
    "CadenceStep",
    "Case",
    "CaseEvent",
    "CommentEmbedding",
    "ConsoleSession",
    "Customer",
    "CustomerIdentity",
    "DailyAgentFigure",
    "DailyChannelFigure",
    "DailyFigure",
    "DailyReason",
    "DailyReasonTotal",
    "DailyTeamFigure",
    "FigureState",
    "Gesture",
    "GestureType",
    "GoodwillCode",
    "Incident",
    "IncidentHold",
    "Kudo",
    "Message",
    "MessageTemplate",
    "OrganisationSettings",
    "OutboundCall",
    "ProactiveHoldout",
    "ProactiveTask",
    "ProviderEvent",
    "Recovery",
    "RecoveryCode",
    "RecoveryRule",
    "RecoveryTask",
    "Response",
    "RiskModel",
    "RootCause",
    "RoundFact",
    "Survey",
    "SurveyInvitation",
    "Suppression",
    "SurveyExclusion",
    "Theme",
    "UnsubscribeLink",
    "User",
]
