"""Every table, imported in one place so Alembic and the app see the whole schema."""

from app.accounts.models import ApiToken, LoginFailure, Organisation, StaffSession, User
from app.audit.models import AuditEvent, AuditHead
from app.cases.models import (
    Case,
    CaseLink,
    CaseMessage,
    CaseTimer,
    Disclosure,
    Note,
    Question,
    RemediationStep,
)
from app.db import metadata
from app.identity.models import DataKey, Reporter
from app.media.models import CaseMedia
from app.messaging.models import Conversation, InboundEvent, OutboxItem
from app.notify.models import AlertCursor, StaffAlert
from app.routing.models import ConflictExclusion, RoutingRule, Workplace, WorkplaceBuyer
from app.stats.models import CaseTally
from app.voice.models import VoiceCall

__all__ = [
    "AlertCursor",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Case",
    "CaseLink",
    "CaseMedia",
    "CaseMessage",
    "CaseTally",
    "CaseTimer",
    "ConflictExclusion",
    "Conversation",
    "DataKey",
    "Disclosure",
    "InboundEvent",
    "LoginFailure",
    "Note",
    "Organisation",
    "OutboxItem",
    "Question",
    "RemediationStep",
    "Reporter",
    "RoutingRule",
    "StaffAlert",
    "StaffSession",
    "User",
    "VoiceCall",
    "Workplace",
    "WorkplaceBuyer",
    "metadata",
]
