"""The loader reads every field type, profile, quality rule and code-list date of the spec."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from hoso.catalog import loader

DATA = loader.DATA_DIR


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _raw_fields() -> list[dict[str, Any]]:
    raw = yaml.safe_load((DATA / "catalog.yaml").read_text(encoding="utf-8"))
    fields: list[dict[str, Any]] = raw["fields"]
    return fields


def test_every_field_type_of_the_catalogue_is_known() -> None:
    types = {f["type"] for f in _raw_fields()}
    types |= {c["type"] for f in _raw_fields() for c in f.get("columns", [])}
    assert "table" in types and "code" in types
    assert types <= loader.FIELD_TYPES, f"unknown types: {sorted(types - loader.FIELD_TYPES)}"


def test_every_field_and_column_is_loaded_in_catalogue_order() -> None:
    catalog = loader.load_catalog()
    assert [f.code for f in catalog.fields] == [f["code"] for f in _raw_fields()]
    for raw in _raw_fields():
        loaded = catalog.by_code[raw["code"]]
        assert [c.code for c in loaded.columns] == [c["code"] for c in raw.get("columns", [])]
        assert all(c.table == raw["code"] for c in loaded.columns)


def test_profiles_have_the_leaf_counts_of_the_spec() -> None:
    catalog = loader.load_catalog()
    counts = {p: len(catalog.profile_leaves(p)) for p in loader.PROFILES}
    assert counts == {"core": 9, "p109": 109, "tt06": 186, "nd27": 193}


def test_every_quality_rule_and_category_is_loaded() -> None:
    rows = _csv(DATA / "quality-rules.csv")
    catalog = loader.load_catalog()
    assert len(catalog.rules) == len(rows)
    assert {r.id: r.category for r in catalog.rules} == {r["id"]: r["category"] for r in rows}
    assert {r.category for r in catalog.rules} == {r["category"] for r in rows}


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def test_code_list_validity_dates_are_parsed() -> None:
    catalog = loader.load_catalog()
    dated = 0
    for entry in _csv(DATA / "codelists" / "index.csv"):
        if entry["kind"] != "codelist":
            continue
        loaded = catalog.codelists[entry["id"]]
        rows = _csv(DATA / "codelists" / entry["file"])
        assert set(loaded.codes) == {r["code"] for r in rows}, entry["id"]
        for row in rows:
            code = loaded.codes[row["code"]]
            assert (code.valid_from, code.valid_to) == (
                _date(row["valid_from"]),
                _date(row["valid_to"]),
            ), f"{entry['id']}:{row['code']}"
            dated += bool(row["valid_from"] or row["valid_to"])
    assert dated > 0


def test_province_lists_change_on_1_july_2025() -> None:
    catalog = loader.load_catalog()
    new, legacy = catalog.codelists["province_2025"], catalog.codelists["province_legacy"]
    before, after = dt.date(2025, 6, 30), dt.date(2025, 7, 1)
    assert all(c.valid_on(after) and not c.valid_on(before) for c in new.codes.values())
    assert all(c.valid_on(before) and not c.valid_on(after) for c in legacy.codes.values())


def test_the_fast_yaml_parser_reads_the_catalogue_as_the_pure_python_one() -> None:
    """``read_yaml`` (libyaml when available) and PyYAML's pure-Python safe loader give the
    same catalogue, value for value."""
    import yaml

    from hoso.catalog.loader import DATA_DIR, read_yaml

    text = (DATA_DIR / "catalog.yaml").read_text(encoding="utf-8")
    assert yaml.__with_libyaml__  # the wheel ships libyaml: the fast path is the one tested
    assert read_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader)
