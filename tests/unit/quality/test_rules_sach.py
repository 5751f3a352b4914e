"""Sạch rules SACH-001 … SACH-013 (quality-rules.md §5, §8) on hand-made records.

Expected findings are written out by hand from the spec; administrative-unit examples are
real units (named in the comments) looked up in the library's lists, never in the code under
test. The last tests score the rules against the generator's labels.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pytest

from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import get_catalog
from hoso.generate.people import REGISTRY_FIELDS
from hoso.quality import engine, evaluate, text
from hoso.quality import rules_sach as sach
from hoso.quality.rules import APPROVAL, DATASET, META, REGISTRY, Context
from hoso.quality.snapshot import frame_from_documents

AS_OF = dt.date(2026, 11, 23)
ALL_INPUTS = {META, APPROVAL, DATASET, REGISTRY}
SACH_RULES = {f"SACH-{i:03d}" for i in range(1, 14)}

Finding = tuple[str, str, Any, Any, Any]
"""(personal_id, field, value, expected, related) with JSON values decoded."""


def pid(i: int) -> str:
    """A 12-digit personal ID (Hà Nội, male, 1985)."""
    return f"0010850{i:05d}"


def person(i: int, **data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Record ``i``: metadata and the data given (``personal_id`` defaults to :func:`pid`)."""
    data.setdefault("personal_id", pid(i))
    return {"_id": i, "_personal_id": pid(i)}, data


