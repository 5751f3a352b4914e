"""HTML pages of data quality: scores and their trend, worst rules, drill-down, the review queue.

``/chat-luong``                              the principal's scope: latest run, one row per
                                             managing agency, trend, worst rules, rules not
                                             evaluated; start a run (``quality:run``)
``/chat-luong/co-quan/{code}``               the same for one agency's subtree
``/chat-luong/quy-tac/{rule}``               one rule's findings in the scope: counts by field,
``/chat-luong/co-quan/{code}/quy-tac/{rule}`` the people (paged; HTMX swaps only the list)
``/chat-luong/ho-so/{personal_id}``          one person's scores and every finding
``/chat-luong/phat-hien.xlsx``               the findings as an XLSX work sheet (``?co_quan=``,
                                             ``?quy_tac=``), audited
``POST /chat-luong/chay``                    start a run, then ``/chat-luong/lan-chay/{id}``
``/chat-luong/de-xuat``                      the review queue of proposed fixes (diffs,
``POST /chat-luong/de-xuat``                 candidates); accept / reject one or many
``POST /chat-luong/de-xuat/tao``             propose fixes for the scope (``quality:review``)

Every page needs ``quality:read`` and stays inside the principal's subtree: an agency outside
it is refused (403, 404 when it does not exist); a person outside it is not found. The
findings and scores come from :mod:`hoso.quality.service`, the fixes from
:mod:`hoso.quality.cleaning`; pages only present. A few small read-only queries live here
because the service has no function for them yet: the latest run, the agency rows of the
last runs (the trend of a subtree is the records-weighted mean of its agencies' rows), the
counts of one rule's findings by field, one record's score row, and names for display.

Forms that change something carry a CSRF token: an HMAC (``secret_key``) of the session
token, so it needs no server-side state and changes when the user signs in again; a POST with
another site's ``Origin`` is refused too. (The session cookie is also ``SameSite=Lax`` and the
CSP allows ``form-action 'self'`` only.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import math
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from hoso.auth.deps import request_token
from hoso.auth.principal import Principal
from hoso.catalog.loader import FieldDef, get_catalog
from hoso.config import get_settings
from hoso.errors import HosoError, InvalidInput, Issue, NotFound, PermissionDenied
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.models import Person
from hoso.quality import cleaning, service
from hoso.quality import xlsx as quality_xlsx
from hoso.quality.engine import DIMENSION_LABELS, DIMENSIONS, SEVERITY_LABELS
from hoso.quality.models import (
    FixStatus,
    QualityAgencyScore,
    QualityFinding,
    QualityFix,
    QualityRun,
    QualityScore,
)
from hoso.web.deps import PageUserDep, PrincipalDep, SessionDep
from hoso.web.dossier import column_label, describe_path, label_of
from hoso.web.i18n import Locale, lang_of
from hoso.web.templating import PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
FIX_PAGE_SIZE = 20
TREND_RUNS = 12
WORST_RULES = 10
MAX_BULK = 200
PersonalId = Annotated[str, Path(pattern=r"^[0-9]{12}$")]
AgencyCode = Annotated[str, Path(max_length=60, pattern=r"^[0-9A-Za-z._-]+$")]
RuleId = Annotated[str, Path(max_length=12, pattern=r"^[A-Z]+-[0-9]{3}$")]
TokenDep = Annotated[str | None, Depends(request_token)]

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "invalid_format": ("Sai định dạng", "Invalid format"),
    "invalid_code": ("Mã không hợp lệ", "Invalid code"),
    "personal_id_mismatch": ("Số định danh không khớp", "Personal ID mismatch"),
    "date_order": ("Ngày sai thứ tự", "Dates out of order"),
    "implausible_value": ("Giá trị bất thường", "Implausible value"),
    "inconsistent_value": ("Giá trị mâu thuẫn", "Inconsistent value"),
    "missing_mandatory": ("Thiếu trường bắt buộc", "Missing mandatory field"),
    "incomplete_table": ("Bảng chưa đủ dòng", "Incomplete table"),
    "duplicate_person": ("Trùng người", "Duplicate person"),
    "duplicate_row": ("Dòng trùng lặp", "Duplicate row"),
    "legacy_encoding": ("Bảng mã cũ, chưa chuẩn Unicode", "Legacy encoding"),
    "name_format": ("Tên sai quy cách", "Name format"),
    "obsolete_admin_unit": ("Đơn vị hành chính cũ", "Obsolete administrative unit"),
    "population_mismatch": ("Khác CSDLQG về dân cư", "Differs from the population registry"),
    "not_in_population_registry": ("Không có trong CSDLQG về dân cư", "Not in the registry"),
    "stale_record": ("Chậm cập nhật, đồng bộ", "Stale record"),
    "retirement_overdue": ("Quá tuổi nghỉ hưu", "Past retirement age"),
    "unsigned_record": ("Chưa ký số phê duyệt", "Not approved and signed"),
}
RUN_KINDS: dict[str, tuple[str, str]] = {
    "full": ("toàn bộ", "full"),
    "incremental": ("tăng dần", "incremental"),
}
PROFILE_LABELS: dict[str, tuple[str, str]] = {
    "core": ("Tối thiểu (định danh)", "Core identity set"),
    "p109": ("109 trường (đồng bộ 2023)", "109 fields (2023 sync)"),
    "tt06": ("Mẫu SYLL TT 06/2023/TT-BNV", "CV form of TT 06/2023/TT-BNV"),
    "nd27": ("Toàn bộ danh mục (NĐ 27/2026/NĐ-CP)", "Whole catalogue (NĐ 27/2026/NĐ-CP)"),
}
FIX_STATUS_LABELS: dict[str, tuple[str, str]] = {
    FixStatus.PROPOSED: ("Chờ duyệt", "Proposed"),
    FixStatus.ACCEPTED: ("Đã chấp nhận", "Accepted"),
    FixStatus.REJECTED: ("Đã từ chối", "Rejected"),
    FixStatus.SUPERSEDED: ("Không còn áp dụng", "Superseded"),
}
#: Labels of the ``meta.*`` fields findings may name (record metadata, not catalogue leaves).
META_LABELS: dict[str, tuple[str, str]] = {
    "meta.approval": ("Phê duyệt, ký số của cơ quan quản lý", "Approval and signature"),
    "meta.content_hash": ("Nội dung so với bản đã ký", "Content against the signed version"),
    "meta.created_at": ("Thời điểm tạo lập hồ sơ điện tử", "E-dossier created at"),
    "meta.first_declared_at": ("Thời điểm hoàn thành kê khai lần đầu", "First declared at"),
    "meta.population_matched_at": (
        "Lần đối chiếu CSDLQG về dân cư gần nhất",
        "Last match with the population registry",
    ),
    "meta.synced_at": ("Thời điểm đồng bộ về CSDLQG", "Synced to the national DB at"),
    "meta.updated_at": ("Thời điểm cập nhật, xác minh", "Updated or verified at"),
    "meta.hr_events": ("Sự kiện nhân sự", "HR event"),
}
_INDEX = re.compile(r"\[\d+\]")


# --- small presentation helpers ------------------------------------------------------------


def _t(locale: Locale, pair: tuple[str, str]) -> str:
    return locale.t(*pair)


def score_text(locale: Locale, value: float | None) -> str:
    """A score with one decimal in the page language (``97,5`` / ``97.5``)."""
    if value is None:
        return "—"
    return locale.decimal(f"{value:.1f}")


def score_class(value: float | None) -> str:
    """CSS class of a score: good from 95, fair from 80, poor below."""
    if value is None:
        return "score-none"
    if value >= 95:
        return "score-good"
    if value >= 80:
        return "score-fair"
    return "score-poor"


@dataclass(frozen=True, slots=True)
class Spark:
    """An inline SVG sparkline (attributes only: the CSP forbids inline styles)."""

    points: str
    last_x: float
    last_y: float
    label: str
    width: int = 120
    height: int = 28
    single: bool = False


def sparkline(values: Sequence[float], locale: Locale) -> Spark | None:
    """Sparkline of the scores over runs, oldest first (None without any run)."""
    if not values:
        return None
    width, height, pad = 120, 28, 3
    lo, hi = min(values), max(values)
    if hi - lo < 5:  # a flat line would exaggerate noise: show at least 5 points of range
        mid = (hi + lo) / 2
        lo, hi = mid - 2.5, mid + 2.5
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    coords = [
        (
            round(pad + i * step, 1),
            round(height - pad - (v - lo) / (hi - lo) * (height - 2 * pad), 1),
        )
        for i, v in enumerate(values)
    ]
    if len(coords) == 1:
        coords = [(round(width / 2, 1), coords[0][1])]
    label = " → ".join(score_text(locale, v) for v in values)
    return Spark(
        points=" ".join(f"{x},{y}" for x, y in coords),
        last_x=coords[-1][0],
        last_y=coords[-1][1],
        label=label,
        width=width,
        height=height,
        single=len(values) == 1,
    )


def field_label(path: str, locale: Locale) -> str:
    """A finding's field as the catalogue names it (item number, label, row, column)."""
    if path.startswith("meta."):
        pair = META_LABELS.get(_INDEX.sub("", path))
        if pair is None:
            return locale.t(f"Thông tin quản lý {path}", f"Record metadata {path}")
        row = re.search(r"\[(\d+)\]", path)
        suffix = locale.t(f" › dòng {int(row[1]) + 1}", f" › row {int(row[1]) + 1}") if row else ""
        return _t(locale, pair) + suffix
    label, _leaf, _whole = describe_path(path, locale)
    return label


