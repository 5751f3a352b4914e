"""``hoso db``: migrate the database chosen by ``HOSO_DATABASE_URL`` and show its revision."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from hoso.config import get_settings

app = typer.Typer(
    name="db",
    help="Cơ sở dữ liệu: nâng cấp lược đồ / database schema migrations.",
    no_args_is_help=True,
)


def _safe_url(url: str) -> str:
    """The URL with its password masked, for printing."""
    return make_url(url).render_as_string(hide_password=True)


@app.command()
def upgrade(
    revision: str = typer.Option("head", help="Phiên bản đích / target revision"),
) -> None:
    """Nâng cấp cơ sở dữ liệu / migrate the database up to a revision (default: head)."""
    from hoso.db import migrate  # Alembic loads only for the commands that need it

    url = get_settings().database_url
    try:
        before = migrate.current(url)
        migrate.upgrade(url, revision)
        after = migrate.current(url)
    except Exception as exc:
        typer.echo(
            f"Nâng cấp thất bại / upgrade failed: {_safe_url(url)}: {type(exc).__name__}: {exc}",
            err=True,
        )
        raise typer.Exit(code=1) from exc
    change = "không đổi / unchanged" if before == after else "đã nâng cấp / upgraded"
    typer.echo(
        f"{_safe_url(url)}: {before or 'trống / empty'} → {after or 'trống / empty'} ({change})"
    )


@app.command()
def current() -> None:
    """Phiên bản hiện tại / print the database's current revision and the newest one shipped."""
    from hoso.db import migrate

    url = get_settings().database_url
    try:
        revision = migrate.current(url)
    except Exception as exc:
        typer.echo(
            f"Không đọc được / cannot read: {_safe_url(url)}: {type(exc).__name__}: {exc}",
            err=True,
        )
        raise typer.Exit(code=1) from exc
    head = migrate.head()
    state = "mới nhất / up to date" if revision == head else f"cần nâng cấp lên / behind {head}"
    typer.echo(f"{_safe_url(url)}: {revision or 'trống / empty'} ({state})")
