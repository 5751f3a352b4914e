"""DUNG-016 … DUNG-030: plausible values and consistent fields (quality-rules.md §5, §8).

Each rule gets small hand-made records that must and must not give findings, with the
boundaries of the spec (whole years, partial dates at the coarser precision, the 0.005
tolerance, effective-from dates). Expected coefficients and groups are the published
values of NĐ 204/2004 (Bảng 2-3) and the code lists, typed here, never read back from the
code under test; communes are taken from the administrative-unit library by province.
A last test scores the rules against the generator's defect labels.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import orjson
import polars as pl
import pytest

from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import get_catalog
from hoso.quality import engine, evaluate
from hoso.quality.rules import Context, after, before, implementations
from hoso.quality.rules_dung_values import PartialDate, earlier, later, on_or_after
from hoso.quality.snapshot import frame_from_documents

AS_OF = dt.date(2026, 11, 23)
MINE = [f"DUNG-0{i}" for i in range(16, 31)]


def check(
    rule_id: str,
    *records: Mapping[str, Any],
    as_of: dt.date = AS_OF,
    profile: str = "nd27",
) -> list[tuple[str, str, Any, Any]]:
    """Run one rule on records ``{"pid": ..., **data}``: (pid, field, value, expected)."""
    docs = []
    for i, rec in enumerate(records):
        data = {k: v for k, v in rec.items() if k != "pid"}
        pid = rec.get("pid", f"0010900{i:05d}")
        docs.append(({"_id": i + 1, "_personal_id": pid}, data))
    frame = frame_from_documents(docs)
    ctx = Context(frame=frame, as_of=as_of, profile=profile, catalog=get_catalog())
    result = engine.check(ctx, inputs={"meta"}, only={rule_id})
    assert result.rules_run == [rule_id]
    pid_of = dict(zip(frame["_id"].to_list(), frame["_personal_id"].to_list(), strict=True))
    out = [
        (
            pid_of[row["_id"]],
            row["field"],
            None if row["value"] is None else orjson.loads(row["value"]),
            None if row["expected"] is None else orjson.loads(row["expected"]),
        )
        for row in result.findings.iter_rows(named=True)
    ]
    return sorted(out)


def fields(rule_id: str, *records: Mapping[str, Any], **kw: Any) -> list[tuple[str, str]]:
    """(pid, field) of the findings."""
    return [(pid, field) for pid, field, _, _ in check(rule_id, *records, **kw)]


# --- partial dates -------------------------------------------------------------------------------


def _random_partial(rng: random.Random) -> str:
    year = rng.choice([1999, 2000, 2001])
    month = rng.choice([1, 2, 6, 12])
    day = rng.choice([1, 15, 28])
    full = f"{year:04d}-{month:02d}-{day:02d}"
    return full[: rng.choice([4, 7, 10])]


def test_integer_comparisons_agree_with_the_engines_text_comparisons() -> None:
    rng = random.Random(7)
    pairs = [(_random_partial(rng), _random_partial(rng)) for _ in range(3000)]
    frame = pl.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    a, b = PartialDate.of(pl.col("a")), PartialDate.of(pl.col("b"))
    got = frame.select(
        lt=earlier(a, b),
        gt=later(a, b),
        ge=on_or_after(a, b),
        ref_lt=before(pl.col("a"), pl.col("b")),
    )
    ref_gt = frame.select(after(pl.col("a"), pl.col("b"))).to_series()
    assert got["lt"].to_list() == got["ref_lt"].to_list()
    assert got["gt"].to_list() == ref_gt.to_list()
    # a >= b for certain: strictly later, or the very same full date
    expected_ge = [
        (x[: min(len(x), len(y))] > y[: min(len(x), len(y))]) or (x == y and len(x) == 10)
        for x, y in pairs
    ]
    assert got["ge"].to_list() == expected_ge


def test_months_are_added_at_the_dates_own_precision() -> None:
    frame = pl.DataFrame({"d": ["2010-11-30", "2010-11", "2010", "2010", "bad", None]})
    shifted = PartialDate.of(pl.col("d"))
    out = frame.select(
        plus=shifted.plus_months(14).number,
        up=shifted.plus_months(14, round_up=True).number,
        years=shifted.plus_years(18).number,
    )
    assert out["plus"].to_list() == [20120130, 201201, 2011, 2011, None, None]
    assert out["up"].to_list() == [20120130, 201201, 2012, 2012, None, None]
    assert out["years"].to_list() == [20281130, 202811, 2028, 2028, None, None]


# --- DUNG-016 … DUNG-018 ---------------------------------------------------------------------------


def _recruited(pid: str, dob: str, recruit: str) -> dict[str, Any]:
    return {"pid": pid, "date_of_birth": dob, "first_recruitment_date": recruit}


def test_dung_016_age_at_recruitment_in_whole_years() -> None:
    found = check(
        "DUNG-016",
        _recruited("young", "2000-05-10", "2018-05-09"),  # one day before the 18th birthday
        _recruited("eighteen", "2000-05-10", "2018-05-10"),
        _recruited("sixty-five", "2000-05-10", "2066-05-09"),  # 65 years and 364 days
        _recruited("sixty-six", "2000-05-10", "2066-05-10"),
        _recruited("leap-young", "2004-02-29", "2022-02-28"),  # birthday on 1 March in 2022
        _recruited("leap-ok", "2004-02-29", "2022-03-01"),
    )
    assert found == [
        ("leap-young", "first_recruitment_date", "2022-02-28", None),
        ("sixty-six", "first_recruitment_date", "2066-05-10", None),
        ("young", "first_recruitment_date", "2018-05-09", None),
    ]


def test_dung_016_partial_dates_compare_at_the_coarser_precision() -> None:
    found = fields(
        "DUNG-016",
        _recruited("year-same", "2000-05-10", "2018"),  # 17 or 18: not reported
        _recruited("year-before", "2000-05-10", "2017"),
        _recruited("month-before", "2000-05-10", "2018-04"),
        _recruited("month-same", "2000-05-10", "2018-05"),
        _recruited("dob-year", "2000", "2018-01-01"),
        _recruited("dob-year-before", "2000", "2017-12-31"),
        _recruited("old-uncertain", "2000-05-10", "2066"),
        _recruited("old-certain", "2000-05-10", "2067"),
        {"pid": "no-dob", "first_recruitment_date": "1990-01-01"},
    )
    assert found == [
        ("dob-year-before", "first_recruitment_date"),
        ("month-before", "first_recruitment_date"),
        ("old-certain", "first_recruitment_date"),
        ("year-before", "first_recruitment_date"),
    ]


def test_dung_017_active_people_younger_than_18_or_older_than_70() -> None:
    found = fields(
        "DUNG-017",
        {"pid": "seventeen", "date_of_birth": "2008-11-24"},  # 18 on the day after as-of
        {"pid": "eighteen", "date_of_birth": "2008-11-23"},
        {"pid": "seventy", "date_of_birth": "1955-11-24"},
        {
            "pid": "seventy-one",
            "date_of_birth": "1955-11-23",
            "employment_status_code": "DANG_CONG_TAC",
        },
        {"pid": "retired", "date_of_birth": "1950-01-01", "employment_status_code": "NGHI_HUU"},
        {"pid": "unknown-status", "date_of_birth": "1950-01-01", "employment_status_code": "XYZ"},
    )
    assert found == [
        ("seventeen", "date_of_birth"),
        ("seventy-one", "date_of_birth"),
        ("unknown-status", "date_of_birth"),
    ]
    assert implementations()["DUNG-017"].time_dependent


def test_dung_017_depends_on_the_as_of_date() -> None:
    record = {"pid": "p", "date_of_birth": "2008-11-24"}
    assert fields("DUNG-017", record, as_of=dt.date(2026, 11, 23)) == [("p", "date_of_birth")]
    assert fields("DUNG-017", record, as_of=dt.date(2026, 11, 24)) == []


def _party(pid: str, admitted: str, official: str | None = None) -> dict[str, Any]:
    out = {"pid": pid, "date_of_birth": "1990-06-15", "party_admission_date": admitted}
    if official is not None:
        out["party_official_date"] = official
    return out


def test_dung_018_admission_age_and_probation_length() -> None:
    found = check(
        "DUNG-018",
        _party("minor", "2008-06-14"),
        _party("adult", "2008-06-15"),
        _party("short", "2010-03-10", "2011-03-09"),
        _party("twelve", "2010-03-10", "2011-03-10"),
        _party("twenty-four", "2010-03-10", "2012-03-10"),
        _party("long", "2010-03-10", "2012-03-11"),
        _party("month-same", "2010-03-10", "2011-03"),
        _party("month-short", "2010-03-10", "2011-02"),
        _party("year-long", "2010", "2013"),
        _party("year-uncertain", "2010", "2012-12"),
    )
    assert found == [
        ("long", "party_official_date", "2012-03-11", None),
        ("minor", "party_admission_date", "2008-06-14", None),
        ("month-short", "party_official_date", "2011-02", None),
        ("short", "party_official_date", "2011-03-09", None),
        ("year-long", "party_official_date", "2013", None),
    ]


# --- DUNG-019 … DUNG-025 -----------------------------------------------------------------------------

# 01.003 Chuyên viên is paid in group A1: 9 steps, 2.34 + 0.33 a step (NĐ 204/2004 Bảng 2).
A1_RANK = "01.003"


def _salary(
    pid: str, step: int, coefficient: str, rank: str = A1_RANK, **more: Any
) -> dict[str, Any]:
    return {
        "pid": pid,
        "rank_code": rank,
        "salary_step": step,
        "salary_coefficient": coefficient,
        **more,
    }


def test_dung_019_step_above_the_groups_last_step() -> None:
    row = {
        "from": "2015-01",
        "to": "2017-12",
        "rank_code": A1_RANK,
        "salary_step": 10,
        "salary_coefficient": "5.31",
    }
    found = check(
        "DUNG-019",
        _salary("last", 9, "4.98"),
        _salary("beyond", 10, "5.31"),
        _salary("unknown-rank", 15, "5.00", rank="99.999"),
        _salary("row", 3, "3.00", salary_history=[{**row, "salary_step": 2}, row]),
    )
    assert found == [
        ("beyond", "salary_step", 10, None),
        ("row", "salary_history[1].salary_step", 10, None),
    ]


def test_dung_020_coefficient_on_the_scale_within_half_a_cent() -> None:
    found = check(
        "DUNG-020",
        _salary("exact", 1, "2.34"),
        _salary("tolerated", 1, "2.345"),
        _salary("off", 1, "2.35"),
        _salary("other-step", 2, "2.34"),
        _salary("unknown-rank", 1, "9.99", rank="99.999"),
        _salary("off-scale-step", 10, "5.31"),  # DUNG-019's finding
        _salary(
            "row",
            3,
            "3.00",
            salary_history=[
                {
                    "from": "2010-01",
                    "to": "2012-12",
                    "rank_code": A1_RANK,
                    "salary_step": 2,
                    "salary_coefficient": "2.71",
                },
                {
                    "from": "2013-01",
                    "rank_code": A1_RANK,
                    "salary_step": 3,
                    "salary_coefficient": "3.00",
                },
            ],
        ),
    )
    assert found == [
        ("off", "salary_coefficient", "2.35", "2.34"),
        ("other-step", "salary_coefficient", "2.34", "2.67"),
        ("row", "salary_history[0].salary_coefficient", "2.71", "2.67"),
    ]


def test_dung_021_pctnvk_below_the_last_step_or_rate() -> None:
    found = check(
        "DUNG-021",
        _salary("early", 8, "4.65", beyond_scale_seniority_percent=5),
        _salary("due", 9, "4.98", beyond_scale_seniority_percent=5),
        _salary("low-rate", 9, "4.98", beyond_scale_seniority_percent=3),
        _salary("unknown-rank", 1, "2.34", rank="99.999", beyond_scale_seniority_percent=5),
        _salary("none", 2, "2.67"),
    )
    assert found == [
        ("early", "beyond_scale_seniority_percent", 5, None),
        ("low-rate", "beyond_scale_seniority_percent", 3, None),
    ]


def test_dung_022_salary_percent() -> None:
    found = fields(
        "DUNG-022",
        {"pid": "probation", "salary_percent": 85},
        {"pid": "full", "salary_percent": 100},
        {"pid": "odd", "salary_percent": 90},
        {"pid": "empty"},
    )
    assert found == [("odd", "salary_percent")]


def test_dung_023_position_allowance() -> None:
    found = check(
        "DUNG-023",
        # Trưởng phòng thuộc Sở: 0.40 (position.csv)
        {
            "pid": "exact",
            "current_position_code": "TRUONG_PHONG_SO",
            "position_allowance_coefficient": "0.40",
        },
        {
            "pid": "short-form",
            "current_position_code": "TRUONG_PHONG_SO",
            "position_allowance_coefficient": "0.4",
        },
        {
            "pid": "wrong",
            "current_position_code": "TRUONG_PHONG_SO",
            "position_allowance_coefficient": "0.55",
        },
        # Giám đốc Sở: 0.90, or 1.00 in Hà Nội / TP HCM
        {
            "pid": "alt",
            "current_position_code": "GIAM_DOC_SO",
            "position_allowance_coefficient": "1.00",
        },
        {
            "pid": "between",
            "current_position_code": "GIAM_DOC_SO",
            "position_allowance_coefficient": "0.95",
        },
        # Bộ trưởng has no coefficient in the list: only the 0.10-1.30 range applies
        {
            "pid": "no-coefficient",
            "current_position_code": "BO_TRUONG",
            "position_allowance_coefficient": "0.50",
        },
        {"pid": "no-post-low", "position_allowance_coefficient": "0.05"},
        {"pid": "no-post-edge", "position_allowance_coefficient": "0.10"},
        {
            "pid": "top",
            "current_position_code": "THU_TRUONG",
            "position_allowance_coefficient": "1.30",
        },
        {"pid": "above", "position_allowance_coefficient": "1.31"},
    )
    assert found == [
        ("above", "position_allowance_coefficient", "1.31", None),
        ("between", "position_allowance_coefficient", "0.95", "0.90"),
        ("no-post-low", "position_allowance_coefficient", "0.05", None),
        ("wrong", "position_allowance_coefficient", "0.55", "0.40"),
    ]


def _history(*rows: tuple[str, str | None, str, int, str]) -> list[dict[str, Any]]:
    out = []
    for start, end, rank, step, coef in rows:
        row: dict[str, Any] = {
            "from": start,
            "rank_code": rank,
            "salary_step": step,
            "salary_coefficient": coef,
        }
        if end is not None:
            row["to"] = end
        out.append(row)
    return out


def test_dung_024_current_salary_against_the_latest_open_row() -> None:
    found = check(
        "DUNG-024",
        _salary(
            "same",
            3,
            "3.00",
            salary_history=_history(
                ("2019-01", "2021-12", A1_RANK, 2, "2.67"), ("2022-01", None, A1_RANK, 3, "3.00")
            ),
        ),
        _salary(
            "behind", 3, "3.00", salary_history=_history(("2019-01", None, A1_RANK, 2, "2.67"))
        ),
        _salary("near", 3, "3.004", salary_history=_history(("2019-01", None, A1_RANK, 3, "3.00"))),
        # two open rows: the one with the latest from counts, wherever it stands
        _salary(
            "latest",
            3,
            "3.00",
            salary_history=_history(
                ("2022-01", None, A1_RANK, 3, "3.00"), ("2019-01", None, A1_RANK, 2, "2.67")
            ),
        ),
        _salary(
            "stale-latest",
            3,
            "3.00",
            salary_history=_history(
                ("2022-01", None, "01.002", 3, "5.08"), ("2019-01", None, A1_RANK, 3, "3.00")
            ),
        ),
        # the same from twice: the later row counts
        _salary(
            "tie",
            3,
            "3.00",
            salary_history=_history(
                ("2022-01", None, A1_RANK, 3, "3.00"), ("2022-01", None, A1_RANK, 4, "3.33")
            ),
        ),
        _salary(
            "all-closed",
            3,
            "3.00",
            salary_history=_history(("2019-01", "2021-12", A1_RANK, 2, "2.67")),
        ),
        _salary("no-history", 3, "3.00"),
    )
    assert found == [
        ("behind", "salary_coefficient", "3.00", "2.67"),
        ("behind", "salary_step", 3, 2),
        ("stale-latest", "rank_code", A1_RANK, "01.002"),
        ("stale-latest", "salary_coefficient", "3.00", "5.08"),
        ("tie", "salary_coefficient", "3.00", "3.33"),
        ("tie", "salary_step", 3, 4),
    ]


def test_dung_025_career_level_group_from_1_july_2026() -> None:
    records = (
        # V.07.05.15 Giáo viên THPT hạng III: group A1 = career level 3 (NĐ 232/2026 Art 7)
        {"pid": "matching", "rank_code": "V.07.05.15", "career_level": "3"},
        {"pid": "wrong", "rank_code": "V.07.05.15", "career_level": "4"},
        # V.07.05.14 is paid in A2.2, which no career level maps to: exempt
        {"pid": "exempt", "rank_code": "V.07.05.14", "career_level": "5"},
        {"pid": "unknown-rank", "rank_code": "V.99.99.99", "career_level": "1"},
    )
    assert check("DUNG-025", *records) == [("wrong", "career_level", "4", "3")]
    assert check("DUNG-025", *records, as_of=dt.date(2026, 6, 30)) == []
    assert check("DUNG-025", *records, as_of=dt.date(2026, 7, 1)) == [
        ("wrong", "career_level", "4", "3")
    ]


# --- DUNG-026 … DUNG-030 -----------------------------------------------------------------------------


def test_dung_026_employee_type_against_the_rank() -> None:
    found = check(
        "DUNG-026",
        {"pid": "vc-civil-rank", "employee_type_code": "VC", "rank_code": "01.003"},
        {"pid": "cc-title", "employee_type_code": "CC", "rank_code": "V.07.05.15"},
        {"pid": "cc-ok", "employee_type_code": "CC", "rank_code": "01.003"},
        {"pid": "vc-ok", "employee_type_code": "VC", "rank_code": "V.08.01.03"},
        {"pid": "cadre", "employee_type_code": "CB", "rank_code": "01.003"},
        {"pid": "unknown-rank", "employee_type_code": "VC", "rank_code": "01.999"},
    )
    assert found == [
        ("cc-title", "employee_type_code", "CC", "VC"),
        ("vc-civil-rank", "employee_type_code", "VC", "CC"),
    ]


def _family(
    pid: str, sex: str | None, own: list[str], spouse: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"pid": pid, "family_own_side": [{"relationship_code": c} for c in own]}
    if sex is not None:
        out["sex"] = sex
    if spouse is not None:
        out["family_spouse_side"] = [{"relationship_code": c} for c in spouse]
    return out


def test_dung_027_relationship_against_sex_and_side() -> None:
    found = fields(
        "DUNG-027",
        _family("man-ok", "M", ["CHA", "ME", "VO", "CON"], ["CHA_VO", "ME_VO", "EM_VO"]),
        _family("man-husband", "M", ["CHA", "ME", "CHONG"]),
        _family("woman-ok", "F", ["CHA", "ME", "CHONG"], ["CHA_CHONG", "ANH_CHONG"]),
        _family("woman-wife", "F", ["CHA", "VO"]),
        _family("man-husband-side", "M", ["CHA", "VO"], ["CHA_VO", "ME_CHONG"]),
        _family("woman-wife-side", "F", ["CHA", "CHONG"], ["CHI_VO"]),
        _family("spouse-code-own-side", "M", ["CHA", "CHA_VO"]),
        _family("own-code-spouse-side", "F", ["CHA"], ["ME"]),
        _family("unknown-code", "M", ["CHA", "BAC"]),
        _family("no-sex", None, ["CHA", "CHONG", "ME_VO"]),
    )
    assert found == [
        ("man-husband", "family_own_side[2].relationship_code"),
        ("man-husband-side", "family_spouse_side[1].relationship_code"),
        ("no-sex", "family_own_side[2].relationship_code"),
        ("own-code-spouse-side", "family_spouse_side[0].relationship_code"),
        ("spouse-code-own-side", "family_own_side[1].relationship_code"),
        ("woman-wife", "family_own_side[1].relationship_code"),
        ("woman-wife-side", "family_spouse_side[0].relationship_code"),
    ]


def test_dung_028_generation_gap_of_12_years() -> None:
    def person(pid: str, *rows: tuple[str, int | None]) -> dict[str, Any]:
        return {
            "pid": pid,
            "date_of_birth": "1980-07-01",
            "family_own_side": [
                {"relationship_code": c, **({} if y is None else {"birth_year": y})}
                for c, y in rows
            ],
        }

    found = check(
        "DUNG-028",
        person("ok", ("CHA", 1955), ("ME", 1968), ("CON", 1992), ("ANH", 1979)),
        person("young-father", ("CHA", 1969), ("ME", 1960)),
        person("young-stepmother", ("CHA", 1950), ("ME_KE", 1975)),
        person("early-child", ("CHA", 1950), ("CON", 2010), ("CON_NUOI", 1991)),
        person("no-year", ("CHA", None), ("CON", 1985)),
    )
    assert found == [
        ("early-child", "family_own_side[2].birth_year", 1991, None),
        ("no-year", "family_own_side[1].birth_year", 1985, None),
        ("young-father", "family_own_side[0].birth_year", 1969, None),
        ("young-stepmother", "family_own_side[1].birth_year", 1975, None),
    ]


def test_dung_029_dependent_fields_need_their_prerequisite() -> None:
    found = check(
        "DUNG-029",
        {"pid": "official-only", "party_official_date": "2011-03-10"},
        {"pid": "both", "party_admission_date": "2010-03-10", "party_official_date": "2011-03-10"},
        {
            "pid": "blank-admission",
            "party_admission_date": "",
            "party_position_code": "CHI_UY_VIEN",
        },
        {"pid": "concurrent", "concurrent_party_position_codes": ["BI_THU_CHI_BO"]},
        {"pid": "no-concurrent", "concurrent_party_position_codes": []},
        {"pid": "rate-only", "beyond_scale_seniority_percent": 5},
        {"pid": "date-only", "beyond_scale_seniority_date": "2020-01-01"},
        {
            "pid": "pctnvk-ok",
            "beyond_scale_seniority_percent": 5,
            "beyond_scale_seniority_date": "2020-01-01",
        },
        {"pid": "appointment-only", "position_appointment_date": "2020-01-01"},
    )
    assert found == [
        ("appointment-only", "position_appointment_date", "2020-01-01", None),
        ("blank-admission", "party_position_code", "CHI_UY_VIEN", None),
        ("concurrent", "concurrent_party_position_codes", ["BI_THU_CHI_BO"], None),
        ("date-only", "beyond_scale_seniority_date", "2020-01-01", None),
        ("official-only", "party_official_date", "2011-03-10", None),
        ("rate-only", "beyond_scale_seniority_percent", 5, None),
    ]


def _ward(scheme: str, province: str) -> str:
    """Some commune of ``province`` in ``scheme``, from the library's lists."""
    wards = catalog_units.wards_2025() if scheme == "2025" else catalog_units.wards_legacy()
    return min(code for code, unit in wards.items() if unit.province_code == province)


