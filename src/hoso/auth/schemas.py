"""Pydantic schemas of users and sign-in tokens."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from hoso.auth.models import User
from hoso.auth.principal import ROLES
from hoso.orgs.schemas import OrgCode

#: 3–100 characters: lower-case letters, digits, ``.``, ``_``, ``-``; starts with a letter/digit.
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,99}$"
PASSWORD_MIN_LENGTH = 10

Role = Literal[
    "hr_officer", "approver", "agency_admin", "national_analyst", "national_admin", "auditor"
]
assert set(get_args(Role)) == set(ROLES), "Role literal out of step with ROLES"


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=1024, repr=False)]


class UserCreate(BaseModel):
    """A new user: sign-in name, name, one role bound to one org unit, initial password."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    full_name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
        AfterValidator(_nfc),
    ]
    role: Role
    org_unit_code: OrgCode
    """The unit whose subtree bounds everything the user sees and changes."""
    password: Password
    personal_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")] | None = None
    """The user's own 12-digit personal ID (for approvals signed in their name)."""


class UserRead(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    role: str
    role_label: str
    org_unit_code: str
    personal_id: str | None
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def from_model(cls, user: User) -> UserRead:
        """Build from the ORM row."""
        vi, en = ROLES.get(user.role, (user.role, user.role))
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            role_label=f"{vi} / {en}",
            org_unit_code=user.org_unit_code,
            personal_id=user.personal_id,
            is_active=user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class Credentials(BaseModel):
    """Username and password of a sign-in (JSON or form body)."""

    model_config = ConfigDict(extra="ignore")

    username: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1024, repr=False)]


class TokenRead(BaseModel):
    """A bearer token (OAuth 2 token response shape)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    """Seconds until the token expires."""
