"""Structural validation of a dossier against the catalogue, compiled once from the data.

Two kinds of problems, as issue 2 and the catalogue's notes require:

- **Structural** (refused, with the field path and a Vietnamese + English message): wrong JSON
  type, impossible date, unknown field or column, a table that is not an array, a row that
  is not an object, a personal ID that is not 12 digits, an agency or unit that does not
  exist or lies outside the caller's scope, top-level values that contradict ``data``.
- **Doubtful** (stored, left to the quality engine): unknown codes, dates out of order,
  missing mandatory fields, over-long strings, off-scale coefficients, partial legacy
  dates (``"1985"`` in a date field).

Everything is driven by ``catalog.yaml``: adding a field or a code needs no code change.
The validator also normalises: strings NFC and trimmed, empty values left out (absent,
null, "", whitespace, []), empty rows dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from hoso.catalog.loader import Catalog, FieldDef, get_catalog
from hoso.errors import Issue
from hoso.people.canonical import clean_text, is_empty

PERSONAL_ID_RE = re.compile(r"^[0-9]{12}$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_RE = re.compile(r"^(\d{4})$")
_DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")

TOP_LEVEL_KEYS = frozenset(
    {
        "personal_id",
        "managing_agency",
        "employing_unit",
        "data",
        "version",
        "content_hash",
        "approval",
        "concurrent_posts",
        "previous_content_hash",
    }
)

TYPE_LABELS: dict[str, tuple[str, str]] = {
    "string": ("chuỗi ký tự", "a string"),
    "text": ("chuỗi ký tự", "a string"),
    "date": ("ngày dạng YYYY-MM-DD", "a date YYYY-MM-DD"),
    "year_month": ("tháng dạng YYYY-MM", "a month YYYY-MM"),
    "year": ("số nguyên chỉ năm", "an integer year"),
    "integer": ("số nguyên", "an integer"),
    "decimal": ('số thập phân dạng chuỗi (ví dụ "3.33")', 'a decimal string (e.g. "3.33")'),
    "boolean": ("true/false", "true/false"),
    "code": ("mã dạng chuỗi", "a code string"),
    "phone": ("số điện thoại dạng chuỗi", "a phone number string"),
    "personal_id": ("chuỗi 12 chữ số", "a string of 12 digits"),
    "image": ("đối tượng {media_type, sha256, uri}", "an object {media_type, sha256, uri}"),
    "table": ("mảng các dòng", "an array of rows"),
    "object": ("đối tượng JSON", "a JSON object"),
}


def _short(value: Any) -> Any:
    """The offending value as reported (long strings and containers shortened)."""
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    if isinstance(value, dict | list):
        text = orjson.dumps(value, default=str).decode()
        return text if len(text) <= 200 else text[:200] + "…"
    return value


#: The structural refusals: code → (Vietnamese, English) templates. ``{path}`` is the field
#: path, ``{value}`` the offending value (shortened), ``{vi}``/``{en}`` the expected type.
MESSAGES: dict[str, tuple[str, str]] = {
    "wrong_type": (
        "Trường '{path}' phải là {vi}; giá trị nhận được: {value!r}",
        "Field '{path}' must be {en}; got {value!r}",
    ),
    "invalid_date": (
        "Trường '{path}' phải là {vi}; giá trị nhận được: {value!r}",
        "Field '{path}' must be {en}; got {value!r}",
    ),
    "impossible_date": (
        "Trường '{path}' có ngày tháng không có thật: {value!r}",
        "Field '{path}' holds a date that does not exist: {value!r}",
    ),
    "unknown_field": (
        "Trường '{path}' không có trong danh mục trường dữ liệu",
        "Field '{path}' is not in the field catalogue",
    ),
    "invalid_personal_id": (
        "Số định danh cá nhân '{path}' phải gồm đúng 12 chữ số; giá trị: {value!r}",
        "Personal ID '{path}' must be exactly 12 digits; got {value!r}",
    ),
    "mismatch": (
        "'{path}' = {value!r} không khớp với '{other_path}' = {other!r}",
        "'{path}' = {value!r} does not match '{other_path}' = {other!r}",
    ),
    "missing_required": ("Thiếu trường bắt buộc '{path}'", "Required field '{path}' is missing"),
    "unknown_agency": (
        "Cơ quan, đơn vị '{value}' ({path}) không có trong cơ cấu tổ chức",
        "Agency or unit '{value}' ({path}) does not exist in the organisation tree",
    ),
    "out_of_scope": (
        "Cơ quan, đơn vị '{value}' ({path}) nằm ngoài phạm vi quản lý của bạn",
        "Agency or unit '{value}' ({path}) is outside your scope",
    ),
    "invalid_json": (
        "Dòng {line_no} không phải là một đối tượng JSON hợp lệ ({detail})",
        "Line {line_no} is not a valid JSON object ({detail})",
    ),
    "not_an_array": (
        "Bảng '{path}' phải là một mảng các dòng; giá trị: {value!r}",
        "Table '{path}' must be an array of rows; got {value!r}",
    ),
    "not_an_object": (
        "Dòng '{path}' phải là một đối tượng JSON; giá trị: {value!r}",
        "Row '{path}' must be a JSON object; got {value!r}",
    ),
}


def issue(code: str, path: str, value: Any = None, **fmt: Any) -> Issue:
    """The structural issue ``code`` at ``path`` for ``value``, in both languages."""
    shown = _short(value)
    vi, en = MESSAGES[code]
    return Issue(
        field=path,
        code=code,
        message_vi=vi.format(path=path, value=shown, **fmt),
        message_en=en.format(path=path, value=shown, **fmt),
        value=shown,
    )


def wrong_type(path: str, value: Any, type_: str) -> Issue:
    """Issue for a value of the wrong JSON type."""
    vi, en = TYPE_LABELS.get(type_, (type_, type_))
    return issue("wrong_type", path, value, vi=vi, en=en)


def invalid_date(path: str, value: Any, type_: str, impossible: bool) -> Issue:
    """Issue for a malformed or impossible date or month."""
    if impossible:
        return issue("impossible_date", path, value)
    vi, en = TYPE_LABELS[type_]
    return issue("invalid_date", path, value, vi=vi, en=en)


def unknown_field(path: str, value: Any) -> Issue:
    """Issue for a field or column that the catalogue does not define."""
    return issue("unknown_field", path, value)


def invalid_personal_id(path: str, value: Any) -> Issue:
    """Issue for a personal ID that is not 12 digits."""
    return issue("invalid_personal_id", path, value)


def mismatch(path: str, value: Any, other_path: str, other: Any) -> Issue:
    """Issue for two places of the same line that disagree."""
    return issue("mismatch", path, value, other_path=other_path, other=other)


def missing(path: str) -> Issue:
    """Issue for a value the line cannot do without (the record key, the managing agency)."""
    return issue("missing_required", path)


def unknown_unit(path: str, value: Any) -> Issue:
    """Issue for an agency or unit code that is not in the organisation tree."""
    return issue("unknown_agency", path, value)


def out_of_scope(path: str, value: Any) -> Issue:
    """Issue for an agency or unit outside the caller's scope."""
    return issue("out_of_scope", path, value)


