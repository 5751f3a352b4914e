"""Review of the registry results by officers, and the sync back of corrections (issue 5 §3–4).

What an officer reviews
-----------------------
A result (:class:`~hoso.population.models.PopulationMatch`, one per person) needs a person's
decision when it is of one of three *kinds* (:func:`review_kind`):

=================  ================================================================================
``potential_match``  not found by ID; probabilistic candidates. **Confirm** one candidate (the
                     result becomes ``matched`` with that registry record, its values and the
                     differences recomputed) or **reject** them all (not the same person; a
                     reason is required).
``conflict``         found by ID but an identity field differs or the registry lists the person
                     as deceased. **Confirm**: the registry is right (its values are proposed as
                     corrections); **reject** with a reason: the dossier is right (a registry
                     error to report).
``differences``      matched, but registry-mastered fields differ. Confirm / reject as for a
                     conflict.
=================  ================================================================================

``not_found`` results and matches without differences have nothing to decide. A decision is
refused (:class:`~hoso.errors.Conflict`, code ``stale_result``) when the dossier changed
since it was matched (its current content hash is not the one compared): the next run
compares the new version. A decided result is not decided again (code ``already_decided``).

Sync back
---------
:func:`propose_corrections` turns the differing registry-mastered fields of the results that
hold the registry's values as right — ``matched`` ones not rejected, ``conflict`` ones
confirmed — into :class:`hoso.exchange.corrections.CorrectionIn` items (source
``population_registry``, reason code ``population_mismatch``, the registry value, the time
of the match and the registry's number as evidence) proposed through
:func:`hoso.exchange.corrections.propose`, which queues them for the managing agency's node.
A (person, field, value) already proposed — in any status — is never proposed again; the
personal number itself (``personal_id``, ``record_id``) is not a correction (a number is
changed by its own procedure). A person whose approved record the national store does not
hold yet, or whose agency has no known node, is skipped and counted. The agency then accepts
(a new DRAFT version) or rejects with a reason (:func:`hoso.exchange.corrections.resolve`);
:func:`corrections_of` shows the status on both sides.

Scope and audit
---------------
A principal sees and decides the results of the managing agencies in its org subtree
(``population:read`` to read, ``population:review`` to decide and propose); a result outside
it is reported as not found, an agency outside it is refused. Services never commit. Every
decision writes one audit event (``population:match:confirm`` / ``population:match:reject``),
every person whose corrections were proposed one ``population:correction:propose`` (beside
the ``national:correction:propose`` of each correction); :func:`audit_read` records reads
of personal data (``population:<what>:read``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.catalog.loader import get_catalog
from hoso.db.base import utcnow
from hoso.errors import Conflict, HosoError, InvalidInput, Issue, NotFound
from hoso.exchange import corrections
from hoso.exchange.models import Correction, NationalPerson
from hoso.orgs import service as orgs_service
from hoso.people.models import Person, PersonVersion
from hoso.population import matching
from hoso.population.models import Decision, Outcome, PopulationMatch, PopulationRun

__all__ = [
    "IDENTIFIER_FIELDS",
    "KINDS",
    "REASON_CODE",
    "SOURCE",
    "AgencyCounts",
    "CorrectionStatus",
    "DecisionOutcome",
    "ProposeReport",
    "audit_read",
    "corrections_of",
    "count_results",
    "count_review",
    "decide",
    "decide_many",
    "get_by_personal_id",
    "get_result",
    "is_stale",
    "latest_run",
    "list_results",
    "list_review",
    "mastered_fields",
    "outcome_counts",
    "proposable_values",
    "propose_corrections",
    "propose_corrections_report",
    "review_kind",
]

KIND_POTENTIAL = "potential_match"
KIND_CONFLICT = "conflict"
KIND_DIFFERENCES = "differences"
KINDS = (KIND_POTENTIAL, KIND_CONFLICT, KIND_DIFFERENCES)
"""The kinds of results an officer decides (see the module docstring)."""
SOURCE = "population_registry"
REASON_CODE = "population_mismatch"
IDENTIFIER_FIELDS = frozenset({"personal_id", "record_id"})
"""Registry-mastered fields never proposed as a correction (a number has its own procedure)."""
MAX_BULK = 1000
"""At most this many results per bulk decision."""
REASON_MAX = 2000


# --- registry-mastered fields and comparison ---------------------------------------------------


@lru_cache
def mastered_fields() -> tuple[str, ...]:
    """The catalogue's scalar fields with ``master: population_registry``, in form order."""
    return tuple(
        f.code
        for f in get_catalog().fields
        if f.master == "population_registry" and not f.is_table and not f.table
    )


