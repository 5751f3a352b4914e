"""Đủ rules DU-001 … DU-011 (quality-rules.md §5–8) on hand-made records.

Each rule runs through ``engine.check`` so profile gating is the engine's as well as the
rule's. Expected findings are written by hand from the spec and the catalogue (counts of
mandatory leaves are counted in ``catalog.yaml``, not by the code under test). The last
tests compare the rules with the generator's labels.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import polars as pl
import pytest

from hoso.catalog.loader import FieldDef, get_catalog
from hoso.quality import engine, evaluate
from hoso.quality.rules import Context, implementations
from hoso.quality.rules_du import (
    REQUIRED_WHEN_SHAPES,
    UnknownCondition,
    add_months,
    condition_fields,
    empty_expr,
    is_empty_value,
    must_contain_conditions,
    required_when_expr,
    required_when_holds,
    required_when_shape,
)
from hoso.quality.snapshot import frame_from_documents

AS_OF = dt.date(2026, 11, 23)
Found = dict[str, tuple[Any, Any]]
"""field -> (value, expected), JSON-decoded."""


def _frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    docs = [({"_id": i + 1, "_personal_id": f"{i + 1:012d}"}, r) for i, r in enumerate(records)]
    return frame_from_documents(docs)


def _ctx(
    records: Sequence[Mapping[str, Any]],
    profile: str,
    as_of: dt.date,
    params: dict[str, str] | None = None,
) -> Context:
    return Context(
        frame=_frame(records),
        as_of=as_of,
        profile=profile,
        catalog=get_catalog(),
        params=params or {},
    )


def _decode(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def run(
    rule_id: str,
    records: Sequence[Mapping[str, Any]],
    *,
    profile: str = "nd27",
    as_of: dt.date = AS_OF,
    params: dict[str, str] | None = None,
) -> list[Found]:
    """Findings of one rule per record (in record order)."""
    result = engine.check(_ctx(records, profile, as_of, params), inputs={"meta"}, only={rule_id})
    out: list[Found] = [{} for _ in records]
    for row in result.findings.iter_rows(named=True):
        assert row["rule_id"] == rule_id
        out[row["_id"] - 1][row["field"]] = (_decode(row["value"]), _decode(row["expected"]))
    return out


def one(rule_id: str, record: Mapping[str, Any], **kw: Any) -> Found:
    """Findings of one rule on one record."""
    return run(rule_id, [record], **kw)[0]


def checked(rule_id: str, records: Sequence[Mapping[str, Any]], profile: str) -> list[int]:
    """The ratio rule's ``checked`` count per record."""
    result = engine.check(_ctx(records, profile, AS_OF), inputs={"meta"}, only={rule_id})
    by_id = dict(result.checked.select("_id", "checked").iter_rows())
    return [by_id[i + 1] for i in range(len(records))]


# --- registration ------------------------------------------------------------------------------


def test_every_du_rule_is_registered_with_its_as_of_dependence() -> None:
    impls = implementations()
    time_dependent = {f"DU-{n:03d}": impls[f"DU-{n:03d}"].time_dependent for n in range(1, 12)}
    assert time_dependent == {
        "DU-001": False,
        "DU-002": False,
        "DU-003": False,
        "DU-004": False,
        "DU-005": False,
        "DU-006": False,
        "DU-007": False,
        "DU-008": False,
        "DU-009": True,
        "DU-010": True,
        "DU-011": True,
    }
    assert "relationship" in impls["DU-006"].codelists
    assert "employment_status" in impls["DU-009"].codelists


# --- emptiness ---------------------------------------------------------------------------------

BLANKS = ["", " ", "\t\n", "\u00a0", "\u3000 ", "\u2009\u202f"]
FILLED = ["a", " a ", "Đà Nẵng", "\u00a0x", "0", "{}x", "Ấp 3"]


