"""``hoso db upgrade`` and ``hoso db current`` on the database of HOSO_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from hoso.db import cli, migrate

runner = CliRunner()


def test_upgrade_prints_one_line_from_empty_to_head(
    empty_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(empty_db_url)
    result = runner.invoke(cli.app, ["upgrade"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"→ {migrate.head()}" in lines[0]
    assert "trống / empty →" in lines[0]
    assert migrate.current(empty_db_url) == migrate.head()

    again = runner.invoke(cli.app, ["upgrade", "--revision", "head"])
    assert again.exit_code == 0, again.output
    assert "không đổi / unchanged" in again.output


def test_current_says_whether_the_database_is_up_to_date(
    empty_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(empty_db_url)
    before = runner.invoke(cli.app, ["current"])
    assert before.exit_code == 0, before.output
    assert f"behind {migrate.head()}" in before.output
    migrate.upgrade(empty_db_url)
    after = runner.invoke(cli.app, ["current"])
    assert after.exit_code == 0, after.output
    assert f"{migrate.head()} (mới nhất / up to date)" in after.output


def test_upgrade_to_an_unknown_revision_fails(
    empty_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(empty_db_url)
    result = runner.invoke(cli.app, ["upgrade", "--revision", "9999"])
    assert result.exit_code == 1
    assert "upgrade failed" in result.output
    assert migrate.current(empty_db_url) is None


def test_printed_urls_hide_the_password() -> None:
    shown = cli._safe_url("postgresql+psycopg://hoso:s3cret@db.example/hoso")
    assert "s3cret" not in shown
    assert shown == "postgresql+psycopg://hoso:***@db.example/hoso"


def test_every_command_has_help() -> None:
    for args in (["--help"], ["upgrade", "--help"], ["current", "--help"]):
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
