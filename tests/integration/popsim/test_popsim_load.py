"""``load``: JSON Lines validated line by line, good lines stored, reruns safe (both backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from popsim_support import citizen, dump, write_jsonl
from sqlalchemy import Engine
from typer.testing import CliRunner

from hoso.popsim.cli import register
from hoso.popsim.load import load

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _bad_lines() -> list[tuple[Any, str, str]]:
    """(line content, field, error code) of lines that must be refused."""
    return [
        (citizen(101, personal_id="00108501234"), "personal_id", "invalid_personal_id"),
        (citizen(102, sex="X"), "sex", "unknown_code"),
        (citizen(103, date_of_birth="1985-02-30"), "date_of_birth", "invalid_date"),
        (citizen(104, ethnicity_code="99"), "ethnicity_code", "unknown_code"),
        (citizen(105, hometown_ward_code="99999"), "hometown_ward_code", "unknown_code"),
        (citizen(106, status="missing"), "status", "invalid_status"),
        (citizen(107, legacy_id_no="12345"), "legacy_id_no", "invalid_legacy_id"),
        (citizen(108, religion_code=1), "religion_code", "not_a_string"),
        (citizen(109, birth_name=None), "birth_name", "missing"),
        (citizen(110, nickname="Út"), "nickname", "unknown_field"),
        (citizen(111, birth_name="NGUYỄN\tAN"), "birth_name", "control_character"),
        (citizen(112, residence_unit_scheme="1999"), "residence_unit_scheme", "unknown_code"),
        (b'{"personal_id": "001085000113", ', "", "invalid_json"),
        (b"[1, 2, 3]", "", "not_an_object"),
    ]


def test_good_lines_stored_bad_lines_reported(popsim_engine: Engine, tmp_path: Path) -> None:
    good = [citizen(i) for i in range(10)]
    bad = _bad_lines()
    lines: list[Any] = []
    where: dict[int, tuple[str, str]] = {}
    for i, doc in enumerate(good):
        lines.append(doc)
        if i < len(bad):
            lines.append(bad[i][0])
            where[len(lines)] = (bad[i][1], bad[i][2])
    for content, field, code in bad[len(good) :]:
        lines.append(content)
        where[len(lines)] = (field, code)
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    errors_file = tmp_path / "errors.jsonl"

    report = load(popsim_engine, path, batch_size=3, errors_file=errors_file)

    assert report.lines == len(lines)
    assert report.stored == len(good)
    assert report.rejected == len(bad)
    assert report.citizens == len(good)
    assert dump(popsim_engine) == sorted(good, key=lambda d: d["personal_id"])
    got = {(e.line, e.issue.field, e.issue.code) for e in report.errors}
    assert got == {(line, f, c) for line, (f, c) in where.items()}
    written = [orjson.loads(x) for x in errors_file.read_bytes().splitlines()]
    assert {(e["line"], e["field"], e["code"]) for e in written} == got
    sex_error = next(e for e in report.errors if e.issue.field == "sex")
    assert sex_error.message.startswith(f"Dòng {sex_error.line}, trường 'sex' (giá trị \"X\"): ")
    assert f" / Line {sex_error.line}, field 'sex' (value \"X\"): " in sex_error.message


def test_rerun_is_an_upsert(popsim_engine: Engine, tmp_path: Path) -> None:
    docs = [citizen(i, legacy_id_no=f"{200_000_000 + i:09d}") for i in range(12)]
    path = write_jsonl(tmp_path / "extract.jsonl", docs)
    first = load(popsim_engine, path, batch_size=5)
    second = load(popsim_engine, path, batch_size=5)
    assert first.stored == second.stored == 12
    assert second.rejected == 0  # its own old CMND numbers are no conflict
    assert second.citizens == 12
    assert dump(popsim_engine) == sorted(docs, key=lambda d: d["personal_id"])

    # A newer extract: a corrected date, a death, a field dropped and one more person.
    newer = [dict(d) for d in docs]
    newer[0]["date_of_birth"] = "1960-01-01"
    newer[1]["status"] = "deceased"
    del newer[2]["religion_code"]
    newer.append(citizen(50))
    report = load(popsim_engine, write_jsonl(tmp_path / "newer.jsonl", newer))
    assert report.stored == 13 and report.citizens == 13
    assert dump(popsim_engine) == sorted(newer, key=lambda d: d["personal_id"])


def test_last_line_of_a_personal_id_wins_within_a_batch(
    popsim_engine: Engine, tmp_path: Path
) -> None:
    a = citizen(1)
    b = citizen(1, birth_name="TRẦN THỊ THU HÀ")
    report = load(popsim_engine, write_jsonl(tmp_path / "twice.jsonl", [a, citizen(2), b]))
    assert report.rejected == 0 and report.citizens == 2
    stored = {d["personal_id"]: d for d in dump(popsim_engine)}
    assert stored[a["personal_id"]]["birth_name"] == "TRẦN THỊ THU HÀ"


def test_an_old_cmnd_number_belongs_to_one_citizen(popsim_engine: Engine, tmp_path: Path) -> None:
    first = citizen(1, legacy_id_no="123456789")
    load(popsim_engine, write_jsonl(tmp_path / "a.jsonl", [first]))
    same_batch = [citizen(2, legacy_id_no="987654321"), citizen(3, legacy_id_no="987654321")]
    path = write_jsonl(tmp_path / "b.jsonl", [citizen(4, legacy_id_no="123456789"), *same_batch])
    report = load(popsim_engine, path)
    assert report.stored == 1 and report.rejected == 2
    assert {(e.line, e.issue.code) for e in report.errors} == {
        (1, "legacy_id_taken"),
        (3, "legacy_id_taken"),
    }
    assert first["personal_id"] in report.errors[0].message
    held = {d["personal_id"]: d.get("legacy_id_no") for d in dump(popsim_engine)}
    assert held == {first["personal_id"]: "123456789", same_batch[0]["personal_id"]: "987654321"}


def test_normalisation_on_the_way_in(popsim_engine: Engine, tmp_path: Path) -> None:
    raw = citizen(
        5,
        birth_name="  NGUYE\u0302\u0303N VĂN AN ",  # NFD, padded
        status=None,
        legacy_id_no=None,
        hometown_legacy_text="",
        id_issue_date="2023-04-05",
        record_id=None,
    )
    raw["record_id"] = raw["personal_id"]
    twelve = citizen(6, legacy_id_no=citizen(6)["personal_id"])  # 12-digit CMND = the ID
    load(popsim_engine, write_jsonl(tmp_path / "n.jsonl", [raw, twelve]))
    stored = {d["personal_id"]: d for d in dump(popsim_engine)}
    doc = stored[raw["personal_id"]]
    assert doc["birth_name"] == "NGUYỄN VĂN AN"
    assert doc["status"] == "alive"
    assert doc["id_issue_date"] == "2023-04-05"
    assert "hometown_legacy_text" not in doc and "record_id" not in doc
    assert "legacy_id_no" not in stored[twelve["personal_id"]]


@pytest.mark.parametrize("with_errors", [False, True])
def test_cli_load(
    popsim_env: str, popsim_engine: Engine, tmp_path: Path, with_errors: bool
) -> None:
    lines: list[Any] = [citizen(i) for i in range(4)]
    if with_errors:
        lines.append(citizen(9, sex="X"))
    path = write_jsonl(tmp_path / "cli.jsonl", lines)
    result = runner.invoke(_app(), ["load", str(path), "--quiet"], catch_exceptions=False)
    assert result.exit_code == (1 if with_errors else 0), result.output
    assert "lưu 4 công dân" in result.stdout and "4 citizens stored" in result.stdout
    assert len(dump(popsim_engine)) == 4
    if with_errors:
        assert "Dòng 5, trường 'sex'" in result.stderr
