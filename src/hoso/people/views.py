"""HTML pages of the people domain: the list with search, the dossier, its history and diffs.

``/ho-so``                            list: search (name without diacritics, personal ID),
                                      filters, paging; HTMX swaps only the results
``/ho-so/{id}``                       the dossier in TT 06 form order (``?ngay=`` as of a date)
``/ho-so/{id}/phien-ban/{n}``         one version
``/ho-so/{id}/lich-su``               version history
``/ho-so/{id}/so-sanh?tu=&den=``      diff between two versions

Scope and permissions are enforced by :mod:`hoso.people.service`; pages only present.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.auth.principal import Principal
from hoso.catalog.loader import get_catalog
from hoso.errors import InvalidInput, Issue
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.schemas import DossierRead
from hoso.web.deps import PageUserDep, PrincipalDep, SessionDep
from hoso.web.dossier import Names, build_parts, change_views, org_codes
from hoso.web.i18n import Locale, lang_of
from hoso.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_UNIT_OPTIONS = 500
AGENCY_KINDS = ("ministry", "central_agency", "province")
PersonalId = Annotated[str, Path(pattern=r"^[0-9]{12}$")]

SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "api": ("API", "API"),
    "import": ("Nhập từ tệp", "File import"),
    "web": ("Giao diện web", "Web form"),
    "cli": ("Dòng lệnh", "Command line"),
    "sync": ("Đồng bộ", "Sync"),
    "demo": ("Dữ liệu mẫu", "Demo data"),
}


def _labels(list_id: str, locale: Locale) -> list[tuple[str, str]]:
    codes = get_catalog().codelists[list_id].codes.values()
    return [(c.code, c.label_vi if locale.lang == "vi" else c.label_en) for c in codes]


def _label(list_id: str, code: str | None, locale: Locale) -> str:
    if not code:
        return "—"
    entry = get_catalog().codelists[list_id].get(code)
    if entry is None:
        return code
    return entry.label_vi if locale.lang == "vi" else entry.label_en


def org_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Names of the given unit codes (one query)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted)))
    return {code: name for code, name in rows}


def _depth(path: str) -> int:
    return max(path.count("/") - 2, 0)


def _filter_options(
    session: Session, principal: Principal, agency: str | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]], str | None]:
    """(agencies, units under the chosen agency or the scope, scope path) for the filters."""
    prefix = orgs_service.principal_prefix(session, principal)
    stmt = select(OrgUnit.code, OrgUnit.name).where(OrgUnit.kind.in_(AGENCY_KINDS))
    if prefix is not None:
        stmt = stmt.where(orgs_service.path_under(OrgUnit.path, prefix))
    agencies = [(code, name) for code, name in session.execute(stmt.order_by(OrgUnit.name))]
    base: str | None = None
    if agency:
        base = session.execute(select(OrgUnit.path).where(OrgUnit.code == agency)).scalar()
        if base is not None and prefix is not None and not base.startswith(prefix):
            base = None
    elif prefix is not None:
        base = prefix
    units: list[tuple[str, str, int]] = []
    if base is not None:
        top = _depth(base)
        rows = session.execute(
            select(OrgUnit.code, OrgUnit.name, OrgUnit.path)
            .where(orgs_service.path_under(OrgUnit.path, base), OrgUnit.path != base)
            .order_by(OrgUnit.path)
            .limit(MAX_UNIT_OPTIONS)
        )
        units = [(code, name, _depth(path) - top - 1) for code, name, path in rows]
    return agencies, units, prefix


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/ho-so", response_class=HTMLResponse)
def people_list(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    agency: Annotated[str | None, Query(max_length=60)] = None,
    unit: Annotated[str | None, Query(max_length=60)] = None,
    sex: Annotated[str | None, Query(max_length=2)] = None,
    employee_type: Annotated[str | None, Query(max_length=10)] = None,
    trang: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The people list: search, filters, paging, total count."""
    locale = Locale(lang_of(request))
    f = {
        "q": _clean(q),
        "agency": _clean(agency),
        "unit": _clean(unit),
        "sex": _clean(sex),
        "employee_type": _clean(employee_type),
    }
    page = people_service.list_(
        session,
        principal=principal,
        q=f["q"],
        agency=f["agency"],
        unit=f["unit"],
        sex=f["sex"],
        employee_type=f["employee_type"],
        limit=PAGE_SIZE,
        offset=(trang - 1) * PAGE_SIZE,
    )
    names = org_names(
        session, [p.employing_unit_code or p.managing_agency_code for p in page.items]
    )
    rows = [
        {
            "personal_id": p.personal_id,
            "birth_name": p.birth_name,
            "date_of_birth": p.date_of_birth,
            "sex_label": _label("sex", p.sex, locale),
            "type_label": _label("employee_type", p.employee_type_code, locale),
            "rank_label": _label("rank", p.rank_code, locale),
            "unit_name": names.get(
                p.employing_unit_code or p.managing_agency_code,
                p.employing_unit_code or p.managing_agency_code,
            ),
            "current_version": p.current_version,
        }
        for p in page.items
    ]
    agencies, units, _prefix = _filter_options(session, principal, f["agency"])
    hx = request.headers.get("HX-Request") == "true"
    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "f": f,
        "page_no": trang,
        "pages": max(1, math.ceil(page.total / PAGE_SIZE)),
        "agencies": agencies,
        "units": units,
        "sexes": _labels("sex", locale),
        "employee_types": _labels("employee_type", locale),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "oob": hx,
    }
    if hx:
        return render(request, "people/_results.html", context, user=user)
    return render(request, "people/list.html", context, user=user)


