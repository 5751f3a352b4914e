"""Validation of one citizen, the name key and the row form (no database)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from hoso.catalog.admin_units import wards_2025, wards_legacy
from hoso.generate.people import REGISTRY_FIELDS
from hoso.popsim.fields import extra_fields, field_specs, name_key, validate_citizen
from hoso.popsim.models import COLUMN_FIELDS, COLUMNS
from hoso.popsim.writer import citizen_from_row, copy_line, row_from_citizen

WARD = sorted(wards_2025())[3]
LEGACY_WARD = sorted(set(wards_legacy()) - set(wards_2025()))[0]


def _good(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "personal_id": "001085012345",
        "birth_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "ethnicity_code": "01",
        "religion_code": "00",
        "hometown_ward_code": WARD,
        "hometown_unit_scheme": "2025",
        "residence_ward_code": WARD,
        "residence_unit_scheme": "2025",
        "status": "alive",
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nguyễn   văn  an", "NGUYỄN VĂN AN"),
        (unicodedata.normalize("NFD", " trần thị thu hà "), "TRẦN THỊ THU HÀ"),
        ("đặng\u00a0hữu  đức", "ĐẶNG HỮU ĐỨC"),
        ("LÊ\tVĂN\nLỢI", "LÊ VĂN LỢI"),
    ],
)
def test_name_key(raw: str, expected: str) -> None:
    assert name_key(raw) == expected
    assert unicodedata.is_normalized("NFC", name_key(raw))


def test_fields_are_the_catalogues_registry_fields() -> None:
    assert set(field_specs()) == (set(REGISTRY_FIELDS) | {"status"})
    assert set(extra_fields()) == set(REGISTRY_FIELDS) - set(COLUMN_FIELDS)
    assert set(COLUMN_FIELDS) - {"status"} <= set(REGISTRY_FIELDS)


def test_a_good_citizen_is_normalised() -> None:
    raw = _good(
        birth_name=unicodedata.normalize("NFD", "  NGUYỄN VĂN AN "),
        status=None,
        legacy_id_no="",
        id_issue_date="2021-06-01",
        hometown_unit_scheme="legacy",
        hometown_ward_code=LEGACY_WARD,
        record_id="001085012345",
    )
    doc, issues = validate_citizen(raw)
    assert issues == []
    assert doc is not None
    assert doc["birth_name"] == "NGUYỄN VĂN AN"
    assert doc["status"] == "alive"
    assert "legacy_id_no" not in doc and "record_id" not in doc
    assert doc["hometown_ward_code"] == LEGACY_WARD


def test_a_12_digit_cmnd_equal_to_the_id_is_dropped() -> None:
    doc, _ = validate_citizen(_good(legacy_id_no="001085012345"))
    assert doc is not None and "legacy_id_no" not in doc
    doc, _ = validate_citizen(_good(legacy_id_no="001085099999"))
    assert doc is not None and doc["legacy_id_no"] == "001085099999"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"personal_id": "1234"}, "personal_id", "invalid_personal_id"),
        ({"personal_id": "００１０８５０１２３４５"}, "personal_id", "invalid_personal_id"),
        ({"birth_name": ""}, "birth_name", "missing"),
        ({"birth_name": "A" * 101}, "birth_name", "too_long"),
        ({"date_of_birth": "14/03/1985"}, "date_of_birth", "invalid_date"),
        ({"date_of_birth": "1985"}, "date_of_birth", "invalid_date"),
        ({"sex": "Nam"}, "sex", "unknown_code"),
        ({"ethnicity_code": "1"}, "ethnicity_code", "unknown_code"),
        ({"hometown_ward_code": LEGACY_WARD}, "hometown_ward_code", "unknown_code"),
        ({"hometown_unit_scheme": "1976"}, "hometown_unit_scheme", "unknown_code"),
        ({"birth_place_province_code": "99"}, "birth_place_province_code", "unknown_code"),
        ({"id_issue_date": "2021-02-29"}, "id_issue_date", "invalid_date"),
        ({"legacy_id_no": "0123456789"}, "legacy_id_no", "invalid_legacy_id"),
        ({"status": "dead"}, "status", "invalid_status"),
        ({"sex": 1}, "sex", "not_a_string"),
        (
            {"residence_address_line": "Số 1\nđường 2"},
            "residence_address_line",
            "control_character",
        ),
        ({"favourite_colour": "đỏ"}, "favourite_colour", "unknown_field"),
        ({"record_id": "001085099999"}, "record_id", "record_id_mismatch"),
    ],
)
def test_bad_values_are_named(changes: dict[str, Any], field: str, code: str) -> None:
    doc, issues = validate_citizen(_good(**changes))
    assert doc is None
    assert [(i.field, i.code) for i in issues] == [(field, code)]
    issue = issues[0]
    assert issue.message_vi and issue.message_en and issue.message_vi != issue.message_en
    assert unicodedata.is_normalized("NFC", issue.message_vi)
    assert issue.message_en.isascii()


def test_every_problem_of_a_line_is_reported() -> None:
    doc, issues = validate_citizen({"personal_id": "x", "sex": "Z", "nick": 1})
    assert doc is None
    assert {(i.field, i.code) for i in issues} == {
        ("personal_id", "invalid_personal_id"),
        ("sex", "unknown_code"),
        ("nick", "unknown_field"),
        ("birth_name", "missing"),
        ("date_of_birth", "missing"),
    }
    assert validate_citizen(["not", "an", "object"])[1][0].code == "not_an_object"


def test_row_round_trip_and_copy_escaping() -> None:
    doc, _ = validate_citizen(
        _good(legacy_id_no="123456789", hometown_legacy_text='Xã "Yên" \\ Thôn 2')
    )
    assert doc is not None
    row = row_from_citizen(doc)
    assert len(row) == len(COLUMNS)
    assert row[COLUMNS.index("name_key")] == "NGUYỄN VĂN AN"
    assert citizen_from_row(row) == doc
    line = copy_line(row)
    fields = line.split(b"\t")
    assert len(fields) == len(COLUMNS)
    assert b"\\\\" in fields[COLUMNS.index("extra")]  # the JSON's backslashes doubled
    plain = copy_line(row_from_citizen(_good()))
    assert plain.split(b"\t")[COLUMNS.index("legacy_id_no")] == b"\\N"
    tab = list(row)
    tab[1] = "A\tB"
    escaped = copy_line(tuple(tab)).split(b"\t")
    assert len(escaped) == len(COLUMNS) and escaped[1] == b"A\\tB"