def frame(records: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> pl.DataFrame:
    """A records frame."""
    return frame_from_documents(records)


def registry(entries: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A registry view with the generator's registry columns (all text)."""
    schema = {f: pl.String for f in REGISTRY_FIELDS}
    return pl.DataFrame([dict(e) for e in entries], schema=schema)


def run(
    rule_ids: str | set[str],
    records: pl.DataFrame | Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    profile: str = "nd27",
    as_of: dt.date = AS_OF,
    population: pl.DataFrame | None = None,
    registry_view: pl.DataFrame | None = None,
    params: dict[str, str] | None = None,
    inputs: set[str] = ALL_INPUTS,
) -> list[Finding]:
    """Findings of ``rule_ids`` through the engine, sorted."""
    records_frame = records if isinstance(records, pl.DataFrame) else frame(records)
    ctx = Context(
        frame=records_frame,
        as_of=as_of,
        profile=profile,
        catalog=get_catalog(),
        params=params or {},
        population=population,
        registry=registry_view,
    )
    only = {rule_ids} if isinstance(rule_ids, str) else rule_ids
    result = engine.check(ctx, inputs=inputs, only=only)
    pid_of = dict(
        zip(records_frame["_id"].to_list(), records_frame["_personal_id"].to_list(), strict=True)
    )

    def decode(v: str | None) -> Any:
        return None if v is None else json.loads(v)

    return sorted(
        (pid_of[i], f, decode(v), decode(e), r)
        for i, f, v, e, r in result.findings.select(
            "_id", "field", "value", "expected", "related"
        ).iter_rows()
    )


def fields(found: Sequence[Finding]) -> list[tuple[str, str]]:
    """(personal_id, field) of each finding."""
    return [(p, f) for p, f, *_ in found]


# --- SACH-001 ------------------------------------------------------------------------------------


def test_sach_001_same_id_in_two_active_records_flags_both() -> None:
    same = "001085000777"
    records = [
        person(1, personal_id=same, employment_status_code="DANG_CONG_TAC"),
        person(2, personal_id="001 085 000 777"),  # separators: the same number; no status
        person(3, personal_id=pid(3)),
    ]
    assert run("SACH-001", records) == [
        (pid(1), "personal_id", same, None, None),
        (pid(2), "personal_id", "001 085 000 777", None, None),
    ]


def test_sach_001_inactive_record_is_no_duplicate() -> None:
    same = "001085000777"
    records = [
        person(1, personal_id=same, employment_status_code="DANG_CONG_TAC"),
        person(2, personal_id=same, employment_status_code="CHUYEN_CONG_TAC"),  # transferred
    ]
    assert run("SACH-001", records) == []
    records.append(person(3, personal_id=same, employment_status_code="BIET_PHAI"))  # active
    assert fields(run("SACH-001", records)) == [(pid(1), "personal_id"), (pid(3), "personal_id")]


def test_sach_001_incremental_run_reports_only_the_frame() -> None:
    same = "001085000777"
    everyone = frame(
        [
            person(1, personal_id=pid(1)),  # old version of record 1
            person(2, personal_id=same),
            person(3, personal_id="001085000888"),
            person(4, personal_id="001085000888"),  # duplicate not in the frame
        ]
    )
    changed = frame([person(1, personal_id=same)])  # record 1 now carries record 2's number
    assert run("SACH-001", changed, population=everyone) == [
        (pid(1), "personal_id", same, None, None)
    ]
    # Its own older copy (same _id) is not a second record.
    unchanged = frame([person(3, personal_id="001085000999")])
    assert run("SACH-001", unchanged, population=everyone) == []


def test_sach_001_not_evaluated_without_the_dataset() -> None:
    records = frame([person(1, personal_id=pid(9)), person(2, personal_id=pid(9))])
    ctx = Context(frame=records, as_of=AS_OF, profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={META}, only={"SACH-001"})
    assert result.rules_run == []
    assert [n.rule_id for n in result.not_evaluated] == ["SACH-001"]


# --- SACH-002 ------------------------------------------------------------------------------------

# Legacy province 30 (Hải Dương) was merged into 31 (Thành phố Hải Phòng) on 1/7/2025.
HOMETOWN_2025 = {"hometown_province_code": "31", "hometown_unit_scheme": "2025"}
HOMETOWN_LEGACY = {"hometown_province_code": "30", "hometown_unit_scheme": "legacy"}


def test_sach_002_same_name_birth_date_and_home_province_under_two_ids() -> None:
    records = [
        person(1, birth_name="NGUYỄN VĂN AN", date_of_birth="1985-03-02", **HOMETOWN_2025),
        # title case, a double space, NFD and the legacy province: the same key
        person(
            2,
            birth_name=unicodedata.normalize("NFD", "Nguyễn  Văn An"),
            date_of_birth="1985-03-02",
            **HOMETOWN_LEGACY,
        ),
        person(3, birth_name="NGUYỄN VĂN AN", date_of_birth="1985-03-03", **HOMETOWN_2025),
        person(4, birth_name="NGUYỄN VĂN AN", date_of_birth="1985-03-02", hometown_province_code="01",
               hometown_unit_scheme="2025"),
    ]  # fmt: skip
    found = run("SACH-002", records)
    assert [(p, f, v, r) for p, f, v, _, r in found] == [
        (pid(1), "personal_id", pid(1), pid(2)),
        (pid(2), "personal_id", pid(2), pid(1)),
    ]


def test_sach_002_same_id_is_not_two_people_and_related_is_the_smallest_other() -> None:
    key = {"birth_name": "TRẦN THỊ BÌNH", "date_of_birth": "1990-07-15", **HOMETOWN_2025}
    records = [
        person(1, personal_id="001190000003", **key),
        person(2, personal_id="001190000001", **key),
        person(3, personal_id="001190000002", **key),
    ]
    related = {p: r for p, _, _, _, r in run("SACH-002", records)}
    assert related == {
        pid(1): "001190000001",
        pid(2): "001190000002",
        pid(3): "001190000001",
    }
    # Two records of the same number are SACH-001's business, not SACH-002's.
    same = [
        person(1, personal_id="001190000009", **key),
        person(2, personal_id="001190000009", **key),
    ]
    assert run("SACH-002", same) == []


def test_sach_002_incremental_run_reports_only_the_frame() -> None:
    key = {"birth_name": "LÊ HOÀNG", "date_of_birth": "1979-01-31", **HOMETOWN_2025}
    everyone = frame([person(1), person(2, **key), person(3, **key), person(4, **key)])
    changed = frame([person(1, **key)])
    found = run("SACH-002", changed, population=everyone)
    assert [(p, r) for p, _, _, _, r in found] == [(pid(1), pid(2))]


def test_name_key_matches_the_plain_python_key() -> None:
    names = [
        "NGUYỄN VĂN AN",
        "Nguyễn  Văn An ",
        unicodedata.normalize("NFD", "Đỗ Thị Ánh"),
        "O'NEIL-SMITH",
        "Nguyễn\u200bVăn",
        "Müller ß",
        "ΐ Greek",
        "\tPhạm\nHùng",
    ]
    keys = sach.name_key(pl.Series("n", [*names, None], dtype=pl.String)).to_list()
    assert keys == [*(text.dedup_key_name(n) for n in names), None]
    assert keys[1] == "NGUYỄN VĂN AN"


# --- SACH-003, SACH-004 --------------------------------------------------------------------------


def test_sach_003_tcvn3_and_vni_in_scalars_and_cells() -> None:
    records = [
        person(1, main_assigned_duty="Qu¶n lý nh©n sù"),  # TCVN3 "Quản lý nhân sự"
        person(
            2,
            work_history=[
                {"from": "2010-01", "unit": "Sở Nội vụ"},
                {"from": "2015-01", "unit": "UBND tænh Haø Noäi"},  # VNI "UBND tỉnh Hà Nội"
            ],
        ),
        person(3, main_assigned_duty="Quản lý nhân sự, Microsoft© Office"),
        person(4, family_background="Hµ"),  # a code leaf: not text, not scanned
    ]
    assert fields(run("SACH-003", records)) == [
        (pid(1), "main_assigned_duty"),
        (pid(2), "work_history[1].unit"),
    ]


def test_sach_004_invisible_characters_and_non_nfc_text() -> None:
    records = [
        person(1, main_assigned_duty="Tổng\u200bhợp"),  # zero-width space
        person(2, agency_assessment=unicodedata.normalize("NFD", "Hoàn thành tốt")),
        person(3, residence_address_line="Phố \u212bngstr\u00f6m"),  # ANGSTROM SIGN (NFC: Å)
        person(4, main_assigned_duty="Hoàn thành tốt nhiệm vụ"),
        person(5, family_own_side=[{"relationship_code": "CHA", "occupation": "Nông\x07dân"}]),
    ]
    assert fields(run("SACH-004", records)) == [
        (pid(1), "main_assigned_duty"),
        (pid(2), "agency_assessment"),
        (pid(3), "residence_address_line"),
        (pid(5), "family_own_side[0].occupation"),
    ]


def test_sach_004_leaves_the_tcvn3_soft_hyphen_to_sach_003() -> None:
    mojibake = "Tr\xadêng THPT Hµ Néi"  # TCVN3 "Trường THPT Hà Nội": ư is byte 0xAD
    records = [person(1, first_recruiting_body=mojibake)]
    assert run("SACH-004", records) == []
    assert fields(run("SACH-003", records)) == [(pid(1), "first_recruiting_body")]
    # A soft hyphen that is no letter of TCVN3 text (not next to a letter) counts.
    assert sach.unicode_problem("Trường \xad THPT")
    assert not sach.unicode_problem("Trường THPT")


def test_non_nfc_prefilter_holds_every_character_that_can_break_nfc() -> None:
    suspects = set()
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        decomposition = unicodedata.decomposition(ch)
        if unicodedata.combining(ch) or unicodedata.normalize("NFC", ch) != ch:
            suspects.add(ch)
        if decomposition and not decomposition.startswith("<"):
            suspects.update(chr(int(x, 16)) for x in decomposition.split()[1:])
    suspects.update(chr(c) for c in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)))
    hits = pl.Series(sorted(suspects)).str.contains(sach.NON_NFC_PATTERN)
    assert hits.all(), [hex(ord(c)) for c, h in zip(sorted(suspects), hits, strict=True) if not h]
    vietnamese = "Nguyễn Văn Ánh Đức Hưng Phượng Thuỷ"
    assert not pl.Series([vietnamese]).str.contains(sach.NON_NFC_PATTERN).any()


