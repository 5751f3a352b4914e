"""``hoso orgs import|export|list`` with CliRunner, on a migrated database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orgs_factories import H40, H41, TREE
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hoso.audit.models import AuditEvent
from hoso.orgs import cli
from hoso.orgs.models import OrgUnit

runner = CliRunner()


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def count(session: Session, model: type[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_import_twice_then_export_round_trips_on_a_fresh_database(
    fresh_db_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(fresh_db_url)
    source = write(tmp_path / "tree.json", {"units": TREE})
    first = runner.invoke(cli.app, ["import", str(source)])
    assert first.exit_code == 0, first.output
    n = len(TREE)
    assert first.stdout.strip() == (
        f"Đã nhập {n} đơn vị: {n} mới, 0 cập nhật, 0 không đổi / "
        f"Imported {n} units: {n} new, 0 updated, 0 unchanged"
    )
    second = runner.invoke(cli.app, ["import", str(source)])
    assert second.exit_code == 0, second.output
    assert f": 0 mới, 0 cập nhật, {n} không đổi /" in second.stdout

    out = tmp_path / "export.json"
    exported = runner.invoke(cli.app, ["export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"Đã xuất {n} đơn vị" in exported.stdout
    body = json.loads(out.read_text(encoding="utf-8"))
    assert {u["code"] for u in body["units"]} == {u["code"] for u in TREE}
    third = runner.invoke(cli.app, ["import", str(out)])
    assert f": 0 mới, 0 cập nhật, {n} không đổi /" in third.stdout


def test_an_envelope_is_accepted_and_the_agency_limits_the_scope(
    session: Session, tmp_path: Path
) -> None:
    envelope = {"spec": "hoso-exchange/1", "type": "orgtree.upsert", "body": {"units": TREE}}
    result = runner.invoke(cli.app, ["import", str(write(tmp_path / "env.json", envelope))])
    assert result.exit_code == 0, result.output
    assert count(session, OrgUnit) == len(TREE)

    change = {
        "units": [
            {
                "code": f"{H40}.S05",
                "name": "Sở Nội vụ Hà Tĩnh (mới)",
                "parent_code": H40,
                "kind": "department",
            }
        ]
    }
    refused = runner.invoke(
        cli.app, ["import", str(write(tmp_path / "c.json", change)), "--agency", H41]
    )
    assert refused.exit_code == 1
    assert "nằm ngoài phạm vi" in refused.stderr and "outside your scope" in refused.stderr
    allowed = runner.invoke(cli.app, ["import", str(tmp_path / "c.json"), "--agency", H40])
    assert allowed.exit_code == 0, allowed.output
    assert ": 0 mới, 1 cập nhật, 0 không đổi /" in allowed.stdout

    scoped = runner.invoke(cli.app, ["export", "--agency", H41])
    assert scoped.exit_code == 0, scoped.output
    codes = [u["code"] for u in json.loads(scoped.stdout)["units"]]
    assert codes == [H41, f"{H41}.S05", f"{H41}.S05.P01", f"{H41}.S07"]


def test_a_bad_file_exits_non_zero_naming_the_field_and_stores_nothing(
    session: Session, tmp_path: Path
) -> None:
    rows = [dict(r) for r in TREE]
    rows[3] = {**rows[3], "parent_code": "NOWHERE"}
    bad = runner.invoke(cli.app, ["import", str(write(tmp_path / "bad.json", {"units": rows}))])
    assert bad.exit_code == 1
    assert "units[3].parent_code" in bad.stderr
    assert "NOWHERE" in bad.stderr
    assert count(session, OrgUnit) == 0
    assert count(session, AuditEvent) == 0

    typed = runner.invoke(
        cli.app, ["import", str(write(tmp_path / "t.json", {"units": [{"code": "x"}]}))]
    )
    assert typed.exit_code == 1
    assert "units[0].code" in typed.stderr and "units[0].name" in typed.stderr

    envelope = {"type": "records.upsert", "body": {"records": []}}
    wrong = runner.invoke(cli.app, ["import", str(write(tmp_path / "w.json", envelope))])
    assert wrong.exit_code == 1
    assert "orgtree.upsert" in wrong.stderr

    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    broken = runner.invoke(cli.app, ["import", str(tmp_path / "broken.json")])
    assert broken.exit_code == 1
    assert "không phải JSON hợp lệ" in broken.stderr

    missing = runner.invoke(cli.app, ["import", str(tmp_path / "absent.json")])
    assert missing.exit_code != 0


def test_list_as_table_and_json(session: Session, tmp_path: Path) -> None:
    runner.invoke(cli.app, ["import", str(write(tmp_path / "tree.json", {"units": TREE}))])
    table = runner.invoke(cli.app, ["list", "--agency", H41])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].startswith("Mã / code")
    assert any(f"{H41}.S05.P01" in line and "Phòng Công chức" in line for line in lines)
    assert lines[-1] == "4 đơn vị / units"
    as_json = runner.invoke(cli.app, ["list", "--format", "json", "--parent", "VN"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert {r["code"] for r in rows} == {
        H41,
        H40,
        "000.00.00.G09",
        "000.00.00.H44",
        "000.00.00.H45",
    }
    assert all(r["depth"] == 1 for r in rows)
    unknown = runner.invoke(cli.app, ["list", "--agency", "NOWHERE"])
    assert unknown.exit_code == 1
    assert "NOWHERE" in unknown.stderr


def test_every_command_has_help() -> None:
    for command in ("import", "export", "list"):
        result = runner.invoke(cli.app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "/" in result.stdout
