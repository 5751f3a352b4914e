"""``hoso population match`` and ``results`` in process (the registry behind a mock
transport speaking the simulator's HTTP contract)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import orjson
import pytest
from conftest_population import (  # type: ignore[import-not-found]
    FakeRegistry,
    World,
    http_handler,
    patch_client,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hoso.audit.models import AuditEvent
from hoso.population.cli import app
from hoso.population.models import PopulationMatch, PopulationRun

runner = CliRunner()


def count(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_match_then_results_in_every_format(
    session: Session, world: World, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    patch_client(monkeypatch, http_handler(registry))
    result = runner.invoke(app, ["match", "--batch-size", "50", "--quiet"])
    assert result.exit_code == 0, result.output
    n = len(world.lines)
    assert f"{n:,}/{n:,}" in result.output and "hoàn thành" in result.output
    assert count(session, PopulationMatch) == n

    out = tmp_path / "r.jsonl"
    result = runner.invoke(app, ["results", "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(rows) == n
    assert {"personal_id", "name", "agency", "outcome", "matched_by", "differences",
            "matched_at", "decision"} <= set(rows[0])  # fmt: skip
    with_diff = [r for r in rows if r["differences"]]
    assert with_diff and all(
        {"field", "ours", "registry"} <= set(d) for r in with_diff for d in r["differences"]
    )

    result = runner.invoke(app, ["results", "--format", "jsonl", "--outcome", "not_found"])
    assert result.exit_code == 0
    lines = [orjson.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert lines and all(r["outcome"] == "not_found" for r in lines)

    book = tmp_path / "r.xlsx"
    result = runner.invoke(app, ["results", "--format", "xlsx", "--out", str(book)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(book, read_only=True)
    sheet = wb["Kết quả đối chiếu"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[0].startswith("Số định danh") and "Giá trị trong CSDLQG" in header[10]
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    expected_lines = sum(max(1, len(r["differences"])) for r in rows)
    assert len(body) == expected_lines
    assert {r[0] for r in body} == {r["personal_id"] for r in rows}
    summary = {r[1]: r[2] for r in wb["Tổng hợp"].iter_rows(values_only=True) if r and r[1]}
    assert sum(v for k, v in summary.items() if k in ("matched", "potential_match", "conflict",
                                                      "not_found")) == n  # fmt: skip
    wb.close()

    result = runner.invoke(app, ["results", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert f"5 / {n:,}" in result.output
    reads = (
        session.execute(select(AuditEvent).where(AuditEvent.action == "population:results:read"))
        .scalars()
        .all()
    )
    assert [e.data["rows"] for e in reads] == [n, len(lines), n, 5]


def test_match_exits_non_zero_when_the_registry_stays_down_and_resumes(
    session: Session, world: World, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # up for the first two verification calls, then down for good
    patch_client(monkeypatch, http_handler(registry, fail=lambda n: n > 2), retries=2)
    result = runner.invoke(app, ["match", "--batch-size", "30", "--quiet"])
    assert result.exit_code == 3, result.output
    assert "CSDLQG về dân cư không phản hồi" in result.output
    assert "tiếp tục" in result.output and "resume" in result.output
    run = session.execute(select(PopulationRun)).scalar_one()
    assert run.status == "failed" and run.done > 0 and run.done % 30 == 0
    assert count(session, PopulationMatch) == run.done
    assert any(e["kind"] == "server_error" for e in run.errors)
    patch_client(monkeypatch, http_handler(registry))
    result = runner.invoke(app, ["match", "--batch-size", "30", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "tiếp tục sau" in result.output
    assert count(session, PopulationMatch) == len(world.lines)
    session.refresh(run)
    assert run.status == "completed" and run.done == len(world.lines)


def test_bad_options_are_refused(session: Session, world: World) -> None:
    result = runner.invoke(app, ["match", "--batch-size", "5000"])
    assert result.exit_code == 2 and "1..1000" in result.output
    result = runner.invoke(app, ["results", "--format", "xlsx"])
    assert result.exit_code == 2 and "--out" in result.output
    result = runner.invoke(app, ["results", "--outcome", "maybe"])
    assert result.exit_code == 1 and "không hợp lệ" in result.output