# --- SACH-005, SACH-006 --------------------------------------------------------------------------


def test_sach_005_birth_name_not_in_upper_case() -> None:
    records = [
        person(1, birth_name="Nguyễn Văn An"),
        person(2, birth_name="NGUYỄN VĂN AN"),
        person(3, birth_name=unicodedata.normalize("NFD", "NGUYỄN VĂN AN")),
        person(4, birth_name="   "),  # blank: DU-001's
        person(5, birth_name="NGUYỄN VĂn AN"),
    ]
    assert run("SACH-005", records) == [
        (pid(1), "birth_name", "Nguyễn Văn An", None, None),
        (pid(5), "birth_name", "NGUYỄN VĂn AN", None, None),
    ]


def test_sach_006_names_with_digits_spaces_or_one_word() -> None:
    records = [
        person(1, birth_name="NGUYỄN  VĂN AN"),  # double space
        person(2, birth_name="NGUYỄN VĂN AN 2"),  # a digit
        person(3, birth_name="AN"),  # one word
        person(4, birth_name="Nguyễn Văn An"),  # title case: SACH-005 only
        person(5, birth_name="H'HEN NIÊ", other_names="Bích"),  # apostrophe; one-word alias
        person(6, birth_name="LÊ-NGUYỄN THẢO"),
        person(7, other_names="Tí, Tèo"),
        person(
            8,
            family_own_side=[
                {"relationship_code": "CHA", "full_name": "Nguyễn Văn Tuấn"},
                {"relationship_code": "ME", "full_name": "Đặng Thị 3"},
            ],
            family_spouse_side=[{"relationship_code": "CHA_VO", "full_name": " Lê Văn Bảy"}],
        ),
        person(9, birth_name=unicodedata.normalize("NFD", "ĐỖ THỊ ÁNH")),  # NFC first: valid
    ]
    assert fields(run("SACH-006", records)) == [
        (pid(1), "birth_name"),
        (pid(2), "birth_name"),
        (pid(3), "birth_name"),
        (pid(7), "other_names"),
        (pid(8), "family_own_side[1].full_name"),
        (pid(8), "family_spouse_side[0].full_name"),
    ]


