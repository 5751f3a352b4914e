"""JSON routes of the approval workflow: thin wrappers over :mod:`hoso.approval.service`.

- ``POST /api/v1/people/{personal_id}/versions/{version}/submit`` — DRAFT → SUBMITTED
- ``POST /api/v1/people/{personal_id}/versions/{version}/return`` — back to DRAFT, with a reason
- ``POST /api/v1/people/{personal_id}/versions/{version}/verify`` — SUBMITTED → VERIFIED
- ``GET /api/v1/approvals/pending`` — the approver's queue (VERIFIED by default)
- ``POST /api/v1/approvals`` — bulk approval: a JSON array of ``ApprovalIn``, each with the
  official's own detached JWS over the content hash; 200 with one result per item

Each route runs in the request's one transaction (``hoso.auth.deps.SessionDep``) as the
signed-in principal; errors are RFC 9457 problem+json through the HosoError handler.
Approval signatures are checked against ``HOSO_TRUST_ANCHORS`` (and ``HOSO_REVOKED_FILE``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response

from hoso.approval import service as approval_service
from hoso.approval.schemas import ApprovalIn, ApprovalReport, PendingPage, ReturnIn, VersionState
from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.config import Settings, get_settings
from hoso.people.models import VersionStatus
from hoso.web.problems import problem_responses

router = APIRouter(prefix="/api/v1", tags=["approval"])

PersonalId = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{12}$",
        description="Số định danh cá nhân, 12 chữ số / 12-digit personal ID",
        examples=["001085012345"],
    ),
]
VersionNo = Annotated[int, Path(ge=1, description="Phiên bản / version")]
NO_STORE = {"Cache-Control": "no-store"}
MAX_BULK = 10_000
_STEP_ERRORS = problem_responses(401, 403, 404, 409, 422)


def _settings(request: Request) -> Settings:
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


@router.post(
    "/people/{personal_id}/versions/{version}/submit",
    response_model=VersionState,
    responses=_STEP_ERRORS,
    summary="Trình phiên bản / Submit a version",
)
def submit(
    personal_id: PersonalId,
    version: VersionNo,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> VersionState:
    """Submit a draft version for verification."""
    response.headers.update(NO_STORE)
    return approval_service.submit(
        session, personal_id=personal_id, version=version, principal=principal
    )


@router.post(
    "/people/{personal_id}/versions/{version}/return",
    response_model=VersionState,
    responses=_STEP_ERRORS,
    summary="Trả lại phiên bản / Return a version to its author",
)
def return_to_draft(
    personal_id: PersonalId,
    version: VersionNo,
    body: ReturnIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> VersionState:
    """Send a submitted or verified version back to draft, with a reason."""
    response.headers.update(NO_STORE)
    return approval_service.return_to_draft(
        session, personal_id=personal_id, version=version, reason=body.reason, principal=principal
    )


@router.post(
    "/people/{personal_id}/versions/{version}/verify",
    response_model=VersionState,
    responses=_STEP_ERRORS,
    summary="Thẩm định phiên bản / Verify a version",
)
def verify(
    personal_id: PersonalId,
    version: VersionNo,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> VersionState:
    """Verify a submitted version (the stored document is checked again)."""
    response.headers.update(NO_STORE)
    return approval_service.verify(
        session,
        personal_id=personal_id,
        version=version,
        principal=principal,
        settings=_settings(request),
    )


@router.get(
    "/approvals/pending",
    response_model=PendingPage,
    responses=problem_responses(401, 403, 422),
    summary="Hồ sơ chờ phê duyệt / Approval queue",
)
def list_pending(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    status: Annotated[
        str,
        Query(
            max_length=20,
            description="Trạng thái (mặc định VERIFIED: chờ ký) / status (default VERIFIED)",
        ),
    ] = VersionStatus.VERIFIED,
    agency: Annotated[
        str | None, Query(max_length=60, description="Cơ quan quản lý / managing agency code")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PendingPage:
    """Current versions in the caller's scope waiting in ``status``, by personal ID."""
    response.headers.update(NO_STORE)
    return approval_service.list_pending(
        session, principal=principal, status=status, agency=agency, limit=limit, offset=offset
    )


@router.post(
    "/approvals",
    response_model=ApprovalReport,
    responses=problem_responses(401, 403, 422),
    summary="Phê duyệt bằng chữ ký số / Approve with digital signatures",
)
def approve(
    items: Annotated[list[ApprovalIn], Body(min_length=1, max_length=MAX_BULK)],
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> ApprovalReport:
    """Approve versions, each with the official's own signature; one result per item.

    An item that fails (stale hash, wrong status, invalid signature …) is refused on its
    own; the others are approved in the same transaction.
    """
    response.headers.update(NO_STORE)
    principal.require("person:approve")
    settings = _settings(request)
    return approval_service.approve(
        session,
        items=items,
        principal=principal,
        trust=approval_service.trust_from_settings(settings),
        settings=settings,
    )