def test_blank_strings_are_empty_in_both_faces() -> None:
    empties: list[Any] = [None, [], {}, *BLANKS]
    assert all(is_empty_value(v) for v in empties)
    assert not any(is_empty_value(v) for v in [0, False, ["x"], *FILLED])
    s = pl.DataFrame({"v": [None, *BLANKS, *FILLED]}, schema={"v": pl.String()})
    got = s.select(empty_expr(pl.col("v"), pl.String))["v"].to_list()
    assert got == [True] * (1 + len(BLANKS)) + [False] * len(FILLED)


def test_every_unicode_space_is_blank_like_str_strip() -> None:
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    frame = pl.DataFrame({"v": spaces + [s + "x" for s in spaces]})
    got = frame.select(empty_expr(pl.col("v"), pl.String))["v"].to_list()
    assert got == [True] * len(spaces) + [False] * len(spaces)


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(dt.date(2024, 8, 31), 18) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 23), -18) == dt.date(2025, 5, 23)
    assert add_months(dt.date(2025, 3, 31), -1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)


# --- DU-001 ------------------------------------------------------------------------------------


def test_du001_reports_each_empty_mandatory_scalar_of_the_profile_only() -> None:
    record = {
        "phone": "0912345678",
        "birth_name": "  ",
        "religion_code": "",
        "family_background": "\u00a0\u3000",
        "photo": {},
        "declarant_confirmed": False,
    }
    nd27 = one("DU-001", record, profile="nd27")
    assert "phone" not in nd27
    assert "declarant_confirmed" not in nd27  # false is a value
    assert nd27["birth_name"] == ("  ", None)  # the value as stored
    assert nd27["religion_code"] == ("", None)
    assert nd27["family_background"] == ("\u00a0\u3000", None)  # Unicode spaces only
    assert nd27["sex"] == (None, None)
    assert "photo" in nd27 and "employment_status_code" in nd27
    p109 = one("DU-001", record, profile="p109")
    assert "photo" not in p109  # tt06/nd27 only
    assert "employment_status_code" not in p109  # nd27 only
    assert "employee_type_code" in p109
    tt06 = one("DU-001", record, profile="tt06")
    assert "photo" in tt06 and "employee_type_code" not in tt06
    core = one("DU-001", record, profile="core")
    assert set(core) == {
        "managing_agency_code",
        "employing_unit_code",
        "birth_name",
        "sex",
        "date_of_birth",
        "hometown_ward_code",
        "hometown_province_code",
        "hometown_unit_scheme",
        "personal_id",
    }


def test_du001_an_image_with_content_is_filled() -> None:
    image = {"media_type": "image/jpeg", "sha256": "ab" * 32, "uri": "photos/x.jpg"}
    assert "photo" not in one("DU-001", {"photo": image}, profile="tt06")


def test_du001_checked_is_the_number_of_mandatory_scalars_of_the_profile() -> None:
    # Counted in catalog.yaml (required: always, top-level): 9 core, 37 p109, 38 tt06, 41 nd27.
    records = [{}, {"phone": "0912345678"}]
    assert checked("DU-001", records, "core") == [9, 9]
    assert checked("DU-001", records, "p109") == [37, 37]
    assert checked("DU-001", records, "tt06") == [38, 38]
    assert checked("DU-001", records, "nd27") == [41, 41]
    assert len(one("DU-001", {}, profile="p109")) == 37


# --- DU-002 ------------------------------------------------------------------------------------


def _conditional_leaves() -> list[FieldDef]:
    return [leaf for leaf in get_catalog().leaves if leaf.required_when is not None]


def test_every_required_when_of_the_catalogue_has_a_known_shape() -> None:
    leaves = _conditional_leaves()
    assert leaves
    shapes = set()
    for leaf in leaves:
        assert leaf.required == "conditional", leaf.path
        assert "DU-002" in leaf.rules, leaf.path
        assert leaf.table is None, leaf.path  # DU-002 handles scalar conditions only
        assert leaf.required_when is not None
        shapes.add(required_when_shape(leaf.required_when))  # raises on an unknown form
        for name in condition_fields(leaf.required_when):
            assert name in get_catalog().by_code, (leaf.path, name)
    assert shapes <= set(REQUIRED_WHEN_SHAPES)
    assert {"present", "in", "not_in"} <= shapes  # the forms the catalogue uses today
    conditional = [leaf for leaf in get_catalog().leaves if leaf.required == "conditional"]
    assert conditional == leaves


