"""Import every ORM model so that ``Base.metadata`` is complete (Alembic, tests)."""

from hoso.audit.models import AuditEvent, AuditHead
from hoso.auth.models import User
from hoso.db.base import Base
from hoso.exchange.models import (
    Correction,
    ExchangeStream,
    InboxMessage,
    JwsHeader,
    NationalPerson,
    NationalRecord,
    OutboxItem,
    OutboxMessage,
)
from hoso.orgs.models import OrgUnit
from hoso.people.models import ImportIssue, ImportRun, Person, PersonPost, PersonVersion
from hoso.population.models import PopulationMatch, PopulationRun
from hoso.quality.models import (
    QualityAgencyScore,
    QualityFinding,
    QualityFix,
    QualityRun,
    QualityScore,
)

__all__ = [
    "AuditEvent",
    "AuditHead",
    "Base",
    "Correction",
    "ExchangeStream",
    "ImportIssue",
    "ImportRun",
    "InboxMessage",
    "JwsHeader",
    "NationalPerson",
    "NationalRecord",
    "OrgUnit",
    "OutboxItem",
    "OutboxMessage",
    "Person",
    "PersonPost",
    "PersonVersion",
    "PopulationMatch",
    "PopulationRun",
    "QualityAgencyScore",
    "QualityFinding",
    "QualityFix",
    "QualityRun",
    "QualityScore",
    "User",
]
