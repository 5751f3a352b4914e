"""Deterministic comparison of a dossier with the registry's citizen (issue 5 §2)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import polars as pl
import pytest

from hoso.catalog.admin_units import wards_2025, wards_legacy
from hoso.catalog.loader import get_catalog
from hoso.generate.encodings import to_tcvn3, to_vni
from hoso.generate.people import REGISTRY_FIELDS
from hoso.population.matching import (
    IDENTITY_FIELDS,
    MASTERED_FIELDS,
    Comparison,
    compare,
    normalise,
    to_2025,
)
from hoso.population.models import Outcome
from hoso.quality.admin_units import conversion_frame, legacy_only_codes

CITIZEN: dict[str, Any] = {
    "personal_id": "001176097147",
    "birth_name": "HÀ THỊ HÒA",
    "date_of_birth": "1976-09-05",
    "sex": "F",
    "birth_place_text": "Xã Đông Yên, huyện Quốc Oai, thành phố Hà Nội",
    "hometown_ward_code": "09664",
    "hometown_province_code": "01",
    "hometown_unit_scheme": "2025",
    "ethnicity_code": "01",
    "religion_code": "00",
    "id_issue_date": "2023-05-04",
    "residence_ward_code": "00337",
    "residence_province_code": "01",
    "residence_unit_scheme": "2025",
    "legacy_id_no": "021742142",
    "status": "alive",
}


def dossier(**changes: Any) -> dict[str, Any]:
    """The dossier of the citizen above (its ``data``), with ``changes``."""
    out = {k: v for k, v in CITIZEN.items() if k != "status"}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def fields(result: Comparison) -> list[str]:
    return [d["field"] for d in result.differences]


def _is_nfc(s: str) -> bool:
    return unicodedata.is_normalized("NFC", s)


# --- the field lists ---------------------------------------------------------------------------


def test_mastered_fields_are_the_catalogues_registry_fields_without_record_id() -> None:
    expected = [
        f.code
        for f in get_catalog().fields
        if f.master == "population_registry" and f.code != "record_id"
    ]
    assert list(MASTERED_FIELDS) == expected
    assert "record_id" not in MASTERED_FIELDS
    assert set(MASTERED_FIELDS) == set(REGISTRY_FIELDS)  # the generator's own list agrees
    assert set(IDENTITY_FIELDS) <= set(MASTERED_FIELDS)


# --- outcomes ----------------------------------------------------------------------------------


def test_not_found_when_the_registry_has_no_citizen() -> None:
    result = compare(dossier(), None, matched_by=None)
    assert result.outcome == Outcome.NOT_FOUND
    assert (result.registry_personal_id, result.registry_status, result.registry_values) == (
        None,
        None,
        None,
    )
    assert result.differences == []
    assert result.probability is None


def test_identical_is_matched_with_the_registry_values() -> None:
    result = compare(dossier(), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.MATCHED
    assert result.differences == []
    assert result.registry_personal_id == "001176097147"
    assert result.registry_status == "alive"
    assert result.registry_values == {k: v for k, v in CITIZEN.items() if k != "status"}
    assert result.as_columns()["outcome"] == Outcome.MATCHED


def test_a_mastered_difference_is_listed_and_still_matched() -> None:
    result = compare(dossier(ethnicity_code="02"), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.MATCHED
    [diff] = result.differences
    assert diff["field"] == "ethnicity_code"
    assert (diff["ours"], diff["registry"], diff["kind"]) == ("02", "01", "mastered")
    assert "CSDLQG về dân cư" in diff["note_vi"] and "'02'" in diff["note_vi"]
    assert "population registry" in diff["note_en"]
    assert _is_nfc(diff["note_vi"]) and _is_nfc(diff["note_en"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("birth_name", "HÀ THỊ HOA"), ("date_of_birth", "1976-09-06"), ("sex", "M")],
)
def test_an_identity_difference_is_a_conflict(field: str, value: str) -> None:
    result = compare(dossier(**{field: value}), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.CONFLICT
    assert fields(result) == [field]
    assert result.differences[0]["kind"] == "identity"


def test_deceased_is_a_conflict_with_a_status_difference() -> None:
    result = compare(dossier(), dict(CITIZEN, status="deceased"), matched_by="personal_id")
    assert result.outcome == Outcome.CONFLICT
    assert result.registry_status == "deceased"
    [status] = result.differences
    assert status["field"] == "status" and status["registry"] == "deceased"
    assert status["kind"] == "identity"
    assert "đã chết" in status["note_vi"] and "deceased" in status["note_en"]


def test_found_by_old_cmnd_is_a_conflict_with_the_personal_id() -> None:
    result = compare(dossier(personal_id="021742142"), CITIZEN, matched_by="legacy_id_no")
    assert result.outcome == Outcome.CONFLICT
    assert result.registry_personal_id == "001176097147"
    [pid] = result.differences
    assert (pid["field"], pid["ours"], pid["registry"]) == (
        "personal_id",
        "021742142",
        "001176097147",
    )
    assert "chứng minh nhân dân cũ" in pid["note_vi"]


def test_a_mistyped_id_found_through_the_dossiers_cmnd_names_the_cmnd() -> None:
    ours = dossier(personal_id="001176097999")  # not found; its legacy_id_no was
    result = compare(ours, CITIZEN, matched_by="legacy_id_no")
    assert result.outcome == Outcome.CONFLICT
    [pid] = result.differences
    assert (pid["ours"], pid["registry"]) == ("001176097999", "001176097147")
    assert "'021742142'" in pid["note_vi"] and "'021742142'" in pid["note_en"]


def test_found_by_personal_id_with_other_differences_sorted_in_catalogue_order() -> None:
    result = compare(
        dossier(religion_code="01", sex="M", status=None),
        dict(CITIZEN, status="deceased"),
        matched_by="personal_id",
    )
    assert fields(result) == ["status", "sex", "religion_code"]


# --- presence ----------------------------------------------------------------------------------


def test_missing_in_the_dossier_is_a_difference_missing_in_the_registry_is_not() -> None:
    ours_missing = compare(dossier(religion_code=None), CITIZEN, matched_by="personal_id")
    assert fields(ours_missing) == ["religion_code"]
    assert "chưa khai" in ours_missing.differences[0]["note_vi"]
    theirs_missing = {k: v for k, v in CITIZEN.items() if k != "religion_code"}
    assert compare(dossier(), theirs_missing, matched_by="personal_id").differences == []


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [to_tcvn3, to_vni], ids=["tcvn3", "vni"])
def test_legacy_encoded_names_are_equal_after_repair(encode: Any) -> None:
    for name in ("Hà Thị Hòa", "HÀ THỊ HÒA"):
        mojibake = encode(name)
        assert mojibake != name
        result = compare(dossier(birth_name=mojibake), CITIZEN, matched_by="personal_id")
        assert result.outcome == Outcome.MATCHED, mojibake
        assert result.differences == []
        [note] = result.notes
        assert note["field"] == "birth_name" and "Unicode" in note["note_vi"]


def test_a_legacy_encoded_text_field_is_equal_after_repair() -> None:
    place = to_tcvn3(CITIZEN["birth_place_text"])
    result = compare(dossier(birth_place_text=place), CITIZEN, matched_by="personal_id")
    assert result.differences == []


@pytest.mark.parametrize(
    "name",
    [
        "Hà Thị Hòa",  # case
        "  HÀ   THỊ  HÒA ",  # spaces
        "HÀ THỊ\u200b HÒA",  # invisible character
        unicodedata.normalize("NFD", "HÀ THỊ HÒA"),  # not NFC
        "HÀ THỊ HOÀ",  # new-style tone placement
    ],
    ids=["case", "spaces", "invisible", "nfd", "tone-placement"],
)
def test_case_spaces_unicode_and_tone_placement_do_not_count(name: str) -> None:
    result = compare(dossier(birth_name=name), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.MATCHED
    assert result.differences == []


def test_a_name_differing_only_in_diacritics_is_a_conflict_that_says_so() -> None:
    result = compare(dossier(birth_name="HA THI HOA"), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.CONFLICT
    assert "chỉ khác dấu" in result.differences[0]["note_vi"]


def test_normalise_values() -> None:
    assert normalise("birth_name", " nguyễn  văn\u200b thủy ") == "NGUYỄN VĂN THUỶ"
    assert normalise("birth_name", "NGUYỄN VĂN QUÝ") == "NGUYỄN VĂN QUÝ"  # qu + y untouched
    assert normalise("birth_name", "   ") is None
    assert normalise("birth_place_text", "Xã A ,huyện  B") == "xã a, huyện b"
    assert normalise("hometown_ward_code", 2392) == "02392"
    assert normalise("hometown_province_code", " 1 ") == "01"
    assert normalise("hometown_unit_scheme", "LEGACY") == "legacy"
    assert normalise("personal_id", "001 176.097-147") == "001176097147"
    assert normalise("sex", " f ") == "F"
    assert normalise("ethnicity_code", None) is None


@pytest.mark.parametrize(
    "value",
    ["05/09/1976", "5/9/1976", "1976-09-05T00:00:00", "19760905", dt.date(1976, 9, 5)],
)
def test_dates_compare_as_iso(value: Any) -> None:
    assert normalise("date_of_birth", value) == "1976-09-05"
    result = compare(dossier(date_of_birth=value), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.MATCHED and result.differences == []


def test_a_partial_date_that_agrees_is_a_correction_not_a_conflict() -> None:
    for partial in ("1976", "1976-09", "09/1976"):
        result = compare(dossier(date_of_birth=partial), CITIZEN, matched_by="personal_id")
        assert result.outcome == Outcome.MATCHED, partial
        [diff] = result.differences
        assert diff["field"] == "date_of_birth" and diff["kind"] == "mastered"
    wrong = compare(dossier(date_of_birth="1977"), CITIZEN, matched_by="personal_id")
    assert wrong.outcome == Outcome.CONFLICT


def test_swapped_day_and_month_is_a_conflict_with_a_hint() -> None:
    result = compare(dossier(date_of_birth="1976-05-09"), CITIZEN, matched_by="personal_id")
    assert result.outcome == Outcome.CONFLICT
    assert "nhầm ngày với tháng" in result.differences[0]["note_vi"]


# --- administrative units ------------------------------------------------------------------


def _legacy(code: str) -> dict[str, Any]:
    unit = wards_legacy()[code]
    return {
        "hometown_ward_code": unit.code,
        "hometown_province_code": unit.province_code,
        "hometown_district_legacy_code": unit.district_code,
        "hometown_unit_scheme": "legacy",
    }


def _registry_at(ward: str) -> dict[str, Any]:
    return dict(
        CITIZEN,
        hometown_ward_code=ward,
        hometown_province_code=wards_2025()[ward].province_code,
        hometown_unit_scheme="2025",
    )


def _rows(status: str) -> list[dict[str, Any]]:
    return conversion_frame().filter(pl.col("status") == status).head(50).to_dicts()


def test_an_old_commune_that_became_the_registrys_commune_is_equal() -> None:
    for row in _rows("exact")[:10]:
        ours = dossier(**_legacy(row["legacy_ward_code"]))
        result = compare(ours, _registry_at(row["new_ward_code"]), matched_by="personal_id")
        assert result.outcome == Outcome.MATCHED
        assert result.differences == [], row
        [note] = result.notes
        assert note["field"] == "hometown_ward_code" and "đơn vị hành chính cũ" in note["note_vi"]


def test_an_old_commune_converting_elsewhere_differs() -> None:
    row, other = _rows("exact")[0], _rows("exact")[1]
    assert row["new_ward_code"] != other["new_ward_code"]
    ours = dossier(**_legacy(row["legacy_ward_code"]))
    result = compare(ours, _registry_at(other["new_ward_code"]), matched_by="personal_id")
    assert result.outcome == Outcome.MATCHED  # not an identity field
    assert "hometown_ward_code" in fields(result) and "hometown_unit_scheme" in fields(result)
    ward = next(d for d in result.differences if d["field"] == "hometown_ward_code")
    assert ward["ours"] == row["legacy_ward_code"] and ward["registry"] == other["new_ward_code"]
    assert "đơn vị cũ" in ward["note_vi"]


def test_a_split_commune_is_equal_when_the_registrys_commune_is_a_candidate() -> None:
    row = _rows("ambiguous")[0]
    ours = dossier(**_legacy(row["legacy_ward_code"]))
    for candidate in row["candidate_ward_codes"]:
        result = compare(ours, _registry_at(candidate), matched_by="personal_id")
        assert result.differences == [], candidate
        [note] = result.notes
        assert "một trong các đơn vị" in note["note_vi"] and "one of them" in note["note_en"]
    outside = next(
        r["new_ward_code"]
        for r in _rows("exact")
        if r["new_ward_code"] not in row["candidate_ward_codes"]
    )
    result = compare(ours, _registry_at(outside), matched_by="personal_id")
    assert "hometown_ward_code" in fields(result)


def test_the_registry_in_the_legacy_scheme_is_converted_too() -> None:
    row = _rows("exact")[0]
    registry = dict(CITIZEN, **_legacy(row["legacy_ward_code"]))
    ours = dossier(
        hometown_ward_code=row["new_ward_code"],
        hometown_province_code=row["new_province_code"],
    )
    assert compare(ours, registry, matched_by="personal_id").differences == []


def test_a_legacy_only_code_labelled_2025_is_read_as_legacy() -> None:
    rows = {r["legacy_ward_code"]: r for r in _rows("exact")}
    code = next(c for c in sorted(legacy_only_codes("ward")) if c in rows)
    ours = dossier(
        hometown_ward_code=code,
        hometown_province_code=wards_legacy()[code].province_code,
        hometown_unit_scheme="2025",
    )
    result = compare(ours, _registry_at(rows[code]["new_ward_code"]), matched_by="personal_id")
    assert result.differences == []


def test_to_2025() -> None:
    row = _rows("exact")[0]
    legacy = wards_legacy()[row["legacy_ward_code"]]
    assert to_2025("legacy", legacy.code, None, legacy.province_code) == (
        row["new_ward_code"],
        row["new_province_code"],
    )
    split = _rows("ambiguous")[0]
    assert to_2025("legacy", split["legacy_ward_code"], None, None) == (
        None,
        split["new_province_code"],
    )
    assert to_2025("2025", "9664", None, None) == ("09664", wards_2025()["09664"].province_code)
    assert to_2025(None, None, None, None) == (None, None)


# --- probabilistic matches ---------------------------------------------------------------------


def test_a_probabilistic_candidate_is_a_potential_match_until_accepted() -> None:
    ours = dossier(personal_id=None)
    pending = compare(ours, CITIZEN, matched_by="probabilistic", probability=0.8)
    assert pending.outcome == Outcome.POTENTIAL
    assert pending.probability == 0.8
    [pid] = pending.differences
    assert pid["field"] == "personal_id" and pid["kind"] == "identity"
    accepted = compare(ours, CITIZEN, matched_by="probabilistic", probability=0.9999, accepted=True)
    assert accepted.outcome == Outcome.MATCHED
    assert accepted.differences[0]["kind"] == "mastered"
    typo = compare(
        dossier(personal_id=None, birth_name="HÀ THỊ HOÀI"),
        CITIZEN,
        matched_by="probabilistic",
        accepted=True,
    )
    assert typo.outcome == Outcome.CONFLICT