# --- kinds, staleness -----------------------------------------------------------------------


def review_kind(match: PopulationMatch) -> str | None:
    """What an officer decides on this result (one of :data:`KINDS`), None when nothing."""
    if match.outcome == Outcome.POTENTIAL:
        return KIND_POTENTIAL
    if match.outcome == Outcome.CONFLICT:
        return KIND_CONFLICT
    if match.outcome == Outcome.MATCHED and match.differences:
        return KIND_DIFFERENCES
    return None


def is_stale(match: PopulationMatch, person: Person | None) -> bool:
    """True when the dossier changed since it was matched (or no longer exists)."""
    return person is None or person.current_content_hash != match.content_hash


def _kind_condition(kind: str) -> ColumnElement[bool]:
    if kind == KIND_POTENTIAL:
        return PopulationMatch.outcome == Outcome.POTENTIAL
    if kind == KIND_CONFLICT:
        return PopulationMatch.outcome == Outcome.CONFLICT
    # a JSON array as text is "[]" when empty on both backends
    return and_(
        PopulationMatch.outcome == Outcome.MATCHED,
        PopulationMatch.differences.is_not(None),
        cast(PopulationMatch.differences, String) != "[]",
    )


# --- scope ------------------------------------------------------------------------------------


def _scope_condition(
    session: Session,
    principal: Principal,
    agency: str | None,
    column: InstrumentedAttribute[str],
) -> ColumnElement[bool] | None:
    """``column`` (a managing-agency code) in the subtree of ``agency`` (which must lie in
    the principal's scope) or of the principal's scope; None for everything."""
    if agency is not None:
        if principal.scope_code is not None:
            orgs_service.require_in_scope(session, principal, agency)
        path: str | None = orgs_service.scope_path(session, agency)
    else:
        path = orgs_service.principal_prefix(session, principal)
    if path is None:
        return None
    return column.in_(orgs_service.codes_in_subtree_select(path))


def _invalid(field_name: str, code: str, vi: str, en: str, value: Any = None) -> InvalidInput:
    return InvalidInput(
        message_vi=vi,
        message_en=en,
        issues=[Issue(field=field_name, code=code, message_vi=vi, message_en=en, value=value)],
    )