@pytest.mark.parametrize(
    "when",
    [
        {"field": "x", "present": False},
        {"field": "x", "present": "yes"},
        {"field": "x", "equals": "A"},
        {"field": "x", "in": "A"},
        {"field": "x", "in": ["A"], "not_in": ["B"]},
        {"any_present": []},
        {"all_present": ["x", "y"]},
        {},
    ],
)
def test_an_unknown_required_when_form_is_refused(when: dict[str, Any]) -> None:
    with pytest.raises(UnknownCondition):
        required_when_shape(when)


def test_required_when_faces_agree_on_every_form() -> None:
    schema: dict[str, pl.DataType] = {
        "a": pl.String(),
        "b": pl.Boolean(),
        "c": pl.Int64(),
        "m": pl.List(pl.String()),
    }
    rows: list[dict[str, Any]] = [
        {"a": None, "b": None, "c": None, "m": None},
        {"a": "VC", "b": False, "c": 0, "m": []},
        {"a": " VC ", "b": True, "c": 3, "m": ["X"]},
        {"a": "CC", "b": None, "c": None, "m": None},
        {"a": "  ", "b": None, "c": 5, "m": None},
    ]
    cases: list[tuple[dict[str, Any], list[bool]]] = [
        ({"field": "a", "present": True}, [False, True, True, True, False]),
        ({"field": "b", "present": True}, [False, True, True, False, False]),
        ({"field": "m", "present": True}, [False, False, True, False, False]),
        ({"field": "a", "in": ["VC"]}, [False, True, False, False, False]),  # as stored
        ({"field": "a", "not_in": ["VC"]}, [False, False, True, True, False]),
        ({"field": "c", "in": [3, 5]}, [False, False, True, False, True]),
        ({"any_present": ["a", "m"]}, [False, True, True, True, False]),
        ({"any_present": ["b", "c"]}, [False, True, True, False, True]),
        ({"field": "zz", "present": True}, [False] * 5),
    ]
    frame = pl.DataFrame(rows, schema=schema)
    for when, expected in cases:
        assert [required_when_holds(when, r) for r in rows] == expected, when
        got = frame.with_columns(required_when_expr(when, schema).alias("h"))["h"].to_list()
        assert got == expected, when
    with pytest.raises(UnknownCondition):
        required_when_expr({"field": "m", "in": ["X"]}, schema)


def test_du002_present_condition() -> None:
    assert one("DU-002", {"enlistment_date": "2000-01-01"}) == {
        "discharge_date": (None, None),
        "highest_military_rank_code": (None, None),
    }
    full = {"enlistment_date": "2000-01-01", "discharge_date": "2002-01-01"}
    assert one("DU-002", {**full, "highest_military_rank_code": "HA_SI"}) == {}
    assert one("DU-002", {"enlistment_date": " "}) == {}  # blank: the condition does not hold
    assert one("DU-002", {}) == {}
    found = one("DU-002", {"enlistment_date": "2000-01-01", "discharge_date": ""})
    assert found["discharge_date"] == ("", None)


def test_du002_in_condition_and_profile_gating() -> None:
    assert one("DU-002", {"employee_type_code": "VC"}) == {"career_level": (None, None)}
    assert one("DU-002", {"employee_type_code": "CC"}) == {}
    assert one("DU-002", {"employee_type_code": "VC", "career_level": "3"}) == {}
    # career_level is an nd27 leaf: never missing in p109 or tt06.
    assert one("DU-002", {"employee_type_code": "VC"}, profile="p109") == {}
    assert one("DU-002", {"employee_type_code": "VC"}, profile="tt06") == {}


