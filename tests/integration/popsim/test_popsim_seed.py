"""``seed``: civil servants as ``generate_registry`` sees them, others, differences, truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from popsim_support import dump
from sqlalchemy import Engine
from typer.testing import CliRunner

from hoso.catalog.admin_units import wards_2025
from hoso.catalog.loader import get_catalog
from hoso.generate.cli import app as generate_app
from hoso.generate.people import generate_people, generate_registry
from hoso.popsim import service
from hoso.popsim.cli import register
from hoso.popsim.fields import name_key
from hoso.popsim.seed import KINDS, seed

N, SEED, DEFECTS, DIFFERENCES = 150, 5, 0.2, 0.15
runner = CliRunner()


@pytest.fixture(scope="module")
def reference() -> list[dict[str, Any]]:
    """The registry view of the run, straight from the generator."""
    return list(generate_registry(N, SEED, defect_rate=DEFECTS))


@pytest.fixture(scope="module")
def labelled() -> set[str]:
    """Personal IDs named by the run's defect labels."""
    return {
        lab["personal_id"]
        for _, labels in generate_people(N, SEED, defect_rate=DEFECTS)
        for lab in labels
    }


def _seed(engine: Engine, truth: Path, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "count": N,
        "seed": SEED,
        "defect_rate": DEFECTS,
        "difference_rate": DIFFERENCES,
        "others_factor": 1,
        "truth": truth,
    }
    return seed(engine, **(args | kw))


