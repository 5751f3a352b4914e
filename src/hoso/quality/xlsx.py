"""Findings as an XLSX work sheet an agency can work from (streamed, bounded memory)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from hoso.catalog.loader import get_catalog
from hoso.quality.engine import DIMENSION_LABELS, SEVERITY_LABELS

HEADERS = [
    ("Số định danh", "Personal ID", 15),
    ("Họ và tên", "Name", 24),
    ("Cơ quan quản lý", "Managing agency", 18),
    ("Quy tắc", "Rule", 10),
    ("Tiêu chí", "Dimension", 9),
    ("Loại lỗi", "Category", 20),
    ("Mức độ", "Severity", 9),
    ("Trường", "Field", 30),
    ("Tên trường", "Field name", 30),
    ("Giá trị hiện tại", "Value", 30),
    ("Giá trị đúng", "Expected", 20),
    ("Liên quan", "Related", 15),
    ("Mô tả", "Description", 60),
    ("Xử lý / Ghi chú", "Action / note", 30),
]
DIMENSION_VI = {k: vi for k, (vi, _en) in DIMENSION_LABELS.items()}
SEVERITY_VI = {k: vi for k, (vi, _en) in SEVERITY_LABELS.items()}
_INDEX = re.compile(r"\[\d+\]")


def _field_label(path: str) -> str:
    catalog = get_catalog()
    leaf_path = _INDEX.sub("", path)
    if leaf_path.startswith("meta."):
        return leaf_path
    leaf = catalog.leaf_by_path.get(leaf_path) or catalog.by_code.get(leaf_path)
    return leaf.label_vi if leaf else path


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


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


def write_findings(findings: Iterable[dict[str, Any]], path: Path) -> int:
    """Write the findings (``iter_findings(..., with_names=True)``) to ``path``; the count."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Phát hiện")
    for i, (_, _, width) in enumerate(HEADERS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "B2"
    _header(ws)
    by_rule: Counter[tuple[str, str, str, str]] = Counter()
    n = 0
    for f in findings:
        ws.append(
            [
                f["personal_id"],
                f.get("birth_name"),
                f["managing_agency_code"],
                f["rule_id"],
                DIMENSION_VI.get(f["dimension"], f["dimension"]),
                f["category"],
                SEVERITY_VI.get(f["severity"], f["severity"]),
                f["field"],
                _field_label(f["field"]),
                _text(f["value"]),
                _text(f["expected"]),
                f.get("related"),
                f["message"],
                None,
            ]
        )
        by_rule[(f["rule_id"], f["dimension"], f["severity"], f["message"])] += 1
        n += 1
    ws.auto_filter.ref = f"A1:{chr(ord('A') + len(HEADERS) - 1)}{n + 1}"
    summary = wb.create_sheet("Tổng hợp")
    summary.append(["Quy tắc / Rule", "Tiêu chí / Dimension", "Mức độ / Severity",
                    "Số phát hiện / Findings", "Mô tả / Description"])  # fmt: skip
    for (rule_id, dim, sev, message), count in sorted(by_rule.items()):
        summary.append([rule_id, DIMENSION_VI.get(dim, dim), SEVERITY_VI.get(sev, sev), count,
                        message])  # fmt: skip
    wb.save(path)
    return n
