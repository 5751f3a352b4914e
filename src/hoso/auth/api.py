"""JSON routes of sign-in and users: ``/api/v1/auth/token``, ``/api/v1/users``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import ValidationError

from hoso.auth import service as auth_service
from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.auth.schemas import Credentials, TokenRead, UserCreate, UserRead
from hoso.config import get_settings
from hoso.errors import InvalidInput, NotAuthenticated
from hoso.orgs.schemas import issues_from_validation_error

router = APIRouter(prefix="/api/v1")

_CREDENTIALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}


async def read_credentials(request: Request) -> Credentials:
    """Username and password from a form (OAuth 2 password flow) or a JSON body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if content_type == "application/json":
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(
                message_vi="Nội dung không phải JSON hợp lệ",
                message_en="The body is not valid JSON",
            ) from None
    else:
        form = await request.form()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        return Credentials.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(issues=issues_from_validation_error(exc)) from None


@router.post(
    "/auth/token",
    tags=["auth"],
    summary="Đăng nhập, nhận mã truy cập / sign in for a bearer token",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _CREDENTIALS_SCHEMA},
                "application/json": {"schema": _CREDENTIALS_SCHEMA},
            },
        }
    },
)
def issue_token(
    credentials: Annotated[Credentials, Depends(read_credentials)], session: SessionDep
) -> TokenRead:
    """Check username and password; return a bearer token valid ``token_ttl_seconds``."""
    try:
        user = auth_service.authenticate(session, credentials.username, credentials.password)
    except NotAuthenticated:
        session.commit()  # keep the auth:session:login_failed audit event
        raise
    return TokenRead(
        access_token=auth_service.issue_token(user),
        expires_in=get_settings().token_ttl_seconds,
    )


@router.get("/users", tags=["users"], summary="Người dùng trong phạm vi / users in scope")
def list_users(session: SessionDep, principal: PrincipalDep) -> list[UserRead]:
    """Users bound to units in the caller's subtree."""
    return [UserRead.from_model(u) for u in auth_service.list_(session, principal=principal)]


@router.post(
    "/users",
    tags=["users"],
    status_code=status.HTTP_201_CREATED,
    summary="Tạo người dùng / create a user",
)
def create_user(user_in: UserCreate, session: SessionDep, principal: PrincipalDep) -> UserRead:
    """Create a user bound to a unit inside the caller's scope."""
    return UserRead.from_model(auth_service.create(session, user_in, principal=principal))


@router.get("/users/me", tags=["users"], summary="Người dùng hiện tại / the signed-in user")
def me(session: SessionDep, principal: PrincipalDep) -> UserRead:
    """The signed-in user."""
    if principal.user_id is None:
        raise NotAuthenticated()
    return UserRead.from_model(auth_service.get(session, principal.user_id))
