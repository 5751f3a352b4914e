"""Cleaning building blocks without a database: paths, changes, and applying them."""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

import pytest

from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import Catalog, FieldDef, get_catalog
from hoso.errors import Conflict, InvalidInput
from hoso.generate.encodings import to_tcvn3, to_vni
from hoso.quality import admin_units, cleaning
from hoso.quality.cleaning import (
    PathError,
    address_changes,
    apply_changes,
    build_changes,
    delete_path,
    get_path,
    leaf_path,
    normalise_value,
    parse_path,
    set_path,
    text_change,
)

DOC: dict[str, Any] = {
    "birth_name": "Trần Văn Bình",
    "concurrent_position_codes": ["a1", "B2", "c3"],
    "work_history": [
        {"from": "2008-09", "unit": "Sở Nội vụ"},
        {"from": "2013-01", "unit": "Sở Y tế", "codes": ["x", "y"]},
    ],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return get_catalog()


def leaf(catalog: Catalog, path: str) -> FieldDef:
    return catalog.leaf_by_path[path]


# --- paths -------------------------------------------------------------------------------------


def test_parse_path_and_leaf_path() -> None:
    assert parse_path("birth_name") == ("birth_name",)
    assert parse_path("work_history[2].unit") == ("work_history", 2, "unit")
    assert parse_path("concurrent_position_codes[1]") == ("concurrent_position_codes", 1)
    assert parse_path("t[0].c[3]") == ("t", 0, "c", 3)
    assert leaf_path("work_history[2].unit") == "work_history.unit"
    assert leaf_path("concurrent_position_codes[1]") == "concurrent_position_codes"
    for bad in ("", "a..b", "a[x]", "a[1", "[1]", "a.1", "a b"):
        with pytest.raises(PathError):
            parse_path(bad)


def test_get_path() -> None:
    assert get_path(DOC, "birth_name") == "Trần Văn Bình"
    assert get_path(DOC, "work_history[1].unit") == "Sở Y tế"
    assert get_path(DOC, "work_history[1].codes[1]") == "y"
    assert get_path(DOC, "concurrent_position_codes[2]") == "c3"
    assert get_path(DOC, "work_history[5].unit") is None
    assert get_path(DOC, "work_history[0].to", "∅") == "∅"
    assert get_path(DOC, "birth_name[0]") is None  # a string is not a list
    assert get_path(DOC, "bad path") is None


def test_set_path_and_delete_path() -> None:
    doc = copy.deepcopy(DOC)
    set_path(doc, "work_history[0].to", "2012-12")
    set_path(doc, "concurrent_position_codes[0]", "A1")
    set_path(doc, "birth_name", "TRẦN VĂN BÌNH")
    assert doc["work_history"][0] == {"from": "2008-09", "unit": "Sở Nội vụ", "to": "2012-12"}
    assert doc["concurrent_position_codes"] == ["A1", "B2", "c3"]
    assert doc["birth_name"] == "TRẦN VĂN BÌNH"
    with pytest.raises(PathError):
        set_path(doc, "work_history[7].unit", "x")  # rows are never invented
    with pytest.raises(PathError):
        set_path(doc, "concurrent_position_codes[3]", "D4")
    with pytest.raises(PathError):
        set_path(doc, "birth_name.first", "x")
    assert delete_path(doc, "work_history[1].codes[0]") is True
    assert doc["work_history"][1]["codes"] == ["y"]
    assert delete_path(doc, "birth_name") is True and "birth_name" not in doc
    assert delete_path(doc, "birth_name") is False
    assert delete_path(doc, "work_history[9]") is False
    assert DOC["birth_name"] == "Trần Văn Bình"  # the module constant was not touched


# --- text changes -------------------------------------------------------------------------------


def test_legacy_encodings_are_repaired(catalog: Catalog) -> None:
    name = "Nguyễn Thị Hoa"
    full_name = leaf(catalog, "family_own_side.full_name")
    for broken, encoding in ((to_tcvn3(name), "TCVN3"), (to_vni(name), "VNI")):
        change = text_change(
            "family_own_side[1].full_name", broken, ["SACH-003"], full_name, catalog
        )
        assert change is not None
        assert (change["old"], change["new"], change["rule_id"]) == (broken, name, "SACH-003")
        assert change["kind"] == "legacy_encoding" and not change["ambiguous"]
        assert encoding in change["note_vi"] and encoding in change["note_en"]
    # correct Unicode is left alone even when a stale finding says otherwise
    assert text_change("x", name, ["SACH-003"], full_name, catalog) is None


def test_text_readable_in_both_encodings_is_ambiguous(catalog: Catalog) -> None:
    change = text_change(
        "family_own_side[0].full_name",
        "LÖ",
        ["SACH-003"],
        leaf(catalog, "family_own_side.full_name"),
        catalog,
    )
    assert change is not None and change["ambiguous"] is True and change["new"] is None
    values = [c["value"] for c in change["candidates"]]
    assert sorted(values) == sorted(["LƯ", "Lệ"])
    assert "người duyệt chọn" in change["note_vi"]


def test_several_rules_on_one_field_make_one_change(catalog: Catalog) -> None:
    birth = leaf(catalog, "birth_name")
    broken = to_tcvn3("Nguyễn  Văn An")
    change = text_change("birth_name", broken, ["SACH-005", "SACH-006", "SACH-003"], birth, catalog)
    assert change is not None
    assert change["new"] == "NGUYỄN VĂN AN"
    assert change["rule_ids"] == ["SACH-003", "SACH-006", "SACH-005"]
    assert change["rule_id"] == "SACH-003"
    assert change["note_vi"].count(";") == 2


def test_birth_name_case_and_spaces(catalog: Catalog) -> None:
    birth = leaf(catalog, "birth_name")
    upper = text_change("birth_name", "Đặng thị  Ánh", ["SACH-005", "SACH-006"], birth, catalog)
    assert upper is not None and upper["new"] == "ĐẶNG THỊ ÁNH"
    assert unicodedata.is_normalized("NFC", upper["new"])
    # SACH-005 concerns the birth name only: a relative's name keeps its case
    relative = leaf(catalog, "family_own_side.full_name")
    assert text_change("f[0].full_name", "Lê Thị Tư", ["SACH-005"], relative, catalog) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [("NGUYỄN VĂN AN2", "chữ số"), ("NGUYỄN VĂN AN.", "ký tự"), ("NGUYỄN", "một từ")],
)
def test_invalid_names_get_a_note_only(catalog: Catalog, value: str, why: str) -> None:
    change = text_change(
        "birth_name", f" {value}", ["SACH-006"], leaf(catalog, "birth_name"), catalog
    )
    assert change is not None and change["kind"] == cleaning.NOTE
    assert change["new"] == change["old"] == f" {value}"
    assert why in change["note_vi"] and "sửa tay" in change["note_vi"]