def _check_choice(name: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise _invalid(
            name,
            "invalid_choice",
            f"Giá trị '{value}' của '{name}' không hợp lệ ({', '.join(allowed)})",
            f"'{value}' is not a valid '{name}' ({', '.join(allowed)})",
            value,
        )


def _filters(
    session: Session,
    principal: Principal,
    *,
    agency: str | None,
    kind: str | None,
    outcome: str | None,
    decision: str | None,
    reviewable: bool,
) -> list[ColumnElement[bool]]:
    principal.require("population:read")
    _check_choice("kind", kind, KINDS)
    _check_choice("outcome", outcome, Outcome.ALL)
    _check_choice("decision", decision, Decision.ALL)
    where: list[ColumnElement[bool]] = []
    scope = _scope_condition(session, principal, agency, PopulationMatch.managing_agency_code)
    if scope is not None:
        where.append(scope)
    if kind is not None:
        where.append(_kind_condition(kind))
    elif reviewable:
        where.append(or_(*(_kind_condition(k) for k in KINDS)))
    if outcome is not None:
        where.append(PopulationMatch.outcome == outcome)
    if decision is not None:
        where.append(PopulationMatch.decision == decision)
    return where


# --- reading ----------------------------------------------------------------------------------


def _page(
    session: Session, where: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> list[PopulationMatch]:
    """One page of the results matching ``where``, in person order."""
    stmt = (
        select(PopulationMatch)
        .where(*where)
        .order_by(PopulationMatch.person_id)
        .limit(max(1, limit))
        .offset(max(0, offset))
    )
    return list(session.execute(stmt).scalars())


def _count(session: Session, where: Sequence[ColumnElement[bool]]) -> int:
    """How many results match ``where``."""
    stmt = select(func.count()).select_from(PopulationMatch).where(*where)
    return int(session.execute(stmt).scalar_one())


def list_review(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    kind: str | None = None,
    decision: str | None = Decision.PENDING,
    limit: int = 50,
    offset: int = 0,
) -> list[PopulationMatch]:
    """The review queue of the scope (``agency``'s subtree): results of ``kind`` (None: any
    of :data:`KINDS`) with ``decision`` (None: any), in person order."""
    where = _filters(
        session,
        principal,
        agency=agency,
        kind=kind,
        outcome=None,
        decision=decision,
        reviewable=True,
    )
    return _page(session, where, limit, offset)


def count_review(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    kind: str | None = None,
    decision: str | None = Decision.PENDING,
) -> int:
    """How many results :func:`list_review` pages through."""
    where = _filters(
        session,
        principal,
        agency=agency,
        kind=kind,
        outcome=None,
        decision=decision,
        reviewable=True,
    )
    return _count(session, where)


def list_results(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    outcome: str | None = None,
    decision: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PopulationMatch]:
    """Every result of the scope, filtered by outcome, decision and review kind."""
    where = _filters(
        session,
        principal,
        agency=agency,
        kind=kind,
        outcome=outcome,
        decision=decision,
        reviewable=False,
    )
    return _page(session, where, limit, offset)


def count_results(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    outcome: str | None = None,
    decision: str | None = None,
    kind: str | None = None,
) -> int:
    """How many results :func:`list_results` pages through."""
    where = _filters(
        session,
        principal,
        agency=agency,
        kind=kind,
        outcome=outcome,
        decision=decision,
        reviewable=False,
    )
    return _count(session, where)


def _result_not_found(what: str) -> NotFound:
    return NotFound(
        message_vi=f"Không có kết quả đối chiếu CSDLQG về dân cư của hồ sơ {what}",
        message_en=f"No population-registry result for dossier {what}",
    )


def _scoped(
    session: Session,
    principal: Principal,
    *,
    person_id: int | None = None,
    personal_id: str | None = None,
    lock: bool = False,
) -> PopulationMatch:
    stmt = select(PopulationMatch)
    if person_id is not None:
        stmt = stmt.where(PopulationMatch.person_id == person_id)
    else:
        stmt = stmt.where(PopulationMatch.personal_id == personal_id)
    scope = _scope_condition(session, principal, None, PopulationMatch.managing_agency_code)
    if scope is not None:
        stmt = stmt.where(scope)
    if lock:
        stmt = stmt.with_for_update()
    match = session.execute(stmt).scalar_one_or_none()
    if match is None:
        raise _result_not_found(str(personal_id if person_id is None else person_id))
    return match


def get_result(session: Session, person_id: int, *, principal: Principal) -> PopulationMatch:
    """The result of one person (NotFound when absent or outside the principal's scope)."""
    principal.require("population:read")
    return _scoped(session, principal, person_id=person_id)


def get_by_personal_id(
    session: Session, personal_id: str, *, principal: Principal
) -> PopulationMatch:
    """The result of the dossier with ``personal_id`` (as :func:`get_result`)."""
    principal.require("population:read")
    return _scoped(session, principal, personal_id=personal_id)


@dataclass(slots=True)
class AgencyCounts:
    """The results of one managing agency by outcome, and how many await a decision."""

    agency_code: str
    people: int = 0
    """Dossiers the agency manages (checked or not)."""
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Outcome.ALL, 0))
    to_review: int = 0

    @property
    def checked(self) -> int:
        """People with a result."""
        return sum(self.outcomes.values())

    @property
    def verified_share(self) -> float | None:
        """Share of the agency's people whose identity the registry confirms (``matched``)."""
        if not self.people:
            return None
        return self.outcomes.get(Outcome.MATCHED, 0) / self.people