def invalid_json(line_no: int, detail: str) -> Issue:
    """Issue for a line that is not a JSON object."""
    return issue("invalid_json", "", None, line_no=line_no, detail=detail)


Checker = Callable[[str, Any, list[Issue]], Any]
"""A compiled leaf check: (path, raw value, issues) -> normalised value or None to drop."""


def _check_date(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, str):
        issues.append(wrong_type(path, value, "date"))
        return None
    value = value.strip()
    m = _DATE_RE.match(value)
    if m:
        try:
            dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            issues.append(invalid_date(path, value, "date", impossible=True))
            return None
        return value
    # Partial legacy dates are stored and flagged later (DUNG-006).
    if _MONTH_RE.match(value):
        if not 1 <= int(value[5:7]) <= 12:
            issues.append(invalid_date(path, value, "date", impossible=True))
            return None
        return value
    if _YEAR_RE.match(value):
        return value
    issues.append(invalid_date(path, value, "date", impossible=False))
    return None


def _check_month(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, str):
        issues.append(wrong_type(path, value, "year_month"))
        return None
    value = value.strip()
    m = _MONTH_RE.match(value)
    if m:
        if not 1 <= int(m[2]) <= 12:
            issues.append(invalid_date(path, value, "year_month", impossible=True))
            return None
        return value
    if _YEAR_RE.match(value):
        return value
    issues.append(invalid_date(path, value, "year_month", impossible=False))
    return None