def test_mojibake_repaired_even_when_the_name_keeps_a_digit(catalog: Catalog) -> None:
    broken = to_tcvn3("Nguyễn Văn An") + "2"
    change = text_change(
        "birth_name", broken, ["SACH-003", "SACH-006"], leaf(catalog, "birth_name"), catalog
    )
    assert change is not None and change["new"] == "Nguyễn Văn An2"
    assert change["kind"] == "legacy_encoding" and "chữ số" in change["note_vi"]


def test_unicode_hygiene(catalog: Catalog) -> None:
    unit = leaf(catalog, "work_history.unit")
    nfd = unicodedata.normalize("NFD", "Sở Nội vụ") + "\u200b"
    change = text_change("work_history[0].unit", nfd, ["SACH-004"], unit, catalog)
    assert change is not None and change["new"] == "Sở Nội vụ" and change["kind"] == "unicode"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("phone", " +84 912 345 678", "0912345678"),
        ("phone", "(0084) 912.345.678", "0912345678"),
        ("phone", "0912-345-678", "0912345678"),
        ("social_insurance_no", "01 2345 6789", "0123456789"),
        ("serial_no", "  NV-12 ", "NV-12"),  # not an identifier: the hyphen stays
        ("serial_no", "   ", None),
        ("ethnicity_code", "01 ", "01"),
        ("hometown_unit_scheme", "LEGACY", "legacy"),
        ("family_own_side.relationship_code", "me", "ME"),
        ("managing_agency_code", "000.00.00.h41", "000.00.00.H41"),  # external list
    ],
)
def test_normalise_value(catalog: Catalog, path: str, value: str, expected: str | None) -> None:
    got, notes = normalise_value(value, leaf(catalog, path), catalog)
    assert got == expected
    assert notes


