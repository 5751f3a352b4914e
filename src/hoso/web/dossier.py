"""Present a dossier the way the TT 06/2023 CV form prints it: items in order, tables as tables.

The catalogue gives the items (``cv_item``), their labels and code lists; this module only
groups them into the form's parts and formats values (code → label, dates ``dd/mm/yyyy``,
decimals with a comma in Vietnamese, money grouped). The part headings are our wording of
the printed form's blocks. It also turns diff paths (``work_history[2].from``) into labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup, escape

from hoso.catalog import admin_units
from hoso.catalog.loader import Catalog, FieldDef, get_catalog
from hoso.web.i18n import Locale

#: Parts of the printed form: (anchor, item span, Vietnamese, English). The span ``"12-18"``
#: takes items by their leading number (``"30.1"`` → 30); ``"H"`` is the header (H1–H5),
#: ``"S"`` the declarant's block (S1) and ``"-"`` the fields not printed on the form.
PARTS: tuple[tuple[str, str, str, str], ...] = (
    ("phan-dau", "H", "Thông tin quản lý hồ sơ", "Record header"),
    ("ban-than", "1-11", "Sơ lược lý lịch bản thân", "Personal particulars"),
    (
        "tuyen-dung",
        "12-18",
        "Tuyển dụng, tham gia tổ chức, lực lượng vũ trang",
        "Recruitment, memberships, armed forces",
    ),
    ("trinh-do", "19-22", "Trình độ, học hàm, danh hiệu", "Education, titles and honours"),
    ("chuc-vu", "23-29", "Chức vụ, công việc được giao", "Posts and duties"),
    (
        "tien-luong",
        "30-30",
        "Ngạch, tiền lương, phụ cấp, vị trí việc làm",
        "Rank, salary, allowances, job position",
    ),
    ("suc-khoe", "31-31", "Tình trạng sức khoẻ", "Health"),
    (
        "dao-tao",
        "32-32",
        "Đào tạo, bồi dưỡng về chuyên môn, nghiệp vụ, lý luận chính trị, ngoại ngữ, tin học",
        "Training: professional, political theory, languages, IT",
    ),
    ("cong-tac", "33-33", "Tóm tắt quá trình công tác", "Summary of career"),
    ("lich-su", "34-34", "Đặc điểm lịch sử bản thân", "Personal history"),
    ("khen-thuong", "35-35", "Khen thưởng, kỷ luật", "Rewards and discipline"),
    ("gia-dinh", "36-36", "Quan hệ gia đình", "Family relations"),
    (
        "kinh-te",
        "37-37",
        "Quá trình lương, phụ cấp và hoàn cảnh kinh tế gia đình",
        "Salary and allowance history, household economy",
    ),
    (
        "nhan-xet",
        "38-38",
        "Nhận xét, đánh giá của cơ quan, tổ chức, đơn vị sử dụng",
        "Assessment by the employing agency",
    ),
    ("cam-doan", "S", "Cam đoan của người khai", "Declarant's statement"),
    (
        "bo-sung",
        "-",
        "Thông tin bổ sung (không in trên mẫu TT 06)",
        "Additional fields (not printed on the TT 06 form)",
    ),
)

EMPTY = Markup('<span class="empty" aria-label="trống">—</span>')


def _part_of(cv_item: str | None) -> str:
    if cv_item is None:
        return "bo-sung"
    if cv_item.startswith("H"):
        return "phan-dau"
    if cv_item.startswith("S"):
        return "cam-doan"
    number = int(cv_item.split(".")[0])
    for anchor, span, _vi, _en in PARTS:
        if "-" in span and span != "-":
            lo, hi = (int(x) for x in span.split("-"))
            if lo <= number <= hi:
                return anchor
    return "bo-sung"


@dataclass(slots=True)
class Names:
    """Names of codes that live outside the code-list files: agencies and units."""

    org: Mapping[str, str] = field(default_factory=dict)


def org_codes(data: Mapping[str, Any], *extra: str | None) -> set[str]:
    """The agency and unit codes a document mentions (to look their names up once)."""
    catalog = get_catalog()
    codes = {c for c in extra if c}
    for leaf in catalog.scalars:
        if leaf.codelist in ("agency", "org_unit"):
            value = data.get(leaf.code)
            if isinstance(value, str):
                codes.add(value)
    return codes


def _codelist_id(leaf: FieldDef, row: Mapping[str, Any]) -> str | None:
    if leaf.codelist_by_scheme and leaf.scheme_field:
        scheme = row.get(leaf.scheme_field) or "2025"
        return leaf.codelist_by_scheme.get(str(scheme), leaf.codelist)
    return leaf.codelist


def code_label(
    catalog: Catalog, list_id: str | None, code: str, locale: Locale, names: Names
) -> str | None:
    """Label of ``code`` in code list ``list_id`` (None when unknown)."""
    if list_id is None:
        return None
    if list_id in catalog.codelists:
        entry = catalog.codelists[list_id].get(code)
        if entry is None:
            return None
        return entry.label_vi if locale.lang == "vi" else entry.label_en
    if list_id in ("agency", "org_unit"):
        return names.org.get(code)
    units = admin_units.external_codes(list_id)
    if units is not None:
        unit = units.get(code)
        return unit.name if unit else None
    return None


def _code_html(label: str | None, code: str, locale: Locale) -> Markup:
    if label is None:
        return Markup('<span class="code-unknown" title="{}">{}</span>').format(
            locale.t("Mã không có trong danh mục", "Code not in the code list"), code
        )
    return Markup('{} <span class="code">{}</span>').format(label, code)


def format_value(
    leaf: FieldDef,
    value: Any,
    row: Mapping[str, Any],
    locale: Locale,
    names: Names,
    catalog: Catalog | None = None,
) -> Markup:
    """A stored value as HTML for reading (escaped; code lists resolved)."""
    catalog = catalog or get_catalog()
    if value is None or value == "" or value == []:
        return EMPTY
    if leaf.multiple and isinstance(value, list):
        parts = [format_value(_single(leaf), v, row, locale, names, catalog) for v in value]
        return Markup("; ").join(parts)
    kind = leaf.type
    if kind == "code" and isinstance(value, str):
        return _code_html(
            code_label(catalog, _codelist_id(leaf, row), value, locale, names), value, locale
        )
    if kind == "date" and isinstance(value, str):
        return escape(locale.date(value))
    if kind == "year_month" and isinstance(value, str):
        return escape(locale.month(value))
    if kind == "decimal" and isinstance(value, str):
        return escape(locale.decimal(value))
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        text = locale.number(value)
        if leaf.unit == "VND" or leaf.code.endswith("_vnd"):
            text += " đ"
        elif leaf.code.endswith("percent"):
            text += "%"
        elif leaf.unit:
            text += f" {leaf.unit}"
        return escape(text)
    if kind == "boolean" and isinstance(value, bool):
        return escape(locale.boolean(value))
    if kind == "image" and isinstance(value, dict):
        return Markup('<span class="muted">{} ({}, sha256 {}…)</span>').format(
            locale.t("Có ảnh", "Photo on file"),
            value.get("media_type", "?"),
            str(value.get("sha256", ""))[:12],
        )
    if kind == "text" and isinstance(value, str):
        return Markup('<span class="text">{}</span>').format(value)
    if isinstance(value, dict | list):
        return escape(repr(value))
    return escape(str(value))


def _single(leaf: FieldDef) -> FieldDef:
    """A multi-valued leaf's element definition."""
    return replace(leaf, multiple=False)


