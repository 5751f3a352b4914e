"""Load the shipped copy of the data standard into typed, immutable objects.

The files under ``catalog/data`` are a byte-equal copy of ``shared/spec`` (see
``SPEC_SHA256SUMS``); nothing here re-types their content. Use :func:`get_catalog` for the
process-wide instance.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(str(resources.files("hoso.catalog") / "data"))

FIELD_TYPES = frozenset(
    {
        "string",
        "text",
        "date",
        "year_month",
        "year",
        "integer",
        "decimal",
        "boolean",
        "code",
        "phone",
        "personal_id",
        "image",
        "table",
    }
)
PROFILES = ("core", "p109", "tt06", "nd27")
CODELIST_BASE_COLUMNS = ("code", "label_vi", "label_en", "valid_from", "valid_to", "notes")


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class Code:
    """One entry of a code list, with its validity interval and extra columns."""

    code: str
    label_vi: str
    label_en: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    notes: str
    extra: dict[str, str]

    def valid_on(self, day: dt.date) -> bool:
        """True when the code is valid on ``day`` (bounds inclusive, empty = unbounded)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True, slots=True)
class CodeList:
    """A code list: closed lists reject unknown codes, open ones only warn."""

    id: str
    closed: bool
    kind: str
    source: str
    codes: dict[str, Code]

    def get(self, code: str) -> Code | None:
        """The entry for ``code``, or None."""
        return self.codes.get(code)

    def label(self, code: str, lang: str = "vi") -> str:
        """Label of ``code`` in ``lang`` (``vi`` or ``en``); the code itself when unknown."""
        entry = self.codes.get(code)
        if entry is None:
            return code
        return entry.label_vi if lang == "vi" else entry.label_en


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A leaf of the catalogue (a scalar field or a table column) or a table."""

    code: str
    label_vi: str
    label_en: str
    cv_item: str | None
    group: str
    type: str
    profiles: frozenset[str]
    master: str
    sensitivity: str
    rules: tuple[str, ...]
    required: str = "optional"
    required_when: dict[str, Any] | None = None
    codelist: str | None = None
    codelist_by_scheme: dict[str, str] | None = None
    scheme_field: str | None = None
    pattern: str | None = None
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    scale: int | None = None
    multiple: bool = False
    unit: str | None = None
    notes: str = ""
    table: str | None = None
    """For a column: the code of its table."""
    columns: tuple[FieldDef, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None
    must_contain: tuple[dict[str, Any], ...] = ()
    related_cv_item: str | None = None

    @property
    def path(self) -> str:
        """Catalogue path: ``code`` for scalars and tables, ``table.column`` for columns."""
        return f"{self.table}.{self.code}" if self.table else self.code

    @property
    def is_table(self) -> bool:
        """True for a table (an array of rows)."""
        return self.type == "table"

    @property
    def effective_max_length(self) -> int | None:
        """Maximum length for strings (255) and text (4000) when the catalogue gives none."""
        if self.max_length is not None:
            return self.max_length
        return {"string": 255, "text": 4000}.get(self.type)

    def in_profile(self, profile: str) -> bool:
        """True when this leaf belongs to ``profile``."""
        return profile in self.profiles


@dataclass(frozen=True, slots=True)
class Group:
    """One of the 10 data groups of NĐ 27/2026."""

    id: str
    name_vi: str
    name_en: str
    short_vi: str


@dataclass(frozen=True, slots=True)
class QualityRule:
    """One row of ``quality-rules.csv``."""

    id: str
    dimension: str
    category: str
    severity: str
    fields: tuple[str, ...]
    description_vi: str
    description_en: str
    params: str
    profiles: frozenset[str]
    scoring: str = "binary"
    """``binary`` (fails once) or ``ratio`` (share of checked leaves that pass)."""
    scope: str = "record"
    """``record``, or ``dataset`` for rules that compare records."""
    finding_field: str = ""
    """Which field a finding names (quality-rules.md §6)."""
    source: str = ""
    """Legal basis, or ``[I]`` for the spec's own reading."""

    @property
    def param_map(self) -> dict[str, str]:
        """``params`` as a dict (``key=value;...``; values keep their commas)."""
        out: dict[str, str] = {}
        for part in self.params.split(";"):
            key, sep, value = part.partition("=")
            if sep:
                out[key.strip()] = value.strip()
        return out