def outcome_counts(
    session: Session, *, principal: Principal, agency: str | None = None
) -> list[AgencyCounts]:
    """Per managing agency of the scope: people, results by outcome, results to review."""
    principal.require("population:read")
    scope = _scope_condition(session, principal, agency, PopulationMatch.managing_agency_code)
    people_scope = _scope_condition(session, principal, agency, Person.managing_agency_code)
    rows: dict[str, AgencyCounts] = {}

    def row(code: str) -> AgencyCounts:
        return rows.setdefault(code, AgencyCounts(agency_code=code))

    people = select(Person.managing_agency_code, func.count()).group_by(Person.managing_agency_code)
    if people_scope is not None:
        people = people.where(people_scope)
    for code, n in session.execute(people):
        row(code).people = int(n)
    by_outcome = select(
        PopulationMatch.managing_agency_code, PopulationMatch.outcome, func.count()
    ).group_by(PopulationMatch.managing_agency_code, PopulationMatch.outcome)
    if scope is not None:
        by_outcome = by_outcome.where(scope)
    for code, outcome, n in session.execute(by_outcome):
        counts = row(code).outcomes
        counts[outcome] = counts.get(outcome, 0) + int(n)
    pending = (
        select(PopulationMatch.managing_agency_code, func.count())
        .where(
            PopulationMatch.decision == Decision.PENDING,
            or_(*(_kind_condition(k) for k in KINDS)),
        )
        .group_by(PopulationMatch.managing_agency_code)
    )
    if scope is not None:
        pending = pending.where(scope)
    for code, n in session.execute(pending):
        row(code).to_review = int(n)
    return [rows[code] for code in sorted(rows)]


def latest_run(
    session: Session, *, principal: Principal, agency: str | None = None
) -> PopulationRun | None:
    """The latest run that covered the scope: a run of every agency or of an agency in it."""
    principal.require("population:read")
    stmt = select(PopulationRun).order_by(PopulationRun.started_at.desc(), PopulationRun.id.desc())
    scope = _scope_condition(session, principal, agency, PopulationRun.agency_code)  # type: ignore[arg-type]
    if scope is not None:
        stmt = stmt.where(or_(PopulationRun.agency_code.is_(None), scope))
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def audit_read(
    session: Session,
    *,
    actor: str,
    what: str,
    agency: str | None,
    count: int,
    personal_id: str | None = None,
) -> None:
    """Audit a read of personal data (results name people and hold registry values)."""
    audit_service.record(
        session,
        actor=actor,
        action=f"population:{what}:read",
        subject_type="person" if personal_id else "population_match",
        subject_id=personal_id or agency or "*",
        data={"agency": agency, "rows": count},
    )


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """What a decision did to one result: ``confirmed`` / ``rejected`` or ``refused``."""

    person_id: int
    personal_id: str
    status: str
    message_vi: str
    message_en: str
    corrections_proposed: int = 0


def _check_decision(decision: str, reason: str | None) -> str | None:
    if decision not in (Decision.CONFIRMED, Decision.REJECTED):
        raise _invalid(
            "decision",
            "invalid_choice",
            "Quyết định phải là 'confirmed' (xác nhận) hoặc 'rejected' (từ chối)",
            "The decision must be 'confirmed' or 'rejected'",
            decision,
        )
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise _invalid(
            "reason",
            "too_long",
            f"Lý do dài quá {REASON_MAX} ký tự",
            f"The reason is longer than {REASON_MAX} characters",
        )
    if decision == Decision.REJECTED and not text:
        raise _invalid(
            "reason",
            "missing",
            "Từ chối kết quả đối chiếu phải nêu lý do",
            "Rejecting a registry result needs a reason",
        )
    return unicodedata.normalize("NFC", text) if text else None


def _current_data(session: Session, person: Person) -> dict[str, Any]:
    version = session.get(PersonVersion, (person.id, person.current_version))
    return dict(version.data) if version is not None else {}


