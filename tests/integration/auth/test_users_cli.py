"""``hoso users create|list|set-password`` with CliRunner."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from auth_factories import H41, add_tree
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hoso.auth import cli
from hoso.auth import service as auth_service
from hoso.db.engine import unit_of_work

runner = CliRunner()


def test_create_prints_a_generated_password_that_works(tree: Session) -> None:
    result = runner.invoke(
        cli.app,
        [
            "create",
            "hr.nghean",
            "--role",
            "hr_officer",
            "--org",
            H41,
            "--full-name",
            "Nguyễn Thị Hoa",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Đã tạo người dùng 'hr.nghean'" in result.stdout
    match = re.search(r"Mật khẩu / password: (\S+)", result.stdout)
    assert match, result.stdout
    password = match[1]
    assert len(password) >= 20
    user = auth_service.authenticate(tree, "hr.nghean", password)
    assert user.full_name == "Nguyễn Thị Hoa"
    assert user.password_hash.startswith("$argon2id$")


def test_create_with_a_given_password_and_refusals(tree: Session) -> None:
    ok = runner.invoke(
        cli.app,
        [
            "create",
            "admin.nghean",
            "--role",
            "agency_admin",
            "--org",
            H41,
            "--full-name",
            "Lê Văn Nam",
            "--password",
            "mot-mat-khau-dai",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "Mật khẩu / password" not in ok.stdout
    assert auth_service.authenticate(tree, "admin.nghean", "mot-mat-khau-dai")

    again = runner.invoke(
        cli.app,
        ["create", "admin.nghean", "--role", "agency_admin", "--org", H41, "--full-name", "X"],
    )
    assert again.exit_code == 1
    assert "đã được dùng" in again.stderr
    bad_role = runner.invoke(
        cli.app, ["create", "x.y.z", "--role", "king", "--org", H41, "--full-name", "X"]
    )
    assert bad_role.exit_code == 1
    assert "role" in bad_role.stderr
    short = runner.invoke(
        cli.app,
        [
            "create",
            "x.y.z",
            "--role",
            "approver",
            "--org",
            H41,
            "--full-name",
            "X",
            "--password",
            "short",
        ],
    )
    assert short.exit_code == 1
    assert "password" in short.stderr
    nowhere = runner.invoke(
        cli.app, ["create", "x.y.z", "--role", "approver", "--org", "NOWHERE", "--full-name", "X"]
    )
    assert nowhere.exit_code == 1
    assert "NOWHERE" in nowhere.stderr


def test_list_and_set_password_on_a_fresh_database(
    fresh_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(fresh_db_url)
    with unit_of_work() as session:
        add_tree(session)
    for name, org in (("a.nghean", H41), ("b.national", "VN")):
        r = runner.invoke(
            cli.app,
            ["create", name, "--role", "hr_officer", "--org", org, "--full-name", "Người dùng"],
        )
        assert r.exit_code == 0, r.output
    table = runner.invoke(cli.app, ["list"])
    assert table.exit_code == 0, table.output
    assert "a.nghean" in table.stdout and "b.national" in table.stdout
    assert table.stdout.splitlines()[-1] == "2 người dùng / users"
    scoped = runner.invoke(cli.app, ["list", "--agency", H41, "--format", "json"])
    assert [u["username"] for u in json.loads(scoped.stdout)] == ["a.nghean"]
    assert "password_hash" not in scoped.stdout

    prompted = runner.invoke(
        cli.app, ["set-password", "a.nghean"], input="mat-khau-moi-dai\nmat-khau-moi-dai\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert "Đã đặt mật khẩu cho 'a.nghean'" in prompted.stdout
    with unit_of_work() as session:
        assert auth_service.authenticate(session, "a.nghean", "mat-khau-moi-dai")
    unknown = runner.invoke(cli.app, ["set-password", "ghost", "--password", "mat-khau-moi-dai"])
    assert unknown.exit_code == 1
    assert "ghost" in unknown.stderr


def test_every_command_has_help() -> None:
    for command in ("create", "list", "set-password"):
        result = runner.invoke(cli.app, [command, "--help"])
        assert result.exit_code == 0, command
