"""Đúng rules DUNG-001 … DUNG-015 (quality-rules.md §5, §6, §8) on hand-made records.

Each rule runs through ``engine.check``, so the engine's profile gating applies too. The
expected findings are written by hand from the spec, the catalogue and the code lists (the
administrative-unit codes come from the library's data, not from the rules). The last tests
compare the rules with the generator's labels.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest

from hoso.catalog.loader import get_catalog
from hoso.quality import engine, evaluate
from hoso.quality.rules import Context, implementations
from hoso.quality.rules_dung import normalise_contact
from hoso.quality.snapshot import frame_from_documents

AS_OF = dt.date(2026, 11, 23)
MINE = [f"DUNG-{n:03d}" for n in range(1, 16)]
Found = dict[str, tuple[Any, Any]]
"""field -> (value, expected), JSON-decoded."""

PID = "001085012345"
"""Hà Nội (prefix 001), a man born in the 1900s (digit 0), in 1985 (digits 85)."""
BASE: dict[str, Any] = {
    "personal_id": PID,
    "record_id": PID,
    "date_of_birth": "1985-03-10",
    "sex": "M",
}
SHA = "ab" * 32

# From the library's data (vietnamadminunits): 00001 Phường Phúc Xá existed only before
# 1/7/2025; 00004 Phường Ba Đình is a 2025 ward; 001 Quận Ba Đình a legacy district.
LEGACY_ONLY_WARD = "00001"
WARD_2025 = "00004"
LEGACY_DISTRICT = "001"


def _decode(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def run(
    rule_id: str,
    records: Sequence[Mapping[str, Any]],
    *,
    profile: str = "nd27",
    as_of: dt.date = AS_OF,
) -> list[Found]:
    """Findings of one rule per record (in record order)."""
    docs = [({"_id": i + 1, "_personal_id": f"{i + 1:012d}"}, r) for i, r in enumerate(records)]
    ctx = Context(
        frame=frame_from_documents(docs), as_of=as_of, profile=profile, catalog=get_catalog()
    )
    result = engine.check(ctx, inputs={"meta"}, only={rule_id})
    out: list[Found] = [{} for _ in records]
    for row in result.findings.iter_rows(named=True):
        assert row["rule_id"] == rule_id
        out[row["_id"] - 1][row["field"]] = (_decode(row["value"]), _decode(row["expected"]))
    return out


def one(rule_id: str, extra: Mapping[str, Any], **kw: Any) -> Found:
    """Findings of one rule on ``BASE`` updated with ``extra``."""
    return run(rule_id, [{**BASE, **extra}], **kw)[0]


def fields(rule_id: str, extras: Sequence[Mapping[str, Any]], **kw: Any) -> list[set[str]]:
    """The finding fields of one rule on ``BASE`` updated with each of ``extras``."""
    return [set(f) for f in run(rule_id, [{**BASE, **e} for e in extras], **kw)]


def test_registration_and_as_of_dependence() -> None:
    impls = implementations()
    assert {r: impls[r].time_dependent for r in MINE} == {
        "DUNG-001": False,
        "DUNG-002": False,
        "DUNG-003": False,
        "DUNG-004": False,
        "DUNG-005": True,
        "DUNG-006": False,
        "DUNG-007": False,
        "DUNG-008": False,
        "DUNG-009": True,
        "DUNG-010": True,
        "DUNG-011": False,
        "DUNG-012": True,
        "DUNG-013": False,
        "DUNG-014": False,
        "DUNG-015": False,
    }
    assert "province_legacy" in impls["DUNG-004"].codelists


def test_a_clean_record_gives_no_finding() -> None:
    record = {
        **BASE,
        "id_issue_date": "2021-06-01",
        "first_recruitment_date": "2008-09-01",
        "current_agency_join_date": "2010-01-15",
        "rank_appointment_date": "2009-09-01",
        "salary_effective_date": "2023-09-01",
        "ethnicity_code": "01",
        "phone": "0912345678",
        "height_cm": 170,
        "salary_coefficient": "4.40",
        "photo": {"media_type": "image/jpeg", "sha256": SHA, "uri": "photos/a.jpg"},
        "residence_unit_scheme": "2025",
        "residence_ward_code": WARD_2025,
        "residence_province_code": "01",
        "work_history": [{"from": "2008-09", "to": "2010-01", "unit": "Sở Nội vụ"}],
        "rewards_and_ratings": [{"year": 2024, "professional_rating_code": "HTTNV"}],
    }
    for rule_id in MINE:
        assert run(rule_id, [record]) == [{}], rule_id


# --- identifiers ------------------------------------------------------------------------------


def test_dung_001_twelve_ascii_digits() -> None:
    got = fields(
        "DUNG-001",
        [
            {},
            {"record_id": "00108501234"},
            {"record_id": "0010850123456"},
            {"record_id": "00108501234X"},
            {"record_id": "００１０８５０１２３４５"},
            {"record_id": " "},
        ],
    )
    assert got == [set(), {"record_id"}, {"record_id"}, {"record_id"}, {"record_id"}, set()]
    assert one("DUNG-001", {"record_id": "12345"}) == {"record_id": ("12345", None)}


def test_dung_002_century_and_sex_digit() -> None:
    got = fields(
        "DUNG-002",
        [
            {},  # 0: man, 1900s
            {"sex": "F"},  # 0 for a woman
            {"sex": "F", "personal_id": "001185012345"},  # 1: woman, 1900s
            {"date_of_birth": "2001-01-01", "personal_id": "001001012345"},  # 0 for 2001
            {"date_of_birth": "2001-01-01", "personal_id": "001201012345"},  # 2: man, 2000s
            {"date_of_birth": "2001-01-01", "personal_id": "001301012345", "sex": "F"},
            {"date_of_birth": "1985", "personal_id": "001085012345"},  # year precision is enough
            {"sex": None, "personal_id": "001185012345"},  # no sex: century only
            {"sex": None, "personal_id": "001285012345"},  # wrong century
            {"date_of_birth": "1899-12-31", "personal_id": "001099012345"},  # no valid digit
            {"personal_id": "00108501234"},  # malformed: DUNG-001's
            {"date_of_birth": None},
        ],
    )
    pid = {"personal_id"}
    assert got == [
        set(), pid, set(), pid, set(), set(), set(), set(), pid, pid, set(), set()
    ]  # fmt: skip
    assert one("DUNG-002", {"sex": "F"}) == {"personal_id": (PID, None)}


def test_dung_003_year_digits() -> None:
    got = fields(
        "DUNG-003",
        [
            {},
            {"date_of_birth": "1986-03-10"},
            {"date_of_birth": "1986-05"},
            {"date_of_birth": "2005-01-02", "personal_id": "001205012345"},
            {"date_of_birth": "1985"},
            {"date_of_birth": None},
        ],
    )
    assert got == [set(), {"personal_id"}, {"personal_id"}, set(), set(), set()]


def test_dung_004_legacy_province_prefix() -> None:
    # province_legacy.csv: 001 Hà Nội, 002 Hà Giang, 004 Cao Bằng, 096 Cà Mau; no 003, 099.
    got = fields(
        "DUNG-004",
        [
            {},
            {"personal_id": "002085012345"},
            {"personal_id": "096085012345"},
            {"personal_id": "003085012345"},
            {"personal_id": "099085012345"},
            {"personal_id": "100085012345"},
        ],
    )
    pid = {"personal_id"}
    assert got == [set(), set(), set(), pid, pid, pid]


def test_dung_005_record_id_equals_personal_id_from_effective_date() -> None:
    other = {"record_id": "001085099999"}
    assert one("DUNG-005", other) == {"record_id": ("001085099999", PID)}
    assert one("DUNG-005", other, as_of=dt.date(2026, 7, 1)) == {"record_id": ("001085099999", PID)}
    assert one("DUNG-005", other, as_of=dt.date(2026, 6, 30)) == {}
    assert one("DUNG-005", {}) == {}
    assert one("DUNG-005", {"record_id": None}) == {}
    assert one("DUNG-005", other, profile="core") == {}  # not applicable in core


# --- formats ----------------------------------------------------------------------------------


def test_dung_006_dates_months_years() -> None:
    got = run(
        "DUNG-006",
        [
            {**BASE, "id_issue_date": "2021"},
            {**BASE, "id_issue_date": "2021-05"},
            {**BASE, "id_issue_date": "2023-02-30"},
            {**BASE, "id_issue_date": "2024-02-29"},
            {**BASE, "id_issue_date": "2023-2-3"},
            {**BASE, "work_history": [{"from": "2001-12"}, {"from": "2001"}, {"from": "2001-13"}]},
            {**BASE, "rewards_and_ratings": [{"year": 2020}, {"year": 85}]},
            {**BASE, "family_own_side": [{"relationship_code": "CHA", "birth_year": 19550}]},
        ],
    )
    assert got == [
        {"id_issue_date": ("2021", None)},
        {"id_issue_date": ("2021-05", None)},
        {"id_issue_date": ("2023-02-30", None)},
        {},
        {"id_issue_date": ("2023-2-3", None)},
        {"work_history[1].from": ("2001", None), "work_history[2].from": ("2001-13", None)},
        {"rewards_and_ratings[1].year": (85, None)},
        {"family_own_side[0].birth_year": (19550, None)},
    ]


def test_dung_007_length_in_characters_not_bytes() -> None:
    got = fields(
        "DUNG-007",
        [
            {"birth_name": "A" * 100},
            {"birth_name": "A" * 101},
            {"birth_name": "Ệ" * 100},  # 300 bytes, 100 characters
            {"birth_name": "Ệ" * 101},
            {"family_own_side": [{"full_name": "B"}, {"full_name": "Ễ" * 101}]},
            {"family_own_side": [{"full_name": "Ễ" * 100}]},
            {"main_assigned_duty": "x" * 2001},  # text with max_length 2000
            {"arrest_history": "x" * 4000},  # text, default 4000
        ],
    )
    assert got == [
        set(),
        {"birth_name"},
        set(),
        {"birth_name"},
        {"family_own_side[1].full_name"},
        set(),
        {"main_assigned_duty"},
        set(),
    ]


def test_dung_007_ranges_scales_patterns_images() -> None:
    got = fields(
        "DUNG-007",
        [
            {"height_cm": 230},
            {"height_cm": 231},
            {"height_cm": 1700},
            {"weight_kg": 24},
            {"salary_coefficient": "4.4"},
            {"salary_coefficient": "10.00"},
            {"salary_coefficient": "10.01"},
            {"salary_history": [{"salary_coefficient": "2.34"}, {"salary_coefficient": "2.340"}]},
            {"language_training": [{"score": "7.5"}, {"score": "990.00"}]},
            {"managing_agency_code": "000.00.00.H41"},
            {"managing_agency_code": "000.00.00.h41"},
            {"legacy_id_no": "123456789"},
            {"legacy_id_no": "12345678"},
            {"photo": {"media_type": "image/png", "sha256": SHA, "uri": "p/a.png"}},
            {"photo": {"media_type": "image/gif", "sha256": SHA, "uri": "p/a.gif"}},
            {"photo": {"media_type": "image/png", "sha256": "abc", "uri": "p/a.png"}},
            {"photo": {"media_type": "image/png", "sha256": SHA}},
            {"photo": f'{{"uri": "p/a.png", "sha256": "{SHA}", "media_type": "image/png"}}'},
        ],
    )
    assert got == [
        set(),
        {"height_cm"},
        {"height_cm"},
        {"weight_kg"},
        {"salary_coefficient"},
        set(),
        {"salary_coefficient"},
        {"salary_history[1].salary_coefficient"},
        {"language_training[0].score"},
        set(),
        {"managing_agency_code"},
        set(),
        {"legacy_id_no"},
        set(),
        {"photo"},
        {"photo"},
        {"photo"},
        set(),  # not the importer's spelling, but a valid object
    ]


def test_dung_008_after_normalisation() -> None:
    got = fields(
        "DUNG-008",
        [
            {"phone": "0912345678"},
            {"phone": "091234567"},
            {"phone": "+84912345678"},  # SACH-012's, not DUNG-008's
            {"phone": "0912 345 678"},
            {"social_insurance_no": "0123456789"},
            {"social_insurance_no": "012345678"},
            {"social_insurance_no": "01 2345 6789"},
            {"health_insurance_no": "HC4010123456789"},
            {"health_insurance_no": "hc4010123456789"},
            {"health_insurance_no": "HC401012345"},
            {"health_insurance_no": "HC6010123456789"},
        ],
    )
    assert got == [
        set(),
        {"phone"},
        set(),
        set(),
        set(),
        {"social_insurance_no"},
        set(),
        set(),
        set(),
        {"health_insurance_no"},
        {"health_insurance_no"},
    ]
    assert one("DUNG-008", {"phone": "091234567"}, profile="core") == {}


def test_normalise_contact() -> None:
    assert normalise_contact("+84 912-345.678", phone=True) == "0912345678"
    assert normalise_contact("0084912345678", phone=True) == "0912345678"
    assert normalise_contact("84912345678", phone=True) == "84912345678"
    assert normalise_contact("hc4 01 0123456789", phone=False) == "HC4010123456789"


# --- codes ------------------------------------------------------------------------------------


def test_dung_009_closed_lists_and_current_validity() -> None:
    got = fields(
        "DUNG-009",
        [
            {"ethnicity_code": "01"},
            {"ethnicity_code": "99"},
            {"sex": "X"},
            {"employee_type_code": "CC"},
            {"employee_type_code": "XA"},  # expired 2025-06-30
            {"health_status_code": "LOAI_VI"},  # open list: DUNG-010's
            {"state_honorary_title_codes": ["ANH_HUNG_LAO_DONG", "ANH_HUNG_XXX"]},
        ],
    )
    assert got == [
        set(),
        {"ethnicity_code"},
        {"sex"},
        set(),
        {"employee_type_code"},
        set(),
        {"state_honorary_title_codes[1]"},
    ]
    xa = {"employee_type_code": "XA"}
    assert one("DUNG-009", xa, as_of=dt.date(2025, 6, 30)) == {}
    assert one("DUNG-009", xa, as_of=dt.date(2025, 7, 1)) == {"employee_type_code": ("XA", None)}
    # career_level is valid from 2026-07-01 (NĐ 232/2026).
    assert one("DUNG-009", {"career_level": "3"}, as_of=dt.date(2026, 7, 1)) == {}
    assert one("DUNG-009", {"career_level": "3"}, as_of=dt.date(2026, 6, 30)) == {
        "career_level": ("3", None)
    }


def test_dung_009_row_reference_date_at_the_coarser_precision() -> None:
    # HTNV_HAN_CHE (the pre-2020 rating) is valid up to 2019-12-31.
    rows = [
        {"year": 2019, "professional_rating_code": "HTNV_HAN_CHE"},
        {"year": 2020, "professional_rating_code": "HTNV_HAN_CHE"},
        {"year": 2020, "professional_rating_code": "HTTNV"},
        {"year": 2021, "professional_rating_code": "HTT"},
        {"professional_rating_code": "HTNV_HAN_CHE"},  # no date: membership only
    ]
    assert one("DUNG-009", {"rewards_and_ratings": rows}) == {
        "rewards_and_ratings[1].professional_rating_code": ("HTNV_HAN_CHE", None),
        "rewards_and_ratings[3].professional_rating_code": ("HTT", None),
    }
    # A row's code is judged on the row's date, never on the as-of date.
    assert one("DUNG-009", {"rewards_and_ratings": rows[:1]}, as_of=dt.date(2030, 1, 1)) == {}


def test_dung_009_administrative_units_in_the_declared_scheme() -> None:
    got = fields(
        "DUNG-009",
        [
            {"residence_unit_scheme": "2025", "residence_ward_code": WARD_2025},
            {"residence_unit_scheme": "2025", "residence_ward_code": LEGACY_ONLY_WARD},
            {"residence_unit_scheme": "legacy", "residence_ward_code": LEGACY_ONLY_WARD},
            {"residence_unit_scheme": "legacy", "residence_province_code": "27"},
            {"residence_unit_scheme": "2025", "residence_province_code": "27"},
            {"residence_ward_code": LEGACY_ONLY_WARD},  # no scheme: the default (2025) list
            {"residence_unit_scheme": "2030", "residence_ward_code": "99999"},
            {"hometown_unit_scheme": "legacy", "hometown_district_legacy_code": LEGACY_DISTRICT},
            {"hometown_unit_scheme": "legacy", "hometown_district_legacy_code": "999"},
        ],
    )
    assert got == [
        set(),
        {"residence_ward_code"},
        set(),
        set(),
        {"residence_province_code"},  # 27 Bắc Ninh (legacy) is not a 2025 province code
        {"residence_ward_code"},
        {"residence_unit_scheme"},
        set(),
        {"hometown_district_legacy_code"},
    ]
    # Scheme fields are not checked for validity dates (legacy ended 2025-06-30).
    assert one("DUNG-009", {"hometown_unit_scheme": "legacy"}) == {}


def test_dung_010_open_lists() -> None:
    got = fields(
        "DUNG-010",
        [
            {"health_status_code": "LOAI_I"},
            {"health_status_code": "LOAI_VI"},
            {"ethnicity_code": "99"},  # closed list: DUNG-009's
            {"professional_training": [{"training_mode_code": "CHINH_QUY"}]},
            {"professional_training": [{"from": "2005-09"}, {"training_mode_code": "TRUC_TUYEN"}]},
            {"rewards_and_ratings": [{"year": 2020, "reward_form_codes": ["GIAY_KHEN", "X"]}]},
            {"concurrent_position_codes": ["XYZ"]},
            {"managing_agency_code": "999.99.99.Z99"},  # external list: not held here
            {"current_position_code": "TRUONG_PHONG_HUYEN"},  # district posts ended 2025-06-30
        ],
    )
    assert got == [
        set(),
        {"health_status_code"},
        set(),
        set(),
        {"professional_training[1].training_mode_code"},
        {"rewards_and_ratings[0].reward_form_codes[1]"},
        {"concurrent_position_codes[0]"},
        set(),
        {"current_position_code"},
    ]


def test_dung_010_validity_on_the_row_date_to_else_from() -> None:
    # NN_B (the former certificate B) is valid up to 2020-01-14; B1 from 2014-03-16.
    rows = [
        {"from": "2014-09", "to": "2015-06", "certificate_code": "NN_B"},
        {"from": "2019-09", "to": "2020-02", "certificate_code": "NN_B"},
        {"from": "2019-09", "to": "2020-01", "certificate_code": "NN_B"},
        {"from": "2021-01", "certificate_code": "NN_B"},
        {"from": "2013-01", "to": "2014-03", "certificate_code": "B1"},
        {"from": "2013-01", "to": "2014-02", "certificate_code": "B1"},
    ]
    assert one("DUNG-010", {"language_training": rows}) == {
        "language_training[1].certificate_code": ("NN_B", None),
        "language_training[3].certificate_code": ("NN_B", None),
        "language_training[5].certificate_code": ("B1", None),
    }


# --- dates in order -----------------------------------------------------------------------------


def test_dung_011_nothing_before_birth() -> None:
    got = run(
        "DUNG-011",
        [
            {**BASE, "first_sociopolitical_org_join_date": "1984-12-31"},
            {**BASE, "first_sociopolitical_org_join_date": "1985-03-10"},
            {**BASE, "first_sociopolitical_org_join_date": "1985-03"},
            {**BASE, "first_sociopolitical_org_join_date": "1985-02"},
            {**BASE, "date_of_birth": "1985", "id_issue_date": "1985-01-01"},
            {**BASE, "work_history": [{"from": "2005-01"}, {"from": "1984-12"}]},
            {**BASE, "rewards_and_ratings": [{"year": 1985}, {"year": 1984}]},
            {**BASE, "family_own_side": [{"relationship_code": "CHA", "birth_year": 1950}]},
            {**BASE, "date_of_birth": None, "id_issue_date": "1900-01-01"},
        ],
    )
    assert got == [
        {"first_sociopolitical_org_join_date": ("1984-12-31", None)},
        {},
        {},
        {"first_sociopolitical_org_join_date": ("1985-02", None)},
        {},
        {"work_history[1].from": ("1984-12", None)},
        {"rewards_and_ratings[1].year": (1984, None)},
        {},  # a parent's birth year is not the person's date (DUNG-028 checks it)
        {},
    ]


def test_dung_012_nothing_after_the_as_of_date() -> None:
    got = run(
        "DUNG-012",
        [
            {**BASE, "declarant_confirmation_date": "2026-11-23"},
            {**BASE, "declarant_confirmation_date": "2026-11-24"},
            {**BASE, "declarant_confirmation_date": "2026"},
            {**BASE, "declarant_confirmation_date": "2026-12"},
            {**BASE, "work_history": [{"from": "2020-01", "to": "2026-11"}]},
            {**BASE, "work_history": [{"from": "2020-01", "to": "2026-12"}]},
            {**BASE, "family_own_side": [{"relationship_code": "CON", "birth_year": 2027}]},
            {**BASE, "rewards_and_ratings": [{"year": 2026}]},
        ],
    )
    assert got == [
        {},
        {"declarant_confirmation_date": ("2026-11-24", None)},
        {},
        {"declarant_confirmation_date": ("2026-12", None)},
        {},
        {"work_history[0].to": ("2026-12", None)},
        {"family_own_side[0].birth_year": (2027, None)},
        {},
    ]
    late = {"declarant_confirmation_date": "2026-11-24"}
    assert one("DUNG-012", late, as_of=dt.date(2026, 11, 24)) == {}


def test_dung_013_from_on_or_before_to() -> None:
    rows = [
        {"from": "2010-05", "to": "2009-03"},
        {"from": "2010-05", "to": "2010-05"},
        {"from": "2010-05", "to": "2010"},
        {"from": "2010", "to": "2009-12"},
        {"from": "2010-05"},
    ]
    assert one("DUNG-013", {"salary_history": rows}) == {
        "salary_history[0].to": ("2009-03", None),
        "salary_history[3].to": ("2009-12", None),
    }
    assert one("DUNG-013", {"salary_history": rows}, profile="core") == {}


def test_dung_014_ordered_pairs_name_the_later_field() -> None:
    got = run(
        "DUNG-014",
        [
            {**BASE, "enlistment_date": "2005-03-01", "discharge_date": "2004-03-01"},
            {**BASE, "enlistment_date": "2005-03-01", "discharge_date": "2005-03-01"},
            {**BASE, "party_admission_date": "2010-05-20", "party_official_date": "2010-05"},
            {**BASE, "party_admission_date": "2010-05-20", "party_official_date": "2010-04"},
            {
                **BASE,
                "position_appointment_date": "2020-01-01",
                "position_reappointment_date": "2018-01-01",
            },
            {**BASE, "discharge_date": "2004-03-01"},
        ],
    )
    assert got == [
        {"discharge_date": ("2004-03-01", None)},
        {},
        {},
        {"party_official_date": ("2010-04", None)},
        {"position_reappointment_date": ("2018-01-01", None)},
        {},
    ]


def test_dung_015_usual_order() -> None:
    got = fields(
        "DUNG-015",
        [
            {"first_recruitment_date": "2008-09-01", "current_agency_join_date": "2008-03-01"},
            {"first_recruitment_date": "2008-09-01", "rank_appointment_date": "2008-08-31"},
            {"rank_appointment_date": "2010-01-01", "salary_effective_date": "2009-12-31"},
            {"rank_appointment_date": "2010-01-01", "salary_effective_date": "2010-01"},
            {"first_recruitment_date": "2008-09-01", "current_agency_join_date": "2008-09-01"},
        ],
    )
    assert got == [
        {"current_agency_join_date"},
        {"rank_appointment_date"},
        {"salary_effective_date"},
        set(),
        set(),
    ]


def test_flat_cells_are_not_reused_for_another_frame() -> None:
    late = {"work_history": [{"from": "2020-01", "to": "2027-01"}]}
    assert one("DUNG-012", late) == {"work_history[0].to": ("2027-01", None)}
    gc.collect()
    assert one("DUNG-012", {"work_history": [{"from": "2020-01", "to": "2021-01"}]}) == {}
    assert one("DUNG-012", late) == {"work_history[0].to": ("2027-01", None)}


# --- against the generator's labels -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> evaluate.Generated:
    return evaluate.generated(1500, seed=3, defect_rate=0.1)


@pytest.mark.parametrize("profile", ["nd27", "p109"])
def test_generated_labels_precision_and_recall(generated: evaluate.Generated, profile: str) -> None:
    catalog = get_catalog()
    ctx = Context(frame=generated.frame, as_of=generated.as_of, profile=profile, catalog=catalog)
    result = engine.check(ctx, inputs={"meta"}, only=set(MINE))
    allowed = engine.profile_paths(catalog, profile)
    labels = [
        lab
        for lab in generated.labels
        if lab["rule_id"] in MINE and re.sub(r"\[\d+\]", "", lab["field"]) in allowed
    ]
    comparison = evaluate.compare(result.findings, generated.frame, labels, rules=result.rules_run)
    labelled = {lab["rule_id"] for lab in labels}
    assert len(labelled) >= 8
    for rule_id, counts in comparison.by_rule.items():
        assert counts.precision >= 0.98, (rule_id, comparison.false_positives[rule_id][:3])
        assert counts.recall >= 0.98, (rule_id, comparison.false_negatives[rule_id][:3])


def test_clean_generated_data_gives_no_finding() -> None:
    clean = evaluate.generated(400, seed=11, defect_rate=0.0)
    ctx = Context(frame=clean.frame, as_of=clean.as_of, profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={"meta"}, only=set(MINE))
    assert result.findings.height == 0, result.findings.head(5)
