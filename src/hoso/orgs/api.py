"""JSON routes of the organisation tree: ``/api/v1/orgs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import (
    OrgPage,
    OrgTreeIn,
    OrgUnitRead,
    StaffingRead,
    UpsertResultRead,
)

router = APIRouter(prefix="/api/v1/orgs", tags=["orgs"])

MAX_PAGE = 1000


@router.get("", summary="Danh sách đơn vị / list units")
def list_units(
    session: SessionDep,
    principal: PrincipalDep,
    parent_code: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    include_ended: bool = True,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrgPage:
    """Units in the caller's scope, in tree order, with filters and paging."""
    units = orgs_service.list_(
        session,
        principal=principal,
        parent_code=parent_code,
        include_ended=include_ended,
        q=q,
        limit=limit,
        offset=offset,
    )
    total = orgs_service.count(
        session, principal=principal, parent_code=parent_code, include_ended=include_ended, q=q
    )
    return OrgPage(
        items=[OrgUnitRead.from_model(u) for u in units], total=total, limit=limit, offset=offset
    )


@router.post("/import", summary="Nhập cây tổ chức / upsert an org tree")
def import_units(body: OrgTreeIn, session: SessionDep, principal: PrincipalDep) -> UpsertResultRead:
    """Apply an ``orgtree.upsert`` body (needs ``org:write``; every unit in scope)."""
    result = orgs_service.upsert_units(session, body.units, principal=principal)
    return UpsertResultRead(
        created=result.created, updated=result.updated, unchanged=result.unchanged
    )


@router.get("/{code}", summary="Một đơn vị / one unit")
def get_unit(code: str, session: SessionDep, principal: PrincipalDep) -> OrgUnitRead:
    """One unit of the caller's scope."""
    return OrgUnitRead.from_model(orgs_service.get(session, code, principal=principal))


@router.get("/{code}/subtree", summary="Cây con / subtree")
def get_subtree(code: str, session: SessionDep, principal: PrincipalDep) -> list[OrgUnitRead]:
    """The unit and every unit below it, parents before children."""
    principal.require("org:read")
    orgs_service.require_in_scope(session, principal, code)
    return [OrgUnitRead.from_model(u) for u in orgs_service.subtree(session, code)]


@router.get("/{code}/successors", summary="Đơn vị kế thừa / successor units")
def get_successors(code: str, session: SessionDep, principal: PrincipalDep) -> list[OrgUnitRead]:
    """The units that took over an ended unit, transitively."""
    principal.require("org:read")
    orgs_service.require_in_scope(session, principal, code)
    return [OrgUnitRead.from_model(u) for u in orgs_service.successors(session, code)]


@router.get("/{code}/staffing", summary="Biên chế / staffing quota")
def get_staffing(code: str, session: SessionDep, principal: PrincipalDep) -> StaffingRead:
    """Quota of the unit and the sum over the units in force in its subtree."""
    principal.require("org:read")
    orgs_service.require_in_scope(session, principal, code)
    s = orgs_service.staffing(session, code)
    return StaffingRead(
        code=s.code,
        quota=s.quota,
        subtree_quota=s.subtree_quota,
        subtree_units=s.subtree_units,
        units_without_quota=s.units_without_quota,
    )
