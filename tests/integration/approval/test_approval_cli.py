"""``hoso approve ...`` in-process with CliRunner, over the real services and database."""

from __future__ import annotations

from pathlib import Path

import orjson
from approval_world import (  # type: ignore[import-not-found]
    H41,
    TITLE,
    World,
    current,
    force_verified,
    pid_of,
    store,
)
from typer.testing import CliRunner

from hoso.approval.cli import app
from hoso.people.models import VersionStatus

runner = CliRunner()
PID = pid_of(1)


def sign_args(world: World, tmp_path: Path, signer: str, as_user: str) -> list[str]:
    p12 = world.pki.write_p12(world.signers[signer], f"{signer}-{tmp_path.name}.p12", b"mat-khau")
    password = tmp_path / "password.txt"
    password.write_text("mat-khau\n", encoding="utf-8")
    return [
        "--p12", str(p12), "--password-file", str(password), "--title", TITLE,
        "--as", as_user, "--trust", str(world.pki.ca_path),
    ]  # fmt: skip


def test_submit_verify_pending_and_sign(world: World, tmp_path: Path) -> None:
    store(world, [PID])
    submitted = runner.invoke(app, ["submit", PID, "--as", "hr41a"])
    assert submitted.exit_code == 0, submitted.output
    assert "đã trình" in submitted.output and "SUBMITTED" in submitted.output
    own = runner.invoke(app, ["verify", PID, "--as", "hr41a"])
    assert own.exit_code == 1 and "không được tự thẩm định" in own.output
    verified = runner.invoke(app, ["verify", PID, "--as", "hr41b"])
    assert verified.exit_code == 0, verified.output
    listed = runner.invoke(app, ["pending", "--format", "json", "--as", "boss41"])
    assert [(r["personal_id"], r["status"]) for r in orjson.loads(listed.output)] == [
        (PID, VersionStatus.VERIFIED)
    ]
    table = runner.invoke(app, ["pending", "--agency", H41])
    assert "số định danh" in table.output and PID in table.output

    signed = runner.invoke(
        app, ["sign", PID, *sign_args(world, tmp_path, "boss41", "boss41"), "--quiet"]
    )
    assert signed.exit_code == 0, signed.output
    assert "Đã phê duyệt 1, từ chối 0" in signed.output
    _person, version = current(world.session, PID)
    assert version.status == VersionStatus.QUEUED and version.approval is not None
    assert version.approval["approved_by"]["title"] == TITLE


def test_sign_all_verified_and_refusals(world: World, tmp_path: Path) -> None:
    pids = [pid_of(i) for i in range(1, 31)]
    store(world, pids)
    force_verified(world.session, pids)
    wrong = runner.invoke(
        app,
        ["sign", pids[0], "040085099999", *sign_args(world, tmp_path, "deputy41", "boss41"),
         "--quiet"],
    )  # fmt: skip
    assert wrong.exit_code == 1
    assert "approver_mismatch" in wrong.output and "040085099999 v0: not_found" in wrong.output
    assert current(world.session, pids[0])[1].status == VersionStatus.VERIFIED

    bulk = runner.invoke(
        app,
        ["sign", "--all-verified", "--agency", H41,
         *sign_args(world, tmp_path, "boss41", "boss41"), "--format", "json"],
    )  # fmt: skip
    assert bulk.exit_code == 0, bulk.output
    report = orjson.loads(bulk.output.strip().splitlines()[-1])
    assert (report["approved"], report["refused"]) == (30, 0)
    assert {current(world.session, p)[1].status for p in pids} == {VersionStatus.QUEUED}

    neither = runner.invoke(app, ["sign", *sign_args(world, tmp_path, "boss41", "boss41")])
    assert neither.exit_code == 2
    unknown = runner.invoke(
        app, ["sign", PID, *sign_args(world, tmp_path, "boss41", "nobody"), "--quiet"]
    )
    assert unknown.exit_code == 1 and "nobody" in unknown.output
