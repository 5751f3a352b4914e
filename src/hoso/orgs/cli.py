"""``hoso orgs``: import, export and list the organisation tree.

Commands run as the local operator (national scope) unless ``--agency CODE`` narrows the scope
to that unit's subtree. ``import`` runs in one ``unit_of_work()``: either the whole file is
applied or nothing is.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from hoso.auth.principal import operator
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError, InvalidInput, Issue
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgTreeIn, OrgUnitRead, issues_from_validation_error

app = typer.Typer(help="Cơ cấu tổ chức / organisation tree", no_args_is_help=True)

MAX_ISSUES_SHOWN = 50
_AGENCY_HELP = "Giới hạn trong cây con của đơn vị này / limit to this unit's subtree"


class OutputFormat(StrEnum):
    """Output format of listing commands."""

    table = "table"
    json = "json"


def fail(exc: HosoError) -> NoReturn:
    """Print a HosoError (and its issues) on stderr in Vietnamese and English; exit 1."""
    typer.echo(f"Lỗi / Error: {exc.message_vi} / {exc.message_en}", err=True)
    for issue in exc.issues[:MAX_ISSUES_SHOWN]:
        typer.echo(f"  - {issue.message_vi} / {issue.message_en}", err=True)
    hidden = len(exc.issues) - MAX_ISSUES_SHOWN
    if hidden > 0:
        typer.echo(f"  … và {hidden} lỗi khác / and {hidden} more", err=True)
    raise typer.Exit(1)


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain left-aligned text table (no colours, stable in pipes and tests)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [headers, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def read_orgtree(file: Path) -> OrgTreeIn:
    """Read an ``orgtree.upsert`` body, or a whole envelope carrying one, from a JSON file.

    The envelope's signature is not checked here (that is the exchange inbox's job): this
    reads a local file the operator chose.
    """
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            message_vi=f"Tệp '{file}' không phải UTF-8",
            message_en=f"File '{file}' is not UTF-8",
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            message_vi=f"Tệp '{file}' không phải JSON hợp lệ (dòng {exc.lineno}, cột {exc.colno})",
            message_en=f"File '{file}' is not valid JSON (line {exc.lineno}, column {exc.colno})",
        ) from exc
    prefix = ""
    if isinstance(data, dict) and "body" in data and "units" not in data:
        kind = data.get("type")
        if kind is not None and kind != "orgtree.upsert":
            raise InvalidInput(
                message_vi=f"Phong bì loại '{kind}', cần 'orgtree.upsert'",
                message_en=f"Envelope of type '{kind}', expected 'orgtree.upsert'",
                issues=[
                    Issue(
                        field="type",
                        code="wrong_message_type",
                        message_vi=f"type: cần 'orgtree.upsert', không phải '{kind}'",
                        message_en=f"type: expected 'orgtree.upsert', not '{kind}'",
                        value=kind,
                    )
                ],
            )
        data, prefix = data["body"], "body"
    try:
        return OrgTreeIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            message_vi="Cây tổ chức không hợp lệ",
            message_en="Invalid organisation tree",
            issues=issues_from_validation_error(exc, prefix=prefix),
        ) from exc


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help='Tệp JSON {"units": [...]} hoặc phong bì / JSON file or envelope',
    ),
    agency: str | None = typer.Option(None, "--agency", help=_AGENCY_HELP),
) -> None:
    """Nhập cây tổ chức (orgtree.upsert), không trùng lặp / import an org tree idempotently."""
    try:
        tree = read_orgtree(file)
        with unit_of_work() as session:
            result = orgs_service.upsert_units(
                session, tree.units, principal=operator(scope_code=agency)
            )
    except HosoError as exc:
        fail(exc)
    typer.echo(
        f"Đã nhập {result.total} đơn vị: {result.created} mới, {result.updated} cập nhật, "
        f"{result.unchanged} không đổi / Imported {result.total} units: {result.created} new, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )


@app.command("export")
def export(
    agency: str | None = typer.Option(None, "--agency", help=_AGENCY_HELP),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Tệp đích (mặc định stdout) / output file"
    ),
) -> None:
    """Xuất cây tổ chức dạng orgtree.upsert / export the org tree as an orgtree.upsert body."""
    try:
        with unit_of_work() as session:
            body = orgs_service.export(session, principal=operator(scope_code=agency))
    except HosoError as exc:
        fail(exc)
    text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    count = len(body["units"])
    if out is None:
        typer.echo(text, nl=False)
        typer.echo(f"Đã xuất {count} đơn vị / Exported {count} units", err=True)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Đã xuất {count} đơn vị vào {out} / Exported {count} units to {out}")


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help=_AGENCY_HELP),
    parent: str | None = typer.Option(None, "--parent", help="Chỉ con của đơn vị / children of"),
    q: str | None = typer.Option(None, "--q", help="Tìm theo tên hoặc mã / search name or code"),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table | json"),
) -> None:
    """Liệt kê đơn vị / list org units."""
    try:
        with unit_of_work() as session:
            units = orgs_service.list_(
                session, principal=operator(scope_code=agency), parent_code=parent, q=q
            )
            reads = [OrgUnitRead.from_model(u) for u in units]
    except HosoError as exc:
        fail(exc)
    if output is OutputFormat.json:
        payload = [r.model_dump(mode="json") for r in reads]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    rows = [
        [
            "  " * r.depth + r.code,
            r.name,
            r.kind,
            r.valid_to.isoformat() if r.valid_to else "",
            "" if r.staffing_quota is None else str(r.staffing_quota),
        ]
        for r in reads
    ]
    headers = ["Mã / code", "Tên / name", "Loại / kind", "Hết hiệu lực / ends", "Biên chế / quota"]
    typer.echo(render_table(headers, rows))
    typer.echo(f"{len(reads)} đơn vị / units")