def label_of(leaf: FieldDef, locale: Locale) -> str:
    """The leaf's label in the page language."""
    return locale.t(leaf.label_vi, leaf.label_en)


def column_label(leaf: FieldDef, locale: Locale) -> str:
    """A table column's heading (English notes after ';' are left out)."""
    if locale.lang == "vi":
        return locale.t(leaf.label_vi, leaf.label_en)
    return leaf.label_en.split(";")[0]


@dataclass(slots=True)
class ItemRow:
    """One scalar leaf of the form; ``item`` is shown on the first leaf of an item only."""

    item: str | None
    label: str
    value: Markup
    code: str
    empty: bool
    related: str | None = None
    """For a field not printed on the form: the form item it belongs with."""


@dataclass(slots=True)
class TableBlock:
    """A table of the form with its column headings and formatted cells."""

    item: str | None
    label: str
    code: str
    columns: list[str]
    rows: list[list[Markup]]


@dataclass(slots=True)
class Part:
    """One part of the printed form."""

    anchor: str
    title: str
    blocks: list[ItemRow | TableBlock]
    filled: int = 0
    total: int = 0


def build_parts(data: Mapping[str, Any], locale: Locale, names: Names) -> list[Part]:
    """The dossier's parts in form order, every item present (empty ones shown as —)."""
    catalog = get_catalog()
    parts = {anchor: Part(anchor, locale.t(vi, en), []) for anchor, _s, vi, en in PARTS}
    last_item: dict[str, str | None] = {}
    for leaf in catalog.cv_order():
        anchor = _part_of(leaf.cv_item)
        part = parts[anchor]
        item = leaf.cv_item or leaf.related_cv_item
        shown_item = leaf.cv_item if last_item.get(anchor) != leaf.cv_item else None
        last_item[anchor] = leaf.cv_item
        if leaf.is_table:
            rows_raw = data.get(leaf.code)
            rows: list[list[Markup]] = []
            if isinstance(rows_raw, list):
                for row in rows_raw:
                    if isinstance(row, dict):
                        rows.append(
                            [
                                format_value(col, row.get(col.code), row, locale, names, catalog)
                                for col in leaf.columns
                            ]
                        )
            part.blocks.append(
                TableBlock(
                    item=leaf.cv_item,
                    label=label_of(leaf, locale),
                    code=leaf.code,
                    columns=[column_label(c, locale) for c in leaf.columns],
                    rows=rows,
                )
            )
            part.total += 1
            part.filled += bool(rows)
            continue
        value = data.get(leaf.code)
        rendered = format_value(leaf, value, data, locale, names, catalog)
        empty = rendered is EMPTY
        part.blocks.append(
            ItemRow(
                item=shown_item if leaf.cv_item else None,
                label=label_of(leaf, locale),
                value=rendered,
                code=leaf.code,
                empty=empty,
                related=None if leaf.cv_item else item,
            )
        )
        part.total += 1
        part.filled += not empty
    return [p for p in parts.values() if p.blocks]


