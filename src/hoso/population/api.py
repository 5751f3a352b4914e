"""JSON routes of population-registry results (``/api/v1/population…``): thin wrappers over
:mod:`hoso.population.review`.

- ``GET /results`` — the results of an agency's subtree, filtered by ``outcome``,
  ``decision``, ``kind`` (review kind) and paged (``population:read``)
- ``GET /results/{personal_id}`` — one result with the corrections proposed from it
- ``POST /results/{personal_id}/decision`` — confirm or reject one result
  (``population:review``)
- ``POST /decisions`` — the same decision on many results; one outcome per ID
- ``POST /corrections`` — propose the registry's values as corrections to the managing
  agencies (``population:review`` and ``person:write``)

Every route runs in the request's one transaction as the signed-in principal and stays in its
org subtree (an agency outside it answers 403, a person outside it 404). Errors are RFC 9457
problem+json, Vietnamese with English (:mod:`hoso.web.problems`). Reads name people and hold
registry values: they are audited (``population:results:read``, ``population:result:read``).
Responses are ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.errors import NotFound
from hoso.people.models import Person
from hoso.population import review
from hoso.population.models import Decision, PopulationMatch
from hoso.population.schemas import (
    BulkDecisionIn,
    BulkDecisionRead,
    CorrectionStatusRead,
    DecisionIn,
    DecisionOutcomeRead,
    ProposeIn,
    ProposeRead,
    ResultPage,
    ResultRead,
)
from hoso.web.problems import problem_responses

router = APIRouter(prefix="/api/v1/population", tags=["population"])

NO_STORE = {"Cache-Control": "no-store"}
_READ_ERRORS = problem_responses(401, 403, 404, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

PersonalIdPath = Annotated[str, Path(pattern=r"^[0-9]{12}$", description="Số định danh")]
AgencyQuery = Annotated[
    str | None,
    Query(max_length=60, description="Cơ quan (cả cây con) / agency code (its subtree)"),
]


def _hashes(session: Session, matches: Sequence[PopulationMatch]) -> dict[int, str]:
    ids = [m.person_id for m in matches]
    if not ids:
        return {}
    rows = session.execute(select(Person.id, Person.current_content_hash).where(Person.id.in_(ids)))
    return {pid: h for pid, h in rows}


def _read(
    match: PopulationMatch,
    hashes: dict[int, str],
    corrections: list[review.CorrectionStatus] | None = None,
) -> ResultRead:
    out = ResultRead.model_validate(match)
    out.review_kind = review.review_kind(match)
    out.stale = hashes.get(match.person_id) != match.content_hash
    if corrections is not None:
        out.corrections = [
            CorrectionStatusRead(
                correction_id=c.correction_id,
                field=c.field,
                current_value=c.current_value,
                proposed_value=c.proposed_value,
                status=c.status,
                national_status=c.national_status,
                agency_status=c.agency_status,
                reason=c.reason,
                created_at=c.created_at,
                resolved_at=c.resolved_at,
            )
            for c in corrections
        ]
    return out


@router.get(
    "/results",
    response_model=ResultPage,
    responses=_READ_ERRORS,
    summary="Kết quả đối chiếu CSDLQG về dân cư / Population-registry results",
)
def list_results(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    agency: AgencyQuery = None,
    outcome: Annotated[
        str | None,
        Query(pattern=r"^(matched|potential_match|conflict|not_found)$", description="Kết quả"),
    ] = None,
    decision: Annotated[
        str | None, Query(pattern=r"^(pending|confirmed|rejected)$", description="Quyết định")
    ] = None,
    kind: Annotated[
        str | None,
        Query(
            pattern=r"^(potential_match|conflict|differences)$",
            description="Loại cần duyệt / review kind",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ResultPage:
    """The results of the subtree in person order, with the total count."""
    response.headers.update(NO_STORE)
    filters = {"agency": agency, "outcome": outcome, "decision": decision, "kind": kind}
    items = review.list_results(session, principal=principal, limit=limit, offset=offset, **filters)
    total = review.count_results(session, principal=principal, **filters)
    review.audit_read(
        session,
        actor=principal.username,
        what="results",
        agency=agency or principal.scope_code,
        count=len(items),
    )
    hashes = _hashes(session, items)
    return ResultPage(
        items=[_read(m, hashes) for m in items], total=total, limit=limit, offset=offset
    )


@router.get(
    "/results/{personal_id}",
    response_model=ResultRead,
    responses=_READ_ERRORS,
    summary="Kết quả đối chiếu của một hồ sơ / One result",
)
def get_result(
    personal_id: PersonalIdPath,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> ResultRead:
    """One result with its differences, candidates and the corrections proposed from it."""
    response.headers.update(NO_STORE)
    match = review.get_by_personal_id(session, personal_id, principal=principal)
    found = review.corrections_of(session, match, principal=principal)
    review.audit_read(
        session,
        actor=principal.username,
        what="result",
        agency=match.managing_agency_code,
        count=1,
        personal_id=match.personal_id,
    )
    return _read(match, _hashes(session, [match]), found)


@router.post(
    "/results/{personal_id}/decision",
    response_model=ResultRead,
    responses=_WRITE_ERRORS,
    summary="Xác nhận / từ chối một kết quả / Decide one result",
)
def decide(
    personal_id: PersonalIdPath,
    body: DecisionIn,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> ResultRead:
    """Confirm (a potential match: ``candidate_personal_id``) or reject with a reason; 409
    when the dossier changed since the match or the result was already decided."""
    response.headers.update(NO_STORE)
    principal.require("population:review")
    match = review.get_by_personal_id(session, personal_id, principal=principal)
    decided = review.decide(
        session,
        match.person_id,
        principal=principal,
        decision=body.decision,
        reason=body.reason,
        candidate_personal_id=body.candidate_personal_id,
        propose=body.propose_corrections,
    )
    found = review.corrections_of(session, decided, principal=principal)
    return _read(decided, _hashes(session, [decided]), found)


@router.post(
    "/decisions",
    response_model=BulkDecisionRead,
    responses=_WRITE_ERRORS,
    summary="Quyết định hàng loạt / Decide many results",
)
def decide_many(
    body: BulkDecisionIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> BulkDecisionRead:
    """The same decision on each result; refusals (stale, decided, not found) are listed."""
    response.headers.update(NO_STORE)
    principal.require("population:review")
    ids: dict[str, int] = {}
    missing: dict[str, DecisionOutcomeRead] = {}
    for pid in dict.fromkeys(body.personal_ids):
        try:
            ids[pid] = review.get_by_personal_id(session, pid, principal=principal).person_id
        except NotFound as exc:
            missing[pid] = DecisionOutcomeRead(
                personal_id=pid,
                status="not_found",
                message_vi=exc.message_vi,
                message_en=exc.message_en,
            )
    done: dict[str, DecisionOutcomeRead] = {}
    if ids:
        for o in review.decide_many(
            session,
            list(ids.values()),
            principal=principal,
            decision=body.decision,
            reason=body.reason,
            propose=body.propose_corrections,
        ):
            done[o.personal_id] = DecisionOutcomeRead(
                personal_id=o.personal_id,
                status=o.status,
                message_vi=o.message_vi,
                message_en=o.message_en,
                corrections_proposed=o.corrections_proposed,
            )
    outcomes = [done.get(pid) or missing[pid] for pid in dict.fromkeys(body.personal_ids)]
    decided = sum(o.status in (Decision.CONFIRMED, Decision.REJECTED) for o in outcomes)
    return BulkDecisionRead(decided=decided, outcomes=outcomes)


@router.post(
    "/corrections",
    response_model=ProposeRead,
    responses=_WRITE_ERRORS,
    summary="Đề xuất đính chính theo CSDLQG về dân cư / Propose the registry's values",
)
def propose_corrections(
    body: ProposeIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> ProposeRead:
    """Propose the differing registry-mastered values of the matched (or confirmed) results
    to the managing agencies; a value already proposed is not proposed again."""
    response.headers.update(NO_STORE)
    principal.require("population:review")
    person_ids = None
    if body.personal_ids is not None:
        person_ids = [
            review.get_by_personal_id(session, pid, principal=principal).person_id
            for pid in dict.fromkeys(body.personal_ids)
        ]
    report = review.propose_corrections_report(
        session, principal=principal, person_ids=person_ids, agency=body.agency
    )
    return ProposeRead(
        proposed=report.proposed,
        people=report.people,
        skipped_stale=report.skipped_stale,
        skipped_unsynced=report.skipped_unsynced,
        skipped_duplicate=report.skipped_duplicate,
        correction_ids=report.correction_ids,
    )