def test_unknown_code_is_left_with_a_note(catalog: Catalog) -> None:
    got, notes = normalise_value("zz", leaf(catalog, "family_own_side.relationship_code"), catalog)
    assert got == "zz" and "không có trong danh mục" in notes[0][0]


# --- addresses ----------------------------------------------------------------------------------


def legacy_home(ward_code: str) -> dict[str, Any]:
    ward = catalog_units.wards_legacy()[ward_code]
    return {
        "hometown_unit_scheme": "legacy",
        "hometown_ward_code": ward.code,
        "hometown_district_legacy_code": ward.district_code,
        "hometown_province_code": ward.province_code,
    }


def _exact_and_split() -> tuple[str, str]:
    frame = admin_units.conversion_frame()
    statuses = dict(zip(frame["legacy_ward_code"], frame["status"], strict=True))
    news = dict(zip(frame["legacy_ward_code"], frame["new_ward_code"], strict=True))
    exact = next(c for c, s in statuses.items() if s == "exact" and news[c] != c)
    split = next(c for c, s in statuses.items() if s == "ambiguous")
    return exact, split


def test_exact_address_conversion(catalog: Catalog) -> None:
    exact, _ = _exact_and_split()
    doc = legacy_home(exact)
    conv = admin_units.convert_address("legacy", exact, None, None)
    changes = {c["field"]: c for c in address_changes(doc, "hometown_unit_scheme", catalog)}
    assert changes["hometown_unit_scheme"]["new"] == "2025"
    assert changes["hometown_ward_code"]["new"] == conv.ward_code
    assert changes["hometown_district_legacy_code"]["new"] is None
    ward = catalog_units.wards_legacy()[exact]
    assert changes["hometown_legacy_text"]["new"].startswith(ward.name + ", ")
    assert all(c["rule_id"] == "SACH-007" and not c["ambiguous"] for c in changes.values())
    if conv.province_code != doc["hometown_province_code"]:
        assert changes["hometown_province_code"]["new"] == conv.province_code
    else:
        assert "hometown_province_code" not in changes
    # an existing legacy wording is kept as it is
    kept = address_changes(
        {**doc, "hometown_legacy_text": "Xóm Đông"}, "hometown_unit_scheme", catalog
    )
    assert "hometown_legacy_text" not in {c["field"] for c in kept}
    new_doc = apply_changes(doc, list(changes.values()))
    assert new_doc["hometown_unit_scheme"] == "2025"
    assert "hometown_district_legacy_code" not in new_doc
    assert (
        admin_units.convert_address(
            "2025", new_doc["hometown_ward_code"], None, new_doc["hometown_province_code"]
        ).status
        == "already_2025"
    )