def test_du002_not_in_condition() -> None:
    level = "highest_professional_level_code"
    assert one("DU-002", {level: "DAI_HOC"}) == {"highest_professional_major": (None, None)}
    assert one("DU-002", {level: "CHUA_QUA_DAO_TAO"}) == {}
    assert one("DU-002", {}) == {}  # not_in holds only when the field is present
    assert one("DU-002", {level: "DAI_HOC", "highest_professional_major": "Luật"}) == {}


def test_du002_reads_a_condition_field_but_reports_only_profile_leaves() -> None:
    record = {"declarant_confirmed": True, "first_sociopolitical_org_join_date": "2001-03-26"}
    assert set(one("DU-002", record, profile="tt06")) == {
        "declarant_confirmation_date",
        "first_sociopolitical_org_code",
    }
    assert one("DU-002", record, profile="p109") == {}
    # Literal reading of {present: true}: false is a present value.
    assert "declarant_confirmation_date" in one("DU-002", {"declarant_confirmed": False})


# --- DU-003 ------------------------------------------------------------------------------------


def test_du003_names_each_empty_mandatory_cell() -> None:
    record = {
        "work_history": [
            {"from": "2010-01", "to": "2012-12", "unit": "Sở Nội vụ", "title": "Chuyên viên"},
            {"from": "2013-01", "unit": " ", "title": "\u2003"},
            {"to": "2014-01", "unit": "UBND", "title": ""},
        ],
        "family_own_side": [{"relationship_code": "CHA", "full_name": "NGUYỄN VĂN A"}],
    }
    assert one("DU-003", record) == {
        "work_history[1].unit": (" ", None),
        "work_history[1].title": ("\u2003", None),
        "work_history[2].from": (None, None),
        "work_history[2].title": ("", None),
        "family_own_side[0].birth_year": (None, None),
    }


def test_du003_columns_outside_the_profile_are_never_missing() -> None:
    record = {
        "defence_training": [{"from": "2015-01", "certificate": "Chứng chỉ"}],
        "household_income_assets": [{"other_income": "Không"}],
        "old_regime_service": [{"from": "1970-01"}],
    }
    assert one("DU-003", record, profile="p109") == {}
    assert set(one("DU-003", record, profile="tt06")) == {
        "defence_training[0].institution",
        "household_income_assets[0].salary_income_vnd",
        "old_regime_service[0].description",
    }


def test_du003_checked_counts_the_mandatory_cells_of_existing_rows() -> None:
    record = {
        "work_history": [{"from": "2010-01"}, {"from": "2011-01"}],  # 2 rows x 3 columns
        "family_own_side": [{"relationship_code": "CHA"}],  # 1 x 3
        "defence_training": [{"from": "2015-01"}],  # p109: from, certificate; tt06: +institution
        "household_income_assets": [{"other_income": "Không"}],  # tt06: salary_income_vnd
    }
    assert checked("DU-003", [record, {}], "p109") == [6 + 3 + 2, 0]
    assert checked("DU-003", [record, {}], "tt06") == [6 + 3 + 3 + 1, 0]


def test_du003_finds_cells_in_many_records_at_their_row_index() -> None:
    rows = [{"from": "2001-01", "unit": "U", "title": "T"}] * 3
    records: list[dict[str, Any]] = [
        {"work_history": rows},
        {},
        {"work_history": [*rows, {"from": "2004-01", "unit": "U"}]},
        {"work_history": []},
        {"work_history": [{"unit": "U", "title": "T"}, *rows]},
    ]
    found = run("DU-003", records)
    assert found == [
        {},
        {},
        {"work_history[3].title": (None, None)},
        {},
        {"work_history[0].from": (None, None)},
    ]


# --- DU-004 / DU-005 ---------------------------------------------------------------------------

