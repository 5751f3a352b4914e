"""Registry results as an XLSX work sheet (streamed: openpyxl write-only mode).

One row per differing field (a person without differences has one row with the outcome
only), Vietnamese headers with the English below, and a summary sheet by outcome.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hoso.catalog.loader import get_catalog
from hoso.population.models import Decision, Outcome

VN = ZoneInfo("Asia/Ho_Chi_Minh")

HEADERS = [
    ("Số định danh", "Personal ID", 15),
    ("Họ và tên", "Name", 26),
    ("Cơ quan quản lý", "Managing agency", 18),
    ("Kết quả đối chiếu", "Outcome", 18),
    ("Đối chiếu theo", "Matched by", 16),
    ("Số định danh trong CSDLQG", "Registry personal ID", 16),
    ("Tình trạng (CSDLQG)", "Registry status", 14),
    ("Trường", "Field", 26),
    ("Tên trường", "Field name", 30),
    ("Giá trị trong hồ sơ", "Dossier value", 28),
    ("Giá trị trong CSDLQG", "Registry value", 28),
    ("Loại khác biệt", "Kind", 14),
    ("Ghi chú", "Note", 40),
    ("Thời điểm đối chiếu", "Matched at (UTC+7)", 19),
    ("Quyết định", "Decision", 14),
]
OUTCOME_LABELS = {
    Outcome.MATCHED: "Khớp",
    Outcome.POTENTIAL: "Có thể trùng khớp",
    Outcome.CONFLICT: "Mâu thuẫn",
    Outcome.NOT_FOUND: "Không tìm thấy",
}
DECISION_LABELS = {
    Decision.PENDING: "Chờ xử lý",
    Decision.CONFIRMED: "Đã xác nhận",
    Decision.REJECTED: "Đã bác bỏ",
}
MATCHED_BY_LABELS = {
    "personal_id": "Số định danh",
    "legacy_id_no": "Số CMND cũ",
    "probabilistic": "Xác suất",
}
STATUS_LABELS = {"alive": "Còn sống", "deceased": "Đã mất"}
KIND_LABELS = {"identity": "Nhân thân", "mastered": "Khác"}


def _field_label(code: str) -> str:
    leaf = get_catalog().by_code.get(code)
    return leaf.label_vi if leaf is not None else code


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _local(moment: Any) -> str | None:
    if not isinstance(moment, dt.datetime):
        return _text(moment)
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S")


def _header(ws: Worksheet) -> None:
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E79")
    row = []
    for vi, en, _ in HEADERS:
        cell = WriteOnlyCell(ws, value=f"{vi}\n{en}")
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        row.append(cell)
    ws.append(row)


def write_results(results: Iterable[dict[str, Any]], path: Path) -> int:
    """Write ``service.iter_results`` rows to ``path``; the number of people written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Kết quả đối chiếu")
    for i, (_, _, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B2"
    _header(ws)
    by_outcome: Counter[str] = Counter()
    by_field: Counter[str] = Counter()
    people = lines = 0
    for r in results:
        people += 1
        by_outcome[r["outcome"]] += 1
        head = [
            r["personal_id"],
            r.get("name"),
            r.get("agency"),
            OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
            MATCHED_BY_LABELS.get(r.get("matched_by") or "", r.get("matched_by")),
            r.get("registry_personal_id"),
            STATUS_LABELS.get(r.get("registry_status") or "", r.get("registry_status")),
        ]
        tail = [_local(r.get("matched_at")), DECISION_LABELS.get(r["decision"], r["decision"])]
        differences = r.get("differences") or []
        if not differences:
            ws.append([*head, None, None, None, None, None, None, *tail])
            lines += 1
        for d in differences:
            by_field[d["field"]] += 1
            note = " / ".join(x for x in (d.get("note_vi"), d.get("note_en")) if x) or None
            ws.append(
                [
                    *head,
                    d["field"],
                    _field_label(d["field"]),
                    _text(d.get("ours")),
                    _text(d.get("registry")),
                    KIND_LABELS.get(d.get("kind") or "", d.get("kind")),
                    note,
                    *tail,
                ]
            )
            lines += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{lines + 1}"
    summary = wb.create_sheet("Tổng hợp")
    summary.append(["Kết quả / Outcome", "Mã / Code", "Số người / People"])
    for outcome in Outcome.ALL:
        summary.append([OUTCOME_LABELS[outcome], outcome, by_outcome.get(outcome, 0)])
    summary.append(["Tổng / Total", None, people])
    summary.append([])
    summary.append(["Trường khác biệt / Differing field", "Mã / Code", "Số người / People"])
    for code, n in sorted(by_field.items(), key=lambda kv: (-kv[1], kv[0])):
        summary.append([_field_label(code), code, n])
    wb.save(path)
    return people