def _truth(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def test_civil_servants_are_the_registry_view_plus_the_truth(
    popsim_engine: Engine,
    tmp_path: Path,
    reference: list[dict[str, Any]],
    labelled: set[str],
) -> None:
    truth = tmp_path / "truth.jsonl"
    report = _seed(popsim_engine, truth)
    records = _truth(truth)
    stored = {d["personal_id"]: d for d in dump(popsim_engine)}
    by_pid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_pid[rec["personal_id"]].append(rec)

    assert report.civil_servants == len(reference)
    missing = 0
    for entry in reference:
        pid = entry["personal_id"]
        expected: dict[str, Any] | None = {**entry, "status": "alive"}
        for rec in by_pid.get(pid, []):
            assert rec["kind"] in KINDS
            assert rec["dossier_value"] == ({**entry, "status": "alive"}).get(rec["field"])
            assert rec["registry_value"] != rec["dossier_value"]
            if rec["kind"] == "missing":
                expected = None
                continue
            assert expected is not None
            if rec["registry_value"] is None:
                expected.pop(rec["field"])
            else:
                expected[rec["field"]] = rec["registry_value"]
        if expected is None:
            missing += 1
            assert pid not in stored
        else:
            assert stored[pid] == expected
    assert report.stored == len(reference) - missing

    deliberate = [
        r for r in records if not (r["kind"] == "legacy_id_no" and r["registry_value"] is None)
    ]
    assert {r["kind"] for r in deliberate} == set(KINDS)
    assert report.differences == {k: sum(r["kind"] == k for r in deliberate) for k in KINDS}
    assert report.legacy_duplicates == len(records) - len(deliberate)
    assert not labelled & {r["personal_id"] for r in deliberate}  # defective dossiers left alone
    assert 0.05 < len(deliberate) / len(reference) < 0.3  # about DIFFERENCES of the eligible

    for rec in deliberate:
        if rec["kind"] == "date_of_birth":
            old, new = (dt.date.fromisoformat(rec[k]) for k in ("dossier_value", "registry_value"))
            assert old.year == new.year and 0 < abs((new - old).days) <= 20
        elif rec["kind"] == "birth_name":
            old_words, new_words = rec["dossier_value"].split(), rec["registry_value"].split()
            assert (old_words[0], old_words[-1]) == (new_words[0], new_words[-1])
        elif rec["kind"] == "legacy_id_no":
            assert len(rec["registry_value"]) == 9 and rec["registry_value"].isdigit()
    with popsim_engine.connect() as conn:
        for rec in deliberate:
            if rec["kind"] == "legacy_id_no":
                found = service.get(conn, rec["registry_value"])
                assert found is not None and found["personal_id"] == rec["personal_id"]


def test_other_citizens_are_valid_unique_and_apart(
    popsim_engine: Engine,
    tmp_path: Path,
    reference: list[dict[str, Any]],
    labelled: set[str],
) -> None:
    report = _seed(popsim_engine, tmp_path / "truth.jsonl", others_factor=3)
    servants = {e["personal_id"] for e in reference}
    others = [d for d in dump(popsim_engine) if d["personal_id"] not in servants]
    assert report.others == len(others) == 3 * len(reference)
    assert not {d["personal_id"] for d in others} & labelled
    assert len({d["personal_id"] for d in others}) == len(others)

    cat = get_catalog()
    prefixes = {
        c.extra["personal_id_prefix"] for c in cat.codelist("province_legacy").codes.values()
    }
    provinces = set(cat.codelist("province_2025").codes)
    wards = set(wards_2025())
    servant_legacy = {e.get("legacy_id_no") for e in reference} - {None}
    legacy = [d["legacy_id_no"] for d in others if "legacy_id_no" in d]
    assert legacy and len(set(legacy)) == len(legacy) and not set(legacy) & servant_legacy
    for d in others:
        pid, dob = d["personal_id"], dt.date.fromisoformat(d["date_of_birth"])
        assert len(pid) == 12 and pid.isdigit()
        g = int(pid[3])
        assert 1900 + 100 * (g // 2) == dob.year // 100 * 100
        assert ("M" if g % 2 == 0 else "F") == d["sex"]
        assert pid[4:6] == f"{dob.year % 100:02d}"
        assert pid[:3] in prefixes
        assert dob <= dt.date(2026, 11, 23)
        assert d["ethnicity_code"] in cat.codelist("ethnicity").codes
        assert d["religion_code"] in cat.codelist("religion").codes
        assert d["hometown_ward_code"] in wards and d["residence_ward_code"] in wards
        assert d["birth_place_ward_code"] in wards
        assert {d["hometown_province_code"], d["residence_province_code"]} <= provinces
        assert d["status"] in ("alive", "deceased")
        assert name_key(d["birth_name"]) == d["birth_name"] and len(d["birth_name"].split()) >= 3
        if "id_issue_date" in d:
            assert dt.date.fromisoformat(d["id_issue_date"]) >= dt.date(dob.year + 14, 1, 1)
    assert {d["status"] for d in others} == {"alive", "deceased"}
    with popsim_engine.connect() as conn:
        probe = others[7]
        found = service.search(
            conn, birth_name=probe["birth_name"].lower(), date_of_birth=probe["date_of_birth"]
        )
        assert probe in found


def test_deterministic_and_the_generators_files_give_the_same(
    popsim_engine: Engine, tmp_path: Path
) -> None:
    first = tmp_path / "t1.jsonl"
    _seed(popsim_engine, first)
    registry_a = dump(popsim_engine)
    second = tmp_path / "t2.jsonl"
    _seed(popsim_engine, second)
    assert dump(popsim_engine) == registry_a
    assert second.read_bytes() == first.read_bytes()
    assert first.read_bytes()  # there are differences to compare

    out, labels, reg = (tmp_path / n for n in ("p.jsonl", "l.jsonl", "r.jsonl"))
    result = runner.invoke(
        generate_app,
        ["people", "--count", str(N), "--seed", str(SEED), "--defect-rate", str(DEFECTS),
         "--out", str(out), "--labels", str(labels), "--registry", str(reg)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    third = tmp_path / "t3.jsonl"
    _seed(popsim_engine, third, count=None, registry_file=reg, labels_file=labels)
    assert dump(popsim_engine) == registry_a
    assert third.read_bytes() == first.read_bytes()

    other_seed = tmp_path / "t4.jsonl"
    _seed(popsim_engine, other_seed, seed=SEED + 1, registry_file=reg, labels_file=labels)
    assert dump(popsim_engine) != registry_a


def test_seed_replaces_the_registry(popsim_engine: Engine, tmp_path: Path) -> None:
    _seed(popsim_engine, tmp_path / "a.jsonl", others_factor=2)
    report = _seed(popsim_engine, tmp_path / "b.jsonl", count=20, difference_rate=0)
    assert report.differences == {} and report.citizens == report.stored + report.others
    assert len(dump(popsim_engine)) == report.citizens == 20 + 20


def test_cli_seed(popsim_env: str, popsim_engine: Engine, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    truth = tmp_path / "truth.jsonl"
    result = runner.invoke(
        app,
        ["seed", "--count", "60", "--seed", "2", "--others-factor", "2",
         "--difference-rate", "0.2", "--truth", str(truth), "--quiet"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = _truth(truth)
    missing = sum(r["kind"] == "missing" for r in records)
    assert missing > 0
    assert len(dump(popsim_engine)) == 60 - missing + 120
    assert f"{60 - missing + 120} công dân" in result.stdout
    assert f"holds {60 - missing + 120} citizens" in result.stdout

    result = runner.invoke(app, ["seed", "--quiet"])
    assert result.exit_code == 2
    assert "--count" in result.stderr and "--registry-file" in result.stderr