FATHER = {"relationship_code": "CHA", "full_name": "NGUYỄN VĂN A", "birth_year": 1950}
MOTHER = {"relationship_code": "ME", "full_name": "TRẦN THỊ B", "birth_year": 1952}
WORK = [{"from": "2010-01", "unit": "Sở Nội vụ", "title": "Chuyên viên"}]
HOUSEHOLD = [{"salary_income_vnd": 120_000_000}]


def test_du004_min_rows_with_the_row_count_and_the_bound() -> None:
    record = {"family_own_side": [FATHER]}
    assert one("DU-004", record) == {
        "work_history": (0, 1),
        "family_own_side": (1, 2),
        "household_income_assets": (0, 1),
    }
    full = {"work_history": WORK, "family_own_side": [FATHER, MOTHER]}
    assert one("DU-004", {**full, "household_income_assets": HOUSEHOLD}) == {}
    # household_income_assets is not in p109.
    assert one("DU-004", full, profile="p109") == {}
    assert one("DU-004", full, profile="tt06") == {"household_income_assets": (0, 1)}


def test_du004_max_rows() -> None:
    record = {
        "work_history": WORK,
        "family_own_side": [FATHER, MOTHER],
        "household_income_assets": HOUSEHOLD * 2,
    }
    assert one("DU-004", record) == {"household_income_assets": (2, 1)}


def test_du005_father_and_mother_from_must_contain() -> None:
    sibling = {"relationship_code": "ANH", "full_name": "NGUYỄN VĂN C", "birth_year": 1975}
    assert one("DU-005", {"family_own_side": [FATHER, sibling]}) == {
        "family_own_side": (2, ["mother"])
    }
    assert one("DU-005", {"family_own_side": [MOTHER]}) == {"family_own_side": (1, ["father"])}
    assert one("DU-005", {}) == {"family_own_side": (0, ["father", "mother"])}
    step = [{**FATHER, "relationship_code": "CHA_DUONG"}, {**MOTHER, "relationship_code": "ME_KE"}]
    assert one("DU-005", {"family_own_side": step}) == {}
    assert one("DU-005", {"family_own_side": [FATHER, MOTHER]}, profile="p109") == {}
    # A mother on the spouse side is not the declarant's mother.
    spouse_mother = [{**MOTHER, "relationship_code": "ME_VO"}]
    found = one("DU-005", {"family_own_side": [FATHER], "family_spouse_side": spouse_mother})
    assert found == {"family_own_side": (1, ["mother"])}


def test_must_contain_forms_of_the_catalogue_are_known() -> None:
    tables = [t for t in get_catalog().tables if t.must_contain]
    assert [t.code for t in tables] == ["family_own_side"]
    assert must_contain_conditions(tables[0]) == [
        ("relationship_code", ["CHA", "CHA_NUOI", "CHA_DUONG"], "father"),
        ("relationship_code", ["ME", "ME_NUOI", "ME_KE"], "mother"),
    ]
    for table in get_catalog().tables:
        must_contain_conditions(table)  # raises on an unknown form


# --- DU-006 … DU-008 ---------------------------------------------------------------------------


def test_du006_spouse_and_the_spouse_side() -> None:
    wife = {"relationship_code": "VO", "full_name": "LÊ THỊ D", "birth_year": 1980}
    wife_father = {"relationship_code": "CHA_VO", "full_name": "LÊ VĂN E", "birth_year": 1950}
    wife_brother = {"relationship_code": "ANH_VO", "full_name": "LÊ VĂN G", "birth_year": 1975}
    own = [FATHER, MOTHER]
    cases: list[tuple[dict[str, Any], Found]] = [
        ({"family_own_side": own}, {}),
        ({"family_own_side": [*own, wife], "family_spouse_side": [wife_father]}, {}),
        ({"family_own_side": [*own, wife]}, {"family_own_side": (3, None)}),
        (
            {"family_own_side": [*own, wife], "family_spouse_side": [wife_brother]},
            {"family_own_side": (3, None)},
        ),
        (
            {"family_own_side": own, "family_spouse_side": [wife_father]},
            {"family_own_side": (2, None)},
        ),
        ({"family_spouse_side": [wife_father]}, {"family_own_side": (0, None)}),
    ]
    found = run("DU-006", [c[0] for c in cases])
    assert found == [c[1] for c in cases]


