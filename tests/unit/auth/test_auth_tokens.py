"""Password hashes, sign-in tokens and principals, with a local double for the session."""

from __future__ import annotations

import time
from typing import Any

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from hoso.auth import service as auth_service
from hoso.auth.models import User
from hoso.auth.principal import ROLES
from hoso.auth.schemas import UserCreate
from hoso.config import get_settings
from hoso.errors import NotAuthenticated


class FakeSession:
    """Answers ``get(User, id)`` from a dict, like a primary-key lookup."""

    def __init__(self, *users: User) -> None:
        self.users = {u.id: u for u in users}
        self.gets = 0

    def get(self, model: type[User], key: int) -> User | None:
        assert model is User
        self.gets += 1
        return self.users.get(key)


def make_user(uid: int = 7, **over: Any) -> User:
    data: dict[str, Any] = {
        "id": uid,
        "username": "hr.nghean",
        "full_name": "Nguyễn Thị Hoa",
        "password_hash": auth_service.hash_password("mat-khau-du-dai"),
        "role": "hr_officer",
        "org_unit_code": "000.00.00.H41",
        "is_active": True,
    }
    data.update(over)
    return User(**data)


@pytest.fixture(scope="module")
def user() -> User:
    return make_user()


def test_hash_is_argon2id_with_the_documented_parameters() -> None:
    hashed = auth_service.hash_password("mat-khau-du-dai")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hashed != auth_service.hash_password("mat-khau-du-dai")  # salted
    assert PasswordHasher().verify(hashed, "mat-khau-du-dai")
    assert not auth_service.HASHER.check_needs_rehash(hashed)


def test_generated_passwords_are_long_and_distinct() -> None:
    passwords = {auth_service.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 20 for p in passwords)


def test_token_round_trip_gives_the_users_principal(user: User) -> None:
    session = FakeSession(user)
    token = auth_service.issue_token(user)
    principal = auth_service.principal_from_token(session, token)  # type: ignore[arg-type]
    assert principal.username == "hr.nghean"
    assert principal.role == "hr_officer"
    assert principal.scope_code == "000.00.00.H41"
    assert principal.user_id == 7
    assert session.gets == 1  # one primary-key lookup


def test_tampered_token_is_refused(user: User) -> None:
    token = auth_service.issue_token(user)
    payload, _, rest = token.partition(".")
    forged = auth_service._serializer("another-secret").dumps({"uid": 1, "pw": "x"})
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        payload[::-1] + "." + rest,
        forged,
        "",
        "not-a-token",
    ):
        with pytest.raises(NotAuthenticated) as info:
            auth_service.principal_from_token(FakeSession(user), bad)  # type: ignore[arg-type]
        assert info.value.code == "invalid_token", bad


def test_expired_token_is_refused(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    ttl = get_settings().token_ttl_seconds
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - ttl - 5)
    old = auth_service.issue_token(user)
    monkeypatch.setattr(time, "time", real_time)
    with pytest.raises(NotAuthenticated) as info:
        auth_service.principal_from_token(FakeSession(user), old)  # type: ignore[arg-type]
    assert info.value.code == "token_expired"
    assert "hết hạn" in info.value.message_vi


def test_token_of_inactive_or_missing_user_or_changed_password_is_refused(user: User) -> None:
    token = auth_service.issue_token(user)
    with pytest.raises(NotAuthenticated):
        auth_service.principal_from_token(FakeSession(), token)  # type: ignore[arg-type]
    inactive = make_user(is_active=False, password_hash=user.password_hash)
    with pytest.raises(NotAuthenticated):
        auth_service.principal_from_token(FakeSession(inactive), token)  # type: ignore[arg-type]
    rehashed = make_user(password_hash=auth_service.hash_password("mat-khau-moi-123"))
    with pytest.raises(NotAuthenticated) as info:
        auth_service.principal_from_token(FakeSession(rehashed), token)  # type: ignore[arg-type]
    assert info.value.code == "token_revoked"


def test_principal_for_binds_agency_roles_to_their_unit_and_national_roles_to_all() -> None:
    for role in ROLES:
        p = auth_service.principal_for(
            make_user(role=role, org_unit_code="000.00.00.G09", password_hash="x")
        )
        national = role in ("national_admin", "national_analyst")
        assert p.scope_code == (None if national else "000.00.00.G09"), role
        assert p.role == role


def user_create(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": "hr.nghean",
        "full_name": "Nguyễn Thị Hoa",
        "role": "hr_officer",
        "org_unit_code": "000.00.00.H41",
        "password": "mat-khau-du-dai",
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"password": "short"}, "password"),
        ({"username": "Hoa"}, "username"),
        ({"username": "ab"}, "username"),
        ({"role": "superuser"}, "role"),
        ({"org_unit_code": "h41"}, "org_unit_code"),
        ({"personal_id": "12345"}, "personal_id"),
        ({"full_name": ""}, "full_name"),
    ],
)
def test_user_create_refuses_bad_fields(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        UserCreate.model_validate(user_create(**over))
    assert [e["loc"][0] for e in info.value.errors()] == [field]


def test_user_create_hides_the_password_in_repr() -> None:
    u = UserCreate.model_validate(user_create(personal_id="040085000001"))
    assert "mat-khau-du-dai" not in repr(u)
