"""``hoso people show|versions|diff`` over the real services (in-process, CliRunner)."""

from __future__ import annotations

import orjson
from conftest_people import dossier_line  # type: ignore[import-not-found]
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hoso.auth.principal import operator
from hoso.people import service
from hoso.people.cli import app
from hoso.people.schemas import PersonWrite

runner = CliRunner()
PID = "040085000001"


def _two_versions(session: Session) -> None:
    service.create(session, PersonWrite.model_validate(dossier_line()), principal=operator())
    service.update(
        session, PID, PersonWrite.model_validate(dossier_line(salary_step=5)), principal=operator()
    )


def test_show_current_version_and_as_of(orgs: Session) -> None:
    _two_versions(orgs)
    current = runner.invoke(app, ["show", PID])
    assert current.exit_code == 0, current.output
    assert orjson.loads(current.output)["data"]["salary_step"] == 5
    first = runner.invoke(app, ["show", PID, "--version", "1"])
    assert orjson.loads(first.output)["data"]["salary_step"] == 4
    before = runner.invoke(app, ["show", PID, "--as-of", "2020-01-01"])
    assert before.exit_code == 1
    assert "chưa tồn tại" in before.output and "did not exist" in before.output
    bad = runner.invoke(app, ["show", PID, "--as-of", "01/02/2026"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_versions_and_diff(orgs: Session) -> None:
    _two_versions(orgs)
    listed = runner.invoke(app, ["versions", PID, "--format", "json"])
    assert [v["version"] for v in orjson.loads(listed.output)] == [2, 1]
    table = runner.invoke(app, ["versions", PID])
    assert "phiên bản" in table.output and "sha256:" in table.output
    changes = runner.invoke(app, ["diff", PID, "1", "2", "--format", "json"])
    assert orjson.loads(changes.output)["changes"] == [
        {"path": "salary_step", "op": "changed", "old": 4, "new": 5}
    ]
    text = runner.invoke(app, ["diff", PID, "1", "2"])
    assert "salary_step" in text.output and "changed" in text.output
    missing = runner.invoke(app, ["diff", "040085999999", "1", "2"])
    assert missing.exit_code == 1 and "Không tìm thấy" in missing.output