def test_du007_training_for_trung_cap_and_above() -> None:
    level = "highest_professional_level_code"
    training = [{"from": "2005-09", "institution": "Đại học Luật Hà Nội"}]
    cases: list[tuple[dict[str, Any], Found]] = [
        ({level: "DAI_HOC"}, {"professional_training": (0, None)}),
        ({level: "TRUNG_CAP"}, {"professional_training": (0, None)}),  # level_order 2
        ({level: "SO_CAP"}, {}),  # level_order 1
        ({level: "CHUA_QUA_DAO_TAO"}, {}),
        ({level: "KHONG_RO"}, {}),  # unknown code: DUNG-009's finding
        ({}, {}),
        ({level: "TIEN_SI", "professional_training": training}, {}),
    ]
    assert run("DU-007", [c[0] for c in cases]) == [c[1] for c in cases]
    raised = run(
        "DU-007",
        [{level: "TRUNG_CAP"}, {level: "CAO_DANG"}],
        params={"DU-007.min_level_order": "3"},
    )
    assert raised == [{}, {"professional_training": (0, None)}]


def test_du008_rank_and_step_without_salary_history() -> None:
    history = [{"from": "2020-01", "rank_code": "01.003", "salary_step": 3}]
    cases: list[tuple[dict[str, Any], Found]] = [
        ({"rank_code": "01.003", "salary_step": 3}, {"salary_history": (0, None)}),
        ({"rank_code": "01.003"}, {}),
        ({"salary_step": 3}, {}),
        ({"rank_code": "01.003", "salary_step": 3, "salary_history": history}, {}),
    ]
    assert run("DU-008", [c[0] for c in cases]) == [c[1] for c in cases]


# --- DU-009 ------------------------------------------------------------------------------------


def _work(*spans: tuple[str | None, str | None]) -> list[dict[str, Any]]:
    rows = []
    for start, end in spans:
        row: dict[str, Any] = {"unit": "Sở Nội vụ", "title": "Chuyên viên"}
        if start is not None:
            row["from"] = start
        if end is not None:
            row["to"] = end
        rows.append(row)
    return rows


def _du009(
    spans: Sequence[tuple[str | None, str | None]],
    recruited: str | None = "2010-01-15",
    as_of: dt.date = AS_OF,
    **extra: Any,
) -> bool:
    record: dict[str, Any] = {"work_history": _work(*spans), **extra}
    if recruited is not None:
        record["first_recruitment_date"] = recruited
    found = one("DU-009", record, as_of=as_of)
    assert set(found) <= {"work_history"}
    if found:
        assert found["work_history"] == (len(spans), None)
    return bool(found)


def test_du009_reaching_the_present() -> None:
    assert not _du009([("2010-01", "2015-12"), ("2016-01", None)])
    assert not _du009([("2010-01", "2026-11")])  # to = the as-of month
    assert _du009([("2010-01", "2026-10")])  # before the as-of month
    assert not _du009([("2010-01", "2026-10")], as_of=dt.date(2026, 10, 31))
    assert _du009([("2010-01", "2026-10")], as_of=dt.date(2026, 11, 1))
    assert not _du009([("2010-01", "2026-12")])  # a later 'to' (DUNG-012's concern)
    assert _du009([("2010-01", "2025")])  # a year-only 'to' before 2026
    assert not _du009([("2010-01", "2026")])  # same year: not before at year precision
    # The latest 'to', not the last row's.
    assert not _du009([("2010-01", "2026-11"), ("2011-01", "2012-01")])
    # Inactive people need not reach the present; an empty status counts as active.
    assert not _du009([("2010-01", "2020-06")], employment_status_code="NGHI_HUU")
    assert _du009([("2010-01", "2020-06")], employment_status_code="DANG_CONG_TAC")
    assert not one("DU-009", {"work_history": []})  # DU-004's finding
    assert not one("DU-009", {})