def generic_field_label(path: str, locale: Locale) -> str:
    """The label of a field with its row numbers left out (``work_history.from``)."""
    if path.startswith("meta."):
        return field_label(path, locale)
    catalog = get_catalog()
    leaf = catalog.leaf_by_path.get(path)
    if leaf is not None and leaf.table:
        table = catalog.by_code.get(leaf.table)
        if table is not None:
            prefix = f"{table.cv_item}. " if table.cv_item else ""
            return f"{prefix}{label_of(table, locale)} › {column_label(leaf, locale)}"
    return field_label(path, locale)


def _leaf_of(path: str) -> FieldDef | None:
    catalog = get_catalog()
    generic = _INDEX.sub("", path)
    return catalog.leaf_by_path.get(generic) or catalog.by_code.get(generic)


def value_html(path: str, value: Any, locale: Locale) -> Markup:
    """A stored value as it is (so stray spaces, old encodings stay visible), with the
    code list's label beside a code."""
    if value is None:
        return Markup('<span class="empty">—</span>')
    raw = value if isinstance(value, str) else orjson.dumps(value).decode()
    shown = Markup('<code class="raw">{}</code>').format(raw)
    leaf = _leaf_of(path)
    if leaf is not None and leaf.type == "code" and isinstance(value, str) and leaf.codelist:
        codes = get_catalog().codelists.get(leaf.codelist)
        entry = codes.get(value) if codes is not None else None
        if entry is not None:
            label = entry.label_vi if locale.lang == "vi" else entry.label_en
            shown += Markup(' <span class="muted small">{}</span>').format(label)
    return shown


def _rule_text(rule_id: str, locale: Locale) -> str:
    spec = get_catalog().rule_by_id.get(rule_id)
    if spec is None:
        return rule_id
    return locale.t(spec.description_vi, spec.description_en)


def _org_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted)))
    return {code: name for code, name in rows}


