"""JSON routes of the people domain (``/api/v1/people…``): thin wrappers over the service.

Every route runs in the request's one transaction (``hoso.auth.deps.SessionDep``, closed
before the response is sent, so a failed commit is a 500) as the
signed-in principal; scope and permissions are checked by :mod:`hoso.people.service`.
A dossier outside the caller's scope answers 404 exactly like one that does not exist, so
that the API does not reveal who is on file elsewhere; a role that may not write answers 403.

Dossier responses carry ``ETag: "<version>"``; ``PUT`` takes it back in ``If-Match`` (or
``?expected_version=``) and answers 409 ``version_conflict`` when it is stale. Responses are
``Cache-Control: no-store`` (personal data).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Query, Response

from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.errors import InvalidInput, Issue
from hoso.people import service as people_service
from hoso.people import xlsx as xlsx_format
from hoso.people.schemas import (
    DiffRead,
    DossierRead,
    PersonPage,
    PersonWrite,
    PostRead,
    VersionMeta,
)
from hoso.web.problems import problem_responses

router = APIRouter(prefix="/api/v1/people", tags=["people"])

PersonalId = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{12}$",
        description="Số định danh cá nhân, 12 chữ số / 12-digit personal ID",
        examples=["001085012345"],
    ),
]

JSON = "application/json"
NO_STORE = {"Cache-Control": "no-store"}
_READ_ERRORS = problem_responses(401, 403, 404, 422)
_ETAG_RE = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def _dossier_response(
    dossier: DossierRead, *, status_code: int = 200, location: str | None = None
) -> Response:
    """Serialise a dossier straight to bytes (pydantic-core) with its ETag."""
    headers = {"ETag": f'"{dossier.version}"', **NO_STORE}
    if location is not None:
        headers["Location"] = location
    return Response(
        content=dossier.model_dump_json(), status_code=status_code, media_type=JSON, headers=headers
    )


@router.get(
    "",
    response_model=PersonPage,
    responses=problem_responses(401, 403, 422),
    summary="Danh sách hồ sơ / List dossiers",
)
def list_people(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Tên không dấu hoặc đầu số định danh / name without diacritics or "
            "personal-ID prefix",
        ),
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=60, description="Cơ quan quản lý / managing agency code")
    ] = None,
    unit: Annotated[
        str | None,
        Query(
            max_length=60, description="Đơn vị sử dụng (cả cây con) / employing unit (its subtree)"
        ),
    ] = None,
    sex: Annotated[str | None, Query(max_length=2)] = None,
    employee_type: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[
        str | None, Query(max_length=30, description="Trạng thái công tác / employment status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PersonPage:
    """People in the caller's scope, filtered and paged, with the total count."""
    response.headers.update(NO_STORE)
    return people_service.list_(
        session,
        principal=principal,
        q=q,
        agency=agency,
        unit=unit,
        sex=sex,
        employee_type=employee_type,
        status=status,
        limit=limit,
        offset=offset,
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}, **problem_responses(401)},
    summary="Tệp mẫu nhập hồ sơ (XLSX) / XLSX import template",
)
def import_template(principal: PrincipalDep) -> Response:
    """The XLSX import template: every sheet with field codes and Vietnamese labels."""
    buf = io.BytesIO()
    xlsx_format.write_template(buf)
    return Response(
        content=buf.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="mau_nhap_ho_so.xlsx"'},
    )


@router.get(
    "/{personal_id}",
    response_model=DossierRead,
    responses=_READ_ERRORS,
    summary="Hồ sơ hiện tại / Current dossier",
)
def get_person(
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    as_of: Annotated[
        dt.date | None,
        Query(description="Hồ sơ tại ngày / the dossier as of this date (Vietnam time)"),
    ] = None,
) -> Response:
    """The current version of a dossier (or the version current on ``as_of``)."""
    if as_of is not None:
        return _dossier_response(
            people_service.get_as_of(session, personal_id, as_of, principal=principal)
        )
    return _dossier_response(
        people_service.get_by_personal_id(session, personal_id, principal=principal)
    )