def test_dung_030_address_codes_agree() -> None:
    hanoi, hcmc = _ward("2025", "01"), _ward("2025", "79")
    legacy_hanoi = _ward("legacy", "01")
    district = catalog_units.wards_legacy()[legacy_hanoi].district_code
    found = check(
        "DUNG-030",
        {
            "pid": "ok",
            "residence_unit_scheme": "2025",
            "residence_province_code": "01",
            "residence_ward_code": hanoi,
        },
        {
            "pid": "other-province",
            "residence_unit_scheme": "2025",
            "residence_province_code": "01",
            "residence_ward_code": hcmc,
        },
        {
            "pid": "legacy-ok",
            "hometown_unit_scheme": "legacy",
            "hometown_province_code": "01",
            "hometown_ward_code": legacy_hanoi,
            "hometown_district_legacy_code": district,
        },
        {
            "pid": "legacy-other",
            "hometown_unit_scheme": "legacy",
            "hometown_province_code": "79",
            "hometown_ward_code": legacy_hanoi,
        },
        {
            "pid": "district-2025",
            "hometown_unit_scheme": "2025",
            "hometown_province_code": "01",
            "hometown_ward_code": hanoi,
            "hometown_district_legacy_code": district,
        },
        {"pid": "no-scheme", "birth_place_province_code": "01"},
        {"pid": "district-no-scheme", "hometown_district_legacy_code": district},
        {"pid": "blank-scheme", "birth_place_unit_scheme": "", "birth_place_ward_code": hanoi},
        {
            "pid": "unknown-ward",
            "residence_unit_scheme": "2025",
            "residence_province_code": "01",
            "residence_ward_code": "99999",
        },
        {"pid": "nothing"},
    )
    assert found == [
        ("blank-scheme", "birth_place_unit_scheme", None, None),
        ("district-2025", "hometown_district_legacy_code", district, None),
        ("district-no-scheme", "hometown_unit_scheme", None, None),
        ("legacy-other", "hometown_ward_code", legacy_hanoi, None),
        ("no-scheme", "birth_place_unit_scheme", None, None),
        ("other-province", "residence_ward_code", hcmc, None),
    ]


