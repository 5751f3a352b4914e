"""The spreadsheet bulk format (exchange README §8): reading, writing and the template.

Sheet ``ho_so``: one row per person, one column per scalar field; sheets named by table
code whose rows carry ``personal_id`` first; sheet ``concurrent_posts`` for posts in other
units. Row 1 holds the field codes, row 2 the Vietnamese labels. Codes are written as
codes, dates as dates, decimals as text (their scale is part of the value), multi-valued
codes joined by ``;``. Reading streams the workbook (openpyxl read-only) and gathers table
rows in a temporary SQLite file, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import orjson
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from hoso.catalog.loader import Catalog, FieldDef, get_catalog

MAIN_SHEET = "ho_so"
POSTS_SHEET = "concurrent_posts"
POST_COLUMNS = ("unit_code", "position_code", "title", "start_date", "end_date")
POST_LABELS = (
    "Đơn vị kiêm nhiệm",
    "Chức vụ kiêm nhiệm (mã)",
    "Chức danh kiêm nhiệm",
    "Từ ngày",
    "Đến ngày",
)
TRUE_WORDS = {"true", "có", "co", "x", "1", "yes"}
FALSE_WORDS = {"false", "không", "khong", "0", "no"}


# --------------------------------------------------------------------------- cell <-> JSON


def cell_to_json(leaf: FieldDef, value: Any) -> Any:
    """Convert a spreadsheet cell to the catalogue's JSON representation (best effort;
    whatever cannot be converted is passed on for the validator to refuse)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    type_ = leaf.type
    if leaf.multiple:
        if isinstance(value, str):
            return [v.strip() for v in value.split(";") if v.strip()]
        return [str(value)]
    if type_ == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value if isinstance(value, str) else str(value)
    if type_ == "year_month":
        if isinstance(value, dt.date | dt.datetime):
            return f"{value.year:04d}-{value.month:02d}"
        return value if isinstance(value, str) else str(value)
    if type_ in ("year", "integer"):
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        return value
    if type_ == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            scale = leaf.scale or 0
            try:
                return f"{Decimal(str(value)):.{scale}f}"
            except InvalidOperation:
                return value
        return value
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            low = value.lower()
            if low in TRUE_WORDS:
                return True
            if low in FALSE_WORDS:
                return False
        return value
    if type_ == "image":
        if isinstance(value, str) and value.startswith("{"):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
        return value
    # string, text, code, phone, personal_id
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def json_to_cell(leaf: FieldDef, value: Any) -> Any:
    """Convert a stored JSON value to a spreadsheet cell value."""
    if value is None:
        return None
    if leaf.multiple and isinstance(value, list):
        return ";".join(str(v) for v in value)
    if leaf.type == "date" and isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if leaf.type == "image" or isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


# --------------------------------------------------------------------------- reading


def _header(rows: Iterator[tuple[Any, ...]]) -> list[str]:
    try:
        codes = next(rows)
    except StopIteration:
        return []
    next(rows, None)  # the labels row
    return [str(c).strip() if c is not None else "" for c in codes]


