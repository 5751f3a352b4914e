"""Agency-side fixtures for exchange tests: dossiers approved with the vectors' official.

``seed_agency`` stores the agency's org units and ``n`` dossiers (variants of the vector
record) through the real people service, then approves each current version as the
approval workflow does (signature over the content hash with the official's personal
certificate, ``approved_version``, ``QUEUED``, an outbox item), and queues the org tree.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from exchange_vectors import NATIONAL_NODE, load, signer  # type: ignore[import-not-found]
from hoso.auth.principal import operator
from hoso.exchange import envelope, jws, outbox
from hoso.exchange.signing import Signer
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgTreeIn
from hoso.people import service as people_service
from hoso.people.checking import prepare
from hoso.people.models import Person, PersonVersion, VersionStatus
from hoso.people.validation import get_validator

AGENCY = "000.00.00.H41"
OFFICIAL = {"personal_id": "040180001234", "name": "Trần Thị Bình", "title": "Giám đốc Sở Nội vụ"}


def units() -> list[dict[str, Any]]:
    """The agency's units (from the orgtree vector)."""
    units: list[dict[str, Any]] = load("orgtree_upsert.json")["body"]["units"]
    return units


def record_data(i: int, step: int = 5) -> dict[str, Any]:
    """The vector dossier with personal ID number ``i`` and a salary step."""
    data = copy.deepcopy(load("records_upsert.json")["body"]["records"][0]["data"])
    pid = f"040085{i:06d}"
    data["personal_id"] = data["record_id"] = pid
    data["salary_step"] = step
    return data


def store_dossiers(session: Session, datas: list[dict[str, Any]]) -> None:
    """Store dossiers through the people service (as a bulk import does)."""
    validator = get_validator()
    items = []
    for data in datas:
        checked = validator.check_line(
            {
                "personal_id": data["personal_id"],
                "managing_agency": AGENCY,
                "employing_unit": data["employing_unit_code"],
                "data": data,
            }
        )
        assert checked.ok, checked.issues
        digest = prepare(checked)
        assert digest is not None
        items.append((checked, digest))
    people_service.store_batch(
        session, items, principal=operator(), source="test", audit_subject=("seed", None)
    )


def approve_current(
    session: Session,
    pids: list[str],
    *,
    official: Signer | None = None,
    approved_by: dict[str, str] | None = None,
) -> None:
    """Approve the current version of each person and queue it for the national node.

    Batched (one SELECT, one executemany UPDATE per 1,000 people), so soak runs can seed
    100,000 approved versions.
    """
    official = official or signer("official")
    approved_by = approved_by or OFFICIAL
    now = envelope.rfc3339(envelope.utc_now())
    for start in range(0, len(pids), 1000):
        chunk = pids[start : start + 1000]
        people = session.execute(
            select(
                Person.id, Person.personal_id, Person.current_version, Person.current_content_hash
            ).where(Person.personal_id.in_(chunk))
        ).all()
        ids = [p.id for p in people]
        tops = dict(
            session.execute(
                select(PersonVersion.person_id, func.max(PersonVersion.approved_version))
                .where(PersonVersion.person_id.in_(ids))
                .group_by(PersonVersion.person_id)
            ).all()
        )
        session.execute(
            update(PersonVersion),
            [
                {
                    "person_id": p.id,
                    "version": p.current_version,
                    "approval": {
                        "approved_by": approved_by,
                        "approved_at": now,
                        "signature": jws.sign_detached(
                            official, p.current_content_hash.encode("ascii")
                        ),
                    },
                    "approved_version": (tops.get(p.id) or 0) + 1,
                    "status": VersionStatus.QUEUED,
                }
                for p in people
            ],
        )
        session.execute(
            update(Person), [{"id": p.id, "status": VersionStatus.QUEUED} for p in people]
        )
        order = {pid: i for i, pid in enumerate(chunk)}
        outbox.enqueue_many(
            session,
            receiver=NATIONAL_NODE,
            kind="record",
            items=[
                (p.personal_id, p.current_version, None)
                for p in sorted(people, key=lambda p: order[p.personal_id])
            ],
        )
    session.flush()


def seed_agency(
    session: Session,
    n: int,
    *,
    official: Signer | None = None,
    approved_by: dict[str, str] | None = None,
) -> list[str]:
    """Org units (queued for the national node too) and ``n`` approved, queued dossiers."""
    tree = OrgTreeIn.model_validate({"units": units()})
    orgs_service.upsert_units(session, tree.units, principal=operator())
    outbox.enqueue_many(
        session, receiver=NATIONAL_NODE, kind="orgunit", items=[(None, None, u) for u in units()]
    )
    pids: list[str] = []
    for start in range(0, n, 1000):
        datas = [record_data(i) for i in range(start, min(n, start + 1000))]
        store_dossiers(session, datas)
        pids.extend(d["personal_id"] for d in datas)
    approve_current(session, pids, official=official, approved_by=approved_by)
    return pids