def test_dung_030_reports_only_leaves_of_the_profile() -> None:
    hcmc = _ward("2025", "79")
    record = {
        "pid": "p",
        "residence_unit_scheme": "2025",
        "residence_province_code": "01",
        "residence_ward_code": hcmc,
    }
    assert fields("DUNG-030", record, profile="p109") == [("p", "residence_ward_code")]
    assert fields("DUNG-030", record, profile="core") == []  # residence is not a core leaf


# --- against the generator's labels ----------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> evaluate.Generated:
    return evaluate.generated(1500, seed=3, defect_rate=0.1)


def test_precision_and_recall_against_the_generators_labels(generated: evaluate.Generated) -> None:
    ctx = Context(
        frame=generated.frame, as_of=generated.as_of, profile="nd27", catalog=get_catalog()
    )
    result = engine.check(ctx, inputs={"meta", "approval", "dataset"}, only=set(MINE))
    comparison = evaluate.compare(
        result.findings, generated.frame, generated.labels, rules=result.rules_run
    )
    labelled = {lab["rule_id"] for lab in generated.labels if lab["rule_id"] in MINE}
    assert len(labelled) >= 4, labelled
    for rule_id, counts in comparison.by_rule.items():
        assert counts.precision >= 0.98, (rule_id, comparison.false_positives[rule_id][:5])
        if rule_id in labelled:
            assert counts.recall >= 0.98, (rule_id, comparison.false_negatives[rule_id][:5])