def read_xlsx(path: Path, catalog: Catalog | None = None) -> Iterator[tuple[int, str, Any]]:
    """Yield ``(row_number, sheet, record)`` for each person row of ``ho_so``.

    ``record`` is a bulk-line dict, or an ``Exception`` for a row that cannot be read.
    Table rows whose personal ID has no row in ``ho_so`` are yielded as errors too.
    """
    catalog = catalog or get_catalog()
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if MAIN_SHEET not in wb.sheetnames:
            raise ValueError(
                f"Tệp không có trang '{MAIN_SHEET}' / the workbook has no sheet '{MAIN_SHEET}'"
            )
        with tempfile.TemporaryDirectory(prefix="hoso-xlsx-") as tmp:
            store = sqlite3.connect(Path(tmp) / "rows.db")
            store.execute(
                "CREATE TABLE r (pid TEXT, tbl TEXT, seq INTEGER, row TEXT, line INTEGER)"
            )
            tables = {t.code: t for t in catalog.tables}
            table_order = {t.code: i for i, t in enumerate(catalog.tables)}
            seq = 0
            for sheet_name in wb.sheetnames:
                if sheet_name == MAIN_SHEET or (
                    sheet_name not in tables and sheet_name != POSTS_SHEET
                ):
                    continue
                ws = wb[sheet_name]
                rows = ws.iter_rows(values_only=True)
                codes = _header(rows)
                cols = (
                    {c.code: c for c in tables[sheet_name].columns} if sheet_name in tables else {}
                )
                batch = []
                for line, values in enumerate(rows, start=3):
                    if values is None or all(v is None for v in values):
                        continue
                    row: dict[str, Any] = {}
                    pid: Any = None
                    for code, value in zip(codes, values, strict=False):
                        if not code:
                            continue
                        if code == "personal_id":
                            pid = value
                            continue
                        leaf = cols.get(code)
                        if sheet_name == POSTS_SHEET:
                            converted = (
                                value.date().isoformat()
                                if isinstance(value, dt.datetime)
                                else value.isoformat()
                                if isinstance(value, dt.date)
                                else value
                            )
                        else:
                            converted = cell_to_json(leaf, value) if leaf is not None else value
                        if converted is not None:
                            row[code] = converted
                    if isinstance(pid, float) and pid.is_integer():
                        pid = str(int(pid))
                    seq += 1
                    batch.append(
                        (
                            str(pid).strip() if pid is not None else "",
                            sheet_name,
                            seq,
                            orjson.dumps(row, default=str).decode(),
                            line,
                        )
                    )
                    if len(batch) >= 5000:
                        store.executemany("INSERT INTO r VALUES (?,?,?,?,?)", batch)
                        batch.clear()
                store.executemany("INSERT INTO r VALUES (?,?,?,?,?)", batch)
            store.execute("CREATE INDEX r_pid ON r (pid, seq)")
            store.execute("CREATE TABLE seen (pid TEXT PRIMARY KEY)")
            ws = wb[MAIN_SHEET]
            rows = ws.iter_rows(values_only=True)
            codes = _header(rows)
            for line, values in enumerate(rows, start=3):
                if values is None or all(v is None for v in values):
                    continue
                data: dict[str, Any] = {}
                for code, value in zip(codes, values, strict=False):
                    if not code:
                        continue
                    leaf = catalog.by_code.get(code)
                    converted = cell_to_json(leaf, value) if leaf is not None else value
                    if converted is not None:
                        data[code] = converted
                pid = data.get("personal_id")
                record: dict[str, Any] = {"data": data}
                if isinstance(pid, str):
                    record["personal_id"] = pid
                    store.execute("INSERT OR IGNORE INTO seen VALUES (?)", (pid,))
                    found = store.execute(
                        "SELECT tbl, row FROM r WHERE pid = ? ORDER BY seq", (pid,)
                    ).fetchall()
                    by_table: dict[str, list[Any]] = {}
                    for tbl, row_text in found:
                        by_table.setdefault(tbl, []).append(orjson.loads(row_text))
                    for tbl in sorted(by_table, key=lambda t: table_order.get(t, 999)):
                        if tbl == POSTS_SHEET:
                            record["concurrent_posts"] = by_table[tbl]
                        else:
                            data[tbl] = by_table[tbl]
                yield line, MAIN_SHEET, record
            orphans = store.execute(
                "SELECT r.line, r.tbl, r.pid FROM r LEFT JOIN seen s ON s.pid = r.pid "
                "WHERE s.pid IS NULL ORDER BY r.tbl, r.line"
            ).fetchall()
            for line, tbl, pid in orphans:
                yield (
                    line,
                    tbl,
                    LookupError(
                        f"personal_id {pid!r} của trang '{tbl}' không có dòng nào trong trang "
                        f"'{MAIN_SHEET}' / personal_id {pid!r} of sheet '{tbl}' has no row in "
                        f"sheet '{MAIN_SHEET}'"
                    ),
                )
            store.close()
    finally:
        wb.close()


# --------------------------------------------------------------------------- writing

_HEADER_FONT = Font(bold=True)
_LABEL_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header_rows(ws: Worksheet, codes: list[str], labels: list[str]) -> None:
    code_cells = []
    label_cells = []
    for code, label in zip(codes, labels, strict=True):
        c = WriteOnlyCell(ws, value=code)
        c.font = _HEADER_FONT
        code_cells.append(c)
        lc = WriteOnlyCell(ws, value=label)
        lc.fill = _LABEL_FILL
        label_cells.append(lc)
    ws.append(code_cells)
    ws.append(label_cells)