def _apply_decision(
    session: Session,
    match: PopulationMatch,
    *,
    principal: Principal,
    decision: str,
    reason: str | None,
    candidate_personal_id: str | None,
) -> None:
    """Check and record one decision (``reason`` already checked); raises on refusal."""
    pid = match.personal_id
    kind = review_kind(match)
    if kind is None:
        raise Conflict(
            code="nothing_to_review",
            message_vi=f"Kết quả đối chiếu của hồ sơ {pid} không cần duyệt ({match.outcome})",
            message_en=f"The registry result of dossier {pid} needs no review ({match.outcome})",
        )
    if match.decision != Decision.PENDING:
        raise Conflict(
            code="already_decided",
            message_vi=f"Kết quả đối chiếu của hồ sơ {pid} đã được quyết định ({match.decision})",
            message_en=f"The registry result of dossier {pid} was already decided ({match.decision})",
        )
    person = session.get(Person, match.person_id)
    if person is None or is_stale(match, person):
        current = person.current_version if person is not None else None
        raise Conflict(
            code="stale_result",
            message_vi=(
                f"Hồ sơ {pid} đã thay đổi sau lần đối chiếu (đối chiếu phiên bản "
                f"{match.version}, hiện tại {current}): hãy đối chiếu lại rồi mới quyết định"
            ),
            message_en=(
                f"Dossier {pid} changed after it was matched (version {match.version} was "
                f"compared, the current one is {current}): match it again before deciding"
            ),
        )
    data: dict[str, Any] = {
        "kind": kind,
        "decision": decision,
        "outcome": match.outcome,
        "version": match.version,
        "reason_given": reason is not None,
    }
    if kind == KIND_POTENTIAL and decision == Decision.CONFIRMED:
        candidates = list(match.candidates or [])
        if candidate_personal_id is None and len(candidates) == 1:
            candidate_personal_id = str(candidates[0].get("personal_id"))
        chosen = next(
            (c for c in candidates if str(c.get("personal_id")) == candidate_personal_id), None
        )
        if chosen is None:
            if candidate_personal_id is None:
                raise _invalid(
                    "candidate_personal_id",
                    "missing",
                    f"Hồ sơ {pid} có {len(candidates)} ứng viên: chọn người được xác nhận",
                    f"Dossier {pid} has {len(candidates)} candidates: choose the one confirmed",
                )
            raise _invalid(
                "candidate_personal_id",
                "not_a_candidate",
                f"'{candidate_personal_id}' không phải ứng viên của hồ sơ {pid}",
                f"'{candidate_personal_id}' is not a candidate of dossier {pid}",
                candidate_personal_id,
            )
        citizen = {"personal_id": candidate_personal_id, **dict(chosen.get("citizen") or {})}
        probability = chosen.get("probability")
        compared = matching.compare(
            _current_data(session, person),
            citizen,
            matched_by="probabilistic",
            probability=float(probability) if probability is not None else match.probability,
            accepted=True,  # the officer accepts the candidate
        )
        match.outcome = Outcome.MATCHED
        match.registry_personal_id = compared.registry_personal_id
        match.registry_status = compared.registry_status
        match.registry_values = compared.registry_values
        match.probability = compared.probability
        match.differences = compared.differences
        data["candidate_personal_id"] = match.registry_personal_id
        data["probability"] = match.probability
    match.decision = decision
    match.decided_by = principal.username
    match.decided_at = utcnow()
    match.decision_reason = reason
    audit_service.record(
        session,
        actor=principal.username,
        action=f"population:match:{'confirm' if decision == Decision.CONFIRMED else 'reject'}",
        subject_type="person",
        subject_id=pid,
        data=data,
    )
    session.flush()


def decide(
    session: Session,
    person_id: int,
    *,
    principal: Principal,
    decision: str,
    reason: str | None = None,
    candidate_personal_id: str | None = None,
    propose: bool = False,
) -> PopulationMatch:
    """Decide one result (see the module docstring); ``propose`` also proposes the
    corrections a confirmation implies, in the same transaction. Raises InvalidInput (bad
    decision, missing reason or candidate), Conflict (nothing to decide, already decided,
    stale) or NotFound (outside the scope)."""
    principal.require("population:review")
    clean_reason = _check_decision(decision, reason)
    match = _scoped(session, principal, person_id=person_id, lock=True)
    _apply_decision(
        session,
        match,
        principal=principal,
        decision=decision,
        reason=clean_reason,
        candidate_personal_id=candidate_personal_id,
    )
    if propose and decision == Decision.CONFIRMED:
        _propose(session, [match], principal=principal)
    return match


