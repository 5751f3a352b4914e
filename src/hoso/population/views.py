"""HTML pages of the population-registry matching: overview, review queue, one person, sync back.

``/dan-cu``                              the principal's scope (``?co_quan=`` one agency's
                                         subtree): the latest run, per managing agency the
                                         results by outcome, the share verified, the queue
``/dan-cu/duyet``                        the review queue: potential matches, conflicts and
                                         differing fields (``?loai=``, ``?quyet_dinh=``,
                                         ``?co_quan=``, ``?trang=``; HTMX swaps only the list)
``POST /dan-cu/duyet``                   confirm or reject the ticked results (bulk)
``/dan-cu/ho-so/{personal_id}``          one person side by side: our value and the
                                         registry's per registry-mastered field, differences
                                         marked; for a potential match each candidate with
                                         its probability and per-field comparison; the
                                         decision forms; the corrections and their status
``POST /dan-cu/ho-so/{personal_id}/quyet-dinh``  confirm (a candidate) or reject with a reason
``POST /dan-cu/de-xuat-dinh-chinh``      propose the registry's values as corrections, for
                                         one person (``ma_dinh_danh``) or the scope

Every page needs ``population:read`` and stays inside the principal's subtree (an agency
outside it is refused, a person outside it is not found); deciding and proposing need
``population:review``. The pages only present :mod:`hoso.population.review`. Forms that
change something carry the same HMAC token as the quality pages
(:func:`hoso.quality.views.csrf_token`) and are refused from another origin.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hoso.auth.principal import Principal
from hoso.errors import HosoError, InvalidInput, Issue, NotFound
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.models import Person
from hoso.population import review
from hoso.population.models import Decision, Outcome, PopulationMatch
from hoso.quality import views as quality_views
from hoso.web.deps import PageUserDep, PrincipalDep, SessionDep
from hoso.web.i18n import Locale, lang_of
from hoso.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_BULK = 200
PersonalId = Annotated[str, Path(pattern=r"^[0-9]{12}$")]
Page = Annotated[int, Query(ge=1, le=100_000)]
AgencyQuery = Annotated[str | None, Query(max_length=60)]

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    Outcome.MATCHED: ("Khớp", "Matched"),
    Outcome.POTENTIAL: ("Có thể trùng khớp", "Potential match"),
    Outcome.CONFLICT: ("Mâu thuẫn", "Conflict"),
    Outcome.NOT_FOUND: ("Không tìm thấy", "Not found"),
}
KIND_LABELS: dict[str, tuple[str, str]] = {
    review.KIND_POTENTIAL: ("Có thể trùng khớp", "Potential matches"),
    review.KIND_CONFLICT: ("Mâu thuẫn thông tin định danh", "Identity conflicts"),
    review.KIND_DIFFERENCES: ("Khác thông tin", "Differing fields"),
}
DECISION_LABELS: dict[str, tuple[str, str]] = {
    Decision.PENDING: ("Chờ duyệt", "Pending"),
    Decision.CONFIRMED: ("Đã xác nhận", "Confirmed"),
    Decision.REJECTED: ("Đã từ chối", "Rejected"),
}
CORRECTION_LABELS: dict[str, tuple[str, str]] = {
    "proposed": ("Đã đề xuất, chờ cơ quan quản lý", "Proposed, awaiting the agency"),
    "accepted": ("Cơ quan đã chấp nhận", "Accepted by the agency"),
    "rejected": ("Cơ quan đã từ chối", "Rejected by the agency"),
}
RUN_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "running": ("Đang chạy", "Running"),
    "completed": ("Hoàn thành", "Completed"),
    "failed": ("Bị gián đoạn (sẽ chạy tiếp)", "Interrupted (will resume)"),
}
REGISTRY_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "alive": ("Còn sống", "Alive"),
    "deceased": ("Đã mất", "Deceased"),
}
MATCHED_BY_LABELS: dict[str, tuple[str, str]] = {
    "personal_id": ("Số định danh cá nhân", "Personal ID"),
    "legacy_id_no": ("Số CMND cũ (9 số)", "Old 9-digit ID card"),
    "probabilistic": ("So khớp xác suất", "Probabilistic matching"),
}


def _t(locale: Locale, pair: tuple[str, str] | None, fallback: str = "") -> str:
    return locale.t(*pair) if pair else fallback


def percent_text(locale: Locale, share: float | None) -> str:
    """A share as a percentage with one decimal in the page language (``97,5 %``)."""
    if share is None:
        return "—"
    return locale.decimal(f"{share * 100:.1f}") + " %"


def _org_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted)))
    return {code: name for code, name in rows}


def _people(session: Session, ids: Iterable[int]) -> dict[int, Person]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {p.id: p for p in session.execute(select(Person).where(Person.id.in_(wanted))).scalars()}


def scope_agency(session: Session, principal: Principal, code: str | None) -> str | None:
    """The agency whose subtree a page shows: ``code`` (inside the principal's subtree:
    NotFound when absent, PermissionDenied outside) or the principal's own scope."""
    principal.require("population:read")
    if code is None:
        if principal.scope_code is not None:
            orgs_service.principal_prefix(session, principal)  # refuses a vanished scope
        return principal.scope_code
    orgs_service.require_in_scope(session, principal, code)
    return code


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(unicodedata.normalize("NFC", value).split()).upper() or None
    return value


LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "exact": ("trùng khớp", "agrees"),
    "no_diacritics": ("trùng khi bỏ dấu", "same without diacritics"),
    "one_edit": ("khác một ký tự", "one character apart"),
    "similar": ("gần giống", "similar"),
    "different": ("khác", "differs"),
    "day_month_swapped": ("đảo ngày và tháng", "day and month swapped"),
    "one_typo": ("lệch một chữ số", "one digit off"),
    "partial_month": ("chỉ có tháng và năm, trùng", "only month and year, agreeing"),
    "partial_year": ("chỉ có năm, trùng", "only the year, agreeing"),
    "same_month": ("cùng tháng và năm", "same month and year"),
    "same_year": ("cùng năm", "same year"),
    "same_ward": ("cùng xã, phường", "same commune"),
    "province_only": ("chỉ biết tỉnh, trùng tỉnh", "only the province known, agreeing"),
    "same_province": ("cùng tỉnh, khác xã", "same province, other commune"),
    "missing": ("thiếu dữ liệu một bên", "missing on one side"),
}
"""The probabilistic model's comparison levels (``probabilistic._spec``) in words."""


def comparison_text(value: Any, locale: Locale) -> str:
    """A per-field comparison of a candidate as words (level, similarity, agreement)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return locale.t("trùng", "agrees") if value else locale.t("khác", "differs")
    if isinstance(value, float):
        return locale.decimal(f"{value:.2f}")
    if isinstance(value, Mapping):
        label = value.get("label_vi" if locale.lang == "vi" else "label_en") or value.get("label")
        if label:
            return str(label)
        level = value.get("level")
        if isinstance(level, str) and level in LEVEL_LABELS:
            text = locale.t(*LEVEL_LABELS[level])
            weight = value.get("weight")
            if isinstance(weight, int | float) and not isinstance(weight, bool):
                shown = ("+" if weight >= 0 else "") + locale.decimal(f"{weight:.1f}")
                text += f" ({locale.t('trọng số', 'weight')} {shown})"
            return text
        parts = []
        for key, item in value.items():
            shown = locale.decimal(f"{item:.2f}") if isinstance(item, float) else str(item)
            parts.append(f"{key}: {shown}")
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(comparison_text(v, locale) for v in value)
    return str(value)


# --- the overview -----------------------------------------------------------------------------


@dataclass(slots=True)
class AgencyRow:
    """One managing agency of the scope (or the scope's total)."""

    code: str
    name: str
    people: int
    outcomes: dict[str, int]
    unchecked: int
    to_review: int
    verified: str
    queue_url: str


def _agency_row(counts: review.AgencyCounts, name: str, locale: Locale) -> AgencyRow:
    return AgencyRow(
        code=counts.agency_code,
        name=name,
        people=counts.people,
        outcomes=dict(counts.outcomes),
        unchecked=max(counts.people - counts.checked, 0),
        to_review=counts.to_review,
        verified=percent_text(locale, counts.verified_share),
        queue_url=f"/dan-cu/duyet?co_quan={counts.agency_code}",
    )


def _overview_context(
    session: Session,
    principal: Principal,
    user: PageUser,
    session_token: str | None,
    locale: Locale,
    agency: str | None,
) -> dict[str, Any]:
    counts = review.outcome_counts(session, principal=principal, agency=agency)
    names = _org_names(session, [c.agency_code for c in counts] + [agency])
    total = review.AgencyCounts(agency_code=agency or "*")
    for c in counts:
        total.people += c.people
        total.to_review += c.to_review
        for key, n in c.outcomes.items():
            total.outcomes[key] = total.outcomes.get(key, 0) + n
    run = review.latest_run(session, principal=principal, agency=agency)
    return {
        "agency": agency,
        "agency_name": names.get(agency or "", agency),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "rows": [_agency_row(c, names.get(c.agency_code, c.agency_code), locale) for c in counts],
        "total": _agency_row(total, "", locale),
        "outcomes": [(key, _t(locale, OUTCOME_LABELS[key])) for key in Outcome.ALL],
        "run": run,
        "run_status": _t(locale, RUN_STATUS_LABELS.get(run.status), run.status) if run else "",
        "can_review": principal.can("population:review"),
        "csrf": quality_views.csrf_token(session_token),
        "notice": None,
        "error": None,
        "queue_url": "/dan-cu/duyet" + (f"?co_quan={agency}" if agency else ""),
    }


@router.get("/dan-cu", response_class=HTMLResponse)
def overview_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
    co_quan: AgencyQuery = None,
) -> Response:
    """Results by outcome per managing agency of the scope, the share verified, the last run."""
    locale = Locale(lang_of(request))
    agency = scope_agency(session, principal, co_quan.strip() if co_quan else None)
    ctx = _overview_context(session, principal, user, token, locale, agency)
    return render(request, "population/overview.html", ctx, user=user)


