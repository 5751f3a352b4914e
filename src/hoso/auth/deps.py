"""FastAPI dependencies: one transaction per request, and the signed-in principal.

Transaction per request
    :func:`get_session` wraps ``unit_of_work()``: the endpoint gets a Session; the
    transaction commits when the endpoint returns and rolls back when anything raises.
    FastAPI 0.163 runs the exit code of a yield dependency with the default
    ``scope="request"`` *after the response has been sent* (the request exit stack closes
    after ``await response(...)`` in ``fastapi.routing.request_response``), so a failed
    commit would reach the client as a 200 for data that was never stored. Declared with
    ``Depends(get_session, scope="function")`` — as :data:`SessionDep` does — the exit code
    runs when the endpoint function and its serialisation return, before the response is
    sent: a failing commit becomes a 5xx and nothing is stored. Always use
    :data:`SessionDep` (the cache key includes the scope, so mixing the two forms would
    open two sessions in one request). ``tests/integration/auth/test_transaction.py`` proves
    it with a commit that fails.

Principal
    :func:`current_principal` reads ``Authorization: Bearer <token>`` or the cookie
    ``hoso_session`` (same token) and raises NotAuthenticated (401) without one;
    :func:`optional_principal` returns None instead, for web pages that redirect to sign-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from hoso.auth import service as auth_service
from hoso.auth.principal import Principal
from hoso.db.engine import unit_of_work
from hoso.errors import NotAuthenticated

SESSION_COOKIE = "hoso_session"
TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def get_session() -> Iterator[Session]:
    """One transaction per request: commit after the endpoint, roll back on any error."""
    with unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's Session; committed before the response is sent (see the module docstring)."""


def request_token(
    bearer: Annotated[str | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> str | None:
    """The sign-in token of the request: the bearer token, else the session cookie."""
    return bearer or cookie or None


def current_principal(
    session: SessionDep, token: Annotated[str | None, Depends(request_token)]
) -> Principal:
    """The signed-in principal; NotAuthenticated (401) when there is no valid token."""
    if token is None:
        raise NotAuthenticated()
    return auth_service.principal_from_token(session, token)


def optional_principal(
    session: SessionDep, token: Annotated[str | None, Depends(request_token)]
) -> Principal | None:
    """The signed-in principal, or None when not signed in or the token is no longer valid."""
    if token is None:
        return None
    try:
        return auth_service.principal_from_token(session, token)
    except NotAuthenticated:
        return None


PrincipalDep = Annotated[Principal, Depends(current_principal)]
"""The signed-in principal (401 otherwise)."""

OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
"""The signed-in principal or None (web pages)."""
