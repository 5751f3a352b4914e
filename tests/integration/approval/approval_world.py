"""Factories of the approval tests: a small tree, users with officials' certificates, dossiers.

Everything is written through the real services (orgs, users, people) in the test's
rolled-back ``session``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from conftest_approval_pki import TestPki  # type: ignore[import-not-found]
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hoso.approval import service as approval_service
from hoso.approval.schemas import ApprovalIn
from hoso.auth import service as auth_service
from hoso.auth.models import User
from hoso.auth.principal import Principal, operator
from hoso.config import Settings
from hoso.exchange import jws
from hoso.exchange.signing import KeySigner
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import service as people_service
from hoso.people.checking import prepare
from hoso.people.models import Person, PersonVersion, VersionStatus
from hoso.people.validation import get_validator

H41 = "000.00.00.H41"
H40 = "000.00.00.H40"
PASSWORD = "mat-khau-du-dai-1"
TITLE = "Giám đốc Sở Nội vụ"

TREE: list[dict[str, Any]] = [
    {"code": H41, "name": "UBND tỉnh Nghệ An", "kind": "province"},
    {
        "code": f"{H41}.S05",
        "name": "Sở Nội vụ tỉnh Nghệ An",
        "parent_code": H41,
        "kind": "department",
    },
    {"code": H40, "name": "UBND tỉnh Hà Tĩnh", "kind": "province"},
    {
        "code": f"{H40}.S05",
        "name": "Sở Nội vụ tỉnh Hà Tĩnh",
        "parent_code": H40,
        "kind": "department",
    },
]

# username -> (role, unit, personal_id, certificate: (agency, CN) or None)
USERS: dict[str, tuple[str, str, str | None, tuple[str, str] | None]] = {
    "hr41a": ("hr_officer", H41, None, None),
    "hr41b": ("hr_officer", H41, None, None),
    "hr40": ("hr_officer", H40, None, None),
    "boss41": ("approver", H41, "040180001234", (H41, "Trần Thị Bình")),
    "deputy41": ("approver", H41, "040180005678", (H41, "Lê Văn Cường")),
    "nopid41": ("approver", H41, None, None),
    "boss40": ("approver", H40, "042180000002", (H40, "Phạm Minh Đức")),
    "chief": ("national_admin", H41, "001170000009", (H41, "Hoàng Văn Em")),
}


@dataclass
class World:
    """The seeded tree, users, their principals and the officials' signers."""

    session: Session
    pki: TestPki
    settings: Settings
    users: dict[str, User] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    signers: dict[str, KeySigner] = field(default_factory=dict)

    def with_settings(self, **changes: Any) -> Settings:
        """These settings with some fields changed."""
        return self.settings.model_copy(update=changes)


@lru_cache(maxsize=1)
def password_hash() -> str:
    """The hash of :data:`PASSWORD`, made once."""
    return auth_service.hash_password(PASSWORD)


def make_settings(pki: TestPki, **changes: Any) -> Settings:
    """Settings of an agency node trusting the test CA."""
    values: dict[str, Any] = {"trust_anchors": str(pki.ca_path), "node_role": "agency"}
    values.update(changes)
    return Settings(**values)


def seed(session: Session, pki: TestPki, signers: dict[str, KeySigner]) -> World:
    """Tree and users (as the national operator)."""
    orgs_service.upsert_units(
        session, [OrgUnitIn.model_validate(u) for u in TREE], principal=operator()
    )
    world = World(session=session, pki=pki, settings=make_settings(pki))
    for username, (role, unit, pid, _cert) in USERS.items():
        # Users are inserted directly with one password hash made per session: argon2
        # costs ~0.1 s a hash, and these tests never sign in with a password.
        user = User(
            username=username,
            full_name=f"Người dùng {username}",
            password_hash=password_hash(),
            role=role,
            org_unit_code=unit,
            personal_id=pid,
            is_active=True,
        )
        session.add(user)
        session.flush()
        world.users[username] = user
        world.principals[username] = auth_service.principal_for(user)
    world.signers = signers
    return world