@router.get(
    "/{personal_id}/versions",
    response_model=list[VersionMeta],
    responses=_READ_ERRORS,
    summary="Các phiên bản / Versions",
)
def list_versions(
    personal_id: PersonalId, session: SessionDep, principal: PrincipalDep, response: Response
) -> list[VersionMeta]:
    """Every version's metadata, newest first."""
    response.headers.update(NO_STORE)
    return people_service.list_versions(session, personal_id, principal=principal)


@router.get(
    "/{personal_id}/versions/{version}",
    response_model=DossierRead,
    responses=_READ_ERRORS,
    summary="Một phiên bản / One version",
)
def get_version(
    personal_id: PersonalId,
    version: Annotated[int, Path(ge=1)],
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """One version of a dossier."""
    return _dossier_response(
        people_service.get_version(session, personal_id, version, principal=principal)
    )


@router.get(
    "/{personal_id}/as-of/{day}",
    response_model=DossierRead,
    responses=_READ_ERRORS,
    summary="Hồ sơ tại ngày / Dossier as of a date",
)
def get_as_of(
    personal_id: PersonalId,
    day: Annotated[dt.date, Path(description="YYYY-MM-DD (giờ Việt Nam / Vietnam time)")],
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """The version that was current at the end of ``day``."""
    return _dossier_response(
        people_service.get_as_of(session, personal_id, day, principal=principal)
    )


@router.get(
    "/{personal_id}/diff",
    response_model=DiffRead,
    responses=_READ_ERRORS,
    summary="So sánh hai phiên bản / Diff two versions",
)
def diff_versions(
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> DiffRead:
    """Field-level changes from version ``from`` to version ``to``."""
    response.headers.update(NO_STORE)
    return people_service.diff(session, personal_id, from_version, to_version, principal=principal)


@router.get(
    "/{personal_id}/posts",
    response_model=list[PostRead],
    responses=_READ_ERRORS,
    summary="Chức vụ, kiêm nhiệm / Posts",
)
def list_posts(
    personal_id: PersonalId, session: SessionDep, principal: PrincipalDep, response: Response
) -> list[PostRead]:
    """The primary post and the concurrent posts (kiêm nhiệm)."""
    response.headers.update(NO_STORE)
    return people_service.list_posts(session, personal_id, principal=principal)


@router.post(
    "",
    status_code=201,
    response_model=DossierRead,
    responses=problem_responses(401, 403, 409, 422),
    summary="Tạo hồ sơ / Create a dossier",
)
def create_person(
    person_in: Annotated[PersonWrite, Body()],
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Create a dossier (version 1); 201 with ``Location`` and ``ETag``."""
    dossier = people_service.create(session, person_in, principal=principal, source="api")
    return _dossier_response(
        dossier, status_code=201, location=f"{router.prefix}/{dossier.personal_id}"
    )


def _expected_version(if_match: str | None, expected_version: int | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return expected_version
    m = _ETAG_RE.match(if_match)
    if m is None:
        raise InvalidInput(
            issues=[
                Issue(
                    field="If-Match",
                    code="invalid_if_match",
                    message_vi='Tiêu đề If-Match phải là số phiên bản trong dấu nháy, ví dụ "3"',
                    message_en='The If-Match header must be a quoted version number, e.g. "3"',
                    value=if_match,
                )
            ]
        )
    version = int(m[1])
    if expected_version is not None and expected_version != version:
        raise InvalidInput(
            issues=[
                Issue(
                    field="expected_version",
                    code="mismatch",
                    message_vi=f"If-Match ({version}) khác expected_version ({expected_version})",
                    message_en=f"If-Match ({version}) differs from expected_version ({expected_version})",
                    value=expected_version,
                )
            ]
        )
    return version


@router.put(
    "/{personal_id}",
    response_model=DossierRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Cập nhật hồ sơ / Update a dossier",
)
def update_person(
    personal_id: PersonalId,
    person_in: Annotated[PersonWrite, Body()],
    session: SessionDep,
    principal: PrincipalDep,
    if_match: Annotated[
        str | None, Header(description='Phiên bản đang sửa / version being edited, e.g. "3"')
    ] = None,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Replace the document, making a new version (none when nothing changed)."""
    dossier = people_service.update(
        session,
        personal_id,
        person_in,
        principal=principal,
        expected_version=_expected_version(if_match, expected_version),
        source="api",
    )
    return _dossier_response(dossier)