def _birth_names(session: Session, personal_ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted(set(personal_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Person.personal_id, Person.birth_name).where(Person.personal_id.in_(wanted))
    )
    return {pid: name for pid, name in rows}


# --- scope ------------------------------------------------------------------------------


def scope_agency(session: Session, principal: Principal, code: str | None) -> str | None:
    """The agency whose subtree a page shows: ``code`` (which must lie in the principal's
    subtree: NotFound when absent, PermissionDenied outside) or the principal's own scope."""
    principal.require("quality:read")
    if code is None:
        if principal.scope_code is not None:
            orgs_service.principal_prefix(session, principal)  # refuses a vanished scope
        return principal.scope_code
    orgs_service.require_in_scope(session, principal, code)
    return code


# --- CSRF ---------------------------------------------------------------------------------


def csrf_token(session_token: str | None) -> str:
    """The form token of a signed-in session (empty without a session)."""
    if not session_token:
        return ""
    key = get_settings().secret_key.encode()
    message = b"hoso.quality.csrf\x00" + session_token.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _csrf_refused() -> PermissionDenied:
    return PermissionDenied(
        message_vi="Biểu mẫu đã hết hạn hoặc không được gửi từ trang này: tải lại trang rồi thử lại",
        message_en="The form expired or was not sent from this site: reload the page and retry",
    )


def check_csrf(request: Request, session_token: str | None, sent: str | None) -> None:
    """Refuse a state-changing form without this session's token or from another origin."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise _csrf_refused()
    expected = csrf_token(session_token)
    if not expected or not hmac.compare_digest(expected, sent or ""):
        raise _csrf_refused()


async def form_data(request: Request) -> FormData:
    """The posted form (for field names built from ids: ``lua_chon_12_0``, ``ly_do_12``)."""
    return await request.form(max_files=0, max_fields=5000)


FormDep = Annotated[FormData, Depends(form_data)]


# --- the scores page -------------------------------------------------------------------------


@dataclass(slots=True)
class ScoreCard:
    """One dimension (or overall) of the scope's total, with its trend."""

    key: str
    label: str
    value: float
    text: str
    css: str
    spark: Spark | None


@dataclass(slots=True)
class AgencyRow:
    """One managing agency of the latest run."""

    code: str
    name: str
    url: str
    records: int
    passed: int
    complete: float
    scores: dict[str, float]
    spark: Spark | None


@dataclass(slots=True)
class RuleRow:
    """One rule with findings in the scope (worst first)."""

    rule_id: str
    dimension: str
    severity: str
    severity_label: str
    description: str
    count: int
    url: str


@dataclass(slots=True)
class Overview:
    """Everything the scores page shows."""

    run: QualityRun | None
    total: dict[str, Any] = field(default_factory=dict)
    cards: list[ScoreCard] = field(default_factory=list)
    agencies: list[AgencyRow] = field(default_factory=list)
    worst: list[RuleRow] = field(default_factory=list)
    categories: list[tuple[str, str, int, int]] = field(default_factory=list)
    not_evaluated: list[dict[str, str]] = field(default_factory=list)
    runs_in_trend: int = 0


def latest_run(session: Session) -> QualityRun | None:
    """The latest completed run (the one whose agency scores are the current ones)."""
    latest = session.execute(select(func.max(QualityAgencyScore.run_id))).scalar()
    return session.get(QualityRun, latest) if latest is not None else None


def _trend_runs(session: Session, run: QualityRun) -> list[int]:
    """Ids of the last runs of the same profile, oldest first."""
    ids = session.execute(
        select(QualityAgencyScore.run_id)
        .where(QualityAgencyScore.profile == run.profile)
        .group_by(QualityAgencyScore.run_id)
        .order_by(QualityAgencyScore.run_id.desc())
        .limit(TREND_RUNS)
    ).scalars()
    return sorted(ids)


def _history(
    session: Session, run_ids: Sequence[int], codes: Sequence[str] | None
) -> dict[str, list[QualityAgencyScore]]:
    """Agency rows of ``run_ids`` by agency code (``*`` included for national scope)."""
    stmt = select(QualityAgencyScore).where(QualityAgencyScore.run_id.in_(list(run_ids)))
    if codes is not None:
        stmt = stmt.where(QualityAgencyScore.agency_code.in_(list(codes)))
    out: dict[str, list[QualityAgencyScore]] = {}
    for row in session.execute(stmt.order_by(QualityAgencyScore.run_id)).scalars():
        out.setdefault(row.agency_code, []).append(row)
    return out


def subtree_series(
    history: Mapping[str, Sequence[QualityAgencyScore]], run_ids: Sequence[int], key: str
) -> list[float]:
    """Per run, the mean record score over the agencies of the subtree (a mean of record
    scores is the records-weighted mean of the agencies' means)."""
    out: list[float] = []
    for run_id in run_ids:
        rows = [r for rows in history.values() for r in rows if r.run_id == run_id]
        n = sum(r.records for r in rows)
        if n:
            out.append(round(sum(getattr(r, key) * r.records for r in rows) / n, 1))
    return out


def build_overview(
    session: Session, agency: str | None, locale: Locale, *, is_scope: bool = True
) -> Overview:
    """The scores page of ``agency``'s subtree (None: every agency); ``is_scope`` when it is
    the principal's own scope (the drill-down links then stay on ``/chat-luong/quy-tac``)."""
    run = latest_run(session)
    if run is None:
        return Overview(run=None)
    catalog = get_catalog()
    codes = service.agency_codes(session, agency) if agency else None
    rows = [
        r
        for r in service.latest_agency_scores(session, agency=agency)
        if r.agency_code != service.ALL
    ]
    if agency is None:
        everyone = session.execute(
            select(QualityAgencyScore).where(
                QualityAgencyScore.run_id == run.id, QualityAgencyScore.agency_code == service.ALL
            )
        ).scalar_one_or_none()
        total = dict(everyone.report) if everyone is not None else {}
    else:
        total = service.subtree_report(session, agency, run)
    run_ids = _trend_runs(session, run)
    history = _history(session, run_ids, codes)
    names = _org_names(session, [r.agency_code for r in rows])

    def total_series(key: str) -> list[float]:
        if agency is None:
            return [round(getattr(r, key), 1) for r in history.get(service.ALL, [])]
        return subtree_series({c: v for c, v in history.items() if c != service.ALL}, run_ids, key)

    scores = total.get("scores", {})
    cards = [
        ScoreCard(
            key=key,
            label=_t(locale, DIMENSION_LABELS[key]),
            value=float(scores.get(key, 100.0)),
            text=score_text(locale, scores.get(key)),
            css=score_class(scores.get(key)),
            spark=sparkline(total_series(key), locale),
        )
        for key in (*DIMENSIONS, "overall")
    ]
    base = "/chat-luong"
    agencies = [
        AgencyRow(
            code=r.agency_code,
            name=names.get(r.agency_code, r.agency_code),
            url=f"{base}/co-quan/{r.agency_code}",
            records=r.records,
            passed=r.records_passed,
            complete=r.complete_records,
            scores={key: getattr(r, key) for key in (*DIMENSIONS, "overall")},
            spark=sparkline([h.overall for h in history.get(r.agency_code, [])], locale),
        )
        for r in rows
    ]
    rule_base = base if is_scope or agency is None else f"{base}/co-quan/{agency}"
    worst: list[RuleRow] = []
    for rule_id, by_severity in total.get("findings_by_rule", {}).items():
        spec = catalog.rule_by_id.get(rule_id)
        severity = spec.severity if spec else next(iter(by_severity), "error")
        worst.append(
            RuleRow(
                rule_id=rule_id,
                dimension=spec.dimension if spec else "",
                severity=severity,
                severity_label=_t(locale, SEVERITY_LABELS.get(severity, (severity, severity))),
                description=_rule_text(rule_id, locale),
                count=sum(int(n) for n in by_severity.values()),
                url=f"{rule_base}/quy-tac/{rule_id}",
            )
        )
    # most findings first; errors before warnings on a tie, then by id
    worst.sort(key=lambda r: (-r.count, r.severity != "error", r.rule_id))
    categories = sorted(
        (
            (
                cat,
                _t(locale, CATEGORY_LABELS.get(cat, (cat, cat))),
                int(c.get("error", 0)),
                int(c.get("warning", 0)),
            )
            for cat, c in total.get("findings_by_category", {}).items()
        ),
        key=lambda x: (-(x[2] + x[3]), x[0]),
    )
    not_evaluated = [
        {
            "rule_id": ne.get("rule_id", ""),
            "description": _rule_text(str(ne.get("rule_id", "")), locale),
            "reason": locale.t(ne.get("reason_vi") or ne.get("reason", ""), ne.get("reason", "")),
        }
        for ne in total.get("not_evaluated", run.not_evaluated or [])
    ]
    return Overview(
        run=run,
        total=total,
        cards=cards,
        agencies=agencies,
        worst=worst[:WORST_RULES],
        categories=categories,
        not_evaluated=not_evaluated,
        runs_in_trend=len(run_ids),
    )


def _page_context(
    session: Session,
    principal: Principal,
    user: PageUser,
    session_token: str | None,
    locale: Locale,
    agency: str | None,
    *,
    is_scope: bool,
) -> dict[str, Any]:
    overview = build_overview(session, agency, locale, is_scope=is_scope)
    names = _org_names(session, [agency])
    review = principal.can("quality:review")
    pending = 0
    if review:
        pending = cleaning.count_fixes(session, principal=principal, agency=agency)
    return {
        "o": overview,
        "is_scope": is_scope,
        "agency": agency,
        "agency_name": names.get(agency or "", agency),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "xlsx_url": "/chat-luong/phat-hien.xlsx" + (f"?co_quan={agency}" if agency else ""),
        "can_run": principal.can("quality:run"),
        "can_review": review,
        "pending_fixes": pending,
        "csrf": csrf_token(session_token),
        "profiles": [(p, _t(locale, PROFILE_LABELS[p])) for p in service.PROFILES],
        "default_profile": get_settings().quality_profile,
        "dimension_labels": {k: _t(locale, v) for k, v in DIMENSION_LABELS.items()},
        "run_kind": _t(locale, RUN_KINDS.get(overview.run.kind, ("", ""))) if overview.run else "",
        "profile_label": _t(locale, PROFILE_LABELS.get(overview.run.profile, ("", "")))
        if overview.run
        else "",
        "score_text": lambda v: score_text(locale, v),
        "score_class": score_class,
    }


@router.get("/chat-luong", response_class=HTMLResponse)
def quality_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: TokenDep,
) -> Response:
    """Scores of the principal's scope: per agency, trend, worst rules, rules not evaluated."""
    locale = Locale(lang_of(request))
    agency = scope_agency(session, principal, None)
    ctx = _page_context(session, principal, user, token, locale, agency, is_scope=True)
    return render(request, "quality/overview.html", ctx, user=user)