# --- SACH-007, SACH-008 --------------------------------------------------------------------------


def test_sach_007_legacy_scheme_after_the_reform() -> None:
    records = [
        person(1, residence_unit_scheme="legacy", hometown_unit_scheme="2025"),
        person(2, birth_place_unit_scheme="legacy", hometown_unit_scheme="legacy"),
        person(3, residence_unit_scheme="2025"),
    ]
    assert run("SACH-007", records) == [
        (pid(1), "residence_unit_scheme", "legacy", None, None),
        (pid(2), "birth_place_unit_scheme", "legacy", None, None),
        (pid(2), "hometown_unit_scheme", "legacy", None, None),
    ]
    # effective_from = 2025-07-01: the day before, legacy units were current.
    assert run("SACH-007", records, as_of=dt.date(2025, 6, 30)) == []
    assert len(run("SACH-007", records, as_of=dt.date(2025, 7, 1))) == 3
    later = {"SACH-007.effective_from": "2027-01-01"}
    assert run("SACH-007", records, params=later) == []


def test_sach_008_codes_of_the_wrong_scheme() -> None:
    wards_2025, wards_legacy = catalog_units.wards_2025(), catalog_units.wards_legacy()
    # 00001 Phường Phúc Xá (Ba Đình) was merged away: the code is legacy only.
    assert "00001" in wards_legacy and "00001" not in wards_2025
    # 00004 is Phường Trúc Bạch (legacy) and Phường Ba Đình (2025): reused, valid in both.
    assert "00004" in wards_legacy and "00004" in wards_2025
    assert "99999" not in wards_legacy and "99999" not in wards_2025
    records = [
        person(1, residence_ward_code="00001", residence_unit_scheme="2025"),
        person(2, residence_ward_code="00004", residence_unit_scheme="2025"),
        person(3, hometown_ward_code="99999", hometown_unit_scheme="legacy"),
        person(4, hometown_ward_code="00001", hometown_unit_scheme="legacy"),
        # province 30 Hải Dương exists only in the legacy list; 31 Hải Phòng in both
        person(5, birth_place_province_code="30", birth_place_unit_scheme="2025"),
        person(6, birth_place_province_code="31", birth_place_unit_scheme="2025"),
        person(7, residence_province_code="99", residence_unit_scheme="legacy"),
        person(8, residence_ward_code="00001"),  # no scheme: DUNG-030's
    ]
    assert run("SACH-008", records) == [
        (pid(1), "residence_ward_code", "00001", None, None),
        (pid(3), "hometown_ward_code", "99999", None, None),
        (pid(5), "birth_place_province_code", "30", None, None),
        (pid(7), "residence_province_code", "99", None, None),
    ]


