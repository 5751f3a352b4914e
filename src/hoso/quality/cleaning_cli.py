"""``hoso quality propose|fixes|accept|reject``: cleaning proposals reviewed by a person.

Each command runs in one ``unit_of_work()`` as the local operator (national scope;
``--agency`` narrows it). ``accept`` commits what it could accept and exits with code 1
when any fix was not accepted, after printing why.
"""

from __future__ import annotations

import enum
import re
import sys
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hoso.auth.principal import operator
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError
from hoso.quality import cleaning, service
from hoso.quality.cleaning import FixOutcome
from hoso.quality.models import FixStatus
from hoso.quality.schemas import FixRead

app = typer.Typer(
    help="Làm sạch dữ liệu có người duyệt / cleaning reviewed by a person", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()

_CHOICE = re.compile(r"^(\d+):([^=]+)=(.*)$")
_PAGE = 500


class FixesFormat(enum.StrEnum):
    """Output of ``hoso quality fixes``."""

    table = "table"
    jsonl = "jsonl"


def _fail(exc: HosoError) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {escape(exc.message_vi)} / {escape(exc.message_en)}")
    for issue in exc.issues[:20]:
        err.print(
            f"  - {escape(issue.field)}: {escape(issue.message_vi)} / "
            f"{escape(issue.message_en)} ({issue.value!r})"
        )
    raise typer.Exit(code=1)


def _usage(vi: str, en: str) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {escape(vi)} / {escape(en)}")
    raise typer.Exit(code=2)


def _value(value: Any) -> str:
    if value is None:
        return "∅"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@app.command("propose")
def propose(
    agency: str | None = typer.Option(
        None, "--agency", help="Chỉ cơ quan này (cả cây con) / only this agency's subtree"
    ),
    rules: list[str] | None = typer.Option(
        None,
        "--rule",
        help="Chỉ quy tắc này, lặp lại được (mặc định: mọi quy tắc làm sạch) / only this rule",
    ),
) -> None:
    """Đề xuất làm sạch từ các phát hiện hiện có / propose fixes from the current findings."""
    try:
        with unit_of_work() as session:
            report = cleaning.propose(session, principal=operator(), agency=agency, rules=rules)
    except HosoError as exc:
        _fail(exc)
        return
    out.print(
        f"Đã tạo {report.created:,} đề xuất, bỏ qua {report.skipped:,} (đã có đề xuất), "
        f"{report.superseded:,} đề xuất cũ hết hiệu lực, {report.manual:,} hồ sơ cần sửa tay / "
        f"created {report.created:,} fixes, skipped {report.skipped:,}, superseded "
        f"{report.superseded:,}, {report.manual:,} records to correct by hand"
    )


def _status(value: str) -> str | None:
    if value == "all":
        return None
    if value not in cleaning.STATUSES:
        _usage(
            f"--status '{value}' không hợp lệ ({', '.join(cleaning.STATUSES)}, all)",
            f"invalid --status '{value}' ({', '.join(cleaning.STATUSES)}, all)",
        )
    return value


@app.command("fixes")
def fixes(
    agency: str | None = typer.Option(None, "--agency", help="Cơ quan (cả cây) / agency subtree"),
    status: str = typer.Option(
        FixStatus.PROPOSED,
        "--status",
        help="proposed | accepted | rejected | superseded | all",
    ),
    fmt: FixesFormat = typer.Option(FixesFormat.table, "--format", help="table | jsonl"),
    limit: int = typer.Option(50, "--limit", help="Số đề xuất tối đa / fixes listed"),
) -> None:
    """Danh sách đề xuất làm sạch và thay đổi (cũ → mới) / list fixes with their diff."""
    wanted = _status(status)
    try:
        with unit_of_work() as session:
            principal = operator()
            items = cleaning.list_fixes(
                session, principal=principal, agency=agency, status=wanted, limit=limit
            )
            total = cleaning.count_fixes(session, principal=principal, agency=agency, status=wanted)
            reads = [FixRead.model_validate(f) for f in items]
            service.audit_read(
                session, actor=principal.username, what="fixes", agency=agency, count=len(reads)
            )
    except HosoError as exc:
        _fail(exc)
        return
    if fmt is FixesFormat.jsonl:
        for fix in reads:
            sys.stdout.write(fix.model_dump_json() + "\n")
        return
    table = Table(
        "Số / id",
        "Số định danh",
        "Trạng thái",
        "Trường / field",
        "Cũ → mới / old → new",
        "Lựa chọn / candidates",
        "Ghi chú / note",
        title="Đề xuất làm sạch / cleaning proposals",
    )
    for fix in reads:
        for change in fix.changes:
            if change.kind == cleaning.NOTE:
                diff = f"{_value(change.old)} (giữ nguyên / unchanged)"
            elif change.ambiguous:
                diff = f"{_value(change.old)} → ? (cần chọn / choose)"
            else:
                diff = f"{_value(change.old)} → {_value(change.new)}"
            candidates = ", ".join(
                f"{c.get('value')} ({c.get('label')})" for c in change.candidates
            )
            table.add_row(
                str(fix.id),
                fix.personal_id,
                fix.status,
                escape(change.field),
                escape(diff),
                escape(candidates),
                escape(f"{change.rule_id}: {change.note_vi}"),
            )
    out.print(table)
    out.print(f"{len(reads):,} / {total:,} đề xuất / fixes")


def _choices(values: list[str]) -> dict[int, dict[str, str]]:
    chosen: dict[int, dict[str, str]] = {}
    for raw in values:
        m = _CHOICE.match(raw)
        if m is None:
            _usage(
                f"--choose '{raw}' phải có dạng FIX_ID:FIELD=VALUE",
                f"--choose '{raw}' must look like FIX_ID:FIELD=VALUE",
            )
            continue
        chosen.setdefault(int(m[1]), {})[m[2].strip()] = m[3].strip()
    return chosen


def _print_outcome(o: FixOutcome) -> None:
    mark = {"accepted": "[green]✓[/green]", "superseded": "[yellow]↻[/yellow]"}.get(
        o.status, "[red]✗[/red]"
    )
    out.print(f"{mark} {o.fix_id} {o.status}: {escape(o.message_vi)} / {escape(o.message_en)}")


@app.command("accept")
def accept(
    ids: list[int] | None = typer.Argument(None, help="Số đề xuất / fix ids"),
    all_: bool = typer.Option(
        False, "--all", help="Mọi đề xuất đang chờ (của --agency) / every proposed fix"
    ),
    agency: str | None = typer.Option(
        None, "--agency", help="Với --all: chỉ cơ quan này (cả cây) / with --all: agency subtree"
    ),
    choose: list[str] | None = typer.Option(
        None,
        "--choose",
        help="Lựa chọn cho thay đổi cần chọn, FIX_ID:FIELD=VALUE, lặp lại được / "
        "a choice for an ambiguous change",
    ),
) -> None:
    """Chấp nhận đề xuất: mỗi đề xuất thành một phiên bản nháp cần phê duyệt / accept fixes."""
    if bool(ids) == all_:
        _usage(
            "Cần đúng một trong hai: danh sách số đề xuất hoặc --all",
            "Give either fix ids or --all, not both or neither",
        )
    if agency is not None and not all_:
        _usage("--agency chỉ dùng với --all", "--agency goes with --all only")
    chosen = _choices(choose or [])
    try:
        with unit_of_work() as session:
            principal = operator()
            wanted = list(ids or [])
            if all_:
                while True:
                    page = cleaning.list_fixes(
                        session, principal=principal, agency=agency, limit=_PAGE, offset=len(wanted)
                    )
                    wanted.extend(f.id for f in page)
                    if len(page) < _PAGE:
                        break
                if not wanted:
                    out.print("Không có đề xuất nào đang chờ / no proposed fix")
                    return
            outcomes = cleaning.accept(session, wanted, principal=principal, choices=chosen)
    except HosoError as exc:
        _fail(exc)
        return
    for o in outcomes:
        _print_outcome(o)
    accepted = sum(o.status == "accepted" for o in outcomes)
    out.print(
        f"Đã chấp nhận {accepted:,} / {len(outcomes):,} đề xuất / accepted {accepted:,} of "
        f"{len(outcomes):,} fixes"
    )
    if accepted != len(outcomes):
        raise typer.Exit(code=1)


@app.command("reject")
def reject(
    ids: list[int] = typer.Argument(..., help="Số đề xuất / fix ids"),
    reason: str = typer.Option(..., "--reason", help="Lý do từ chối (bắt buộc) / reason"),
) -> None:
    """Từ chối đề xuất, có ghi lý do / reject fixes with a reason."""
    try:
        with unit_of_work() as session:
            n = cleaning.reject(session, ids, principal=operator(), reason=reason)
    except HosoError as exc:
        _fail(exc)
        return
    out.print(f"Đã từ chối {n:,} đề xuất / rejected {n:,} fixes")