def _dossier_context(
    session: Session, dossier: DossierRead, locale: Locale, *, tab: str
) -> dict[str, Any]:
    codes = org_codes(dossier.data, dossier.managing_agency, dossier.employing_unit)
    names = Names(org=org_names(session, codes))
    return {
        "dossier": dossier,
        "tab": tab,
        "names": names,
        "agency_name": names.org.get(dossier.managing_agency, dossier.managing_agency),
        "unit_name": names.org.get(dossier.employing_unit or "", dossier.employing_unit),
        "status_label": _label("record_status", dossier.status, locale),
        "source_label": locale.t(*SOURCE_LABELS.get(dossier.source, (dossier.source,) * 2)),
    }


def _parse_day(value: str | None) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            issues=[
                Issue(
                    field="ngay",
                    code="invalid_date",
                    message_vi=f"Ngày '{value}' không hợp lệ (dạng YYYY-MM-DD)",
                    message_en=f"Date '{value}' is not valid (YYYY-MM-DD)",
                    value=value,
                )
            ]
        ) from None


def _dossier_page(
    request: Request,
    session: Session,
    user: PageUser,
    dossier: DossierRead,
    *,
    notice: str | None = None,
    as_of: dt.date | None = None,
) -> Response:
    locale = Locale(lang_of(request))
    ctx = _dossier_context(session, dossier, locale, tab="dossier")
    ctx.update(
        parts=build_parts(dossier.data, locale, ctx["names"]),
        notice=notice,
        as_of=as_of.isoformat() if as_of else None,
    )
    return render(request, "people/dossier.html", ctx, user=user)


@router.get("/ho-so/{personal_id}", response_class=HTMLResponse)
def dossier_page(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    ngay: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The current dossier, or the one in force on ``?ngay=YYYY-MM-DD``."""
    locale = Locale(lang_of(request))
    day = _parse_day(ngay)
    if day is None:
        dossier = people_service.get_by_personal_id(session, personal_id, principal=principal)
        return _dossier_page(request, session, user, dossier)
    dossier = people_service.get_as_of(session, personal_id, day, principal=principal)
    notice = locale.t(
        f"Hồ sơ tại ngày {locale.date(day)}: phiên bản {dossier.version} "
        f"(phiên bản hiện tại là {dossier.current_version}).",
        f"Dossier as of {locale.date(day)}: version {dossier.version} "
        f"(the current version is {dossier.current_version}).",
    )
    return _dossier_page(request, session, user, dossier, notice=notice, as_of=day)


@router.get("/ho-so/{personal_id}/phien-ban/{version}", response_class=HTMLResponse)
def version_page(
    request: Request,
    personal_id: PersonalId,
    version: Annotated[int, Path(ge=1)],
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
) -> Response:
    """One version of the dossier, flagged when it is not the current one."""
    locale = Locale(lang_of(request))
    dossier = people_service.get_version(session, personal_id, version, principal=principal)
    notice = None
    if dossier.version != dossier.current_version:
        notice = locale.t(
            f"Bạn đang xem phiên bản {dossier.version}, không phải phiên bản hiện tại "
            f"({dossier.current_version}).",
            f"You are viewing version {dossier.version}, not the current version "
            f"({dossier.current_version}).",
        )
    return _dossier_page(request, session, user, dossier, notice=notice)


@router.get("/ho-so/{personal_id}/lich-su", response_class=HTMLResponse)
def history_page(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
) -> Response:
    """Every version with time, author, source and hash; pick two to compare."""
    locale = Locale(lang_of(request))
    dossier = people_service.get_by_personal_id(session, personal_id, principal=principal)
    versions = people_service.list_versions(session, personal_id, principal=principal)
    ctx = _dossier_context(session, dossier, locale, tab="history")
    ctx.update(
        versions=versions,
        default_to=dossier.current_version,
        default_from=max(1, dossier.current_version - 1),
        source_labels={k: locale.t(vi, en) for k, (vi, en) in SOURCE_LABELS.items()},
        status_labels=dict(_labels("record_status", locale)),
    )
    return render(request, "people/history.html", ctx, user=user)


@router.get("/ho-so/{personal_id}/so-sanh", response_class=HTMLResponse)
def diff_page(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    tu: Annotated[int | None, Query(ge=1)] = None,
    den: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Changes between versions ``tu`` and ``den`` (default: the last change)."""
    locale = Locale(lang_of(request))
    dossier = people_service.get_by_personal_id(session, personal_id, principal=principal)
    to_version = den or dossier.current_version
    from_version = tu or max(1, to_version - 1)
    result = people_service.diff(
        session, personal_id, from_version, to_version, principal=principal
    )
    ctx = _dossier_context(session, dossier, locale, tab="diff")
    ctx.update(diff=result, changes=change_views(result.changes, locale, ctx["names"]))
    return render(request, "people/diff.html", ctx, user=user)
