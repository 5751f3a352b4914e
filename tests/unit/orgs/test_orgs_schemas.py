"""OrgUnitIn / OrgTreeIn validation, Pydantic errors as Issues, the subtree predicate."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from hoso.orgs import service as orgs_service
from hoso.orgs.kinds import KINDS, label
from hoso.orgs.schemas import (
    OrgTreeIn,
    OrgUnitIn,
    depth_of,
    field_path,
    issues_from_validation_error,
)


def unit(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "000.00.00.H41",
        "name": "UBND tỉnh Nghệ An",
        "kind": "province",
    }
    data.update(over)
    return data


def issues_of(data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        OrgTreeIn.model_validate(data)
    return {i.field: i for i in issues_from_validation_error(info.value)}


def test_a_full_exchange_unit_is_accepted() -> None:
    u = OrgUnitIn.model_validate(
        unit(
            parent_code="VN",
            valid_from="2025-07-01",
            valid_to="2030-12-31",
            successor_codes=["000.00.00.H42", "000.00.00.H42"],
            admin_unit={"scheme": "2025", "code": "40"},
            staffing_quota=120,
        )
    )
    assert u.valid_from is not None and u.valid_from.isoformat() == "2025-07-01"
    assert u.successor_codes == ["000.00.00.H42"]  # duplicates dropped, order kept
    assert u.to_exchange()["admin_unit"] == {"scheme": "2025", "code": "40"}
    assert u.to_exchange()["valid_to"] == "2030-12-31"


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"code": "h41"}, "units[0].code", "string_pattern_mismatch"),
        ({"code": "A..B"}, "units[0].code", "string_pattern_mismatch"),
        ({"code": "A" * 61}, "units[0].code", "string_too_long"),
        ({"kind": "village"}, "units[0].kind", "literal_error"),
        ({"valid_from": "2025-7-1"}, "units[0].valid_from", "date_format"),
        ({"valid_from": "2025-02-30"}, "units[0].valid_from", "date_impossible"),
        ({"valid_from": "2025-07-01T00:00:00"}, "units[0].valid_from", "date_format"),
        ({"valid_from": 20250701}, "units[0].valid_from", "date_format"),
        (
            {"valid_from": "2025-07-01", "valid_to": "2025-06-30"},
            "units[0].valid_to",
            "valid_to_before_valid_from",
        ),
        ({"staffing_quota": -1}, "units[0].staffing_quota", "greater_than_equal"),
        ({"staffing_quota": "120"}, "units[0].staffing_quota", "int_type"),
        ({"staffing_quota": 1.5}, "units[0].staffing_quota", "int_type"),
        (
            {"admin_unit": {"scheme": "1999", "code": "40"}},
            "units[0].admin_unit.scheme",
            "literal_error",
        ),
        ({"parent_code": "000.00.00.H41"}, "units[0].parent_code", "own_parent"),
        ({"successor_codes": ["000.00.00.H41"]}, "units[0].successor_codes", "own_successor"),
        (
            {"successor_codes": ["ok", "OK"]},
            "units[0].successor_codes[0]",
            "string_pattern_mismatch",
        ),
        ({"colour": "red"}, "units[0].colour", "extra_forbidden"),
        ({"name": "   "}, "units[0].name", "string_too_short"),
    ],
)
def test_structural_errors_name_the_field_and_are_bilingual(
    over: dict[str, Any], field: str, code: str
) -> None:
    found = issues_of({"units": [unit(**over)]})
    assert field in found, found
    issue = found[field]
    assert issue.code == code
    assert issue.message_vi.startswith(field)
    assert issue.message_en.startswith(field)
    assert issue.message_vi != issue.message_en


def test_missing_required_fields_and_nested_paths() -> None:
    found = issues_of({"units": [unit(), {"code": "X", "kind": "other"}]})
    assert set(found) == {"units[1].name"}
    assert found["units[1].name"].code == "missing"
    assert found["units[1].name"].value is None
    assert "Thiếu trường bắt buộc" in found["units[1].name"].message_vi


def test_issue_message_shows_the_offending_value() -> None:
    found = issues_of({"units": [unit(kind="village")]})
    issue = found["units[0].kind"]
    assert issue.value == "village"
    assert "'village'" in issue.message_vi and "'village'" in issue.message_en


def test_names_are_stored_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Sở Nội vụ")
    assert decomposed != "Sở Nội vụ"
    assert OrgUnitIn.model_validate(unit(name=f"  {decomposed} ")).name == "Sở Nội vụ"


def test_field_path_and_depth() -> None:
    assert field_path(("units", 3, "parent_code")) == "units[3].parent_code"
    assert field_path(("units", 0), "body") == "body.units[0]"
    assert depth_of("/A/") == 0
    assert depth_of("/A/B/C/") == 2


def test_every_kind_has_two_labels() -> None:
    assert set(KINDS) == {
        "ministry",
        "central_agency",
        "province",
        "department",
        "division",
        "public_service_unit",
        "commune",
        "other",
    }
    for kind, (vi, en) in KINDS.items():
        assert vi and en and vi != en, kind
    assert (
        label("province")
        == "Tỉnh, thành phố trực thuộc trung ương / Province or centrally-run city"
    )


def test_subtree_predicate_is_glob_on_sqlite_and_like_elsewhere() -> None:
    stmt = orgs_service.codes_in_subtree_select("/VN/000.00.00.H41/")
    lite = stmt.compile(dialect=sqlite.dialect())
    pg = stmt.compile(dialect=postgresql.dialect())
    assert " GLOB " in str(lite) and "= 1" not in str(lite)
    assert list(lite.params.values()).count("/VN/000.00.00.H41/*") == 1
    assert " LIKE " in str(pg)
    assert "/VN/000.00.00.H41/%" in pg.params.values()


@pytest.mark.parametrize("prefix", ["VN/", "/VN", "/V%/", "/VN/*/", "/vn/", ""])
def test_subtree_predicate_refuses_what_is_not_a_path(prefix: str) -> None:
    with pytest.raises(ValueError, match="not a materialised path"):
        orgs_service.codes_in_subtree_select(prefix)