@router.get("/chat-luong/co-quan/{code}", response_class=HTMLResponse)
def agency_page(
    request: Request,
    code: AgencyCode,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: TokenDep,
) -> Response:
    """Scores of one agency's subtree (inside the principal's scope)."""
    locale = Locale(lang_of(request))
    agency = scope_agency(session, principal, code)
    ctx = _page_context(session, principal, user, token, locale, agency, is_scope=False)
    return render(request, "quality/overview.html", ctx, user=user)


# --- drill-down: a rule's findings ---------------------------------------------------------


@dataclass(slots=True)
class FindingRow:
    """One finding as the drill-down lists it."""

    personal_id: str
    birth_name: str | None
    agency_name: str
    field: str
    field_label: str
    value: Markup
    expected: Markup
    related: str | None
    severity: str


def _finding_rows(
    session: Session, findings: Sequence[Mapping[str, Any]], locale: Locale
) -> list[FindingRow]:
    names = _org_names(session, [f["managing_agency_code"] for f in findings])
    return [
        FindingRow(
            personal_id=f["personal_id"],
            birth_name=f.get("birth_name"),
            agency_name=names.get(f["managing_agency_code"], f["managing_agency_code"]),
            field=f["field"],
            field_label=field_label(f["field"], locale),
            value=value_html(f["field"], f["value"], locale),
            expected=value_html(f["field"], f["expected"], locale)
            if f["expected"] is not None
            else Markup(""),
            related=f.get("related"),
            severity=f["severity"],
        )
        for f in findings
    ]