def decide_many(
    session: Session,
    person_ids: Sequence[int],
    *,
    principal: Principal,
    decision: str,
    reason: str | None = None,
    propose: bool = False,
) -> list[DecisionOutcome]:
    """Decide many results alike (a potential match confirms its best candidate); one
    outcome per id in the order given, refusals included (each decision stands alone)."""
    principal.require("population:review")
    clean_reason = _check_decision(decision, reason)
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise _invalid(
            "person_ids",
            "ids_required",
            "Chưa chọn kết quả đối chiếu nào",
            "No registry result was selected",
            [],
        )
    if len(ids) > MAX_BULK:
        raise _invalid(
            "person_ids",
            "too_many",
            f"Chọn tối đa {MAX_BULK} kết quả mỗi lần",
            f"Select at most {MAX_BULK} results at a time",
            len(ids),
        )
    out: list[DecisionOutcome] = []
    for person_id in ids:
        personal_id = str(person_id)
        try:
            with session.begin_nested():
                match = _scoped(session, principal, person_id=person_id, lock=True)
                personal_id = match.personal_id
                best = (match.candidates or [{}])[0].get("personal_id")
                _apply_decision(
                    session,
                    match,
                    principal=principal,
                    decision=decision,
                    reason=clean_reason,
                    candidate_personal_id=str(best) if best is not None else None,
                )
                made = 0
                if propose and decision == Decision.CONFIRMED:
                    made = _propose(session, [match], principal=principal).proposed
        except HosoError as exc:
            out.append(
                DecisionOutcome(person_id, personal_id, "refused", exc.message_vi, exc.message_en)
            )
            continue
        done = decision == Decision.CONFIRMED
        out.append(
            DecisionOutcome(
                person_id,
                personal_id,
                decision,
                "Đã xác nhận theo CSDLQG về dân cư" if done else "Đã từ chối kết quả đối chiếu",
                "Confirmed as in the population registry" if done else "Registry result rejected",
                made,
            )
        )
    return out


# --- sync back --------------------------------------------------------------------------------


@dataclass(slots=True)
class ProposeReport:
    """What :func:`propose_corrections_report` did."""

    proposed: int = 0
    """Corrections proposed (queued for the managing agencies)."""
    people: int = 0
    """People with at least one correction proposed."""
    skipped_stale: int = 0
    """Results whose dossier changed since the match (the next run compares again)."""
    skipped_unsynced: int = 0
    """People whose approved record the national store does not hold (or with no node)."""
    skipped_duplicate: int = 0
    """(person, field, value) already proposed before."""
    correction_ids: list[str] = field(default_factory=list)


def _eligible() -> ColumnElement[bool]:
    """Results whose registry values are held as right."""
    return or_(
        and_(
            PopulationMatch.outcome == Outcome.MATCHED,
            PopulationMatch.decision != Decision.REJECTED,
        ),
        and_(
            PopulationMatch.outcome == Outcome.CONFLICT,
            PopulationMatch.decision == Decision.CONFIRMED,
        ),
    )


def _value_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def proposable_values(match: PopulationMatch) -> list[tuple[str, Any]]:
    """``(field, registry value)`` of the differences a correction could fix."""
    wanted = set(mastered_fields()) - IDENTIFIER_FIELDS
    values = match.registry_values or {}
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for diff in match.differences or []:
        name = str(diff.get("field", ""))
        if name not in wanted or name in seen:
            continue
        value = values.get(name, diff.get("registry"))
        if value is None:
            continue  # the registry not knowing a value is no evidence against ours
        seen.add(name)
        out.append((name, value))
    return out


def _propose(
    session: Session, matches: Sequence[PopulationMatch], *, principal: Principal
) -> ProposeReport:
    """Propose the corrections of ``matches`` (eligibility already checked)."""
    report = ProposeReport()
    if not matches:
        return report
    pids = sorted({m.personal_id for m in matches})
    people = {
        p.id: p
        for p in session.execute(select(Person).where(Person.personal_id.in_(pids))).scalars()
    }
    national = set(
        session.execute(
            select(NationalPerson.personal_id).where(NationalPerson.personal_id.in_(pids))
        ).scalars()
    )
    done: set[tuple[str, str, bytes]] = {
        (pid, name, _value_key(value))
        for pid, name, value in session.execute(
            select(Correction.personal_id, Correction.field, Correction.proposed_value).where(
                Correction.personal_id.in_(pids), Correction.side == "national"
            )
        )
    }
    nodes: dict[str, str | None] = {}
    items: list[corrections.CorrectionIn] = []
    owners: dict[str, PopulationMatch] = {}
    for match in matches:
        if is_stale(match, people.get(match.person_id)):
            report.skipped_stale += 1
            continue
        values = proposable_values(match)
        if not values:
            continue
        agency = match.managing_agency_code
        if agency not in nodes:
            nodes[agency] = corrections.node_for_agency(session, agency)
        if match.personal_id not in national or nodes[agency] is None:
            report.skipped_unsynced += 1
            continue
        for name, value in values:
            key = (match.personal_id, name, _value_key(value))
            if key in done:
                report.skipped_duplicate += 1
                continue
            done.add(key)
            owners[match.personal_id] = match
            items.append(
                corrections.CorrectionIn(
                    personal_id=match.personal_id,
                    field=name,
                    proposed_value=value,
                    reason_code=REASON_CODE,
                    source=SOURCE,
                    evidence={
                        "registry_value": value,
                        "registry_personal_id": match.registry_personal_id,
                        "matched_at": match.matched_at.astimezone(dt.UTC)
                        .isoformat()
                        .replace("+00:00", "Z"),
                        "matched_by": match.matched_by,
                        "run_id": match.run_id,
                    },
                )
            )
    if not items:
        return report
    made = corrections.propose(session, items, principal=principal)
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in made:
        by_person.setdefault(str(row["personal_id"]), []).append(row)
    for pid, rows in sorted(by_person.items()):
        match = owners[pid]
        match.corrections_proposed = (match.corrections_proposed or 0) + len(rows)
        audit_service.record(
            session,
            actor=principal.username,
            action="population:correction:propose",
            subject_type="person",
            subject_id=pid,
            data={
                "fields": [r["field"] for r in rows],
                "correction_ids": [r["correction_id"] for r in rows],
                "registry_personal_id": match.registry_personal_id,
            },
        )
    report.proposed = len(made)
    report.people = len(by_person)
    report.correction_ids = [str(r["correction_id"]) for r in made]
    session.flush()
    return report


