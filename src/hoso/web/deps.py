"""Dependencies of the HTML pages: the request's session, the principal and the header's user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.auth.deps import OptionalPrincipalDep, PrincipalDep, SessionDep
from hoso.auth.models import User
from hoso.auth.principal import ROLES, Principal
from hoso.orgs.models import OrgUnit
from hoso.web.templating import PageUser

__all__ = ["OptionalPrincipalDep", "PageUserDep", "PrincipalDep", "SessionDep", "page_user"]


def page_user_for(session: Session, principal: Principal) -> PageUser:
    """Name, role label and unit of the signed-in principal, for the page header."""
    full_name = principal.username
    if principal.user_id is not None:
        found = session.execute(select(User.full_name).where(User.id == principal.user_id)).scalar()
        full_name = found or full_name
    unit_name = None
    if principal.scope_code is not None:
        unit_name = session.execute(
            select(OrgUnit.name).where(OrgUnit.code == principal.scope_code)
        ).scalar()
    role_vi, role_en = ROLES.get(principal.role, (principal.role, principal.role))
    return PageUser(
        username=principal.username,
        full_name=full_name,
        role=principal.role,
        role_vi=role_vi,
        role_en=role_en,
        unit_code=principal.scope_code,
        unit_name=unit_name or (principal.scope_code if principal.scope_code else None),
    )


def page_user(session: SessionDep, principal: PrincipalDep) -> PageUser:
    """The header's user; redirects to sign-in (via NotAuthenticated) when nobody is."""
    return page_user_for(session, principal)


PageUserDep = Annotated[PageUser, Depends(page_user)]