def counts_by_field(session: Session, agency: str | None, rule_id: str) -> list[tuple[str, int]]:
    """How many findings of ``rule_id`` name each field (rows merged), most first."""
    stmt = (
        select(QualityFinding.field, func.count())
        .where(QualityFinding.rule_id == rule_id)
        .group_by(QualityFinding.field)
    )
    if agency is not None:
        stmt = stmt.where(
            QualityFinding.managing_agency_code.in_(service.agency_codes(session, agency))
        )
    merged: dict[str, int] = {}
    for path, n in session.execute(stmt):
        key = _INDEX.sub("", path)
        merged[key] = merged.get(key, 0) + int(n)
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


def _rule_page(
    request: Request,
    session: Session,
    principal: Principal,
    user: PageUser,
    agency: str | None,
    rule_id: str,
    page_no: int,
    *,
    is_scope: bool,
) -> Response:
    locale = Locale(lang_of(request))
    spec = get_catalog().rule_by_id.get(rule_id)
    if spec is None:
        raise NotFound(
            message_vi=f"Không có quy tắc '{rule_id}'", message_en=f"No rule '{rule_id}'"
        )
    by_field = counts_by_field(session, agency, rule_id)
    total = sum(n for _f, n in by_field)
    offset = (page_no - 1) * PAGE_SIZE
    found = list(
        itertools.islice(
            service.iter_findings(
                session,
                agency=agency,
                rule_id=rule_id,
                limit=offset + PAGE_SIZE,
                with_names=True,
            ),
            offset,
            None,
        )
    )
    service.audit_read(
        session, actor=principal.username, what="findings", agency=agency, count=len(found)
    )
    base = "/chat-luong" if is_scope or agency is None else f"/chat-luong/co-quan/{agency}"
    names = _org_names(session, [agency])
    ctx: dict[str, Any] = {
        "spec": spec,
        "description": _rule_text(rule_id, locale),
        "dimension_label": _t(locale, DIMENSION_LABELS.get(spec.dimension, ("", ""))),
        "severity_label": _t(locale, SEVERITY_LABELS.get(spec.severity, ("", ""))),
        "agency": agency,
        "agency_name": names.get(agency or "", agency),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "back_url": base,
        "is_scope": is_scope,
        "xlsx_url": f"/chat-luong/phat-hien.xlsx?quy_tac={rule_id}"
        + (f"&co_quan={agency}" if agency else ""),
        "by_field": [(path, generic_field_label(path, locale), n) for path, n in by_field],
        "rows": _finding_rows(session, found, locale),
        "total": total,
        "offset": offset,
        "page_no": page_no,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "quality/_rule_findings.html", ctx, user=user)
    return render(request, "quality/rule.html", ctx, user=user)


Page = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/chat-luong/quy-tac/{rule_id}", response_class=HTMLResponse)
def scope_rule_page(
    request: Request,
    rule_id: RuleId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    trang: Page = 1,
) -> Response:
    """The findings of one rule in the principal's scope: by field, then the people."""
    agency = scope_agency(session, principal, None)
    return _rule_page(request, session, principal, user, agency, rule_id, trang, is_scope=True)


@router.get("/chat-luong/co-quan/{code}/quy-tac/{rule_id}", response_class=HTMLResponse)
def agency_rule_page(
    request: Request,
    code: AgencyCode,
    rule_id: RuleId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    trang: Page = 1,
) -> Response:
    """The findings of one rule in one agency's subtree."""
    agency = scope_agency(session, principal, code)
    return _rule_page(request, session, principal, user, agency, rule_id, trang, is_scope=False)


# --- one person ------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonFinding:
    """One finding of the person's panel."""

    rule_id: str
    description: str
    severity: str
    severity_label: str
    field: str
    field_label: str
    value: Markup
    expected: Markup
    related: str | None


def _scored_at(session: Session, score: QualityScore | None) -> dt.datetime | None:
    """When the record's scores were last confirmed: a run over every agency re-checks what
    changed and leaves the rest, so a score row is current as of the latest such run."""
    if score is None:
        return None
    latest = service.last_run(session, get_settings().quality_profile)
    if latest is None or latest.started_at <= score.checked_at:
        return score.checked_at
    return latest.started_at