def test_du009_gaps_after_first_recruitment() -> None:
    open_end = ("2020-01", None)
    # 6 months missing (2011-01 … 2011-06) is not over 6; 7 months is.
    assert not _du009([("2010-01", "2010-12"), ("2011-07", "2019-12"), open_end])
    assert _du009([("2010-01", "2010-12"), ("2011-08", "2019-12"), open_end])
    # The months between recruitment and the first row count as a gap.
    assert not _du009([("2010-07", None)], recruited="2010-01-15")
    assert _du009([("2010-08", None)], recruited="2010-01-15")
    # Gaps before recruitment do not count, nor the part of a gap before it.
    assert not _du009([("2000-01", "2000-12"), ("2010-01", None)], recruited="2010-01-15")
    assert not _du009([("2000-01", "2000-12"), ("2010-07", None)], recruited="2010-01-15")
    assert _du009([("2000-01", "2000-12"), ("2010-08", None)], recruited="2010-01-15")
    # Overlapping and contained rows cover what they cover, in any order.
    rows = [("2012-01", None), ("2010-01", "2015-12"), ("2011-01", "2011-02")]
    assert not _du009(rows)
    assert not _du009([("2010-01", "2014-12"), ("2011-01", "2011-03"), ("2015-01", None)])
    # A year-only recruitment: the gap is counted from its December (coarser precision).
    assert not _du009([("2010-07", None)], recruited="2010")
    assert _du009([("2011-07", None)], recruited="2010")
    # No recruitment date: no gap check (DU-001 reports the date).
    assert not _du009([("2010-01", "2010-12"), ("2015-01", None)], recruited=None)
    # A row without 'from' (DU-003's finding) does not close a gap.
    assert _du009([("2010-01", "2010-12"), (None, "2013-01"), ("2014-01", None)])


def test_du009_many_records_keep_their_own_coverage() -> None:
    records: list[dict[str, Any]] = [
        {"first_recruitment_date": "2010-01-01", "work_history": _work(("2010-01", None))},
        {"first_recruitment_date": "2011-01-01", "work_history": _work(("2012-01", None))},
        {"first_recruitment_date": "2001-01-01", "work_history": _work(("2001-01", "2030-01"))},
        {"first_recruitment_date": "2012-01-01", "work_history": _work(("2012-01", "2012-02"))},
    ]
    found = run("DU-009", records)
    assert [bool(f) for f in found] == [False, True, False, True]


# --- DU-010 ------------------------------------------------------------------------------------


def _ratings(*rows: tuple[int, str | None]) -> list[dict[str, Any]]:
    out = []
    for year, code in rows:
        row: dict[str, Any] = {"year": year}
        if code is not None:
            row["professional_rating_code"] = code
        else:
            row["emulation_title_code"] = "LAO_DONG_TIEN_TIEN"
        out.append(row)
    return out


def test_du010_rating_of_the_previous_year_from_1_march() -> None:
    record = {"first_recruitment_date": "2020-05-04", "rewards_and_ratings": _ratings((2025, None))}
    assert one("DU-010", record) == {"rewards_and_ratings": (2025, None)}
    assert one("DU-010", record, as_of=dt.date(2026, 3, 1)) == {"rewards_and_ratings": (2025, None)}
    assert one("DU-010", record, as_of=dt.date(2026, 2, 28)) == {}
    assert one("DU-010", record, as_of=dt.date(2027, 3, 1)) == {"rewards_and_ratings": (2026, None)}
    rated = {**record, "rewards_and_ratings": _ratings((2024, "HTNV"), (2025, "HTTNV"))}
    assert one("DU-010", rated) == {}
    stale = {**record, "rewards_and_ratings": _ratings((2024, "HTNV"))}
    assert one("DU-010", stale) == {"rewards_and_ratings": (2025, None)}
    assert one("DU-010", {"first_recruitment_date": "2020-05-04"}) == {
        "rewards_and_ratings": (2025, None)
    }
    later = one("DU-010", record, params={"DU-010.check_from": "12-01"})
    assert later == {}