def _date_cell(ws: Worksheet, value: Any) -> Any:
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def write_xlsx(
    out: IO[bytes] | Path,
    records: Iterable[dict[str, Any]],
    catalog: Catalog | None = None,
) -> int:
    """Write bulk records (``{"personal_id", "data", ...}``) as a workbook; return the count.

    Table sheets are written to temporary sheets in one pass (write-only mode keeps
    memory flat), so ``records`` is consumed once.
    """
    catalog = catalog or get_catalog()
    wb = Workbook(write_only=True)
    main = wb.create_sheet(MAIN_SHEET)
    scalars = list(catalog.scalars)
    _header_rows(main, [f.code for f in scalars], [f.label_vi for f in scalars])
    table_sheets: dict[str, Worksheet] = {}
    for t in catalog.tables:
        ws = wb.create_sheet(t.code)
        _header_rows(
            ws,
            ["personal_id", *[c.code for c in t.columns]],
            ["Số định danh cá nhân", *[c.label_vi for c in t.columns]],
        )
        table_sheets[t.code] = ws
    posts_ws = wb.create_sheet(POSTS_SHEET)
    _header_rows(posts_ws, ["personal_id", *POST_COLUMNS], ["Số định danh cá nhân", *POST_LABELS])
    count = 0
    for record in records:
        data = record["data"]
        pid = record.get("personal_id") or data.get("personal_id")
        main.append([_date_cell(main, json_to_cell(f, data.get(f.code))) for f in scalars])
        for t in catalog.tables:
            for row in data.get(t.code) or []:
                ws = table_sheets[t.code]
                ws.append(
                    [pid, *[_date_cell(ws, json_to_cell(c, row.get(c.code))) for c in t.columns]]
                )
        for post in record.get("concurrent_posts") or []:
            posts_ws.append([pid, *[post.get(c) for c in POST_COLUMNS]])
        count += 1
    wb.save(out)
    return count


def write_template(out: IO[bytes] | Path, catalog: Catalog | None = None) -> None:
    """The import template: every sheet with codes and Vietnamese labels, a guide and code lists."""
    catalog = catalog or get_catalog()
    wb = Workbook()
    guide = wb.active
    assert guide is not None
    guide.title = "huong_dan"
    lines = [
        "MẪU NHẬP HỒ SƠ CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC (hoso)",
        "Trang 'ho_so': mỗi dòng một người, mỗi cột một trường; dòng 1 là mã trường, dòng 2 là tên trường.",
        "Các trang mang tên bảng (work_history, family_own_side, …): mỗi dòng một dòng của bảng, cột đầu là số định danh cá nhân.",
        "Ngày ghi dạng ngày (YYYY-MM-DD); tháng/năm dạng YYYY-MM; hệ số lương ghi dạng chữ, đủ 2 chữ số thập phân (ví dụ 3.33).",
        "Trường có nhiều mã: ghi các mã cách nhau bởi dấu chấm phẩy (;). Mã tra ở trang 'danh_muc'.",
        "Số định danh cá nhân gồm đúng 12 chữ số (ô định dạng văn bản để giữ số 0 ở đầu).",
        "",
        "IMPORT TEMPLATE FOR CIVIL-SERVANT DOSSIERS: sheet 'ho_so' one row per person; row 1 field codes, row 2 Vietnamese labels;",
        "table sheets carry personal_id first; dates as dates, months YYYY-MM, decimals as text with their scale; multi-valued codes joined by ';'.",
    ]
    for line in lines:
        guide.append([line])
    guide.column_dimensions["A"].width = 140

    def sheet(title: str, codes: list[str], labels: list[str]) -> None:
        ws = wb.create_sheet(title)
        ws.append(codes)
        ws.append(labels)
        for i, _ in enumerate(codes, start=1):
            ws.cell(row=1, column=i).font = _HEADER_FONT
            ws.cell(row=2, column=i).fill = _LABEL_FILL
            letter = ws.cell(row=1, column=i).column_letter
            ws.column_dimensions[letter].width = 18
            for r in range(3, 203):
                ws.cell(row=r, column=i).number_format = "@"
        ws.freeze_panes = "A3"

    scalars = list(catalog.scalars)
    sheet(MAIN_SHEET, [f.code for f in scalars], [f.label_vi for f in scalars])
    for t in catalog.tables:
        sheet(
            t.code,
            ["personal_id", *[c.code for c in t.columns]],
            ["Số định danh cá nhân", *[c.label_vi for c in t.columns]],
        )
    sheet(POSTS_SHEET, ["personal_id", *POST_COLUMNS], ["Số định danh cá nhân", *POST_LABELS])
    lists = wb.create_sheet("danh_muc")
    lists.append(["danh_muc", "ma", "ten", "hieu_luc_tu", "hieu_luc_den"])
    for cl in catalog.codelists.values():
        for code in cl.codes.values():
            lists.append(
                [
                    cl.id,
                    code.code,
                    code.label_vi,
                    code.valid_from.isoformat() if code.valid_from else None,
                    code.valid_to.isoformat() if code.valid_to else None,
                ]
            )
    wb.save(out)