def official_signers(pki: TestPki) -> dict[str, KeySigner]:
    """A personal certificate for each user that has one, plus node certificates."""
    out = {
        username: pki.official(pid, cert[0], cert[1])
        for username, (_r, _u, pid, cert) in USERS.items()
        if pid is not None and cert is not None
    }
    out["node41"] = pki.node(H41)
    # boss41's personal ID, but a certificate of the other province.
    out["boss41_at_h40"] = pki.official("040180001234", H40, "Trần Thị Bình")
    return out


def pid_of(i: int) -> str:
    """The ``i``-th test personal ID (Nghệ An, born 1985)."""
    return f"0400850{i:05d}"


def dossier_line(pid: str, agency: str = H41, **data: Any) -> dict[str, Any]:
    """A small but real bulk line."""
    doc: dict[str, Any] = {
        "birth_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "ethnicity_code": "01",
        "religion_code": "00",
        "salary_step": 4,
        "salary_coefficient": "3.33",
        "work_history": [
            {"from": "2008-09", "to": "2012-12", "unit": "Sở Nội vụ", "title": "Chuyên viên"},
            {"from": "2013-01", "unit": "Sở Nội vụ", "title": "Trưởng phòng"},
        ],
    }
    doc.update(data)
    return {
        "personal_id": pid,
        "managing_agency": agency,
        "employing_unit": f"{agency}.S05",
        "data": doc,
    }


def store(
    world: World, pids: list[str], *, as_user: str = "hr41a", agency: str = H41, **data: Any
) -> None:
    """Store (or re-version) dossiers through the people service, as a bulk import does."""
    validator = get_validator()
    items = []
    for pid in pids:
        checked = validator.check_line(dossier_line(pid, agency, **data))
        digest = prepare(checked)
        assert digest is not None, checked.issues
        items.append((checked, digest))
    people_service.store_batch(
        world.session, items, principal=world.principals[as_user], source="test"
    )


def to_verified(
    world: World, pid: str, *, submitter: str = "hr41a", verifier: str = "hr41b"
) -> None:
    """Submit and verify the current version through the workflow."""
    approval_service.submit(world.session, personal_id=pid, principal=world.principals[submitter])
    approval_service.verify(
        world.session,
        personal_id=pid,
        principal=world.principals[verifier],
        settings=world.settings,
    )


def force_verified(session: Session, pids: list[str]) -> None:
    """Set the current versions VERIFIED directly (set-up shortcut for bulk tests)."""
    ids = list(session.execute(select(Person.id).where(Person.personal_id.in_(pids))).scalars())
    session.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id.in_(ids), PersonVersion.status == VersionStatus.DRAFT)
        .values(status=VersionStatus.VERIFIED, status_changed_by="hr41b")
    )
    session.execute(update(Person).where(Person.id.in_(ids)).values(status=VersionStatus.VERIFIED))
    session.expire_all()


def current(session: Session, pid: str) -> tuple[Person, PersonVersion]:
    """A person and its current version (fresh from the database)."""
    session.expire_all()
    person = session.execute(select(Person).where(Person.personal_id == pid)).scalar_one()
    version = session.get(PersonVersion, (person.id, person.current_version))
    assert version is not None
    return person, version


def signed(
    world: World,
    pid: str,
    *,
    signer: str = "boss41",
    version: int | None = None,
    content_hash: str | None = None,
    signed_hash: str | None = None,
    title: str = TITLE,
) -> ApprovalIn:
    """An ApprovalIn for ``pid``'s current version, signed by ``signer``'s certificate."""
    _person, pv = current(world.session, pid)
    digest = content_hash or pv.content_hash
    signature = jws.sign_detached(world.signers[signer], (signed_hash or digest).encode("ascii"))
    return ApprovalIn(
        personal_id=pid,
        version=version or pv.version,
        content_hash=digest,
        signature=signature,
        title=title,
    )