@router.get("/chat-luong/ho-so/{personal_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    personal_id: PersonalId,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
) -> Response:
    """One person's scores and every current finding, by dimension, with field labels."""
    locale = Locale(lang_of(request))
    principal.require("quality:read")
    dossier = people_service.get_by_personal_id(session, personal_id, principal=principal)
    score = session.execute(
        select(QualityScore).where(QualityScore.personal_id == personal_id)
    ).scalar_one_or_none()
    found = list(service.iter_findings(session, personal_id=personal_id))
    service.audit_read(
        session,
        actor=principal.username,
        what="findings",
        agency=dossier.managing_agency,
        count=len(found),
    )
    catalog = get_catalog()
    groups: dict[str, list[PersonFinding]] = {d: [] for d in DIMENSIONS}
    for f in found:
        groups.setdefault(f["dimension"], []).append(
            PersonFinding(
                rule_id=f["rule_id"],
                description=_rule_text(f["rule_id"], locale),
                severity=f["severity"],
                severity_label=_t(locale, SEVERITY_LABELS.get(f["severity"], ("", ""))),
                field=f["field"],
                field_label=field_label(f["field"], locale),
                value=value_html(f["field"], f["value"], locale),
                expected=value_html(f["field"], f["expected"], locale)
                if f["expected"] is not None
                else Markup(""),
                related=f.get("related"),
            )
        )
    names = _org_names(session, [dossier.managing_agency])
    ctx = {
        "dossier": dossier,
        "agency_name": names.get(dossier.managing_agency, dossier.managing_agency),
        "score": score,
        "scored_at": _scored_at(session, score),
        "stale": score is not None and score.version != dossier.current_version,
        "groups": [
            (d, _t(locale, DIMENSION_LABELS[d]), groups.get(d, []))
            for d in (*DIMENSIONS, *(k for k in groups if k not in DIMENSIONS))
            if d in DIMENSION_LABELS
        ],
        "count": len(found),
        "score_text": lambda v: score_text(locale, v),
        "score_class": score_class,
        "dimensions": [(d, _t(locale, DIMENSION_LABELS[d])) for d in (*DIMENSIONS, "overall")],
        "n_rules": len(catalog.rules),
    }
    return render(request, "quality/person.html", ctx, user=user)


# --- the XLSX work sheet ---------------------------------------------------------------------


@router.get("/chat-luong/phat-hien.xlsx")
def findings_xlsx(
    session: SessionDep,
    principal: PrincipalDep,
    co_quan: Annotated[str | None, Query(max_length=60)] = None,
    quy_tac: Annotated[str | None, Query(max_length=12, pattern=r"^[A-Z]+-[0-9]{3}$")] = None,
) -> Response:
    """The scope's (or an agency's) findings as an XLSX work sheet; the read is audited."""
    agency = scope_agency(session, principal, co_quan.strip() if co_quan else None)
    folder = FilePath(tempfile.mkdtemp(prefix="hoso-xlsx-"))
    path = folder / "findings.xlsx"

    def cleanup() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    rows = service.iter_findings(session, agency=agency, rule_id=quy_tac, with_names=True)
    try:
        count = quality_xlsx.write_findings(rows, path)
    except BaseException:
        cleanup()
        raise
    service.audit_read(
        session, actor=principal.username, what="findings", agency=agency, count=count
    )
    day = service.today().isoformat()
    name = f"phat-hien-{agency or 'toan-quoc'}{'-' + quy_tac if quy_tac else ''}-{day}.xlsx"
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        background=BackgroundTask(cleanup),
    )


# --- runs -----------------------------------------------------------------------------------


@router.post("/chat-luong/chay")
def start_run(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    token: TokenDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    profile: Annotated[str, Form(max_length=10)] = "",
    full: Annotated[bool, Form()] = False,
) -> Response:
    """Run the rules over the principal's scope, then show the run's summary."""
    check_csrf(request, token, csrf)
    principal.require("quality:run")
    agency = scope_agency(session, principal, None)
    summary = service.run(
        session,
        actor=principal.username,
        profile=profile or None,
        agency=agency,
        full=full,
    )
    return RedirectResponse(f"/chat-luong/lan-chay/{summary.run_id}", status_code=303)


@router.get("/chat-luong/lan-chay/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: Annotated[int, Path(ge=1)],
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
) -> Response:
    """What one run did: kind, profile, as-of date, records checked, findings, timings."""
    locale = Locale(lang_of(request))
    principal.require("quality:read")
    run = session.get(QualityRun, run_id)
    if run is None or (
        run.agency_code is not None
        and not orgs_service.in_scope(session, principal, run.agency_code)
    ):
        raise NotFound(
            message_vi=f"Không tìm thấy lần kiểm tra {run_id}",
            message_en=f"Quality run {run_id} not found",
        )
    names = _org_names(session, [run.agency_code])
    ctx = {
        "run": run,
        "kind": _t(locale, RUN_KINDS.get(run.kind, (run.kind, run.kind))),
        "profile_label": _t(locale, PROFILE_LABELS.get(run.profile, (run.profile, run.profile))),
        "agency_name": names.get(run.agency_code or "", run.agency_code),
        "seconds": sum(float(v) for v in (run.timings or {}).values()),
        "not_evaluated": [
            {
                "rule_id": ne.get("rule_id", ""),
                "description": _rule_text(str(ne.get("rule_id", "")), locale),
                "reason": locale.t(
                    ne.get("reason_vi") or ne.get("reason", ""), ne.get("reason", "")
                ),
            }
            for ne in run.not_evaluated or []
        ],
    }
    return render(request, "quality/run.html", ctx, user=user)


# --- the review queue -----------------------------------------------------------------------


@dataclass(slots=True)
class Candidate:
    """One value an ambiguous change may take."""

    index: int
    label: Markup


@dataclass(slots=True)
class ChangeRow:
    """One change of a proposed fix, ready to show."""

    index: int
    field: str
    field_label: str
    old: Markup
    new: Markup
    rule_id: str
    note: str
    ambiguous: bool
    candidates: list[Candidate]


@dataclass(slots=True)
class FixCard:
    """One proposed (or decided) fix."""

    fix: QualityFix
    birth_name: str | None
    agency_name: str
    status_label: str
    changes: list[ChangeRow]


@dataclass(slots=True)
class OutcomeRow:
    """What a decision did to one fix."""

    fix_id: int
    personal_id: str
    status: str
    status_label: str
    new_version: int | None
    message: str


def candidate_value(candidate: Any) -> Any:
    """The value an officer picks: a candidate's ``value`` when it carries a label too."""
    if isinstance(candidate, dict) and "value" in candidate:
        return candidate["value"]
    return candidate


