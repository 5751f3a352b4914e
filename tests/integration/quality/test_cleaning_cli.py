"""``hoso quality propose|fixes|accept|reject`` in-process, on the cleaning world."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_cleaning_world import (  # type: ignore[import-not-found]
    BINH,
    CHAU,
    DUNG,
    HA_TINH,
    MOTHER,
    quality_dir,
    world,
)

from hoso.audit.models import AuditEvent
from hoso.auth.principal import operator
from hoso.people import service as people_service
from hoso.quality import cleaning_cli
from hoso.quality.cleaning_cli import app
from hoso.quality.models import FixStatus, QualityFix

__all__ = ["quality_dir", "world"]  # fixtures used by name

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide consoles, so that messages and table cells are not wrapped."""
    monkeypatch.setattr(cleaning_cli, "out", Console(width=400))
    monkeypatch.setattr(cleaning_cli, "err", Console(width=400, stderr=True))


def fixes(session: Session) -> dict[str, QualityFix]:
    session.expire_all()
    return {f.personal_id: f for f in session.execute(select(QualityFix)).scalars()}


def test_propose_then_list_as_table_and_jsonl(world: Session) -> None:
    result = runner.invoke(app, ["propose"])
    assert result.exit_code == 0, result.output
    assert "Đã tạo 3 đề xuất" in result.output and "1 hồ sơ cần sửa tay" in result.output
    table = runner.invoke(app, ["fixes"])
    assert table.exit_code == 0, table.output
    assert "3 / 3 đề xuất" in table.output
    assert "TRẦN VĂN" in table.output and "cần chọn" in table.output
    lines = runner.invoke(app, ["fixes", "--format", "jsonl", "--agency", HA_TINH])
    assert lines.exit_code == 0, lines.output
    rows = [orjson.loads(x) for x in lines.stdout.splitlines()]
    assert [r["personal_id"] for r in rows] == [DUNG]
    assert rows[0]["changes"][0]["new"] == "HOÀNG VĂN DŨNG"
    again = runner.invoke(app, ["propose", "--rule", "SACH-007"])
    assert again.exit_code == 0 and "bỏ qua 2" in again.output
    bad = runner.invoke(app, ["propose", "--rule", "DUNG-001"])
    assert bad.exit_code == 1 and "DUNG-001" in bad.output
    status = runner.invoke(app, ["fixes", "--status", "done"])
    assert status.exit_code == 2 and "done" in status.output


def test_accept_with_choices_and_reject(world: Session) -> None:
    assert runner.invoke(app, ["propose"]).exit_code == 0
    ids = fixes(world)
    binh, chau, dung = ids[BINH].id, ids[CHAU].id, ids[DUNG].id
    candidate = next(c for c in ids[CHAU].changes if c["ambiguous"])["candidates"][1]["value"]
    # the ambiguous fix without a choice is reported and makes the exit code 1
    partial = runner.invoke(app, ["accept", str(binh), str(chau)])
    assert partial.exit_code == 1, partial.output
    assert "accepted 1 of 2" in partial.output and "hometown_ward_code" in partial.output
    chosen = runner.invoke(
        app, ["accept", str(chau), "--choose", f"{chau}:hometown_ward_code={candidate}"]
    )
    assert chosen.exit_code == 0, chosen.output
    data = people_service.get_by_personal_id(world, CHAU, principal=operator()).data
    assert data["hometown_ward_code"] == candidate
    binh_data = people_service.get_by_personal_id(world, BINH, principal=operator()).data
    assert binh_data["family_own_side"][1]["full_name"] == MOTHER
    malformed = runner.invoke(app, ["accept", str(dung), "--choose", "hometown=1"])
    assert malformed.exit_code == 2 and "FIX_ID:FIELD=VALUE" in malformed.output
    no_reason = runner.invoke(app, ["reject", str(dung), "--reason", " "])
    assert no_reason.exit_code == 1 and "lý do" in no_reason.output.lower()
    rejected = runner.invoke(app, ["reject", str(dung), "--reason", "Tên đã đúng theo CCCD"])
    assert rejected.exit_code == 0 and "Đã từ chối 1" in rejected.output
    final = fixes(world)
    assert final[BINH].status == final[CHAU].status == FixStatus.ACCEPTED
    assert (final[DUNG].status, final[DUNG].reason) == (FixStatus.REJECTED, "Tên đã đúng theo CCCD")
    history = runner.invoke(app, ["fixes", "--status", "all", "--format", "jsonl"])
    assert {orjson.loads(x)["status"] for x in history.stdout.splitlines()} == {
        FixStatus.ACCEPTED,
        FixStatus.REJECTED,
    }
    actions = set(world.execute(select(AuditEvent.action)).scalars())
    assert {"quality:fix:propose", "quality:fix:accept", "quality:fix:reject"} <= actions
    assert "quality:fixes:read" in actions


def test_accept_all_of_an_agency(world: Session) -> None:
    assert runner.invoke(app, ["propose"]).exit_code == 0
    both = runner.invoke(app, ["accept", "1", "--all"])
    assert both.exit_code == 2
    result = runner.invoke(app, ["accept", "--all", "--agency", HA_TINH])
    assert result.exit_code == 0, result.output
    assert "accepted 1 of 1" in result.output
    after = fixes(world)
    assert after[DUNG].status == FixStatus.ACCEPTED and after[DUNG].new_version == 2
    assert after[BINH].status == FixStatus.PROPOSED
    nothing = runner.invoke(app, ["accept", "--all", "--agency", HA_TINH])
    assert nothing.exit_code == 0 and "Không có đề xuất" in nothing.output
