"""JSON routes of the quality domain (``/api/v1/quality…``): thin wrappers over the services.

- ``GET /findings`` — current findings (§6) of an agency's subtree (``quality:read``)
- ``GET /scores`` — the §7 report of a subtree and its trend; ``?records=1`` the worst records
- ``POST /runs`` — run the rules (``quality:run``)
- ``GET /fixes``, ``GET /fixes/{id}`` — the review queue of cleaning proposals (``quality:review``)
- ``POST /fixes/propose``, ``/fixes/accept``, ``/fixes/reject`` — propose, decide (accepting
  also needs ``person:write``)

Every route runs in the request's one transaction (``hoso.auth.deps.SessionDep``) as the
signed-in principal. A principal reads only its org subtree: without ``agency`` the subtree
of its own unit, an agency outside it answers 403. Reads of findings, scores and fixes are
audited (they name people). Responses are ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.auth.principal import Principal
from hoso.errors import NotFound
from hoso.orgs import service as orgs_service
from hoso.quality import cleaning, service
from hoso.quality.models import FixStatus, QualityAgencyScore, QualityFinding, QualityRun
from hoso.quality.schemas import (
    AcceptIn,
    AcceptRead,
    FindingPage,
    FindingRead,
    FixOutcomeRead,
    FixPage,
    FixRead,
    NotEvaluatedRead,
    ProposeIn,
    ProposeRead,
    RecordScoreRead,
    RejectIn,
    RejectRead,
    RunIn,
    RunRead,
    ScoresRead,
    TrendPoint,
)
from hoso.web.problems import problem_responses

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])

NO_STORE = {"Cache-Control": "no-store"}
_READ_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
_DIMENSIONS = ("dung", "du", "sach", "song", "overall")

AgencyQuery = Annotated[
    str | None,
    Query(max_length=60, description="Cơ quan (cả cây con) / agency code (its subtree)"),
]


def _agency(session: Session, principal: Principal, agency: str | None) -> str | None:
    """The agency whose subtree is read: ``agency`` (inside the principal's scope), else the
    principal's own unit (None: everyone, national scope)."""
    if agency is None:
        return principal.scope_code
    if principal.scope_code is not None:
        orgs_service.require_in_scope(session, principal, agency)
    else:
        orgs_service.scope_path(session, agency)  # NotFound when it does not exist
    return agency


# --- findings and scores ---------------------------------------------------------------------


def _count_findings(
    session: Session,
    *,
    agency: str | None,
    rule_id: str | None,
    severity: str | None,
    personal_id: str | None,
) -> int:
    stmt = select(func.count()).select_from(QualityFinding)
    if agency is not None:
        stmt = stmt.where(
            QualityFinding.managing_agency_code.in_(service.agency_codes(session, agency))
        )
    if rule_id is not None:
        stmt = stmt.where(QualityFinding.rule_id == rule_id)
    if severity is not None:
        stmt = stmt.where(QualityFinding.severity == severity)
    if personal_id is not None:
        stmt = stmt.where(QualityFinding.personal_id == personal_id)
    return int(session.execute(stmt).scalar_one())


@router.get(
    "/findings",
    response_model=FindingPage,
    responses=_READ_ERRORS,
    summary="Phát hiện chất lượng / Quality findings",
)
def list_findings(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    agency: AgencyQuery = None,
    rule: Annotated[str | None, Query(max_length=12, description="Mã quy tắc / rule id")] = None,
    severity: Annotated[str | None, Query(pattern=r"^(error|warning)$")] = None,
    person: Annotated[
        str | None, Query(max_length=40, description="Số định danh / personal ID")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FindingPage:
    """The current findings of the subtree, filtered and paged, with the total count."""
    principal.require("quality:read")
    response.headers.update(NO_STORE)
    scope = _agency(session, principal, agency)
    rows = service.iter_findings(
        session,
        agency=scope,
        rule_id=rule,
        severity=severity,
        personal_id=person,
        limit=offset + limit,
    )
    items = [FindingRead.model_validate(r) for r in islice(rows, offset, None)]
    total = _count_findings(
        session, agency=scope, rule_id=rule, severity=severity, personal_id=person
    )
    service.audit_read(
        session, actor=principal.username, what="findings", agency=scope, count=len(items)
    )
    return FindingPage(items=items, total=total, limit=limit, offset=offset)


def _point(row: QualityAgencyScore) -> TrendPoint:
    return TrendPoint(
        run_id=row.run_id,
        profile=row.profile,
        as_of=row.as_of,
        records=row.records,
        records_passed=row.records_passed,
        **{d: getattr(row, d) for d in _DIMENSIONS},
    )


def _subtree_trend(session: Session, agency: str, limit: int) -> list[TrendPoint]:
    """The subtree's scores per run (record-weighted means of its agencies), oldest first."""
    codes = service.agency_codes(session, agency)
    run_ids = list(
        session.execute(
            select(QualityAgencyScore.run_id)
            .where(QualityAgencyScore.agency_code.in_(codes))
            .distinct()
            .order_by(QualityAgencyScore.run_id.desc())
            .limit(limit)
        ).scalars()
    )
    by_run: dict[int, list[QualityAgencyScore]] = {}
    for row in session.execute(
        select(QualityAgencyScore).where(
            QualityAgencyScore.run_id.in_(run_ids), QualityAgencyScore.agency_code.in_(codes)
        )
    ).scalars():
        by_run.setdefault(row.run_id, []).append(row)
    out: list[TrendPoint] = []
    for run_id in sorted(by_run):
        rows = by_run[run_id]
        n = sum(r.records for r in rows)

        def mean(name: str, rows: Sequence[QualityAgencyScore] = rows, n: int = n) -> float:
            if not n:
                return 100.0
            return round(sum(float(getattr(r, name)) * r.records for r in rows) / n, 1)

        out.append(
            TrendPoint(
                run_id=run_id,
                profile=rows[0].profile,
                as_of=rows[0].as_of,
                records=n,
                records_passed=sum(r.records_passed for r in rows),
                **{d: mean(d) for d in _DIMENSIONS},
            )
        )
    return out


@router.get(
    "/scores",
    response_model=ScoresRead,
    responses=_READ_ERRORS,
    summary="Điểm chất lượng và xu hướng / Quality scores and trend",
)
def get_scores(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    agency: AgencyQuery = None,
    records: Annotated[
        bool, Query(description="Kèm các hồ sơ kém nhất / with the worst records")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500, description="Số hồ sơ / records listed")] = 30,
    trend: Annotated[int, Query(ge=1, le=100, description="Số lần chạy / runs in the trend")] = 12,
) -> ScoresRead:
    """The §7 report of the subtree (everyone for national scope) after the latest run."""
    principal.require("quality:read")
    response.headers.update(NO_STORE)
    scope = _agency(session, principal, agency)
    latest = session.execute(select(func.max(QualityAgencyScore.run_id))).scalar()
    run = session.get(QualityRun, latest) if latest is not None else None
    if run is None:
        raise NotFound(
            message_vi="Chưa có lần kiểm tra chất lượng nào: hãy chạy kiểm tra trước",
            message_en="No quality run yet: run the checks first",
        )
    if scope is None:
        everyone = session.execute(
            select(QualityAgencyScore).where(
                QualityAgencyScore.run_id == run.id, QualityAgencyScore.agency_code == service.ALL
            )
        ).scalar_one()
        report = everyone.report
        points = [_point(r) for r in service.trend(session, None, limit=trend)]
    else:
        report = service.subtree_report(session, scope, run)
        points = _subtree_trend(session, scope, trend)
    worst = None
    if records:
        worst = [
            RecordScoreRead.model_validate(r)
            for r in service.record_scores(session, agency=scope, limit=limit)
        ]
    service.audit_read(
        session,
        actor=principal.username,
        what="scores",
        agency=scope,
        count=len(worst) if worst is not None else 0,
    )
    return ScoresRead(run_id=run.id, report=report, trend=points, records=worst)


@router.post(
    "/runs",
    status_code=201,
    response_model=RunRead,
    responses=_WRITE_ERRORS,
    summary="Chạy kiểm tra chất lượng / Run the quality checks",
)
def start_run(
    body: RunIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> RunRead:
    """Check what needs checking (incremental unless ``full``) in the subtree."""
    principal.require("quality:run")
    response.headers.update(NO_STORE)
    scope = _agency(session, principal, body.agency)
    summary = service.run(
        session,
        actor=principal.username,
        profile=body.profile,
        as_of=body.as_of,
        agency=scope,
        full=body.full,
    )
    return RunRead(
        run_id=summary.run_id,
        kind=summary.kind,
        profile=summary.profile,
        as_of=summary.as_of,
        records_checked=summary.records_checked,
        records_rescored=summary.records_rescored,
        findings=summary.findings,
        rules_rerun=summary.rules_rerun,
        not_evaluated=[NotEvaluatedRead(**ne.as_dict()) for ne in summary.not_evaluated],
        timings=summary.timings,
    )


# --- fixes ----------------------------------------------------------------------------------


@router.get(
    "/fixes",
    response_model=FixPage,
    responses=_READ_ERRORS,
    summary="Đề xuất làm sạch / Cleaning proposals",
)
def list_fixes(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    agency: AgencyQuery = None,
    status: Annotated[
        str,
        Query(
            description="proposed | accepted | rejected | superseded | all",
            pattern=r"^(proposed|accepted|rejected|superseded|all)$",
        ),
    ] = FixStatus.PROPOSED,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FixPage:
    """The fixes of the subtree (the review queue by default), oldest first."""
    response.headers.update(NO_STORE)
    wanted = None if status == "all" else status
    items = cleaning.list_fixes(
        session, principal=principal, agency=agency, status=wanted, limit=limit, offset=offset
    )
    total = cleaning.count_fixes(session, principal=principal, agency=agency, status=wanted)
    service.audit_read(
        session,
        actor=principal.username,
        what="fixes",
        agency=agency or principal.scope_code,
        count=len(items),
    )
    return FixPage(
        items=[FixRead.model_validate(f) for f in items], total=total, limit=limit, offset=offset
    )


@router.get(
    "/fixes/{fix_id}",
    response_model=FixRead,
    responses=_READ_ERRORS,
    summary="Một đề xuất làm sạch / One cleaning proposal",
)
def get_fix(
    fix_id: Annotated[int, Path(ge=1)],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> FixRead:
    """One fix with its changes (404 outside the caller's scope)."""
    response.headers.update(NO_STORE)
    fix = cleaning.get_fix(session, fix_id, principal=principal)
    service.audit_read(
        session, actor=principal.username, what="fixes", agency=fix.managing_agency_code, count=1
    )
    return FixRead.model_validate(fix)


@router.post(
    "/fixes/propose",
    response_model=ProposeRead,
    responses=_WRITE_ERRORS,
    summary="Đề xuất làm sạch từ các phát hiện / Propose fixes from the findings",
)
def propose(
    body: ProposeIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> ProposeRead:
    """One proposal per person from the current findings of the cleaning rules."""
    response.headers.update(NO_STORE)
    report = cleaning.propose(session, principal=principal, agency=body.agency, rules=body.rules)
    return ProposeRead(
        created=report.created,
        skipped=report.skipped,
        superseded=report.superseded,
        manual=report.manual,
        fix_ids=report.fix_ids,
    )


@router.post(
    "/fixes/accept",
    response_model=AcceptRead,
    responses=_WRITE_ERRORS,
    summary="Chấp nhận đề xuất / Accept fixes",
)
def accept(
    body: AcceptIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> AcceptRead:
    """Accept fixes (each a new draft version); one outcome per id, failures included."""
    response.headers.update(NO_STORE)
    outcomes = cleaning.accept(session, body.ids, principal=principal, choices=body.choices)
    return AcceptRead(
        accepted=sum(o.status == "accepted" for o in outcomes),
        outcomes=[
            FixOutcomeRead(
                fix_id=o.fix_id,
                status=o.status,
                new_version=o.new_version,
                message_vi=o.message_vi,
                message_en=o.message_en,
            )
            for o in outcomes
        ],
    )


@router.post(
    "/fixes/reject",
    response_model=RejectRead,
    responses=_WRITE_ERRORS,
    summary="Từ chối đề xuất / Reject fixes",
)
def reject(
    body: RejectIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> RejectRead:
    """Reject fixes with a reason (all or nothing)."""
    response.headers.update(NO_STORE)
    n = cleaning.reject(session, body.ids, principal=principal, reason=body.reason)
    return RejectRead(rejected=n)