# --------------------------------------------------------------------------- diffs

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(slots=True)
class ChangeView:
    """One change between two versions, ready to show."""

    path: str
    where: str
    op: str
    op_label: str
    old: Markup
    new: Markup


def _parse_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in _SEGMENT.findall(path):
        out.append(int(index) if index else name)
    return out


def _format_any(
    leaf: FieldDef | None, value: Any, locale: Locale, names: Names, catalog: Catalog
) -> Markup:
    if value is None:
        return EMPTY
    if leaf is not None and leaf.is_table:
        rows = value if isinstance(value, list) else [value]
        return Markup("<br>").join(_format_row(leaf, r, locale, names, catalog) for r in rows)
    if leaf is None:
        return escape(repr(value) if isinstance(value, dict | list) else str(value))
    return format_value(leaf, value, {}, locale, names, catalog)


def _format_row(
    table: FieldDef, row: Any, locale: Locale, names: Names, catalog: Catalog
) -> Markup:
    if not isinstance(row, dict):
        return escape(str(row))
    cols = {c.code: c for c in table.columns}
    parts = []
    for key, val in row.items():
        col = cols.get(key)
        label = column_label(col, locale) if col else key
        shown = format_value(col, val, row, locale, names, catalog) if col else escape(str(val))
        parts.append(Markup("<span class='k'>{}:</span> {}").format(label, shown))
    return Markup("; ").join(parts)


def describe_path(path: str, locale: Locale) -> tuple[str, FieldDef | None, bool]:
    """``(label, leaf, whole_row)`` for a diff path: item number, field label, row number."""
    catalog = get_catalog()
    segs = _parse_path(path)
    if not segs or not isinstance(segs[0], str):
        return path, None, False
    top = catalog.by_code.get(segs[0])
    if top is None:
        return path, None, False
    prefix = f"{top.cv_item}. " if top.cv_item else ""
    label = prefix + label_of(top, locale)
    if top.is_table:
        row_no = next((s for s in segs[1:] if isinstance(s, int)), None)
        if row_no is not None:
            label += " › " + locale.t(f"dòng {row_no + 1}", f"row {row_no + 1}")
        col_code = next((s for s in segs[2:] if isinstance(s, str)), None)
        if col_code is None:
            return label, top, True
        col = next((c for c in top.columns if c.code == col_code), None)
        if col is None:
            return f"{label} › {col_code}", None, False
        label += " › " + column_label(col, locale)
        if len(segs) > 3 and isinstance(segs[-1], int):
            label += " " + locale.t(f"(mục {segs[-1] + 1})", f"(entry {segs[-1] + 1})")
            return label, _single(col), False
        return label, col, False
    if len(segs) > 1 and isinstance(segs[1], int):
        label += " " + locale.t(f"(mục {segs[1] + 1})", f"(entry {segs[1] + 1})")
        return label, _single(top), False
    return label, top, False


OP_LABELS = {
    "added": ("Thêm", "Added"),
    "removed": ("Xoá", "Removed"),
    "changed": ("Sửa", "Changed"),
}


def change_views(changes: Iterable[Any], locale: Locale, names: Names) -> list[ChangeView]:
    """Diff entries (``hoso.people.schemas.Change``) as labelled old → new pairs."""
    catalog = get_catalog()
    out = []
    for ch in changes:
        where, leaf, _whole = describe_path(ch.path, locale)
        vi, en = OP_LABELS.get(ch.op, (ch.op, ch.op))
        out.append(
            ChangeView(
                path=ch.path,
                where=where,
                op=ch.op,
                op_label=locale.t(vi, en),
                old=_format_any(leaf, ch.old, locale, names, catalog),
                new=_format_any(leaf, ch.new, locale, names, catalog),
            )
        )
    return out
