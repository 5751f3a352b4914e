"""The world of the review tests: four dossiers, one registry result each, the national copy.

The tree, the users and the dossiers are those of the HTTP tests (``api_seed.seed_world``,
written through the real services). Each person then gets a ``population_match`` row as a
verification run would store it (inserted here: the review does not depend on runs):

=======  ==============  ====================================================================
key      outcome         what differs
=======  ==============  ====================================================================
an       matched         religion (ours 00, registry 01) and the residence line (ours none)
binh     potential_match two candidates, the best differs in religion (and the number)
cuong    conflict        the date of birth (ours 1978-11-30, registry 1978-11-03)
dung     conflict        (Hà Tĩnh, for the scope tests) the birth name
=======  ==============  ====================================================================

:func:`to_national` stores the national side's copy of a dossier (``national_person``,
``national_record``) and the stream of its agency's node, as the exchange leaves them once
the approved record arrived; :func:`deliver_proposals` and :func:`deliver_resolutions` carry
the queued ``corrections.propose`` / ``corrections.resolve`` items through the receivers'
real handlers (this database plays both nodes, as a node of role ``all`` does).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_seed import HA_TINH, NGHE_AN, World, seed_world  # type: ignore[import-not-found]

from hoso.audit.models import AuditEvent
from hoso.auth.principal import Principal
from hoso.config import get_settings
from hoso.db.base import utcnow
from hoso.exchange import handlers
from hoso.exchange.models import ExchangeStream, NationalPerson, NationalRecord, OutboxItem
from hoso.people.canonical import canonical_bytes
from hoso.people.models import Person, PersonVersion
from hoso.population.models import Outcome, PopulationMatch

__all__ = [
    "HA_TINH",
    "HR",
    "HR_HA_TINH",
    "MATCHED_AT",
    "NGHE_AN",
    "ReviewWorld",
    "deliver_proposals",
    "deliver_resolutions",
    "events",
    "put_match",
    "review_world",
    "to_national",
]

NODES = {NGHE_AN: "000.00.00.H41:hrm", HA_TINH: "000.00.00.H40:hrm"}
HR = Principal("hr.nghean", "hr_officer", NGHE_AN)
HR_HA_TINH = Principal("hr.hatinh", "hr_officer", HA_TINH)
APPROVER = Principal("approver.nghean", "approver", NGHE_AN)
MATCHED_AT = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
RESIDENCE = "Số 5 đường Lê Lợi, phường Vinh Phú"

BEST = "040190000012"
SECOND = "040190000099"


def _difference(name: str, ours: Any, registry: Any, kind: str = "mastered") -> dict[str, Any]:
    return {
        "field": name,
        "ours": ours,
        "registry": registry,
        "kind": kind,
        "note_vi": "Khác CSDLQG về dân cư",
        "note_en": "Differs from the population registry",
    }


def put_match(
    session: Session,
    personal_id: str,
    *,
    outcome: str,
    registry_values: dict[str, Any] | None = None,
    differences: list[dict[str, Any]] | None = None,
    candidates: list[dict[str, Any]] | None = None,
    registry_status: str | None = "alive",
    matched_by: str | None = "personal_id",
    probability: float | None = None,
) -> PopulationMatch:
    """Store the registry result of a person, as of its current version."""
    person = session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()
    match = PopulationMatch(
        person_id=person.id,
        personal_id=personal_id,
        managing_agency_code=person.managing_agency_code,
        version=person.current_version,
        content_hash=person.current_content_hash,
        outcome=outcome,
        matched_by=matched_by,
        registry_personal_id=personal_id if outcome != Outcome.POTENTIAL else None,
        registry_status=registry_status if outcome != Outcome.POTENTIAL else None,
        registry_values=registry_values,
        differences=differences or [],
        candidates=candidates or [],
        probability=probability,
        matched_at=MATCHED_AT,
    )
    session.add(match)
    session.flush()
    return match


def _citizen(personal_id: str, **values: Any) -> dict[str, Any]:
    base = {
        "personal_id": personal_id,
        "birth_name": "TRẦN THỊ BÌNH",
        "date_of_birth": "1990-07-02",
        "sex": "F",
        "ethnicity_code": "01",
        "religion_code": "02",
        "status": "alive",
    }
    base.update(values)
    return base


@dataclass
class ReviewWorld:
    """What :func:`review_world` stored."""

    seed: World
    pids: dict[str, str]
    matches: dict[str, PopulationMatch] = field(default_factory=dict)

    def person_id(self, key: str) -> int:
        """The internal id of the person ``key``."""
        return self.matches[key].person_id


def to_national(session: Session, personal_id: str, *, sender: str | None = None) -> None:
    """The national side holds the approved current version of the dossier, and the stream
    from its agency's node (``sender``, default the world's node of the agency) exists."""
    person = session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()
    version = session.get(PersonVersion, (person.id, person.current_version))
    assert version is not None
    session.add(
        NationalPerson(
            personal_id=personal_id,
            managing_agency_code=person.managing_agency_code,
            employing_unit_code=person.employing_unit_code,
            version=person.current_version,
            content_hash=person.current_content_hash,
            birth_name=person.birth_name,
            date_of_birth=person.date_of_birth,
        )
    )
    session.add(
        NationalRecord(
            personal_id=personal_id,
            version=person.current_version,
            managing_agency_code=person.managing_agency_code,
            employing_unit_code=person.employing_unit_code,
            content_hash=person.current_content_hash,
            previous_content_hash=None,
            data=canonical_bytes(dict(version.data)).decode(),
            approval='{"approved_at":"2026-11-20T03:00:00Z"}',
            message_id=f"0193a0a0-0000-7000-8000-{person.id:012d}",
        )
    )
    sender = sender or NODES[person.managing_agency_code]
    national = get_settings().national_node
    if session.get(ExchangeStream, (sender, national)) is None:
        session.add(ExchangeStream(sender=sender, receiver=national))
    session.flush()


def _deliver(session: Session, kind: str, sender: str, handler: Any) -> list[dict[str, Any]]:
    items = list(
        session.execute(
            select(OutboxItem)
            .where(OutboxItem.kind == kind, OutboxItem.message_id.is_(None))
            .order_by(OutboxItem.id)
        ).scalars()
    )
    results: list[dict[str, Any]] = []
    for item in items:
        verified = SimpleNamespace(sender=sender)
        node = SimpleNamespace(national_node=get_settings().national_node)
        results += handler(session, verified, [item.payload], node=node, now=utcnow())
        item.message_id = "delivered"
    session.flush()
    return results


def deliver_proposals(session: Session) -> list[dict[str, Any]]:
    """Carry the queued ``corrections.propose`` items to the agency side."""
    return _deliver(
        session, "correction", get_settings().national_node, handlers.corrections_propose
    )


def deliver_resolutions(session: Session, agency: str = NGHE_AN) -> list[dict[str, Any]]:
    """Carry the agency's ``corrections.resolve`` answers back to the national side."""
    return _deliver(session, "resolution", NODES[agency], handlers.corrections_resolve)