def _check_int(type_: str) -> Checker:
    def check(path: str, value: Any, issues: list[Issue]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            issues.append(wrong_type(path, value, type_))
            return None
        if not -(2**53) < value < 2**53:
            issues.append(wrong_type(path, value, type_))
            return None
        return value

    return check


def _check_decimal(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, str) or not _DECIMAL_RE.match(value.strip()):
        issues.append(wrong_type(path, value, "decimal"))
        return None
    return value.strip()


def _check_bool(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, bool):
        issues.append(wrong_type(path, value, "boolean"))
        return None
    return value


def _check_str(type_: str) -> Checker:
    def check(path: str, value: Any, issues: list[Issue]) -> Any:
        if not isinstance(value, str):
            issues.append(wrong_type(path, value, type_))
            return None
        value = clean_text(value)
        return value or None

    return check


def _check_personal_id(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, str):
        issues.append(wrong_type(path, value, "personal_id"))
        return None
    value = value.strip()
    if not PERSONAL_ID_RE.match(value):
        issues.append(invalid_personal_id(path, value))
        return None
    return value


def _check_image(path: str, value: Any, issues: list[Issue]) -> Any:
    if not isinstance(value, dict):
        issues.append(wrong_type(path, value, "image"))
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in ("media_type", "sha256", "uri"):
            issues.append(unknown_field(f"{path}.{key}", item))
            continue
        if is_empty(item):
            continue
        if not isinstance(item, str):
            issues.append(wrong_type(f"{path}.{key}", item, "string"))
            continue
        out[key] = clean_text(item)
    return out or None


def _multiple(inner: Checker) -> Checker:
    def check(path: str, value: Any, issues: list[Issue]) -> Any:
        if not isinstance(value, list):
            issues.append(
                Issue(
                    field=path,
                    code="wrong_type",
                    message_vi=f"Trường '{path}' phải là mảng các mã; giá trị: {_short(value)!r}",
                    message_en=f"Field '{path}' must be an array of codes; got {_short(value)!r}",
                    value=_short(value),
                )
            )
            return None
        out = []
        for i, item in enumerate(value):
            if is_empty(item):
                continue
            checked = inner(f"{path}[{i}]", item, issues)
            if checked is not None:
                out.append(checked)
        return out or None

    return check


BAD: Any = object()
"""Returned by a fast check for a value that is structurally wrong (the slow check explains)."""

FastCheck = Callable[[Any], Any]
"""A fast leaf check: raw value -> normalised value, None (empty, dropped) or BAD."""

_normalize = unicodedata.normalize
_is_normalized = unicodedata.is_normalized
_date_from_iso = dt.date.fromisoformat


def _fast_str(value: Any) -> Any:
    if value.__class__ is str:
        v = value.strip()
        if not v:
            return None
        if not v.isascii() and not _is_normalized("NFC", v):
            v = _normalize("NFC", v)
        return v
    return None if value is None else BAD


def _fast_date(value: Any) -> Any:
    if value.__class__ is not str:
        return None if value is None else BAD
    v = value.strip()
    if not v:
        return None
    n = len(v)
    if n == 10 and _DATE_RE.match(v):
        try:
            _date_from_iso(v)
        except ValueError:
            return BAD
        return v
    if n == 7 and _MONTH_RE.match(v):
        return v if "01" <= v[5:7] <= "12" else BAD
    if n == 4 and _YEAR_RE.match(v):
        return v
    return BAD


def _fast_month(value: Any) -> Any:
    if value.__class__ is not str:
        return None if value is None else BAD
    v = value.strip()
    if not v:
        return None
    n = len(v)
    if n == 7 and _MONTH_RE.match(v):
        return v if "01" <= v[5:7] <= "12" else BAD
    if n == 4 and _YEAR_RE.match(v):
        return v
    return BAD


def _fast_int(value: Any) -> Any:
    if value.__class__ is int:
        return value if -(2**53) < value < 2**53 else BAD
    return None if value is None else BAD


def _fast_pattern(pattern: re.Pattern[str]) -> FastCheck:
    """A fast check for a trimmed string that must match ``pattern``."""

    def check(value: Any) -> Any:
        if value.__class__ is str:
            v = value.strip()
            if not v:
                return None
            return v if pattern.match(v) else BAD
        return None if value is None else BAD

    return check


_fast_decimal = _fast_pattern(_DECIMAL_RE)
_fast_personal_id = _fast_pattern(PERSONAL_ID_RE)


def _fast_bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    return None if value is None else BAD


def _fast_image(value: Any) -> Any:
    if value is None:
        return None
    if value.__class__ is not dict:
        return BAD
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in ("media_type", "sha256", "uri"):
            return BAD
        checked = _fast_str(item)
        if checked is BAD:
            return BAD
        if checked is not None:
            out[key] = checked
    return out or None


def _fast_multiple(inner: FastCheck) -> FastCheck:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is not list:
            return BAD
        out = []
        for item in value:
            checked = inner(item)
            if checked is BAD:
                return BAD
            if checked is not None:
                out.append(checked)
        return out or None

    return check


def _checkers(leaf: FieldDef) -> tuple[FastCheck, Checker]:
    """The fast check of a leaf and the slow one that explains its refusals."""
    type_ = leaf.type
    pair: tuple[FastCheck, Checker]
    if type_ == "date":
        pair = (_fast_date, _check_date)
    elif type_ == "year_month":
        pair = (_fast_month, _check_month)
    elif type_ in ("year", "integer"):
        pair = (_fast_int, _check_int(type_))
    elif type_ == "decimal":
        pair = (_fast_decimal, _check_decimal)
    elif type_ == "boolean":
        pair = (_fast_bool, _check_bool)
    elif type_ == "image":
        pair = (_fast_image, _check_image)
    elif type_ == "personal_id" and leaf.code == "personal_id":
        pair = (_fast_personal_id, _check_personal_id)
    else:
        # string, text, code, phone, and personal_id-typed fields other than the key
        # (record_id: a wrong value there is doubtful, DUNG-001/005, not structural).
        pair = (_fast_str, _check_str(type_))
    if leaf.multiple:
        pair = (_fast_multiple(pair[0]), _multiple(pair[1]))
    return pair


_PLAIN = object()
"""``is_normal``: a leaf checked by the plain string check, inline."""
_INT = object()
"""``is_normal``: an integer leaf, inline."""
_TABLE = object()
"""``is_normal``: a table."""


def _keeps(fast: Any, value: Any) -> bool:
    """True when the fast check ``fast`` keeps ``value`` (not None) as it is."""
    checked = fast(value)
    return checked is value or (checked is not BAD and checked is not None and checked == value)


class _Cached:
    """``is_normal``: a string leaf whose fast check is run once per distinct value."""

    __slots__ = ("accepted", "fast")

    def __init__(self, fast: FastCheck) -> None:
        self.fast = fast
        self.accepted: set[str] = set()

    def check(self, value: str) -> bool:
        """Run the fast check on a value not seen before; remember it when normal."""
        if not _keeps(self.fast, value):
            return False
        if len(self.accepted) > 100_000:
            self.accepted.clear()
        self.accepted.add(value)
        return True


_CACHED_CHECKS = frozenset({_fast_date, _fast_month, _fast_decimal, _fast_personal_id})


def _leaf_kind(fast: FastCheck) -> object:
    """How ``is_normal`` checks a leaf: ``_PLAIN``, ``_INT``, a :class:`_Cached` check, or
    the fast check itself."""
    if fast is _fast_str:
        return _PLAIN
    if fast is _fast_int:
        return _INT
    if fast in _CACHED_CHECKS:
        return _Cached(fast)
    return fast


def _explain(slow: Checker, path: str, value: Any, issues: list[Issue]) -> None:
    """Run the slow check of a value the fast check refused, to report why."""
    before = len(issues)
    slow(path, value, issues)
    if len(issues) == before:  # the two checks must agree; never drop a refusal silently
        issues.append(wrong_type(path, value, "string"))


@dataclass(slots=True)
class CheckedDossier:
    """The outcome of checking one bulk line or API body."""

    personal_id: str | None
    managing_agency: str | None
    employing_unit: str | None
    data: dict[str, Any]
    concurrent_posts: list[dict[str, Any]] = field(default_factory=list)
    content_hash: str | None = None
    """The hash the line claims (exports of approved versions), verified by the caller."""
    approval: dict[str, Any] | None = None
    """The approval an export line carries; kept with the version, verified by the exchange layer."""
    canonical: bytes | None = None
    """The JCS bytes of ``data`` (set by ``service.prepare``; stored as the version's text)."""
    columns: dict[str, Any] | None = None
    """The indexed ``person`` columns taken from ``data`` (set by ``service.prepare``)."""
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing structural was found."""
        return not self.issues


class DossierValidator:
    """Checks and normalises dossier documents; compiled once from the catalogue."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._scalars: dict[str, tuple[FastCheck, Checker]] = {}
        self._tables: dict[str, dict[str, tuple[FastCheck, Checker]]] = {}
        for f in catalog.fields:
            if f.is_table:
                self._tables[f.code] = {c.code: _checkers(c) for c in f.columns}
            else:
                self._scalars[f.code] = _checkers(f)
        # What is_normal does with each key: a plain string or an integer inline, a table
        # row by row, any other leaf through its fast check.
        self._kinds: dict[str, object] = {
            code: _leaf_kind(pair[0]) for code, pair in self._scalars.items()
        }
        self._kinds.update((code, _TABLE) for code in self._tables)
        self._column_kinds: dict[str, dict[str, object]] = {
            table: {code: _leaf_kind(pair[0]) for code, pair in columns.items()}
            for table, columns in self._tables.items()
        }

    def is_normal(self, data: Any) -> bool:
        """True when ``check_data(data)`` would find nothing and return ``data`` unchanged.

        The receiving side of the exchange gets data that must already be in normal form
        (the sender hashed and signed it so); this answers that question without building a
        normalised copy, and the caller runs :meth:`check_data` only to explain a refusal.
        Plain strings (most of a dossier) and integers are checked inline: a ``str`` that
        ``strip()`` leaves as it is (CPython then returns the same object), not empty, and
        ASCII or NFC. Other string leaves (dates, months, decimals …) go through their fast
        check once per distinct value (:class:`_Cached`: they repeat from one dossier to the
        next); the rest (images, multiple values, booleans) through their fast check.
        """
        if data.__class__ is not dict:
            return False
        kinds = self._kinds
        column_kinds = self._column_kinds
        nfc = _is_normalized
        cached = _Cached
        try:
            for key, value in data.items():
                kind = kinds[key]
                if kind is _PLAIN:
                    if (
                        value.__class__ is not str
                        or not value
                        or value.strip() is not value
                        or not (value.isascii() or nfc("NFC", value))
                    ):
                        return False
                elif kind is _TABLE:
                    if value.__class__ is not list or not value:
                        return False
                    columns = column_kinds[key]
                    for row in value:
                        if row.__class__ is not dict or not row:
                            return False
                        for col, cell in row.items():
                            ckind = columns[col]
                            if ckind is _PLAIN:
                                if (
                                    cell.__class__ is not str
                                    or not cell
                                    or cell.strip() is not cell
                                    or not (cell.isascii() or nfc("NFC", cell))
                                ):
                                    return False
                            elif ckind is _INT:
                                if cell.__class__ is not int or not -(2**53) < cell < 2**53:
                                    return False
                            elif ckind.__class__ is cached:
                                if cell.__class__ is not str:
                                    if cell is None or not _keeps(ckind.fast, cell):
                                        return False
                                elif cell not in ckind.accepted and not ckind.check(cell):
                                    return False
                            elif cell is None or not _keeps(ckind, cell):
                                return False
                elif kind is _INT:
                    if value.__class__ is not int or not -(2**53) < value < 2**53:
                        return False
                elif kind.__class__ is cached:
                    if value.__class__ is not str:
                        if value is None or not _keeps(kind.fast, value):
                            return False
                    elif value not in kind.accepted and not kind.check(value):
                        return False
                elif value is None or not _keeps(kind, value):
                    return False
        except KeyError:  # a key the catalogue does not have
            return False
        return True

    def check_data(self, data: Any, issues: list[Issue], prefix: str = "") -> dict[str, Any]:
        """Check and normalise a ``data`` object; append structural issues to ``issues``."""
        if not isinstance(data, dict):
            issues.append(
                Issue(
                    field=prefix.rstrip(".") or "data",
                    code="wrong_type",
                    message_vi="'data' phải là một đối tượng JSON (các trường theo mã)",
                    message_en="'data' must be a JSON object keyed by field code",
                    value=_short(data),
                )
            )
            return {}
        out: dict[str, Any] = {}
        scalars = self._scalars
        tables = self._tables
        for key, value in data.items():
            pair = scalars.get(key)
            if pair is not None:
                checked = pair[0](value)
                if checked is BAD:
                    _explain(pair[1], prefix + key, value, issues)
                elif checked is not None:
                    out[key] = checked
                continue
            columns = tables.get(key)
            if columns is None:
                issues.append(unknown_field(prefix + key, value))
                continue
            if value is None or value == []:
                continue
            rows = self._check_table(prefix + key, value, columns, issues)
            if rows:
                out[key] = rows
        return out

    def _check_table(
        self,
        path: str,
        value: Any,
        columns: dict[str, tuple[FastCheck, Checker]],
        issues: list[Issue],
    ) -> list[dict[str, Any]]:
        if value.__class__ is not list:
            issues.append(issue("not_an_array", path, value))
            return []
        rows: list[dict[str, Any]] = []
        for i, row in enumerate(value):
            if row.__class__ is not dict:
                issues.append(issue("not_an_object", f"{path}[{i}]", row))
                continue
            out_row: dict[str, Any] = {}
            for col, cell in row.items():
                pair = columns.get(col)
                if pair is None:
                    issues.append(unknown_field(f"{path}[{i}].{col}", cell))
                    continue
                checked = pair[0](cell)
                if checked is BAD:
                    _explain(pair[1], f"{path}[{i}].{col}", cell, issues)
                elif checked is not None:
                    out_row[col] = checked
            if out_row:
                rows.append(out_row)
        return rows

    def check_line(self, raw: Any) -> CheckedDossier:
        """Check one bulk line / API body ``{personal_id, managing_agency, employing_unit, data}``.

        Top-level values fill the matching ``data`` fields when absent there, and must agree
        with them when present. Organisation existence and scope are checked by the caller
        (:func:`check_orgs`), which has the tree.
        """
        issues: list[Issue] = []
        if not isinstance(raw, dict):
            issues.append(
                Issue(
                    field="",
                    code="wrong_type",
                    message_vi="Mỗi dòng phải là một đối tượng JSON",
                    message_en="Each line must be a JSON object",
                    value=_short(raw),
                )
            )
            return CheckedDossier(None, None, None, {}, issues=issues)
        for key in raw:
            if key not in TOP_LEVEL_KEYS:
                issues.append(unknown_field(key, raw[key]))
        if "data" not in raw:
            issues.append(missing("data"))
        data = self.check_data(raw.get("data", {}), issues)
        pid = self._top(raw, data, "personal_id", "personal_id", issues)
        agency = self._top(raw, data, "managing_agency", "managing_agency_code", issues)
        unit = self._top(raw, data, "employing_unit", "employing_unit_code", issues)
        if pid is None and not any(i.field in ("personal_id", "data.personal_id") for i in issues):
            issues.append(missing("personal_id"))
        if agency is None and not any(
            i.field in ("managing_agency", "managing_agency_code") for i in issues
        ):
            issues.append(missing("managing_agency"))
        posts = self._check_posts(raw.get("concurrent_posts"), issues)
        claimed = raw.get("content_hash")
        if claimed is not None and not isinstance(claimed, str):
            issues.append(wrong_type("content_hash", claimed, "string"))
            claimed = None
        approval = raw.get("approval")
        if approval is not None and not isinstance(approval, dict):
            issues.append(wrong_type("approval", approval, "object"))
            approval = None
        return CheckedDossier(
            approval=approval,
            personal_id=pid,
            managing_agency=agency,
            employing_unit=unit,
            data=data,
            concurrent_posts=posts,
            content_hash=claimed,
            issues=issues,
        )

    def _top(
        self, raw: dict[str, Any], data: dict[str, Any], key: str, code: str, issues: list[Issue]
    ) -> str | None:
        top = raw.get(key)
        if is_empty(top):
            return data.get(code) if isinstance(data.get(code), str) else None
        if not isinstance(top, str):
            issues.append(wrong_type(key, top, "personal_id" if key == "personal_id" else "code"))
            return None
        top = top.strip()
        if key == "personal_id" and not PERSONAL_ID_RE.match(top):
            issues.append(invalid_personal_id(key, top))
            return None
        inner = data.get(code)
        if inner is None:
            data[code] = top
        elif inner != top:
            issues.append(mismatch(code if code != key else f"data.{code}", inner, key, top))
            return None
        return top

    def _check_posts(self, value: Any, issues: list[Issue]) -> list[dict[str, Any]]:
        if value is None or value == []:
            return []
        if not isinstance(value, list):
            issues.append(wrong_type("concurrent_posts", value, "table"))
            return []
        out: list[dict[str, Any]] = []
        allowed = {
            "unit_code": _check_str("code"),
            "position_code": _check_str("code"),
            "title": _check_str("string"),
            "start_date": _check_date,
            "end_date": _check_date,
        }
        for i, row in enumerate(value):
            path = f"concurrent_posts[{i}]"
            if not isinstance(row, dict):
                issues.append(wrong_type(path, row, "table"))
                continue
            post: dict[str, Any] = {}
            for key, cell in row.items():
                checker = allowed.get(key)
                if checker is None:
                    issues.append(unknown_field(f"{path}.{key}", cell))
                    continue
                if is_empty(cell):
                    continue
                checked = checker(f"{path}.{key}", cell, issues)
                if checked is not None:
                    post[key] = checked
            if "unit_code" not in post:
                issues.append(missing(f"{path}.unit_code"))
                continue
            for key in ("start_date", "end_date"):
                if key in post and not _DATE_RE.match(post[key]):
                    issues.append(invalid_date(f"{path}.{key}", post[key], "date", False))
            out.append(post)
        return out


def check_orgs(
    checked: CheckedDossier,
    org_paths: Mapping[str, str],
    scope_path: str | None,
) -> None:
    """Check that the agency, unit and post units exist and lie in the caller's scope.

    ``org_paths`` maps unit codes to their materialised paths; ``scope_path`` is the
    caller's subtree (None = national). The managing agency must be in scope; the
    employing unit and post units must exist.
    """
    issues = checked.issues

    def _exists(path: str, code: str | None) -> str | None:
        if code is None:
            return None
        org_path = org_paths.get(code)
        if org_path is None:
            issues.append(unknown_unit(path, code))
        return org_path

    agency_path = _exists("managing_agency", checked.managing_agency)
    unit_path = _exists("employing_unit", checked.employing_unit)
    for i, post in enumerate(checked.concurrent_posts):
        _exists(f"concurrent_posts[{i}].unit_code", post.get("unit_code"))
    if scope_path is None:
        return
    if agency_path is not None and not agency_path.startswith(scope_path):
        issues.append(out_of_scope("managing_agency", checked.managing_agency))
    elif (
        unit_path is not None
        and agency_path is not None
        and not unit_path.startswith(scope_path)
        and not unit_path.startswith(agency_path)
    ):
        issues.append(out_of_scope("employing_unit", checked.employing_unit))


@lru_cache
def get_validator() -> DossierValidator:
    """The process-wide validator compiled from the shipped catalogue."""
    return DossierValidator(get_catalog())
