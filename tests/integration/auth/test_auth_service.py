"""Users on a real database: creation rules, scoped listing, sign-in and its audit events."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from auth_factories import H40, H41, PASSWORD, add_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.auth import service as auth_service
from hoso.auth.principal import Principal, operator
from hoso.auth.schemas import UserCreate
from hoso.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied

ADMIN_H41 = Principal(username="admin.nghean", role="agency_admin", scope_code=H41)


def new_user(username: str, role: str, org: str) -> UserCreate:
    return UserCreate(
        username=username,
        full_name="Trần Văn Bình",
        role=role,  # type: ignore[arg-type]
        org_unit_code=org,
        password=PASSWORD,
    )


def events(session: Session, action: str) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(session.execute(stmt).scalars())


def test_create_stores_an_argon2id_hash_and_audits(tree: Session) -> None:
    user = add_user(tree, "hr.nghean", "hr_officer", f"{H41}.S05")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    (event,) = events(tree, "user:user:create")
    assert event.subject_id == str(user.id)
    assert event.data == {
        "username": "hr.nghean",
        "role": "hr_officer",
        "org_unit_code": f"{H41}.S05",
    }
    assert "password" not in str(event.data)
    assert audit_service.verify_chain(tree) == (True, None)


def test_duplicate_username_is_a_conflict(tree: Session) -> None:
    add_user(tree, "hr.nghean", "hr_officer", H41)
    with pytest.raises(Conflict) as info:
        auth_service.create(tree, new_user("hr.nghean", "approver", H41), principal=operator())
    assert info.value.code == "username_taken"


def test_agency_admin_creates_inside_the_scope_only(tree: Session) -> None:
    user = auth_service.create(
        tree, new_user("hr.sonv", "hr_officer", f"{H41}.S05"), principal=ADMIN_H41
    )
    assert user.org_unit_code == f"{H41}.S05"
    with pytest.raises(PermissionDenied) as info:
        auth_service.create(tree, new_user("hr.hatinh", "hr_officer", H40), principal=ADMIN_H41)
    assert info.value.code == "out_of_scope"
    assert H40 in info.value.message_vi


@pytest.mark.parametrize("role", ["national_admin", "national_analyst"])
def test_agency_admin_cannot_grant_national_roles(tree: Session, role: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        auth_service.create(tree, new_user("boss", role, H41), principal=ADMIN_H41)
    assert role in info.value.message_vi and role in info.value.message_en
    assert auth_service.get_by_username(tree, "boss") is None


def test_roles_without_user_write_cannot_create(tree: Session) -> None:
    hr = Principal(username="hr", role="hr_officer", scope_code=H41)
    with pytest.raises(PermissionDenied):
        auth_service.create(tree, new_user("x.y.z", "hr_officer", H41), principal=hr)


def test_unknown_unit_is_invalid_input_on_the_field(tree: Session) -> None:
    with pytest.raises(InvalidInput) as info:
        auth_service.create(tree, new_user("x.y.z", "hr_officer", "NOWHERE"), principal=operator())
    assert [(i.field, i.value) for i in info.value.issues] == [("org_unit_code", "NOWHERE")]


def test_listing_is_scoped_to_the_subtree(tree: Session) -> None:
    add_user(tree, "a.nghean", "hr_officer", f"{H41}.S05")
    add_user(tree, "b.nghean", "agency_admin", H41)
    add_user(tree, "c.hatinh", "hr_officer", f"{H40}.S05")
    add_user(tree, "d.national", "national_admin", "VN")
    assert [u.username for u in auth_service.list_(tree, principal=ADMIN_H41)] == [
        "a.nghean",
        "b.nghean",
    ]
    everyone = [u.username for u in auth_service.list_(tree, principal=operator())]
    assert everyone == ["a.nghean", "b.nghean", "c.hatinh", "d.national"]
    root_admin = auth_service.principal_for(auth_service.get_by_username(tree, "d.national"))  # type: ignore[arg-type]
    assert len(auth_service.list_(tree, principal=root_admin)) == 4
    with pytest.raises(PermissionDenied):
        auth_service.list_(tree, principal=Principal("hr", "hr_officer", H41))


def test_authenticate_ok_records_login(tree: Session) -> None:
    user = add_user(tree, "hr.nghean", "hr_officer", H41)
    assert user.last_login_at is None
    signed_in = auth_service.authenticate(tree, " HR.Nghean ", PASSWORD)
    assert signed_in.id == user.id
    assert signed_in.last_login_at is not None
    (event,) = events(tree, "auth:session:login")
    assert event.actor == "hr.nghean"


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("hr.nghean", "wrong-password-x", "bad_password"),
        ("nobody", PASSWORD, "unknown_user"),
        ("off.duty", PASSWORD, "inactive"),
    ],
)
def test_authenticate_failure_is_recorded_then_raised(
    tree: Session, username: str, password: str, reason: str
) -> None:
    add_user(tree, "hr.nghean", "hr_officer", H41)
    add_user(tree, "off.duty", "hr_officer", H41).is_active = False
    tree.flush()
    with pytest.raises(NotAuthenticated) as info:
        auth_service.authenticate(tree, username, password)
    assert info.value.code == "invalid_credentials"
    assert "không đúng" in info.value.message_vi
    (event,) = events(tree, "auth:session:login_failed")
    assert event.data["reason"] == reason
    if reason == "unknown_user":
        assert event.actor == "anonymous"
        assert "nobody" not in str(event.data)
    else:
        assert event.data["username"] == username


def test_outdated_hash_is_upgraded_on_sign_in(tree: Session) -> None:
    user = add_user(tree, "hr.nghean", "hr_officer", H41)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    tree.flush()
    auth_service.authenticate(tree, "hr.nghean", PASSWORD)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_token_round_trip_and_revocation_by_new_password(tree: Session) -> None:
    user = add_user(tree, "hr.nghean", "hr_officer", f"{H41}.S05")
    token = auth_service.issue_token(user)
    principal = auth_service.principal_from_token(tree, token)
    assert (principal.username, principal.scope_code, principal.user_id) == (
        "hr.nghean",
        f"{H41}.S05",
        user.id,
    )
    auth_service.set_password(tree, "hr.nghean", "mat-khau-moi-dai-2", principal=ADMIN_H41)
    with pytest.raises(NotAuthenticated):
        auth_service.principal_from_token(tree, token)
    assert auth_service.authenticate(tree, "hr.nghean", "mat-khau-moi-dai-2").id == user.id
    assert [e.data for e in events(tree, "user:user:set_password")] == [{"username": "hr.nghean"}]


def test_set_password_checks_scope_and_length(tree: Session) -> None:
    add_user(tree, "c.hatinh", "hr_officer", H40)
    with pytest.raises(PermissionDenied):
        auth_service.set_password(tree, "c.hatinh", "mat-khau-moi-dai-2", principal=ADMIN_H41)
    with pytest.raises(InvalidInput):
        auth_service.set_password(tree, "c.hatinh", "short", principal=operator())