def _field(raw: dict[str, Any], table: str | None = None) -> FieldDef:
    columns = tuple(_field(c, raw["code"]) for c in raw.get("columns", []))
    return FieldDef(
        code=raw["code"],
        label_vi=raw["label_vi"],
        label_en=raw["label_en"],
        cv_item=None if raw.get("cv_item") is None else str(raw["cv_item"]),
        group=raw["group"],
        type=raw["type"],
        profiles=frozenset(raw.get("profiles", [])),
        master=raw["master"],
        sensitivity=raw["sensitivity"],
        rules=tuple(raw.get("rules") or ()),
        required=raw.get("required", "optional"),
        required_when=raw.get("required_when"),
        codelist=raw.get("codelist"),
        codelist_by_scheme={str(k): v for k, v in raw["codelist_by_scheme"].items()}
        if raw.get("codelist_by_scheme")
        else None,
        scheme_field=raw.get("scheme_field"),
        pattern=raw.get("pattern"),
        max_length=raw.get("max_length"),
        min=raw.get("min"),
        max=raw.get("max"),
        scale=raw.get("scale"),
        multiple=bool(raw.get("multiple", False)),
        unit=raw.get("unit"),
        notes=raw.get("notes") or "",
        table=table,
        columns=columns,
        min_rows=raw.get("min_rows"),
        max_rows=raw.get("max_rows"),
        must_contain=tuple(raw.get("must_contain") or ()),
        related_cv_item=None if raw.get("related_cv_item") is None else str(raw["related_cv_item"]),
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Catalog:
    """The whole data standard: fields in form order, tables, profiles, code lists, rules."""

    version: int
    fields: tuple[FieldDef, ...]
    groups: tuple[Group, ...]
    profiles: dict[str, str]
    codelists: dict[str, CodeList]
    external_codelists: dict[str, dict[str, Any]]
    rules: tuple[QualityRule, ...]
    salary_scale: dict[tuple[str, int], str] = field(default_factory=dict)
    notes: str = ""

    @cached_property
    def by_code(self) -> dict[str, FieldDef]:
        """Top-level fields and tables by code."""
        return {f.code: f for f in self.fields}

    @cached_property
    def scalars(self) -> tuple[FieldDef, ...]:
        """Scalar fields, in catalogue order."""
        return tuple(f for f in self.fields if not f.is_table)

    @cached_property
    def tables(self) -> tuple[FieldDef, ...]:
        """Tables, in catalogue order."""
        return tuple(f for f in self.fields if f.is_table)

    @cached_property
    def leaves(self) -> tuple[FieldDef, ...]:
        """Every leaf: scalars and table columns."""
        out: list[FieldDef] = []
        for f in self.fields:
            out.extend(f.columns if f.is_table else (f,))
        return tuple(out)

    @cached_property
    def leaf_by_path(self) -> dict[str, FieldDef]:
        """Leaves by catalogue path (``code`` or ``table.column``)."""
        return {leaf.path: leaf for leaf in self.leaves}

    @cached_property
    def rule_by_id(self) -> dict[str, QualityRule]:
        """Quality rules by id."""
        return {r.id: r for r in self.rules}

    def profile_leaves(self, profile: str) -> tuple[FieldDef, ...]:
        """Leaves of ``profile``."""
        return tuple(leaf for leaf in self.leaves if profile in leaf.profiles)

    def codelist(self, list_id: str) -> CodeList:
        """A code list by id (KeyError for external lists, which live elsewhere)."""
        return self.codelists[list_id]

    def cv_order(self) -> list[FieldDef]:
        """Top-level fields in the order of the TT 06 form (fields off the form last)."""
        return list(self.fields)


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it (the catalogue: 0.1 s
    against 1.4 s in pure Python, paid by every command that starts)."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # a safe loader (C or Python)


def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    """Read ``catalog.yaml``, the code lists and the quality rules from ``data_dir``."""
    raw = read_yaml((data_dir / "catalog.yaml").read_text(encoding="utf-8"))
    index = {row["id"]: row for row in _read_csv(data_dir / "codelists" / "index.csv")}
    codelists: dict[str, CodeList] = {}
    for list_id, row in index.items():
        if row["kind"] != "codelist":
            continue
        entries: dict[str, Code] = {}
        for r in _read_csv(data_dir / "codelists" / row["file"]):
            extra = {k: v for k, v in r.items() if k not in CODELIST_BASE_COLUMNS and k}
            entries[r["code"]] = Code(
                code=r["code"],
                label_vi=r["label_vi"],
                label_en=r["label_en"],
                valid_from=_date(r["valid_from"]),
                valid_to=_date(r["valid_to"]),
                notes=r.get("notes", ""),
                extra=extra,
            )
        codelists[list_id] = CodeList(
            id=list_id,
            closed=row["closed"] == "true",
            kind=row["kind"],
            source=row["source"],
            codes=entries,
        )
    scale = {
        (r["group"], int(r["step"])): r["coefficient"]
        for r in _read_csv(data_dir / "codelists" / "salary_scale.csv")
    }
    rules = tuple(
        QualityRule(
            id=r["id"],
            dimension=r["dimension"],
            category=r["category"],
            severity=r["severity"],
            fields=tuple(x for x in r["fields"].split(";") if x),
            description_vi=r["description_vi"],
            description_en=r["description_en"],
            params=r.get("params", ""),
            profiles=frozenset(x for x in r.get("profiles", "").split(";") if x),
            scoring=r.get("scoring") or "binary",
            scope=r.get("scope") or "record",
            finding_field=r.get("finding_field", ""),
            source=r.get("source", ""),
        )
        for r in _read_csv(data_dir / "quality-rules.csv")
    )
    return Catalog(
        version=int(raw["version"]),
        fields=tuple(_field(f) for f in raw["fields"]),
        groups=tuple(
            Group(id=g["id"], name_vi=g["name_vi"], name_en=g["name_en"], short_vi=g["short_vi"])
            for g in raw["groups"]
        ),
        profiles=dict(raw["profiles"]),
        codelists=codelists,
        external_codelists=dict(raw["external_codelists"]),
        rules=rules,
        salary_scale=scale,
        notes=raw.get("notes", ""),
    )


@lru_cache
def get_catalog() -> Catalog:
    """The process-wide catalogue, loaded once from the shipped data."""
    return load_catalog()