def _candidate_label(path: str, candidate: Any, locale: Locale) -> Markup:
    if isinstance(candidate, dict) and "value" in candidate:
        label = candidate.get("label_vi" if locale.lang == "vi" else "label_en") or candidate.get(
            "label"
        )
        shown = value_html(path, candidate["value"], locale)
        if label:
            shown += Markup(" {}").format(label)
        if candidate.get("library_default"):
            shown += Markup(' <span class="muted small">({})</span>').format(
                locale.t("mặc định của thư viện chuyển đổi", "the conversion library's default")
            )
        return shown
    return value_html(path, candidate, locale)


def _new_html(change: Mapping[str, Any], locale: Locale) -> Markup:
    """The new value of a change: a value, a removal, a choice to make, or nothing (a note)."""
    if change.get("kind") == cleaning.NOTE:
        return Markup('<span class="muted">{}</span>').format(
            locale.t("không tự động sửa (xem ghi chú)", "no automatic change (see the note)")
        )
    if change.get("ambiguous"):
        return Markup('<span class="muted">{}</span>').format(
            locale.t("cần chọn một phương án", "a candidate must be picked")
        )
    if change.get("new") is None:
        return Markup('<span class="badge op-removed">{}</span>').format(
            locale.t("bỏ trống (xoá giá trị)", "left empty (value removed)")
        )
    return value_html(str(change.get("field", "")), change.get("new"), locale)


def fix_cards(session: Session, fixes: Sequence[QualityFix], locale: Locale) -> list[FixCard]:
    """The fixes with their diffs labelled from the catalogue."""
    names = _birth_names(session, [f.personal_id for f in fixes])
    orgs = _org_names(session, [f.managing_agency_code for f in fixes])
    cards = []
    for fix in fixes:
        rows = []
        for i, ch in enumerate(fix.changes or []):
            path = str(ch.get("field", ""))
            candidates = ch.get("candidates") or []
            rows.append(
                ChangeRow(
                    index=i,
                    field=path,
                    field_label=field_label(path, locale),
                    old=value_html(path, ch.get("old"), locale),
                    new=_new_html(ch, locale),
                    rule_id=str(ch.get("rule_id") or ""),
                    note=locale.t(ch.get("note_vi") or "", ch.get("note_en") or "")
                    if ch.get("note_vi") or ch.get("note_en")
                    else "",
                    ambiguous=bool(ch.get("ambiguous")),
                    candidates=[
                        Candidate(index=j, label=_candidate_label(path, c, locale))
                        for j, c in enumerate(candidates)
                    ],
                )
            )
        status = FIX_STATUS_LABELS.get(fix.status, (fix.status, fix.status))
        cards.append(
            FixCard(
                fix=fix,
                birth_name=names.get(fix.personal_id),
                agency_name=orgs.get(fix.managing_agency_code, fix.managing_agency_code),
                status_label=_t(locale, status),
                changes=rows,
            )
        )
    return cards


STATUSES = (FixStatus.PROPOSED, FixStatus.ACCEPTED, FixStatus.REJECTED, FixStatus.SUPERSEDED)


def _queue_context(
    session: Session,
    principal: Principal,
    user: PageUser,
    session_token: str | None,
    locale: Locale,
    *,
    agency: str | None,
    status: str,
    page_no: int,
) -> dict[str, Any]:
    total = cleaning.count_fixes(session, principal=principal, agency=agency, status=status)
    fixes = cleaning.list_fixes(
        session,
        principal=principal,
        agency=agency,
        status=status,
        limit=FIX_PAGE_SIZE,
        offset=(page_no - 1) * FIX_PAGE_SIZE,
    )
    names = _org_names(session, [agency])
    return {
        "cards": fix_cards(session, fixes, locale),
        "total": total,
        "status": status,
        "statuses": [(s, _t(locale, FIX_STATUS_LABELS[s])) for s in STATUSES],
        "agency": agency,
        "agency_name": names.get(agency or "", agency),
        "scope_label": user.unit_name or locale.t("toàn quốc", "national"),
        "page_no": page_no,
        "pages": max(1, math.ceil(total / FIX_PAGE_SIZE)),
        "can_review": principal.can("quality:review"),
        "csrf": csrf_token(session_token),
        "outcomes": [],
        "error": None,
        "notice": None,
    }


def _fix_filter(
    session: Session, principal: Principal, co_quan: str | None, trang_thai: str | None
) -> tuple[str | None, str]:
    agency = scope_agency(session, principal, co_quan.strip() if co_quan else None)
    status = trang_thai if trang_thai in STATUSES else FixStatus.PROPOSED
    return agency, status


@router.get("/chat-luong/de-xuat", response_class=HTMLResponse)
def fixes_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: TokenDep,
    co_quan: Annotated[str | None, Query(max_length=60)] = None,
    trang_thai: Annotated[str | None, Query(max_length=20)] = None,
    trang: Page = 1,
) -> Response:
    """The review queue: each proposed fix with its diff; accept or reject, one or many."""
    locale = Locale(lang_of(request))
    agency, status = _fix_filter(session, principal, co_quan, trang_thai)
    ctx = _queue_context(
        session, principal, user, token, locale, agency=agency, status=status, page_no=trang
    )
    return render(request, "quality/fixes.html", ctx, user=user)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _bad_form(vi: str, en: str, field_name: str) -> InvalidInput:
    return InvalidInput(
        message_vi=vi,
        message_en=en,
        issues=[Issue(field=field_name, code="invalid", message_vi=vi, message_en=en, value=None)],
    )