def test_du010_only_for_people_in_service_all_of_that_year() -> None:
    def found(recruited: str | None, **extra: Any) -> bool:
        record: dict[str, Any] = {**extra}
        if recruited is not None:
            record["first_recruitment_date"] = recruited
        return bool(one("DU-010", record))

    assert found("2025-01-01")
    assert not found("2025-01-02")
    assert found("2025-01")  # month precision: January 2025 is not after 1 January 2025
    assert not found("2025-02")
    assert found("2025")  # year precision: not after
    assert found("2024-12-31")
    assert not found("2026-01-05")
    assert not found(None)
    assert not found("2020-01-01", employment_status_code="NGHI_HUU",
                     employment_status_date="2025-06-30")  # fmt: skip
    assert found("2020-01-01", employment_status_code="NGHI_HUU",
                 employment_status_date="2026-01-31")  # fmt: skip
    assert found("2020-01-01", employment_status_code="DANG_CONG_TAC",
                 employment_status_date="2025-06-30")  # fmt: skip


# --- DU-011 ------------------------------------------------------------------------------------


def test_du011_official_membership_after_18_months() -> None:
    # As of 2026-11-23, 18 months back is 2025-05-23.
    def found(admitted: str, **extra: Any) -> Found:
        return one("DU-011", {"party_admission_date": admitted, **extra})

    assert found("2025-05-22") == {"party_official_date": (None, None)}
    assert found("2025-05-23") == {}  # exactly 18 months: not more
    assert found("2025-08-01") == {}
    assert found("2025-05-22", party_official_date="2026-05-22") == {}
    assert found("2025-05-22", party_official_date=" ") == {"party_official_date": (" ", None)}
    assert found("2025-05") == {}  # the same month at month precision
    assert found("2025-04") == {"party_official_date": (None, None)}
    assert one("DU-011", {}) == {}
    assert one("DU-011", {"party_admission_date": "2025-05-22"}, as_of=dt.date(2026, 11, 22)) == {}
    override = one("DU-011", {"party_admission_date": "2025-08-01"}, params={"DU-011.months": "12"})
    assert override == {"party_official_date": (None, None)}


# --- against the generator's labels ------------------------------------------------------------

MINE = frozenset(f"DU-{n:03d}" for n in range(1, 12))


@pytest.fixture(scope="module")
def generated() -> evaluate.Generated:
    return evaluate.generated(1500, seed=3, defect_rate=0.1)


@pytest.mark.parametrize("profile", ["nd27", "p109", "tt06"])
def test_labels_precision_and_recall(generated: evaluate.Generated, profile: str) -> None:
    catalog = get_catalog()
    ctx = Context(frame=generated.frame, as_of=generated.as_of, profile=profile, catalog=catalog)
    result = engine.check(ctx, inputs={"meta", "approval", "dataset"}, only=MINE)
    allowed = engine.profile_paths(catalog, profile)
    labels = [
        lab
        for lab in generated.labels
        if re.sub(r"\[\d+\]", "", lab["field"]) in allowed
        and profile in catalog.rule_by_id[lab["rule_id"]].profiles
    ]
    cmp = evaluate.compare(result.findings, generated.frame, labels, rules=result.rules_run)
    labelled = {lab["rule_id"] for lab in labels if lab["rule_id"] in MINE}
    assert len(labelled) >= 5, labelled  # 1500 people at 10 %: most DU rules get labels
    for rule_id in sorted(labelled):
        counts = cmp.by_rule[rule_id]
        assert counts.precision >= 0.98, (rule_id, cmp.false_positives[rule_id][:5])
        assert counts.recall >= 0.98, (rule_id, cmp.false_negatives[rule_id][:5])
    unlabelled = {r for r in result.findings["rule_id"].unique().to_list()} - labelled
    assert not unlabelled, unlabelled