# --- SACH-009, SACH-010, SACH-011 ----------------------------------------------------------------


def test_sach_009_identity_differs_from_the_registry() -> None:
    view = registry(
        [
            {"personal_id": pid(1), "birth_name": "NGUYỄN VĂN AN", "date_of_birth": "1985-03-02",
             "sex": "M"},
            {"personal_id": pid(2), "birth_name": "TRẦN THỊ BÌNH", "date_of_birth": "1985-05-20",
             "sex": "F"},
            {"personal_id": pid(3), "birth_name": "LÊ VĂN CƯỜNG", "date_of_birth": "1985-12-28",
             "sex": "M"},
        ]
    )  # fmt: skip
    records = [
        person(1, birth_name="NGUYỄN VĂN ANH", date_of_birth="1985-03-03", sex="M"),
        # case, spaces and NFD only: the same name; sex differs
        person(2, birth_name=unicodedata.normalize("NFD", "Trần  thị Bình "), sex="M",
               date_of_birth="1985-05-20"),
        # a month against a day of that month: equal at the coarser precision
        person(3, personal_id="001-085-000003", birth_name="LÊ VĂN CƯỜNG", date_of_birth="1985-12"),
    ]  # fmt: skip
    assert run("SACH-009", records, registry_view=view) == [
        (pid(1), "birth_name", "NGUYỄN VĂN ANH", "NGUYỄN VĂN AN", None),
        (pid(1), "date_of_birth", "1985-03-03", "1985-03-02", None),
        (pid(2), "sex", "M", "F", None),
    ]


def test_sach_009_not_evaluated_without_a_registry_view() -> None:
    records = frame([person(1, birth_name="A B")])
    ctx = Context(frame=records, as_of=AS_OF, profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={META, DATASET}, only={"SACH-009", "SACH-010", "SACH-011"})
    assert result.findings.height == 0
    assert sorted(n.rule_id for n in result.not_evaluated) == ["SACH-009", "SACH-010", "SACH-011"]


def test_sach_010_other_registry_fields() -> None:
    view = registry(
        [
            {"personal_id": pid(1), "ethnicity_code": "01", "religion_code": "00",
             "id_issue_date": "2021-04-10", "residence_address_line": "Số 5 ngõ 12",
             "legacy_id_no": "123456789"},
            {"personal_id": pid(2), "ethnicity_code": "01", "religion_code": None,
             "residence_address_line": "SỐ 5  NGÕ 12"},
        ]
    )  # fmt: skip
    records = [
        person(1, ethnicity_code="02", religion_code="00", id_issue_date="2021-04",
               residence_address_line="số 5 ngõ 12", legacy_id_no="123 456 789"),
        person(2, ethnicity_code="01", religion_code="01", residence_address_line="Số 6 ngõ 12"),
    ]  # fmt: skip
    assert run("SACH-010", records, registry_view=view) == [
        (pid(1), "ethnicity_code", "02", "01", None),
        (pid(2), "residence_address_line", "Số 6 ngõ 12", "SỐ 5  NGÕ 12", None),
    ]