def propose_corrections_report(
    session: Session,
    *,
    principal: Principal,
    person_ids: Iterable[int] | None = None,
    agency: str | None = None,
) -> ProposeReport:
    """Propose corrections for the results of ``person_ids`` (else every eligible result of
    ``agency``'s subtree, else of the principal's scope); see the module docstring."""
    principal.require("population:review")
    where = [_eligible()]
    scope = _scope_condition(session, principal, agency, PopulationMatch.managing_agency_code)
    if scope is not None:
        where.append(scope)
    stmt = select(PopulationMatch).where(*where).order_by(PopulationMatch.person_id)
    if person_ids is not None:
        ids = sorted(set(person_ids))
        if not ids:
            return ProposeReport()
        stmt = stmt.where(PopulationMatch.person_id.in_(ids))
    matches = list(session.execute(stmt).scalars())
    return _propose(session, matches, principal=principal)


def propose_corrections(
    session: Session,
    *,
    principal: Principal,
    person_ids: Iterable[int] | None = None,
    agency: str | None = None,
) -> int:
    """How many corrections :func:`propose_corrections_report` proposed."""
    return propose_corrections_report(
        session, principal=principal, person_ids=person_ids, agency=agency
    ).proposed


@dataclass(frozen=True, slots=True)
class CorrectionStatus:
    """One correction of a person as both sides see it (a node of role ``all`` holds both)."""

    correction_id: str
    field: str
    current_value: Any
    proposed_value: Any
    national_status: str | None
    """At the national side (``proposed`` until the agency's answer arrives)."""
    agency_status: str | None
    """At the agency side (None when this database does not hold the agency's copy)."""
    reason: str | None
    created_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolved_by: str | None

    @property
    def status(self) -> str:
        """The most recent status: the agency's decision once made, else the national one."""
        if self.agency_status and self.agency_status != "proposed":
            return self.agency_status
        return self.national_status or self.agency_status or "proposed"


def corrections_of(
    session: Session, match: PopulationMatch, *, principal: Principal
) -> list[CorrectionStatus]:
    """The registry corrections of the result's person, oldest first, with both statuses."""
    principal.require("population:read")
    rows = session.execute(
        select(Correction)
        .where(Correction.personal_id == match.personal_id, Correction.source == SOURCE)
        .order_by(Correction.created_at, Correction.correction_id)
    ).scalars()
    by_id: dict[str, dict[str, Correction]] = {}
    for row in rows:
        by_id.setdefault(row.correction_id, {})[row.side] = row
    out: list[CorrectionStatus] = []
    for cid, sides in by_id.items():
        nat, ag = sides.get("national"), sides.get("agency")
        first = nat or ag
        assert first is not None
        decided = ag if ag is not None and ag.status != "proposed" else nat
        decided = decided or first
        out.append(
            CorrectionStatus(
                correction_id=cid,
                field=first.field,
                current_value=first.current_value,
                proposed_value=first.proposed_value,
                national_status=nat.status if nat is not None else None,
                agency_status=ag.status if ag is not None else None,
                reason=decided.reason,
                created_at=first.created_at,
                resolved_at=decided.resolved_at,
                resolved_by=decided.resolved_by,
            )
        )
    return out
