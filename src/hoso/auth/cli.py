"""``hoso users``: create users, list them, set a password.

Commands run as the local operator (national administrator, national scope), each in one
``unit_of_work()``.
"""

from __future__ import annotations

import json

import typer
from pydantic import ValidationError

from hoso.auth import service as auth_service
from hoso.auth.principal import ROLES, operator
from hoso.auth.schemas import UserCreate, UserRead
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError, InvalidInput
from hoso.orgs.cli import OutputFormat, fail, render_table
from hoso.orgs.schemas import issues_from_validation_error

app = typer.Typer(help="Người dùng / users", no_args_is_help=True)

_ROLE_HELP = "Vai trò / role: " + ", ".join(ROLES)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Tên đăng nhập / sign-in name"),
    role: str = typer.Option(..., "--role", help=_ROLE_HELP),
    org: str = typer.Option(..., "--org", help="Mã đơn vị / org unit code"),
    full_name: str = typer.Option(..., "--full-name", help="Họ và tên / full name"),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Mật khẩu (bỏ trống để sinh ngẫu nhiên) / password (default: generated)",
    ),
    personal_id: str | None = typer.Option(
        None, "--personal-id", help="Số định danh cá nhân 12 số / 12-digit personal ID"
    ),
) -> None:
    """Tạo người dùng / create a user (a strong password is generated when none is given)."""
    generated = password is None
    secret = password if password is not None else auth_service.generate_password()
    try:
        try:
            user_in = UserCreate(
                username=username,
                full_name=full_name,
                role=role,  # validated by pydantic
                org_unit_code=org,
                password=secret,
                personal_id=personal_id,
            )
        except ValidationError as exc:
            raise InvalidInput(issues=issues_from_validation_error(exc)) from exc
        with unit_of_work() as session:
            user = auth_service.create(session, user_in, principal=operator())
            summary = (
                f"Đã tạo người dùng '{user.username}' (vai trò {user.role}, đơn vị "
                f"{user.org_unit_code}) / Created user '{user.username}' (role {user.role}, "
                f"unit {user.org_unit_code})"
            )
    except HosoError as exc:
        fail(exc)
    typer.echo(summary)
    if generated:
        typer.echo(f"Mật khẩu / password: {secret}")


@app.command("list")
def list_(
    agency: str | None = typer.Option(
        None, "--agency", help="Giới hạn trong cây con của đơn vị / limit to this subtree"
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table | json"),
) -> None:
    """Liệt kê người dùng / list users."""
    try:
        with unit_of_work() as session:
            reads = [
                UserRead.from_model(u)
                for u in auth_service.list_(session, principal=operator(scope_code=agency))
            ]
    except HosoError as exc:
        fail(exc)
    if output is OutputFormat.json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in reads], ensure_ascii=False, indent=2)
        )
        return
    rows = [
        [
            r.username,
            r.full_name,
            r.role,
            r.org_unit_code,
            "có / yes" if r.is_active else "không / no",
        ]
        for r in reads
    ]
    headers = [
        "Tên đăng nhập / username",
        "Họ tên / name",
        "Vai trò / role",
        "Đơn vị / unit",
        "Hoạt động / active",
    ]
    typer.echo(render_table(headers, rows))
    typer.echo(f"{len(reads)} người dùng / users")


@app.command("set-password")
def set_password(
    username: str = typer.Argument(..., help="Tên đăng nhập / sign-in name"),
    password: str | None = typer.Option(
        None, "--password", help="Mật khẩu mới (bỏ trống để nhập) / new password (default: prompt)"
    ),
) -> None:
    """Đặt mật khẩu mới / set a new password (asked twice, hidden, when not given)."""
    if password is None:
        password = typer.prompt(
            "Mật khẩu mới / new password", hide_input=True, confirmation_prompt=True
        )
    try:
        with unit_of_work() as session:
            auth_service.set_password(session, username, password, principal=operator())
    except HosoError as exc:
        fail(exc)
    typer.echo(f"Đã đặt mật khẩu cho '{username}' / Password set for '{username}'")