def test_split_commune_is_ambiguous_and_needs_a_candidate(catalog: Catalog) -> None:
    _, split = _exact_and_split()
    doc = legacy_home(split)
    changes = address_changes(doc, "hometown_unit_scheme", catalog)
    ward = next(c for c in changes if c["field"] == "hometown_ward_code")
    conv = admin_units.convert_address("legacy", split, None, None)
    assert ward["ambiguous"] and ward["new"] is None
    assert [c["value"] for c in ward["candidates"]] == [x.ward_code for x in conv.candidates]
    assert sum(c["library_default"] for c in ward["candidates"]) == 1
    with pytest.raises(InvalidInput) as missing:
        apply_changes(doc, changes)
    assert missing.value.issues[0].code == "choice_required"
    assert missing.value.issues[0].field == "hometown_ward_code"
    with pytest.raises(InvalidInput) as wrong:
        apply_changes(doc, changes, {"hometown_ward_code": "00000"})
    assert wrong.value.issues[0].code == "invalid_choice" and wrong.value.issues[0].value == "00000"
    assert "'00000'" in wrong.value.message_vi
    pick = ward["candidates"][-1]["value"]
    new_doc = apply_changes(doc, changes, {"hometown_ward_code": pick})
    assert new_doc["hometown_ward_code"] == pick and new_doc["hometown_unit_scheme"] == "2025"


def test_unconvertible_address_is_a_note(catalog: Catalog) -> None:
    doc = {"residence_unit_scheme": "legacy", "residence_ward_code": "99999"}
    (note,) = address_changes(doc, "residence_unit_scheme", catalog)
    assert note["kind"] == cleaning.NOTE and "99999" in note["note_vi"]
    assert apply_changes(doc, [note]) == doc


# --- building and applying -------------------------------------------------------------------------


def test_build_changes_ignores_stale_and_other_findings(catalog: Catalog) -> None:
    exact, _ = _exact_and_split()
    doc = {
        **legacy_home(exact),
        "birth_name": "Trần Văn Bình",
        "phone": "+84912345678",
        "concurrent_position_codes": ["BO_TRUONG", " vu_truong"],
    }
    findings = [
        ("SACH-005", "birth_name", "Trần Văn Bình"),
        ("SACH-012", "phone", "+84 999"),  # stale: the value changed since the run
        ("DUNG-009", "hometown_ward_code", exact),  # not a cleaning rule
        ("SACH-007", "hometown_unit_scheme", "legacy"),
        ("SACH-012", "hometown_unit_scheme", "legacy"),  # the conversion wins
        ("SACH-012", "concurrent_position_codes[1]", " vu_truong"),
    ]
    changes = build_changes(doc, findings, catalog)
    fields = [c["field"] for c in changes]
    assert fields == sorted(fields)
    assert "phone" not in fields
    by = {c["field"]: c for c in changes}
    assert by["birth_name"]["new"] == "TRẦN VĂN BÌNH"
    assert by["hometown_unit_scheme"]["rule_id"] == "SACH-007"
    assert by["concurrent_position_codes[1]"]["new"] == "VU_TRUONG"
    new_doc = apply_changes(doc, changes)
    assert new_doc["concurrent_position_codes"] == ["BO_TRUONG", "VU_TRUONG"]
    assert doc["birth_name"] == "Trần Văn Bình"  # the input is not modified


def test_apply_removes_list_elements_from_the_end(catalog: Catalog) -> None:
    doc = {"concurrent_position_codes": ["A", "", "B", " "]}
    findings = [
        ("SACH-012", "concurrent_position_codes[1]", ""),
        ("SACH-012", "concurrent_position_codes[3]", " "),
    ]
    changes = build_changes(doc, findings, catalog)
    assert [c["new"] for c in changes] == [None, None]
    assert apply_changes(doc, changes) == {"concurrent_position_codes": ["A", "B"]}


def test_apply_refuses_stale_values_and_stray_choices(catalog: Catalog) -> None:
    doc = {"birth_name": "Trần Văn Bình"}
    changes = build_changes(doc, [("SACH-005", "birth_name", "Trần Văn Bình")], catalog)
    with pytest.raises(Conflict) as stale:
        apply_changes({"birth_name": "Trần Văn B"}, changes)
    assert "birth_name" in stale.value.message_vi
    with pytest.raises(InvalidInput) as stray:
        apply_changes(doc, changes, {"birth_name": "X"})
    assert stray.value.issues[0].code == "unexpected_choice"
    assert apply_changes(doc, changes) == {"birth_name": "TRẦN VĂN BÌNH"}
