"""``hoso people``: bulk import and export, template, and single-dossier reads."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from hoso.auth.principal import operator
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError, InvalidInput, Issue
from hoso.orgs.cli import OutputFormat, render_table
from hoso.people import bulk, service
from hoso.people import xlsx as xlsx_format

app = typer.Typer(help="Hồ sơ cán bộ, công chức, viên chức / dossiers", no_args_is_help=True)
err = Console(stderr=True)


def _fail(exc: HosoError) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {exc.message_vi} / {exc.message_en}")
    for issue in exc.issues[:20]:
        err.print(f"  - {issue.field}: {issue.message_vi} / {issue.message_en}")
    raise typer.Exit(code=1)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Tệp .jsonl hoặc .xlsx"),
    agency: str | None = typer.Option(
        None, "--agency", help="Chỉ nhận hồ sơ thuộc cơ quan này / limit to this agency's subtree"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Chỉ kiểm tra, không lưu / check only, store nothing"
    ),
    errors: Path | None = typer.Option(
        None, "--errors", help="Tệp JSON Lines ghi các dòng lỗi / error file"
    ),
    force: bool = typer.Option(
        False, "--force", help="Nhập lại tệp đã nhập đầy đủ / re-apply a completed file"
    ),
    batch_size: int = typer.Option(
        0, "--batch-size", help="Số dòng mỗi giao dịch (0 = cấu hình) / lines per transaction"
    ),
    quiet: bool = typer.Option(
        False, "--quiet", help="Không hiện thanh tiến trình / no progress bar"
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Số tiến trình kiểm tra (mặc định: 2 cho tệp lớn, 0 = không) / checking processes",
    ),
) -> None:
    """Nhập hồ sơ từ tệp JSON Lines hoặc XLSX / import dossiers from JSON Lines or XLSX."""
    size = batch_size or get_settings().import_batch_size
    is_xlsx = file.suffix.lower() in (".xlsx", ".xlsm")
    total = None if is_xlsx else file.stat().st_size
    columns = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns += [TextColumn("{task.completed} dòng")] if is_xlsx else [DownloadColumn()]
    columns.append(TimeRemainingColumn())
    try:
        with Progress(*columns, console=err, disable=quiet) as bar:
            task = bar.add_task("Đang nhập / importing", total=total)
            report = bulk.import_file(
                file,
                principal=operator(agency),
                agency=agency,
                dry_run=dry_run,
                errors_path=errors,
                batch_size=size,
                force=force,
                workers=workers,
                progress=lambda n: bar.update(task, completed=n),
            )
    except HosoError as exc:
        _fail(exc)
        return
    except ValueError as exc:
        err.print(f"[red]Lỗi / Error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    typer.echo(report.summary())


@app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", help="jsonl hoặc xlsx"),
    out: Path | None = typer.Option(None, "--out", help="Tệp kết quả (mặc định: stdout cho jsonl)"),
    agency: str | None = typer.Option(None, "--agency", help="Chỉ xuất hồ sơ của cơ quan này"),
) -> None:
    """Xuất phiên bản hiện hành của hồ sơ / export the current versions."""
    if fmt not in ("jsonl", "xlsx"):
        err.print(f"[red]Định dạng không hỗ trợ / unsupported format:[/red] {fmt}")
        raise typer.Exit(code=2)
    if fmt == "xlsx" and out is None:
        err.print("[red]Cần --out cho xlsx / --out is required for xlsx[/red]")
        raise typer.Exit(code=2)
    try:
        with unit_of_work() as session:
            records = bulk.export_records(session, principal=operator(agency), agency=agency)
            if fmt == "xlsx":
                assert out is not None
                count = xlsx_format.write_xlsx(out, records)
            elif out is None:
                count = bulk.export_jsonl(records, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                with out.open("wb") as fh:
                    count = bulk.export_jsonl(records, fh)
    except HosoError as exc:
        _fail(exc)
        return
    err.print(f"Đã xuất {count} hồ sơ / exported {count} dossiers" + (f" → {out}" if out else ""))


@app.command("template")
def template(
    out: Path = typer.Option(Path("mau_nhap_ho_so.xlsx"), "--out", help="Tệp mẫu"),
) -> None:
    """Tạo tệp mẫu XLSX có nhãn tiếng Việt / write the XLSX import template."""
    xlsx_format.write_template(out)
    typer.echo(f"Đã tạo tệp mẫu {out} / wrote template {out}")


@app.command("show")
def show(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    version: int | None = typer.Option(None, "--version", help="Phiên bản / version"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Hồ sơ tại ngày YYYY-MM-DD / the dossier as of a date"
    ),
) -> None:
    """Xem một hồ sơ (JSON) / print one dossier as JSON."""
    try:
        day = _day(as_of) if as_of else None
        with unit_of_work() as session:
            principal = operator()
            if version:
                dossier = service.get_version(session, personal_id, version, principal=principal)
            elif day is not None:
                dossier = service.get_as_of(session, personal_id, day, principal=principal)
            else:
                dossier = service.get_by_personal_id(session, personal_id, principal=principal)
    except HosoError as exc:
        _fail(exc)
        return
    typer.echo(orjson.dumps(dossier.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())


@app.command("versions")
def versions(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table hoặc json"),
) -> None:
    """Lịch sử phiên bản của một hồ sơ / the version history of a dossier, newest first."""
    try:
        with unit_of_work() as session:
            metas = service.list_versions(session, personal_id, principal=operator())
    except HosoError as exc:
        _fail(exc)
        return
    if fmt is OutputFormat.json:
        typer.echo(orjson.dumps([m.model_dump(mode="json") for m in metas]).decode())
        return
    rows = [
        [
            str(m.version),
            m.status,
            m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            m.created_by,
            m.source,
            m.content_hash,
        ]
        for m in metas
    ]
    typer.echo(
        render_table(
            ["phiên bản", "trạng thái", "thời điểm (UTC)", "người tạo", "nguồn", "mã băm"], rows
        )
    )


@app.command("diff")
def diff(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    from_version: int = typer.Argument(..., help="Từ phiên bản / from version"),
    to_version: int = typer.Argument(..., help="Đến phiên bản / to version"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table hoặc json"),
) -> None:
    """So sánh hai phiên bản / the differences between two versions of a dossier."""
    try:
        with unit_of_work() as session:
            result = service.diff(
                session, personal_id, from_version, to_version, principal=operator()
            )
    except HosoError as exc:
        _fail(exc)
        return
    if fmt is OutputFormat.json:
        typer.echo(orjson.dumps(result.model_dump(mode="json")).decode())
        return

    def cell(value: object) -> str:
        return "" if value is None else orjson.dumps(value).decode()

    rows = [[c.path, c.op, cell(c.old), cell(c.new)] for c in result.changes]
    typer.echo(render_table(["trường", "thay đổi", "cũ", "mới"], rows))


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            issues=[
                Issue(
                    field="--as-of",
                    code="invalid_date",
                    message_vi=f"Ngày không hợp lệ: {text!r} (cần YYYY-MM-DD)",
                    message_en=f"Invalid date: {text!r} (expected YYYY-MM-DD)",
                    value=text,
                )
            ]
        ) from None
