"""The engine: rule registry, profile gating, not-evaluated rules, scores of §7."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from hoso.catalog.loader import get_catalog
from hoso.quality import engine
from hoso.quality.rules import ID, Context, implementations
from hoso.quality.snapshot import frame_from_documents

AS_OF = dt.date(2026, 11, 23)
CATALOG = get_catalog()


def _frame(*docs: dict[str, object]) -> pl.DataFrame:
    return frame_from_documents(
        [({ID: i + 1, "_personal_id": f"0010850000{i:02d}"}, d) for i, d in enumerate(docs)]
    )


def test_every_rule_of_the_csv_has_one_implementation() -> None:
    csv_ids = {r.id for r in CATALOG.rules}
    assert len(csv_ids) == 67
    assert set(implementations()) == csv_ids


def test_categories_and_dimensions_match_the_spec() -> None:
    for r in CATALOG.rules:
        assert r.id.split("-")[0].lower() == r.dimension
        assert r.scoring in ("binary", "ratio")
        assert r.scope in ("record", "dataset")
    assert {r.id for r in CATALOG.rules if r.scoring == "ratio"} == {"DU-001", "DU-003"}


def test_json_column_keeps_types() -> None:
    assert engine.json_column(pl.Series(['a"b', None])).to_list() == ['"a\\"b"', None]
    assert engine.json_column(pl.Series([3, None])).to_list() == ["3", None]
    assert engine.json_column(pl.Series([True])).to_list() == ["true"]
    assert engine.json_column(pl.Series([["X", "Y"]])).to_list() == ['["X","Y"]']


def test_findings_outside_the_profile_are_dropped() -> None:
    # personal_id is in every profile; phone only from p109 (see catalog.yaml)
    phone = CATALOG.by_code["phone"]
    assert "core" not in phone.profiles and "p109" in phone.profiles
    frame = _frame({"personal_id": "12345", "phone": "12"})
    for profile, expect_phone in (("core", False), ("p109", True)):
        ctx = Context(frame=frame, as_of=AS_OF, profile=profile, catalog=CATALOG)
        result = engine.check(ctx, inputs={"meta"}, only={"DUNG-001", "DUNG-008"})
        fields = set(result.findings["field"].to_list())
        assert "personal_id" in fields
        assert ("phone" in fields) is expect_phone


def test_rules_without_their_inputs_are_not_evaluated() -> None:
    frame = _frame({"personal_id": "001085000000"})
    ctx = Context(frame=frame, as_of=AS_OF, profile="nd27", catalog=CATALOG)
    result = engine.check(ctx, inputs={"meta"}, only={"SACH-009", "SACH-001", "DUNG-001"})
    skipped = {ne.rule_id: ne for ne in result.not_evaluated}
    assert set(skipped) == {"SACH-009", "SACH-001"}
    assert skipped["SACH-009"].reason_en == "no population registry view"
    assert skipped["SACH-009"].reason_vi.startswith("chưa có dữ liệu")
    assert result.rules_run == ["DUNG-001"]


def _weights(dimension: str, evaluated: set[str]) -> int:
    return sum(
        engine.WEIGHT[r.severity]
        for r in CATALOG.rules
        if r.dimension == dimension and r.id in evaluated
    )


def test_scores_follow_section_7() -> None:
    evaluated = {r.id for r in CATALOG.rules}
    ids = pl.Series(ID, [1, 2, 3], dtype=pl.Int64)
    findings = pl.DataFrame(
        {
            ID: [1, 1, 2, 2, 2],
            "rule_id": ["DUNG-013", "DUNG-013", "DU-001", "DU-001", "SACH-005"],
        }
    )
    checked = pl.DataFrame({ID: [2], "rule_id": ["DU-001"], "checked": [40]})
    scores = engine.score_records(
        ids, findings, checked, catalog=CATALOG, evaluated=evaluated
    ).sort(ID)
    rows = {r[ID]: r for r in scores.iter_rows(named=True)}
    w_dung, w_du, w_sach = (_weights(d, evaluated) for d in ("dung", "du", "sach"))
    # record 1: one binary error rule failed (twice: it counts once)
    assert rows[1]["dung"] == pytest.approx(100 * (1 - 3 / w_dung))
    assert rows[1]["du"] == 100 and not rows[1]["passed"] and rows[1]["complete"]
    assert rows[1]["overall"] == pytest.approx((rows[1]["dung"] + 300) / 4)
    assert rows[1]["errors"] == 2
    # record 2: DU-001 ratio 2 of 40 (error, w 3), SACH-005 warning (w 1)
    assert rows[2]["du"] == pytest.approx(100 * (1 - 3 * (2 / 40) / w_du))
    assert rows[2]["sach"] == pytest.approx(100 * (1 - 1 / w_sach))
    assert not rows[2]["complete"] and rows[2]["warnings"] == 1
    # record 3: nothing found
    assert rows[3]["overall"] == 100 and rows[3]["passed"] and rows[3]["complete"]


def test_dimension_without_evaluated_rules_scores_100_and_weights_are_configurable() -> None:
    evaluated = {"DUNG-001"}
    findings = pl.DataFrame({ID: [1], "rule_id": ["DUNG-001"]})
    scores = engine.score_records(
        pl.Series(ID, [1], dtype=pl.Int64),
        findings,
        pl.DataFrame(schema={ID: pl.Int64, "rule_id": pl.String, "checked": pl.Int64}),
        catalog=CATALOG,
        evaluated=evaluated,
        dimension_weights={"dung": 0.7, "du": 0.1, "sach": 0.1, "song": 0.1},
    )
    row = scores.row(0, named=True)
    assert row["dung"] == 0 and row["du"] == row["sach"] == row["song"] == 100
    assert row["overall"] == pytest.approx(30.0)


def test_agency_report_shape() -> None:
    scores = pl.DataFrame(
        {
            ID: [1, 2],
            "dung": [100.0, 50.0],
            "du": [100.0, 100.0],
            "sach": [100.0, 100.0],
            "song": [100.0, 100.0],
            "overall": [100.0, 87.5],
            "passed": [True, False],
            "complete": [True, True],
        }
    )
    findings = pl.DataFrame({ID: [2], "rule_id": ["DUNG-013"]})
    report = engine.agency_report(
        scores, findings, catalog=CATALOG, agency="000.00.00.H41", profile="p109",
        as_of="2026-11-23", not_evaluated=[],
    )  # fmt: skip
    assert report["records"] == 2 and report["records_passed"] == 1
    assert report["scores"]["dung"] == 75.0 and report["complete_records"] == 100.0
    assert report["findings_by_category"] == {"date_order": {"error": 1}}
    assert report["findings_by_rule"] == {"DUNG-013": {"error": 1}}