def parse_decision(form: FormData) -> tuple[str, list[int], str]:
    """``(action, fix ids, reason)`` of a queue form: ``hanh_dong`` is ``accept``/``reject``
    (the ticked ``chon`` boxes) or ``accept:ID``/``reject:ID`` (one fix)."""
    action = _form_text(form, "hanh_dong")
    verb, _, one = action.partition(":")
    if verb not in ("accept", "reject"):
        raise _bad_form(
            "Chọn thao tác: chấp nhận hoặc từ chối", "Choose an action: accept or reject",
            "hanh_dong",
        )  # fmt: skip
    try:
        if one:
            ids = [int(one)]
            reason = _form_text(form, f"ly_do_{one}") or _form_text(form, "ly_do")
        else:
            ids = sorted({int(str(v)) for v in form.getlist("chon")})
            reason = _form_text(form, "ly_do")
    except ValueError:
        raise _bad_form("Mã đề xuất không hợp lệ", "Invalid fix id", "chon") from None
    if not ids:
        raise _bad_form("Chưa chọn đề xuất nào", "No proposed fix was selected", "chon")
    if len(ids) > MAX_BULK:
        raise _bad_form(
            f"Chọn tối đa {MAX_BULK} đề xuất mỗi lần",
            f"Select at most {MAX_BULK} fixes at a time",
            "chon",
        )
    if verb == "reject" and not reason:
        raise _bad_form("Từ chối cần nêu lý do", "A rejection needs a reason", "ly_do")
    return verb, ids, reason[:2000]


def parse_choices(form: FormData, fixes: Sequence[QualityFix]) -> dict[int, dict[str, Any]]:
    """The candidates picked for ambiguous changes (radio ``lua_chon_<fix>_<change>`` =
    the candidate's index), as ``accept``'s ``choices``."""
    choices: dict[int, dict[str, Any]] = {}
    for fix in fixes:
        for i, ch in enumerate(fix.changes or []):
            if not ch.get("ambiguous"):
                continue
            picked = _form_text(form, f"lua_chon_{fix.id}_{i}")
            candidates = ch.get("candidates") or []
            if not picked.isdigit() or int(picked) >= len(candidates):
                continue  # nothing picked: the service refuses the fix and says why
            choices.setdefault(fix.id, {})[str(ch["field"])] = candidate_value(
                candidates[int(picked)]
            )
    return choices


@router.post("/chat-luong/de-xuat", response_class=HTMLResponse)
def decide_fixes(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: TokenDep,
    form: FormDep,
) -> Response:
    """Accept or reject the chosen fixes; show what happened to each, then the queue."""
    locale = Locale(lang_of(request))
    check_csrf(request, token, _form_text(form, "csrf"))
    principal.require("quality:review")
    agency, status = _fix_filter(
        session, principal, _form_text(form, "co_quan") or None, FixStatus.PROPOSED
    )
    try:
        verb, ids, reason = parse_decision(form)
    except InvalidInput as exc:
        ctx = _queue_context(
            session, principal, user, token, locale, agency=agency, status=status, page_no=1
        )
        ctx["error"] = locale.t(exc.message_vi, exc.message_en)
        return render(request, "quality/fixes.html", ctx, user=user, status_code=422)
    fixes = [cleaning.get_fix(session, i, principal=principal) for i in ids]
    by_id = {f.id: f for f in fixes}
    outcomes: list[OutcomeRow] = []
    if verb == "accept":
        choices = parse_choices(form, fixes)
        for out in cleaning.accept(session, ids, principal=principal, choices=choices or None):
            label = FIX_STATUS_LABELS.get(out.status, ("Không thực hiện được", "Refused"))
            fix = by_id.get(out.fix_id)
            outcomes.append(
                OutcomeRow(
                    fix_id=out.fix_id,
                    personal_id=fix.personal_id if fix else "",
                    status=out.status,
                    status_label=_t(locale, label),
                    new_version=out.new_version,
                    message=locale.t(out.message_vi, out.message_en),
                )
            )
    else:
        try:
            cleaning.reject(session, ids, principal=principal, reason=reason)
        except HosoError as exc:  # all or nothing: an already decided fix refuses the call
            ctx = _queue_context(
                session, principal, user, token, locale, agency=agency, status=status, page_no=1
            )
            ctx["error"] = locale.t(exc.message_vi, exc.message_en)
            return render(request, "quality/fixes.html", ctx, user=user, status_code=exc.status)
        outcomes = [
            OutcomeRow(
                fix_id=fix.id,
                personal_id=fix.personal_id,
                status=FixStatus.REJECTED,
                status_label=_t(locale, FIX_STATUS_LABELS[FixStatus.REJECTED]),
                new_version=None,
                message=locale.t(f"Lý do: {reason}", f"Reason: {reason}"),
            )
            for fix in fixes
        ]
    ctx = _queue_context(
        session, principal, user, token, locale, agency=agency, status=status, page_no=1
    )
    ctx["outcomes"] = outcomes
    return render(request, "quality/fixes.html", ctx, user=user)


@router.post("/chat-luong/de-xuat/tao", response_class=HTMLResponse)
def propose_fixes(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    user: PageUserDep,
    token: TokenDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    co_quan: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    """Propose fixes (encodings, names, administrative units) for the scope's findings."""
    locale = Locale(lang_of(request))
    check_csrf(request, token, csrf)
    principal.require("quality:review")
    agency = scope_agency(session, principal, co_quan.strip() or None)
    report = cleaning.propose(session, principal=principal, agency=agency)
    ctx = _queue_context(
        session,
        principal,
        user,
        token,
        locale,
        agency=agency,
        status=FixStatus.PROPOSED,
        page_no=1,
    )
    ctx["notice"] = locale.t(
        f"Đã tạo {report.created} đề xuất mới; bỏ qua {report.skipped}; "
        f"{report.superseded} đề xuất cũ không còn áp dụng.",
        f"Created {report.created} new proposals; skipped {report.skipped}; "
        f"{report.superseded} older proposals superseded.",
    )
    return render(request, "quality/fixes.html", ctx, user=user)
