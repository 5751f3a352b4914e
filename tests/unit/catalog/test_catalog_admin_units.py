"""The administrative-unit libraries agree with the spec's province code lists."""

from __future__ import annotations

import sqlite3
from importlib import resources

from hoso.catalog import admin_units, loader

#: Where the legacy library's province name differs from the spec's label: a label
#: difference, not a code difference (Thừa Thiên Huế became Thành phố Huế on 1/1/2025; the
#: library uses the new name for the legacy unit).
KNOWN_LEGACY_LABEL_DIFFERENCES = {"46": ("Tỉnh Thừa Thiên Huế", "Thành phố Huế")}
PREFIX = {"tinh": "Tỉnh ", "thanh_pho": "Thành phố "}


def test_2025_wards_cover_the_34_provinces_of_the_spec() -> None:
    wards = admin_units.wards_2025()
    spec = loader.get_catalog().codelists["province_2025"]
    assert len(wards) == 3321
    assert all(len(code) == 5 and code.isdigit() for code in wards)
    provinces = {w.province_code for w in wards.values()}
    assert len(provinces) == 34
    assert provinces == set(spec.codes)


def test_2025_province_names_and_types_match_the_spec() -> None:
    spec = loader.get_catalog().codelists["province_2025"]
    library = admin_units.provinces_2025()
    assert set(library) == set(spec.codes)
    for code, entry in spec.codes.items():
        assert library[code] == entry.label_vi, code
        assert library[code].startswith(PREFIX[entry.extra["unit_type"]]), code


def test_2025_ward_codes_are_the_statistics_office_codes() -> None:
    # Codes where an older release of another library was wrong (Phường Cửa Nam is 00082).
    wards = admin_units.wards_2025()
    assert wards["00082"].name == "Phường Cửa Nam"
    assert wards["00070"].name == "Phường Hoàn Kiếm"


def _legacy_province_names() -> dict[str, str]:
    path = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with resources.as_file(path) as db_path:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT DISTINCT provinceCode, province FROM admin_units_legacy"
            ).fetchall()
        finally:
            conn.close()
    return {str(code): str(name) for code, name in rows}


def test_legacy_units_use_the_province_codes_of_the_spec() -> None:
    spec = loader.get_catalog().codelists["province_legacy"]
    assert len(spec.codes) == 63
    assert {w.province_code for w in admin_units.wards_legacy().values()} == set(spec.codes)
    assert {d.province_code for d in admin_units.districts_legacy().values()} == set(spec.codes)
    bad_districts = [d for d in admin_units.districts_legacy() if not (len(d) == 3 and d.isdigit())]
    bad_wards = [w for w in admin_units.wards_legacy() if not (len(w) == 5 and w.isdigit())]
    assert not bad_districts, f"district codes that are not 3 digits: {bad_districts}"
    # Island districts without communes (Bạch Long Vĩ, Cồn Cỏ, ...) have a NULL ward code.
    assert not bad_wards, f"ward codes that are not 5 digits: {bad_wards}"


def test_legacy_province_names_differ_only_by_known_labels() -> None:
    spec = loader.get_catalog().codelists["province_legacy"]
    names = _legacy_province_names()
    assert set(names) == set(spec.codes)
    differences = {
        code: (spec.codes[code].label_vi, name)
        for code, name in names.items()
        if spec.codes[code].label_vi != name
    }
    assert differences.items() <= KNOWN_LEGACY_LABEL_DIFFERENCES.items(), differences


def test_external_codes_dispatch_to_the_libraries() -> None:
    assert admin_units.external_codes("ward_2025") is admin_units.wards_2025()
    assert admin_units.external_codes("ward_legacy") is admin_units.wards_legacy()
    assert admin_units.external_codes("district_legacy") is admin_units.districts_legacy()
    assert admin_units.external_codes("sex") is None