def events(session: Session, action: str) -> list[AuditEvent]:
    """The audit events of ``action``, oldest first."""
    return list(
        session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).scalars()
    )


def build(session: Session) -> ReviewWorld:
    """Store the seed and the four results (see the module docstring)."""
    seed = seed_world(session)
    w = ReviewWorld(seed=seed, pids=dict(seed.people))
    an, binh, cuong, dung = (w.pids[k] for k in ("an", "binh", "cuong", "dung"))
    w.matches["an"] = put_match(
        session,
        an,
        outcome=Outcome.MATCHED,
        registry_values={
            "personal_id": an,
            "birth_name": "NGUYỄN VĂN AN",
            "date_of_birth": "1985-03-14",
            "sex": "M",
            "ethnicity_code": "01",
            "religion_code": "01",
            "residence_address_line": RESIDENCE,
        },
        differences=[
            _difference("religion_code", "00", "01"),
            _difference("residence_address_line", None, RESIDENCE),
        ],
    )
    w.matches["binh"] = put_match(
        session,
        binh,
        outcome=Outcome.POTENTIAL,
        matched_by="probabilistic",
        probability=0.93,
        candidates=[
            {
                "personal_id": BEST,
                "probability": 0.93,
                "comparison": {"birth_name": "exact", "date_of_birth": "exact", "sex": "exact"},
                "citizen": _citizen(BEST),
            },
            {
                "personal_id": SECOND,
                "probability": 0.61,
                "comparison": {"birth_name": "exact", "date_of_birth": "year", "sex": "exact"},
                "citizen": _citizen(SECOND, date_of_birth="1990-01-01", religion_code="00"),
            },
        ],
    )
    w.matches["cuong"] = put_match(
        session,
        cuong,
        outcome=Outcome.CONFLICT,
        registry_values={
            "personal_id": cuong,
            "birth_name": "LÊ VĂN CƯỜNG",
            "date_of_birth": "1978-11-03",
            "sex": "M",
            "ethnicity_code": "01",
            "religion_code": "00",
        },
        differences=[_difference("date_of_birth", "1978-11-30", "1978-11-03", kind="identity")],
    )
    w.matches["dung"] = put_match(
        session,
        dung,
        outcome=Outcome.CONFLICT,
        registry_values={"personal_id": dung, "birth_name": "HOÀNG THỊ DŨNG"},
        differences=[
            _difference("birth_name", "HOÀNG THỊ DUNG", "HOÀNG THỊ DŨNG", kind="identity")
        ],
    )
    return w


@pytest.fixture
def review_world(session: Session) -> ReviewWorld:
    """The seed and the four results in the test's rolled-back transaction."""
    return build(session)
