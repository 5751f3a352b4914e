"""Structural errors are refused with their field path; doubtful values are kept."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from hoso.people.validation import check_orgs, get_validator


def line(**data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "birth_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "work_history": [
            {"from": "2008-09", "to": "2012-12", "unit": "Sở Nội vụ", "title": "Chuyên viên"},
            {"from": "2013-01", "unit": "Sở Nội vụ", "title": "Trưởng phòng"},
        ],
    }
    base.update(data)
    return {"personal_id": "040085000001", "managing_agency": "000.00.00.H41", "data": base}


def issues_of(raw: Any) -> list[tuple[str, str]]:
    checked = get_validator().check_line(raw)
    return [(i.field, i.code) for i in checked.issues]


def test_a_good_line_passes_and_fills_key_fields() -> None:
    checked = get_validator().check_line(line())
    assert checked.ok
    assert checked.data["personal_id"] == "040085000001"
    assert checked.data["managing_agency_code"] == "000.00.00.H41"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"salary_step": "4"}, ("salary_step", "wrong_type")),
        ({"salary_coefficient": 3.33}, ("salary_coefficient", "wrong_type")),
        ({"salary_coefficient": "abc"}, ("salary_coefficient", "wrong_type")),
        ({"date_of_birth": "1985-02-30"}, ("date_of_birth", "impossible_date")),
        ({"date_of_birth": "14/03/1985"}, ("date_of_birth", "invalid_date")),
        ({"declarant_confirmed": "yes"}, ("declarant_confirmed", "wrong_type")),
        ({"favourite_colour": "blue"}, ("favourite_colour", "unknown_field")),
        ({"work_history": {"from": "2008-09"}}, ("work_history", "not_an_array")),
        ({"work_history": ["2008-09"]}, ("work_history[0]", "not_an_object")),
        ({"state_honorary_title_codes": "NGND"}, ("state_honorary_title_codes", "wrong_type")),
    ],
)
def test_structural_errors_name_the_field(patch: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in issues_of(line(**patch))


def test_row_paths_are_zero_based() -> None:
    raw = line()
    raw["data"]["work_history"].append({"from": "2023-13", "unit": "X", "title": "Y"})
    raw["data"]["work_history"].append({"from": "2024-01", "unit": "X", "title": "Y", "boss": "Z"})
    found = issues_of(raw)
    assert ("work_history[2].from", "impossible_date") in found
    assert ("work_history[3].boss", "unknown_field") in found


def test_messages_are_vietnamese_and_english_and_name_the_value() -> None:
    checked = get_validator().check_line(line(date_of_birth="1985-02-30"))
    issue = checked.issues[0]
    assert "không có thật" in issue.message_vi and "1985-02-30" in issue.message_vi
    assert "does not exist" in issue.message_en and "1985-02-30" in issue.message_en
    assert unicodedata.is_normalized("NFC", issue.message_vi)


@pytest.mark.parametrize("pid", ["12345", "0400850000011", "04008500000A", 40085000001])
def test_personal_id_must_be_12_digits(pid: Any) -> None:
    raw = line()
    raw["personal_id"] = pid
    codes = {c for _, c in issues_of(raw)}
    assert codes & {"invalid_personal_id", "wrong_type"}


def test_top_level_and_data_must_agree() -> None:
    raw = line(personal_id="040085000002")
    assert ("data.personal_id", "mismatch") in issues_of(raw)


def test_missing_key_is_refused() -> None:
    raw = line()
    del raw["personal_id"]
    assert ("personal_id", "missing_required") in issues_of(raw)


def test_doubtful_values_are_kept() -> None:
    raw = line(
        ethnicity_code="99",  # unknown code
        date_of_birth="1985",  # partial legacy date
        salary_coefficient="3.3",  # wrong scale
        other_names="x" * 300,  # over max_length
        work_history=[{"from": "2015-01", "to": "2010-01", "unit": "A", "title": "B"}],  # order
    )
    del raw["data"]["sex"]  # missing mandatory
    checked = get_validator().check_line(raw)
    assert checked.ok, checked.issues
    assert checked.data["ethnicity_code"] == "99"
    assert checked.data["date_of_birth"] == "1985"
    assert checked.data["salary_coefficient"] == "3.3"
    assert "sex" not in checked.data


def test_normalisation_nfc_trim_and_empties() -> None:
    decomposed = unicodedata.normalize("NFD", "  NGUYỄN VĂN AN ")
    raw = line(birth_name=decomposed, other_names="   ", religion_code=None, rewards_and_ratings=[])
    raw["data"]["work_history"].append({"unit": "", "title": None})
    checked = get_validator().check_line(raw)
    assert checked.ok
    assert checked.data["birth_name"] == "NGUYỄN VĂN AN"
    assert unicodedata.is_normalized("NFC", checked.data["birth_name"])
    for gone in ("other_names", "religion_code", "rewards_and_ratings"):
        assert gone not in checked.data
    assert len(checked.data["work_history"]) == 2


def test_org_checks_unknown_and_out_of_scope() -> None:
    paths = {"000.00.00.H41": "/000.00.00.H41/", "000.00.00.H40": "/000.00.00.H40/"}
    checked = get_validator().check_line(line())
    check_orgs(checked, paths, "/000.00.00.H40/")
    assert [(i.field, i.code) for i in checked.issues] == [("managing_agency", "out_of_scope")]
    raw = line()
    raw["employing_unit"] = "000.00.00.H41.S99"
    checked = get_validator().check_line(raw)
    check_orgs(checked, paths, None)
    assert [(i.field, i.code) for i in checked.issues] == [("employing_unit", "unknown_agency")]
