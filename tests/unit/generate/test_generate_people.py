"""Generated dossiers: shape, identifiers, codes, salary, history, names, determinism."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from rulecheck import Run

from hoso.catalog.loader import get_catalog
from hoso.generate.context import geography
from hoso.generate.orgs import OrgUnitDict
from hoso.generate.people import DEFAULT_AS_OF, IdAllocator, generate_people

CAT = get_catalog()


def _records(run: Run) -> list[dict[str, Any]]:
    return [line["data"] for line, _, _ in run]


def test_lines_have_the_bulk_shape(clean_run: Run, default_orgs: list[OrgUnitDict]) -> None:
    codes = {u["code"]: u for u in default_orgs}
    for line, labels, _ in clean_run:
        assert list(line) == ["personal_id", "managing_agency", "employing_unit", "data"]
        assert labels == []
        d = line["data"]
        assert d["personal_id"] == d["record_id"] == line["personal_id"]
        assert d["managing_agency_code"] == line["managing_agency"]
        assert d["employing_unit_code"] == line["employing_unit"]
        unit, agency = codes[line["employing_unit"]], codes[line["managing_agency"]]
        assert agency["parent_code"] is None and agency["valid_to"] is None
        assert unit["valid_to"] is None and line["employing_unit"].startswith(agency["code"] + ".")


def _check_value(leaf: Any, value: Any, path: str) -> None:
    t = leaf.type
    if leaf.multiple:
        assert isinstance(value, list) and value, path
        for v in value:
            assert isinstance(v, str), path
        return
    if t == "date":
        assert isinstance(value, str) and dt.date.fromisoformat(value).isoformat() == value, path
    elif t == "year_month":
        assert isinstance(value, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value), path
    elif t in ("year", "integer"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif t == "decimal":
        assert isinstance(value, str) and re.fullmatch(rf"\d+\.\d{{{leaf.scale}}}", value), path
    elif t == "boolean":
        assert isinstance(value, bool), path
    elif t == "image":
        assert set(value) == {"media_type", "sha256", "uri"}, path
    else:
        assert isinstance(value, str) and value == value.strip() and value, path
        assert unicodedata.is_normalized("NFC", value), path


def test_values_follow_the_catalogue_representation(clean_run: Run) -> None:
    by_code = CAT.by_code
    for d in _records(clean_run):
        for code, value in d.items():
            f = by_code[code]  # no unknown field
            assert "nd27" in f.profiles
            assert value not in (None, "", [])
            if f.is_table:
                assert isinstance(value, list) and value, code
                cols = {c.code: c for c in f.columns}
                for i, row in enumerate(value):
                    assert isinstance(row, dict) and row
                    for col, cell in row.items():
                        _check_value(cols[col], cell, f"{code}[{i}].{col}")
                if f.max_rows is not None:
                    assert len(value) <= f.max_rows
            else:
                _check_value(f, value, code)


def test_dossiers_are_full(clean_run: Run) -> None:
    records = _records(clean_run)
    present = Counter(code for d in records for code in d)
    never_filled = {f.code for f in CAT.fields if "nd27" in f.profiles} - set(present)
    # Position-based pay (not applied yet), service under the former regime (nobody of
    # working age could have served before 1975) and concurrent posts are left empty.
    assert never_filled <= {
        "job_salary_step", "salary_amount_vnd", "job_salary_effective_date", "job_salary_percent",
        "job_beyond_scale_seniority_percent", "job_beyond_scale_seniority_date",
        "old_regime_service", "concurrent_position_codes",
        "concurrent_party_position_codes", "concurrent_position_allowance_percent",
        "hometown_district_legacy_code",  # legacy scheme only (an obsolete_admin_unit defect)
    }, never_filled  # fmt: skip
    sizes = [len(orjson.dumps(d)) for d in records]
    assert 2_000 < sum(sizes) / len(sizes) < 10_000


def test_personal_ids_match_birth_province_sex_and_year(clean_run: Run) -> None:
    geo = geography()
    by_prefix = {p: code for code, p in geo.prefix.items()}
    ids = []
    for d in _records(clean_run):
        pid = d["personal_id"]
        ids.append(pid)
        assert re.fullmatch(r"\d{12}", pid)
        dob = dt.date.fromisoformat(d["date_of_birth"])
        g = int(pid[3])
        assert 1900 + 100 * (g // 2) == dob.year // 100 * 100
        assert ("M" if g % 2 == 0 else "F") == d["sex"]
        assert pid[4:6] == f"{dob.year % 100:02d}"
        legacy = by_prefix[pid[:3]]
        assert geo.merged_into[legacy] == d["birth_place_province_code"]
    assert len(set(ids)) == len(ids)


def test_id_allocator_never_repeats() -> None:
    ids = IdAllocator(3)
    clean = [ids.clean("001185") for _ in range(50_000)]
    reserved = [ids.reserved("001185") for _ in range(5_000)]
    assert len(set(clean)) == len(clean)
    assert not set(clean) & set(reserved)
    assert all(len(x) == 12 and x.startswith("001185") for x in clean + reserved)


def test_working_ages_and_addresses(clean_run: Run) -> None:
    w25 = geography().ward_province
    for d in _records(clean_run):
        age = (DEFAULT_AS_OF - dt.date.fromisoformat(d["date_of_birth"])).days / 365.25
        assert 21.9 < age < (60 if d["sex"] == "M" else 56)
        for prefix in ("hometown", "birth_place", "residence"):
            assert d[f"{prefix}_unit_scheme"] == "2025"
            assert w25[d[f"{prefix}_ward_code"]] == d[f"{prefix}_province_code"]


def test_codes_are_in_the_code_lists(clean_run: Run) -> None:
    for d in _records(clean_run):
        for f in CAT.fields:
            targets: list[tuple[Any, Any, dt.date]] = []
            if f.is_table:
                for row in d.get(f.code, []):
                    ref = row.get("to") or row.get("from")
                    if ref is None and "year" in row:
                        ref = f"{row['year']}-12"
                    day = dt.date(int(ref[:4]), int(ref[5:7]), 28) if ref else DEFAULT_AS_OF
                    targets += [(c, row.get(c.code), day) for c in f.columns]
            else:
                targets.append((f, d.get(f.code), DEFAULT_AS_OF))
            for leaf, value, day in targets:
                if value is None or leaf.type != "code" or leaf.codelist not in CAT.codelists:
                    continue
                if leaf.codelist.startswith("province"):
                    continue
                for code in value if leaf.multiple else [value]:
                    entry = CAT.codelists[leaf.codelist].get(code)
                    assert entry is not None, (leaf.path, code)
                    assert entry.valid_on(day), (leaf.path, code, day)


def test_salary_on_the_scale_and_consistent_with_history(clean_run: Run) -> None:
    ranks = CAT.codelist("rank").codes
    for d in _records(clean_run):
        group = ranks[d["rank_code"]].extra["salary_group"]
        assert CAT.salary_scale[(group, d["salary_step"])] == d["salary_coefficient"]
        assert ranks[d["rank_code"]].extra["employee_type"] == d["employee_type_code"]
        rows = d["salary_history"]
        for row in rows:
            g = ranks[row["rank_code"]].extra["salary_group"]
            assert CAT.salary_scale[(g, row["salary_step"])] == row["salary_coefficient"]
        last = rows[-1]
        assert "to" not in last and all("to" in r for r in rows[:-1])
        assert (last["rank_code"], last["salary_step"], last["salary_coefficient"]) == (
            d["rank_code"],
            d["salary_step"],
            d["salary_coefficient"],
        )
        assert last["from"] == d["salary_effective_date"][:7]
        for a, b in itertools.pairwise(rows):
            assert a["from"] <= a["to"] < b["from"]
            assert float(b["salary_coefficient"]) >= float(a["salary_coefficient"])


def test_work_history_is_chronological_with_one_open_row(clean_run: Run) -> None:
    for d in _records(clean_run):
        rows = d["work_history"]
        assert rows[0]["from"] == d["first_recruitment_date"][:7]
        assert [r for r in rows if "to" not in r] == [rows[-1]]
        for a, b in itertools.pairwise(rows):
            assert a["from"] <= a["to"] < b["from"]
        for table in ("professional_training", "salary_history", "rewards_and_ratings"):
            keys = [r.get("from", r.get("year")) for r in d.get(table, [])]
            assert keys == sorted(keys), table


def test_family_years_are_consistent(clean_run: Run) -> None:
    for d in _records(clean_run):
        year = int(d["date_of_birth"][:4])
        rows = {r["relationship_code"]: r for r in d["family_own_side"]}
        assert rows["CHA"]["birth_year"] <= year - 19 and rows["ME"]["birth_year"] <= year - 19
        spouse = "VO" if d["sex"] == "M" else "CHONG"
        assert ("CHONG" if d["sex"] == "M" else "VO") not in rows
        for r in d["family_own_side"]:
            if r["relationship_code"] == "CON":
                assert year + 20 <= r["birth_year"] <= DEFAULT_AS_OF.year
                assert spouse in rows
        if "family_spouse_side" in d:
            assert spouse in rows
            suffix = "_VO" if d["sex"] == "M" else "_CHONG"
            assert all(r["relationship_code"].endswith(suffix) for r in d["family_spouse_side"])


def test_teachers_in_schools_doctors_in_hospitals(clean_run: Run) -> None:
    seen = Counter()
    for d in _records(clean_run):
        unit = d["employing_unit_name"]
        rank = d["rank_code"]
        if unit.startswith("Trường Trung học phổ thông"):
            assert rank.startswith("V.07.05.") or rank == "13.096"
            seen["thpt"] += rank.startswith("V.07.05.")
        if unit.startswith("Trường Mầm non"):
            assert rank.startswith("V.07.02.") or rank == "13.096"
        if unit.startswith("Bệnh viện"):
            assert rank.startswith(("V.08.01.", "V.08.03.", "13.09"))
            seen["doctor"] += rank.startswith("V.08.01.")
        if unit.startswith(("Sở ", "Phòng ")):
            assert rank[:2] in ("01", "02", "04", "06")
    assert seen["thpt"] > 10 and seen["doctor"] > 10


def test_names_have_real_frequencies(clean_run: Run) -> None:
    records = _records(clean_run)
    surnames = Counter(d["birth_name"].split()[0] for d in records)
    share = surnames["NGUYỄN"] / len(records)
    assert 0.28 < share < 0.45, share
    assert surnames.most_common(1)[0][0] == "NGUYỄN"
    assert {"TRẦN", "LÊ", "PHẠM"} <= {s for s, _ in surnames.most_common(8)}
    women = [d for d in records if d["sex"] == "F"]
    assert sum(" THỊ " in d["birth_name"] for d in women) / len(women) > 0.35
    for d in records:
        name = d["birth_name"]
        assert name == name.upper() and unicodedata.is_normalized("NFC", name)
        assert re.fullmatch(r"[^\W\d_]+( [^\W\d_]+)+", name)
    assert sum(any(ord(c) > 127 for c in d["birth_name"]) for d in records) > 0.9 * len(records)


def test_deterministic_and_seed_dependent(default_orgs: list[OrgUnitDict]) -> None:
    def dump(seed: int, n: int) -> list[bytes]:
        return [
            orjson.dumps([line, labels])
            for line, labels in generate_people(n, seed, orgs=default_orgs, defect_rate=0.3)
        ]

    first = dump(5, 300)
    assert first == dump(5, 300)
    assert dump(5, 120) == first[:120]
    other = dump(6, 300)
    assert other != first
    assert len({orjson.loads(x)[0]["personal_id"] for x in first + other}) > 590


def test_streams_without_building_the_whole_run(default_orgs: list[OrgUnitDict]) -> None:
    people = generate_people(10**9, 1, orgs=default_orgs)
    assert isinstance(people, Iterator)
    line, labels = next(people)
    assert line["personal_id"] and labels == []


def test_invalid_arguments_are_refused(default_orgs: list[OrgUnitDict]) -> None:
    with pytest.raises(ValueError):
        next(generate_people(10, 1, orgs=default_orgs, defect_rate=1.5))
    ended = [dict(u, valid_to="2020-01-01") for u in default_orgs]
    with pytest.raises(ValueError):
        next(generate_people(10, 1, orgs=ended))


def test_foreign_org_tree_is_used(default_orgs: list[OrgUnitDict]) -> None:
    tree = [
        {"code": "T1", "name": "Ủy ban nhân dân tỉnh Thử", "parent_code": None, "kind": "province",
         "admin_unit": {"scheme": "2025", "code": "40"}},
        {"code": "T1.S1", "name": "Sở Nội vụ tỉnh Thử", "parent_code": "T1", "kind": "department"},
        {"code": "T1.S1.P1", "name": "Phòng Công chức", "parent_code": "T1.S1", "kind": "division"},
        {"code": "T1.B1", "name": "Bệnh viện Đa khoa Thử", "parent_code": "T1", "kind": "public_service_unit",
         "staffing_quota": 300},
    ]  # fmt: skip
    lines = [line for line, _ in generate_people(300, 2, orgs=tree)]
    assert {x["managing_agency"] for x in lines} == {"T1"}
    units = Counter(x["employing_unit"] for x in lines)
    assert set(units) == {"T1.S1", "T1.S1.P1", "T1.B1"}
    assert units["T1.B1"] > units["T1.S1"]
    assert all(
        x["data"]["rank_code"].startswith(("V.08", "13.09"))
        for x in lines
        if x["employing_unit"] == "T1.B1"
    )


def test_career_tables_use_catalogue_codes() -> None:
    from hoso.generate.careers import FAMILIES, FEMALE_SHARE, POSITIONS, PROFILE_FAMILIES
    from hoso.generate.context import PROFILES

    assert set(PROFILES) == set(PROFILE_FAMILIES) == set(FEMALE_SHARE)
    ranks = CAT.codelist("rank").codes
    for fam in FAMILIES.values():
        types = {ranks[code].extra["employee_type"] for code, _, _ in fam.ladder}
        assert len(types) == 1, fam.id
    positions = CAT.codelist("position").codes
    for posts in POSITIONS.values():
        for code, prob, _ in posts:
            assert positions[code].valid_on(DEFAULT_AS_OF) and 0 < prob < 1


def test_as_of_before_the_nd27_regime_is_refused(default_orgs: list[OrgUnitDict]) -> None:
    with pytest.raises(ValueError, match="as_of"):
        next(generate_people(5, 1, orgs=default_orgs, as_of=dt.date(2026, 6, 30)))