def test_sach_010_addresses_compare_after_scheme_conversion() -> None:
    # Legacy 10510 Phường Bình Hàn (TP Hải Dương, province 30) is now part of 10507 Phường
    # Thành Đông, Thành phố Hải Phòng (31); 00007 Phường Cống Vị (Ba Đình) was split between
    # 00008 Phường Ngọc Hà and 00025 Phường Giảng Võ.
    assert catalog_units.wards_legacy()["10510"].name == "Phường Bình Hàn"
    assert catalog_units.wards_2025()["10507"].name == "Phường Thành Đông"
    assert catalog_units.wards_2025()["00025"].name == "Phường Giảng Võ"
    legacy_binh_han = {
        "hometown_ward_code": "10510",
        "hometown_province_code": "30",
        "hometown_unit_scheme": "legacy",
    }
    view = registry(
        [
            {"personal_id": pid(1), "hometown_ward_code": "10507", "hometown_province_code": "31",
             "hometown_unit_scheme": "2025"},
            {"personal_id": pid(2), "hometown_ward_code": "00025", "hometown_province_code": "01",
             "hometown_unit_scheme": "2025"},
            {"personal_id": pid(3), "hometown_ward_code": "00097", "hometown_province_code": "01",
             "hometown_unit_scheme": "2025"},
            {"personal_id": pid(4), "residence_ward_code": "10507", "residence_province_code": "31",
             "residence_unit_scheme": "2025"},
        ]
    )  # fmt: skip
    records = [
        person(1, **legacy_binh_han),  # the same place in the old units
        person(2, hometown_ward_code="00007", hometown_province_code="01",
               hometown_unit_scheme="legacy"),  # a split commune: one of its successors
        person(3, **legacy_binh_han),  # another place
        person(4, residence_ward_code="10507", residence_province_code="33",
               residence_unit_scheme="2025"),  # same scheme: compared as codes
    ]  # fmt: skip
    assert run("SACH-010", records, registry_view=view) == [
        (pid(3), "hometown_province_code", "30", "01", None),
        (pid(3), "hometown_ward_code", "10510", "00097", None),
        (pid(4), "residence_province_code", "33", "31", None),
    ]


def test_sach_011_personal_id_unknown_to_the_registry() -> None:
    view = registry([{"personal_id": pid(1)}, {"personal_id": pid(2)}])
    records = [
        person(1),
        person(2, personal_id="001.085.000.002"),  # separators: found
        person(3),
    ]
    assert run("SACH-011", records, registry_view=view) == [
        (pid(3), "personal_id", pid(3), None, None)
    ]


# --- SACH-012 ------------------------------------------------------------------------------------


def test_sach_012_values_that_need_normalisation() -> None:
    records = [
        person(1, phone="+84912345678", social_insurance_no="01 2345 6789"),
        person(2, phone="0912345678", social_insurance_no="0123456789", sex="M"),
        person(3, main_assigned_duty="Tổng hợp ", occupation_before_recruitment=""),
        person(4, sex="m", ethnicity_code="99"),  # lower-case code; an unknown code is not
        person(5, language_training=[{"from": "2010-01", "language_code": "EN"},
                                     {"from": "2012-01", "language_code": "fr"}]),
        person(6, managing_agency_code="000.00.00.h41", hometown_unit_scheme="legacy"),
        person(7, planned_position_codes=["GIAM_DOC_SO", "pho_giam_doc_so"]),
        person(8, family_own_side=[{"relationship_code": "con", "full_name": "Lê Na"}]),
        person(9, personal_id="001 085 000 09"),
    ]  # fmt: skip
    assert fields(run("SACH-012", records)) == [
        (pid(1), "phone"),
        (pid(1), "social_insurance_no"),
        (pid(3), "main_assigned_duty"),
        (pid(3), "occupation_before_recruitment"),
        (pid(4), "sex"),
        (pid(5), "language_training[0].language_code"),  # the list's code is "en"
        (pid(6), "managing_agency_code"),
        (pid(7), "planned_position_codes[1]"),
        (pid(8), "family_own_side[0].relationship_code"),
        (pid(9), "personal_id"),
    ]


# --- SACH-013 ------------------------------------------------------------------------------------


def test_sach_013_later_copies_of_a_row() -> None:
    rating = {"year": 2023, "professional_rating_code": "HTTNV"}
    records = [
        person(1, rewards_and_ratings=[rating, {"year": 2024, "professional_rating_code": "HTTNV"},
                                       dict(rating), dict(rating)]),
        person(2, family_own_side=[
            {"relationship_code": "CON", "full_name": "Lê Văn Nam", "birth_year": 2010},
            {"relationship_code": "CON", "full_name": "LÊ  VĂN NAM ", "birth_year": 2010},
            {"relationship_code": "CON", "full_name": "Lê Văn Bắc", "birth_year": 2010},
        ]),
        person(3, work_history=[{"from": "2010-01", "to": "2012-12", "unit": "Sở Nội vụ"},
                                {"from": "2010-01", "to": "2012-12", "unit": "Sở Tư pháp"}]),
    ]  # fmt: skip
    found = run("SACH-013", records)
    assert fields(found) == [
        (pid(1), "rewards_and_ratings[2]"),
        (pid(1), "rewards_and_ratings[3]"),
        (pid(2), "family_own_side[1]"),
    ]
    assert found[0][2]["year"] == 2023
    assert found[2][2]["full_name"] == "LÊ  VĂN NAM "  # the row as stored
    # Not applicable in the core profile (profiles p109, tt06, nd27).
    assert run("SACH-013", records, profile="core") == []