# --- the review queue -------------------------------------------------------------------------


@dataclass(slots=True)
class QueueRow:
    """One result in the queue."""

    match: PopulationMatch
    birth_name: str | None
    agency_name: str
    kind: str | None
    kind_label: str
    summary: str
    decision_label: str
    stale: bool


def _summary(match: PopulationMatch, locale: Locale) -> str:
    kind = review.review_kind(match)
    if kind == review.KIND_POTENTIAL:
        candidates = match.candidates or []
        best = candidates[0].get("probability") if candidates else None
        text = locale.t(f"{len(candidates)} ứng viên", f"{len(candidates)} candidates")
        if isinstance(best, int | float):
            text += locale.t(", cao nhất ", ", best ") + percent_text(locale, float(best))
        return text
    fields = [
        quality_views.field_label(str(d.get("field", "")), locale) for d in match.differences or []
    ]
    if match.registry_status == "deceased":
        fields.insert(0, locale.t("CSDLQG ghi nhận đã mất", "listed as deceased"))
    return "; ".join(fields)


def queue_rows(
    session: Session, matches: Sequence[PopulationMatch], locale: Locale
) -> list[QueueRow]:
    """The queue's results ready to show."""
    people = _people(session, [m.person_id for m in matches])
    orgs = _org_names(session, [m.managing_agency_code for m in matches])
    rows = []
    for m in matches:
        person = people.get(m.person_id)
        kind = review.review_kind(m)
        rows.append(
            QueueRow(
                match=m,
                birth_name=person.birth_name if person else None,
                agency_name=orgs.get(m.managing_agency_code, m.managing_agency_code),
                kind=kind,
                kind_label=_t(locale, KIND_LABELS.get(kind or "")),
                summary=_summary(m, locale),
                decision_label=_t(locale, DECISION_LABELS.get(m.decision), m.decision),
                stale=review.is_stale(m, person),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue shows."""

    agency: str | None
    kind: str | None
    decision: str


def _queue_filter(
    session: Session,
    principal: Principal,
    co_quan: str | None,
    loai: str | None,
    quyet_dinh: str | None,
) -> QueueFilter:
    agency = scope_agency(session, principal, co_quan.strip() if co_quan else None)
    kind = loai if loai in review.KINDS else None
    decision = quyet_dinh if quyet_dinh in Decision.ALL else Decision.PENDING
    return QueueFilter(agency, kind, decision)


def _queue_url(f: QueueFilter, **changes: Any) -> str:
    params = {"loai": f.kind, "quyet_dinh": f.decision, "co_quan": f.agency}
    params.update(changes)
    query = "&".join(
        f"{k}={v}" for k, v in params.items() if v and not (k == "quyet_dinh" and v == "pending")
    )
    return "/dan-cu/duyet" + (f"?{query}" if query else "")


def _queue_context(
    session: Session,
    principal: Principal,
    user: PageUser,
    session_token: str | None,
    locale: Locale,
    f: QueueFilter,
    page_no: int,
) -> dict[str, Any]:
    total = review.count_review(
        session, principal=principal, agency=f.agency, kind=f.kind, decision=f.decision
    )
    offset = (page_no - 1) * PAGE_SIZE
    matches = review.list_review(
        session,
        principal=principal,
        agency=f.agency,
        kind=f.kind,
        decision=f.decision,
        limit=PAGE_SIZE,
        offset=offset,
    )
    review.audit_read(
        session,
        actor=principal.username,
        what="results",
        agency=f.agency,
        count=len(matches),
    )
    names = _org_names(session, [f.agency])
    kinds = [(None, locale.t("Tất cả", "All"))] + [
        (k, _t(locale, KIND_LABELS[k])) for k in review.KINDS
    ]
    return {
        "rows": queue_rows(session, matches, locale),
        "total": total,
        "offset": offset,
        "page_no": page_no,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "f": f,
        "kinds": [(k, label, _queue_url(f, loai=k)) for k, label in kinds],
        "decisions": [
            (d, _t(locale, DECISION_LABELS[d]), _queue_url(f, quyet_dinh=d)) for d in Decision.ALL
        ],
        "page_url": lambda n: _queue_url(f, trang=n),
        "agency": f.agency,
        "agency_name": names.get(f.agency or "", f.agency),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "can_review": principal.can("population:review"),
        "csrf": quality_views.csrf_token(session_token),
        "outcomes": [],
        "notice": None,
        "error": None,
    }


@router.get("/dan-cu/duyet", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
    co_quan: AgencyQuery = None,
    loai: Annotated[str | None, Query(max_length=20)] = None,
    quyet_dinh: Annotated[str | None, Query(max_length=20)] = None,
    trang: Page = 1,
) -> Response:
    """The results to decide (potential matches, conflicts, differences), paged."""
    locale = Locale(lang_of(request))
    f = _queue_filter(session, principal, co_quan, loai, quyet_dinh)
    ctx = _queue_context(session, principal, user, token, locale, f, trang)
    if request.headers.get("HX-Request") == "true":
        return render(request, "population/_queue.html", ctx, user=user)
    return render(request, "population/queue.html", ctx, user=user)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _bad_form(vi: str, en: str, field_name: str) -> InvalidInput:
    return InvalidInput(
        message_vi=vi,
        message_en=en,
        issues=[Issue(field=field_name, code="invalid", message_vi=vi, message_en=en)],
    )


def parse_bulk(form: FormData) -> tuple[str, list[str], str | None]:
    """``(decision, personal IDs, reason)`` of the queue form: ``hanh_dong`` is ``confirm``
    or ``reject``, the ticked boxes are ``chon``."""
    action = _form_text(form, "hanh_dong")
    decisions = {"confirm": Decision.CONFIRMED, "reject": Decision.REJECTED}
    if action not in decisions:
        raise _bad_form(
            "Chọn thao tác: xác nhận hoặc từ chối", "Choose an action: confirm or reject",
            "hanh_dong",
        )  # fmt: skip
    pids = list(dict.fromkeys(str(v).strip() for v in form.getlist("chon") if str(v).strip()))
    if not pids:
        raise _bad_form("Chưa chọn kết quả nào", "No result was selected", "chon")
    if any(not (p.isdigit() and len(p) == 12) for p in pids):
        raise _bad_form("Số định danh không hợp lệ", "Invalid personal ID", "chon")
    if len(pids) > MAX_BULK:
        raise _bad_form(
            f"Chọn tối đa {MAX_BULK} kết quả mỗi lần",
            f"Select at most {MAX_BULK} results at a time",
            "chon",
        )
    reason = _form_text(form, "ly_do")[:2000] or None
    if decisions[action] == Decision.REJECTED and not reason:
        raise _bad_form("Từ chối cần nêu lý do", "A rejection needs a reason", "ly_do")
    return decisions[action], pids, reason


@dataclass(slots=True)
class OutcomeRow:
    """What a decision did to one result."""

    personal_id: str
    status: str
    status_label: str
    message: str


@router.post("/dan-cu/duyet", response_class=HTMLResponse)
def decide_queue(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
    form: quality_views.FormDep,
) -> Response:
    """Confirm or reject the ticked results; show what happened to each, then the queue."""
    locale = Locale(lang_of(request))
    quality_views.check_csrf(request, token, _form_text(form, "csrf"))
    principal.require("population:review")
    f = _queue_filter(
        session,
        principal,
        _form_text(form, "co_quan") or None,
        _form_text(form, "loai") or None,
        Decision.PENDING,
    )
    try:
        decision, pids, reason = parse_bulk(form)
    except InvalidInput as exc:
        ctx = _queue_context(session, principal, user, token, locale, f, 1)
        ctx["error"] = locale.t(exc.message_vi, exc.message_en)
        return render(request, "population/queue.html", ctx, user=user, status_code=422)
    outcomes: list[OutcomeRow] = []
    ids: dict[str, int] = {}
    for pid in pids:
        try:
            ids[pid] = review.get_by_personal_id(session, pid, principal=principal).person_id
        except NotFound as exc:
            outcomes.append(
                OutcomeRow(
                    pid, "refused", locale.t("Không thực hiện được", "Refused"),
                    locale.t(exc.message_vi, exc.message_en),
                )
            )  # fmt: skip
    if ids:
        for o in review.decide_many(
            session,
            list(ids.values()),
            principal=principal,
            decision=decision,
            reason=reason,
            propose=_form_text(form, "de_xuat") == "1",
        ):
            label = DECISION_LABELS.get(o.status, ("Không thực hiện được", "Refused"))
            message = locale.t(o.message_vi, o.message_en)
            if o.corrections_proposed:
                message += locale.t(
                    f"; đã đề xuất {o.corrections_proposed} đính chính",
                    f"; {o.corrections_proposed} corrections proposed",
                )
            outcomes.append(OutcomeRow(o.personal_id, o.status, _t(locale, label), message))
    ctx = _queue_context(session, principal, user, token, locale, f, 1)
    ctx["outcomes"] = outcomes
    return render(request, "population/queue.html", ctx, user=user)


# --- one person -------------------------------------------------------------------------------


@dataclass(slots=True)
class FieldRow:
    """One registry-mastered field side by side."""

    code: str
    label: str
    ours: Markup
    registry: Markup
    differs: bool
    kind: str
    note: str


@dataclass(slots=True)
class CandidateField:
    """One field of a candidate next to ours."""

    code: str
    label: str
    ours: Markup
    theirs: Markup
    comparison: str
    differs: bool


@dataclass(slots=True)
class CandidateCard:
    """A probabilistic candidate with its per-field comparison."""

    rank: int
    personal_id: str
    probability: str
    status: str
    fields: list[CandidateField]


@dataclass(slots=True)
class CorrectionRow:
    """A correction proposed from the result, with its status on both sides."""

    c: review.CorrectionStatus
    label: str
    current: Markup
    proposed: Markup
    status_label: str
    national_label: str
    agency_label: str


def _value(code: str, value: Any, locale: Locale) -> Markup:
    return quality_views.value_html(code, value, locale)


def field_rows(match: PopulationMatch, ours: Mapping[str, Any], locale: Locale) -> list[FieldRow]:
    """The registry-mastered fields that either side holds, differences marked."""
    registry = match.registry_values or {}
    diffs = {str(d.get("field")): d for d in match.differences or []}
    rows = []
    for code in review.mastered_fields():
        mine, theirs = ours.get(code), registry.get(code)
        diff = diffs.get(code)
        if mine is None and theirs is None and diff is None:
            continue
        if diff is not None and theirs is None:
            theirs = diff.get("registry")
        note = ""
        if diff is not None and (diff.get("note_vi") or diff.get("note_en")):
            note = locale.t(str(diff.get("note_vi") or ""), str(diff.get("note_en") or ""))
        rows.append(
            FieldRow(
                code=code,
                label=quality_views.field_label(code, locale),
                ours=_value(code, mine, locale),
                registry=_value(code, theirs, locale),
                differs=diff is not None,
                kind=str(diff.get("kind") or "mastered") if diff is not None else "",
                note=note,
            )
        )
    return rows


_COMPARED_ADDRESSES = {"hometown": "hometown_ward_code", "residence": "residence_ward_code"}
"""The probabilistic model's address comparisons and the field row that shows each."""


def candidate_cards(
    match: PopulationMatch, ours: Mapping[str, Any], locale: Locale
) -> list[CandidateCard]:
    """The candidates of a potential match, best first, each field next to ours."""
    cards = []
    for rank, cand in enumerate(match.candidates or [], start=1):
        citizen = dict(cand.get("citizen") or {})
        comparison = dict(cand.get("comparison") or {})
        # the model compares addresses as a whole: show it on the commune's row
        for name, code in _COMPARED_ADDRESSES.items():
            if name in comparison and code not in comparison:
                comparison[code] = comparison[name]
        fields = []
        for code in review.mastered_fields():
            mine, theirs = ours.get(code), citizen.get(code)
            if mine is None and theirs is None and code not in comparison:
                continue
            fields.append(
                CandidateField(
                    code=code,
                    label=quality_views.field_label(code, locale),
                    ours=_value(code, mine, locale),
                    theirs=_value(code, theirs, locale),
                    comparison=comparison_text(comparison.get(code), locale),
                    differs=_norm(mine) != _norm(theirs),
                )
            )
        probability = cand.get("probability")
        cards.append(
            CandidateCard(
                rank=rank,
                personal_id=str(cand.get("personal_id") or citizen.get("personal_id") or ""),
                probability=percent_text(locale, float(probability))
                if isinstance(probability, int | float)
                else "—",
                status=_t(locale, REGISTRY_STATUS_LABELS.get(str(citizen.get("status")))),
                fields=fields,
            )
        )
    return cards


def correction_rows(
    found: Sequence[review.CorrectionStatus], locale: Locale
) -> list[CorrectionRow]:
    """The corrections with labelled fields, values and statuses."""

    def label(status: str | None) -> str:
        if status is None:
            return "—"
        return _t(locale, CORRECTION_LABELS.get(status), status)

    return [
        CorrectionRow(
            c=c,
            label=quality_views.field_label(c.field, locale),
            current=_value(c.field, c.current_value, locale),
            proposed=_value(c.field, c.proposed_value, locale),
            status_label=label(c.status),
            national_label=label(c.national_status),
            agency_label=label(c.agency_status),
        )
        for c in found
    ]


def _eligible_for_proposals(match: PopulationMatch) -> bool:
    if match.outcome == Outcome.MATCHED:
        return match.decision != Decision.REJECTED
    return match.outcome == Outcome.CONFLICT and match.decision == Decision.CONFIRMED


def _person_context(
    session: Session,
    principal: Principal,
    user: PageUser,
    session_token: str | None,
    locale: Locale,
    personal_id: str,
) -> dict[str, Any]:
    match = review.get_by_personal_id(session, personal_id, principal=principal)
    dossier = people_service.get_by_personal_id(session, personal_id, principal=principal)
    person = session.get(Person, match.person_id)
    ours = dict(dossier.data)
    found = review.corrections_of(session, match, principal=principal)
    review.audit_read(
        session,
        actor=principal.username,
        what="result",
        agency=match.managing_agency_code,
        count=1,
        personal_id=personal_id,
    )
    kind = review.review_kind(match)
    proposed = {(c.field, orjson.dumps(c.proposed_value)) for c in found}
    open_values = [
        (name, value)
        for name, value in review.proposable_values(match)
        if (name, orjson.dumps(value)) not in proposed
    ]
    can_review = principal.can("population:review")
    stale = review.is_stale(match, person)
    names = _org_names(session, [match.managing_agency_code])
    return {
        "m": match,
        "dossier": dossier,
        "birth_name": ours.get("birth_name"),
        "agency_name": names.get(match.managing_agency_code, match.managing_agency_code),
        "kind": kind,
        "kind_label": _t(locale, KIND_LABELS.get(kind or "")),
        "outcome_label": _t(locale, OUTCOME_LABELS.get(match.outcome), match.outcome),
        "decision_label": _t(locale, DECISION_LABELS.get(match.decision), match.decision),
        "matched_by_label": _t(
            locale, MATCHED_BY_LABELS.get(match.matched_by or ""), match.matched_by or "—"
        ),
        "registry_status_label": _t(
            locale, REGISTRY_STATUS_LABELS.get(match.registry_status or ""), "—"
        ),
        "probability": percent_text(locale, match.probability)
        if match.probability is not None
        else None,
        "fields": field_rows(match, ours, locale),
        "candidates": candidate_cards(match, ours, locale)
        if match.outcome == Outcome.POTENTIAL
        else [],
        "corrections": correction_rows(found, locale),
        "stale": stale,
        "can_decide": can_review
        and kind is not None
        and match.decision == Decision.PENDING
        and not stale,
        "can_propose": can_review
        and _eligible_for_proposals(match)
        and bool(open_values)
        and not stale,
        "open_values": [quality_views.field_label(name, locale) for name, _v in open_values],
        "csrf": quality_views.csrf_token(session_token),
        "notice": None,
        "error": None,
    }


@router.get("/dan-cu/ho-so/{personal_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
) -> Response:
    """One person's result side by side, the candidates, the decision forms, the corrections."""
    locale = Locale(lang_of(request))
    principal.require("population:read")
    ctx = _person_context(session, principal, user, token, locale, personal_id)
    return render(request, "population/person.html", ctx, user=user)


def parse_decision(form: FormData) -> tuple[str, str | None, str | None]:
    """``(decision, candidate, reason)`` of the person form: ``hanh_dong`` is ``confirm``,
    ``confirm:<candidate personal ID>`` or ``reject``."""
    action = _form_text(form, "hanh_dong")
    verb, _, candidate = action.partition(":")
    if verb not in ("confirm", "reject"):
        raise _bad_form(
            "Chọn thao tác: xác nhận hoặc từ chối", "Choose an action: confirm or reject",
            "hanh_dong",
        )  # fmt: skip
    if candidate and not (candidate.isdigit() and len(candidate) == 12):
        raise _bad_form("Số định danh ứng viên không hợp lệ", "Invalid candidate ID", "hanh_dong")
    reason = _form_text(form, "ly_do")[:2000] or None
    if verb == "reject" and not reason:
        raise _bad_form("Từ chối cần nêu lý do", "A rejection needs a reason", "ly_do")
    decision = Decision.CONFIRMED if verb == "confirm" else Decision.REJECTED
    return decision, candidate or None, reason


@router.post("/dan-cu/ho-so/{personal_id}/quyet-dinh", response_class=HTMLResponse)
def decide_person(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
    form: quality_views.FormDep,
) -> Response:
    """Confirm (a candidate of a potential match) or reject with a reason."""
    locale = Locale(lang_of(request))
    quality_views.check_csrf(request, token, _form_text(form, "csrf"))
    principal.require("population:review")
    match = review.get_by_personal_id(session, personal_id, principal=principal)
    try:
        decision, candidate, reason = parse_decision(form)
        with session.begin_nested():
            review.decide(
                session,
                match.person_id,
                principal=principal,
                decision=decision,
                reason=reason,
                candidate_personal_id=candidate,
                propose=_form_text(form, "de_xuat") == "1",
            )
    except HosoError as exc:
        session.expire_all()
        ctx = _person_context(session, principal, user, token, locale, personal_id)
        ctx["error"] = locale.t(exc.message_vi, exc.message_en)
        return render(request, "population/person.html", ctx, user=user, status_code=exc.status)
    ctx = _person_context(session, principal, user, token, locale, personal_id)
    made = ctx["m"].corrections_proposed
    if decision == Decision.CONFIRMED:
        ctx["notice"] = locale.t(
            "Đã xác nhận kết quả theo CSDLQG về dân cư.", "Confirmed as in the population registry."
        )
    else:
        ctx["notice"] = locale.t("Đã từ chối kết quả đối chiếu.", "Registry result rejected.")
    if made:
        ctx["notice"] += locale.t(
            f" Đã đề xuất {made} đính chính cho cơ quan quản lý.",
            f" {made} corrections proposed to the managing agency.",
        )
    return render(request, "population/person.html", ctx, user=user)


def propose_notice(report: review.ProposeReport, locale: Locale) -> str:
    """What proposing did, in words."""
    text = locale.t(
        f"Đã đề xuất {report.proposed} đính chính cho {report.people} hồ sơ.",
        f"Proposed {report.proposed} corrections for {report.people} dossiers.",
    )
    if report.skipped_duplicate:
        text += locale.t(
            f" Bỏ qua {report.skipped_duplicate} giá trị đã đề xuất trước đó.",
            f" Skipped {report.skipped_duplicate} values proposed before.",
        )
    if report.skipped_stale:
        text += locale.t(
            f" {report.skipped_stale} hồ sơ đã thay đổi sau lần đối chiếu: cần đối chiếu lại.",
            f" {report.skipped_stale} dossiers changed since the match: match them again.",
        )
    if report.skipped_unsynced:
        text += locale.t(
            f" {report.skipped_unsynced} hồ sơ chưa có bản đã phê duyệt tại CSDLQG "
            "nên chưa đề xuất được.",
            f" {report.skipped_unsynced} dossiers have no approved record at the national "
            "database yet and were not proposed.",
        )
    return text


@router.post("/dan-cu/de-xuat-dinh-chinh", response_class=HTMLResponse)
def propose_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: quality_views.TokenDep,
    form: quality_views.FormDep,
) -> Response:
    """Propose the registry's values as corrections: one person (``ma_dinh_danh``), else the
    scope (``co_quan``)."""
    locale = Locale(lang_of(request))
    quality_views.check_csrf(request, token, _form_text(form, "csrf"))
    principal.require("population:review")
    pid = _form_text(form, "ma_dinh_danh")
    if pid:
        if not (pid.isdigit() and len(pid) == 12):
            raise _bad_form("Số định danh không hợp lệ", "Invalid personal ID", "ma_dinh_danh")
        match = review.get_by_personal_id(session, pid, principal=principal)
        report = review.propose_corrections_report(
            session, principal=principal, person_ids=[match.person_id]
        )
        ctx = _person_context(session, principal, user, token, locale, pid)
        ctx["notice"] = propose_notice(report, locale)
        return render(request, "population/person.html", ctx, user=user)
    agency = scope_agency(session, principal, _form_text(form, "co_quan") or None)
    report = review.propose_corrections_report(session, principal=principal, agency=agency)
    ctx = _overview_context(session, principal, user, token, locale, agency)
    ctx["notice"] = propose_notice(report, locale)
    return render(request, "population/overview.html", ctx, user=user)
