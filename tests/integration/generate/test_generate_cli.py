"""``hoso generate orgs|people`` through the Typer app, writing real files."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from hoso.generate.cli import app

runner = CliRunner()


def _people(tmp: Path, name: str, *args: str) -> tuple[Path, Path, str]:
    out, labels = tmp / f"{name}.jsonl", tmp / f"{name}.labels.jsonl"
    result = runner.invoke(
        app, ["people", "--out", str(out), "--labels", str(labels), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out, labels, result.stdout


def test_orgs_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["orgs", "--seed", "4", "--agencies", "11"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.stdout)
    roots = [u for u in body["units"] if u["parent_code"] is None and u["valid_to"] is None]
    assert len(roots) == 11
    assert "11 cơ quan quản lý" in result.stderr and "11 managing agencies" in result.stderr

    out = tmp_path / "orgs.json"
    result = runner.invoke(app, ["orgs", "--seed", "4", "--agencies", "11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert orjson.loads(out.read_bytes()) == body
    assert result.stdout.startswith("Đã sinh") and " / Generated " in result.stdout
    assert not (tmp_path / "orgs.json.part").exists()


def test_people_same_seed_same_bytes(tmp_path: Path) -> None:
    args = ("--count", "400", "--seed", "7", "--defect-rate", "0.25")
    out1, lab1, summary = _people(tmp_path, "a", *args)
    out2, lab2, _ = _people(tmp_path, "b", *args)
    out3, lab3, _ = _people(tmp_path, "c", "--count", "400", "--seed", "8", "--defect-rate", "0.25")
    assert out1.read_bytes() == out2.read_bytes() and lab1.read_bytes() == lab2.read_bytes()
    assert out1.read_bytes() != out3.read_bytes() and lab1.read_bytes() != lab3.read_bytes()
    lines = [orjson.loads(x) for x in out1.read_bytes().splitlines()]
    labels = [orjson.loads(x) for x in lab1.read_bytes().splitlines()]
    assert len(lines) == 400 and labels
    assert {label["personal_id"] for label in labels} <= {x["personal_id"] for x in lines}
    assert summary.startswith("Đã sinh 400 hồ sơ") and "Generated 400 people" in summary
    assert "people/s" in summary and summary.count("\n") == 1


def test_people_over_a_given_org_tree_with_registry(tmp_path: Path) -> None:
    tree = tmp_path / "tree.json"
    result = runner.invoke(app, ["orgs", "--seed", "2", "--agencies", "3", "--out", str(tree)])
    assert result.exit_code == 0, result.output
    units = {u["code"]: u for u in orjson.loads(tree.read_bytes())["units"]}
    registry = tmp_path / "registry.jsonl"
    out, labels, _ = _people(
        tmp_path, "p", "--count", "150", "--seed", "3", "--orgs", str(tree), "--registry", str(registry),
        "--defect-rate", "0.1", "--as-of", "2026-09-30",
    )  # fmt: skip
    lines = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    for x in lines:
        assert x["employing_unit"] in units
        assert units[x["managing_agency"]]["parent_code"] is None
    entries = [orjson.loads(x) for x in registry.read_bytes().splitlines()]
    assert len(entries) == 150
    assert all(set(e) >= {"personal_id", "birth_name", "date_of_birth", "sex"} for e in entries)
    labelled = {orjson.loads(x)["personal_id"] for x in labels.read_bytes().splitlines()}
    clean = [x["data"] for x in lines if x["personal_id"] not in labelled]
    assert clean
    for d in clean:
        assert d["declarant_confirmation_date"] <= "2026-09-30"
        assert d["salary_effective_date"] <= "2026-09-30"


def test_bad_inputs_fail_with_a_bilingual_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": 1}', encoding="utf-8")
    out = tmp_path / "x.jsonl"
    result = runner.invoke(app, ["people", "--count", "5", "--out", str(out), "--orgs", str(bad)])
    assert result.exit_code == 1
    assert "không phải là cây tổ chức" in result.stderr and "is not an org tree" in result.stderr
    assert not out.exists()

    result = runner.invoke(
        app, ["people", "--count", "5", "--out", str(out), "--as-of", "2026-02-30"]
    )
    assert result.exit_code == 1 and "--as-of" in result.stderr

    result = runner.invoke(
        app, ["people", "--count", "5", "--out", str(out), "--as-of", "2025-01-01"]
    )
    assert result.exit_code == 1 and "Cannot generate" in result.stderr and not out.exists()
    assert not list(tmp_path.glob("*.part"))

    result = runner.invoke(app, ["orgs", "--agencies", "999"])
    assert result.exit_code == 1 and "Invalid argument" in result.stderr

    result = runner.invoke(app, ["people", "--count", "5", "--out", str(out), "--defect-rate", "2"])
    assert result.exit_code != 0 and not out.exists()


def test_help_is_bilingual() -> None:
    for args in ([], ["orgs"], ["people"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0
        assert "Sinh" in result.stdout and ("generate" in result.stdout.lower())