# --- shared machinery ----------------------------------------------------------------------------


def test_pid_keys_agree_with_the_regex_form() -> None:
    values = ["001085000001", "001 085 000001", "+12345678901", "-12345678901", "00108500000",
              "(001)085.000-01", "   ", "", None, "０01085000001"]  # fmt: skip
    series = pl.Series("p", values, dtype=pl.String)
    fast = sach._pid_keys(series).to_list()
    slow = pl.select(sach._pid_key(pl.lit(series))).to_series().to_list()
    assert fast == slow
    assert fast[:2] == ["001085000001", "001085000001"]
    assert series.to_list() == values  # the input is left as it was


def test_shared_text_scan_follows_the_frame() -> None:
    one = frame([person(1, main_assigned_duty="Qu¶n lý")])
    two = frame([person(1, main_assigned_duty="Quản lý")])
    assert fields(run("SACH-003", one)) == [(pid(1), "main_assigned_duty")]
    assert run("SACH-003", two) == []
    assert fields(run("SACH-003", one)) == [(pid(1), "main_assigned_duty")]
    # agency_assessment is a tt06/nd27 leaf: the same frame, another profile.
    three = frame([person(1, agency_assessment="Hoµn thµnh tèt")])
    assert run("SACH-003", three, profile="p109") == []
    assert fields(run("SACH-003", three, profile="nd27")) == [(pid(1), "agency_assessment")]


# --- against the generator's labels --------------------------------------------------------------


def _registry_of(g: evaluate.Generated) -> pl.DataFrame:
    return registry(g.registry)


@pytest.fixture(scope="module")
def generated() -> evaluate.Generated:
    """1,500 generated people, 10 % with a defect."""
    return evaluate.generated(1500, seed=3, defect_rate=0.1)


@pytest.mark.parametrize("profile", ["nd27", "tt06"])
def test_generated_labels_precision_and_recall(generated: evaluate.Generated, profile: str) -> None:
    g = generated
    ctx = Context(
        frame=g.frame,
        as_of=g.as_of,
        profile=profile,
        catalog=get_catalog(),
        registry=_registry_of(g),
    )
    result = engine.check(ctx, inputs=ALL_INPUTS, only=SACH_RULES)
    cmp = evaluate.compare(result.findings, g.frame, g.labels, rules=result.rules_run)
    labelled = {lab["rule_id"] for lab in g.labels if lab["rule_id"] in SACH_RULES}
    assert len(labelled) >= 10
    for rule_id in sorted(labelled):
        counts = cmp.by_rule[rule_id]
        assert counts.tp > 0, rule_id
        assert counts.precision >= 0.98, (rule_id, cmp.false_positives[rule_id][:5])
        assert counts.recall >= 0.98, (rule_id, cmp.false_negatives[rule_id][:5])
    unlabelled = set(cmp.by_rule) - labelled
    assert unlabelled == set(), {r: cmp.false_positives[r][:5] for r in unlabelled}


def test_clean_generated_data_gives_no_findings() -> None:
    g = evaluate.generated(600, seed=5, defect_rate=0.0)
    ctx = Context(
        frame=g.frame,
        as_of=g.as_of,
        profile="nd27",
        catalog=get_catalog(),
        registry=_registry_of(g),
    )
    result = engine.check(ctx, inputs=ALL_INPUTS, only=SACH_RULES)
    assert sorted(result.rules_run) == sorted(SACH_RULES)
    assert result.findings.height == 0, result.findings.head(5)
