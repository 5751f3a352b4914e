"""``hoso population``: verify dossiers against the population registry and list the results.

``match`` runs (or resumes) a verification run: one transaction per batch, so an
interrupted run keeps its finished batches and the next ``match`` of the same scope
resumes after them. ``link`` links the dossiers still not found with a registry extract
(Splink, :mod:`hoso.population.linking`). ``results`` lists per person the outcome and the differing fields
with both values. The registry simulator's commands (``serve``, ``seed``, ``load``) are
added by :mod:`hoso.popsim.cli` when it is installed.
"""

from __future__ import annotations

import enum
import importlib
import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hoso.auth.principal import operator
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError

# The service, its matching tables (the catalogue) and the HTTP client are imported by the
# commands that use them: ``hoso --help`` and every other command load this module.

app = typer.Typer(
    help="Đối chiếu với CSDLQG về dân cư / population-registry matching", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


class ResultsFormat(enum.StrEnum):
    """Output of ``hoso population results``."""

    jsonl = "jsonl"
    xlsx = "xlsx"
    table = "table"


def _fail(exc: HosoError, code: int = 1) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {exc.message_vi} / {exc.message_en}")
    for issue in exc.issues[:20]:
        err.print(f"  - {issue.field}: {issue.message_vi} / {issue.message_en} ({issue.value!r})")
    raise typer.Exit(code=code)


@app.command("match")
def match(
    agency: str | None = typer.Option(
        None, "--agency", help="Chỉ các hồ sơ thuộc cơ quan này (cả cây) / only this subtree"
    ),
    url: str | None = typer.Option(
        None, "--url", help="Địa chỉ CSDLQG về dân cư (mặc định HOSO_POPULATION_URL) / registry URL"
    ),
    batch_size: int = typer.Option(
        0, "--batch-size", help="Số hồ sơ mỗi lô, tối đa 1000 (0 = cấu hình) / people per batch"
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Bỏ lần chạy dở, chạy lại từ đầu / start over from the first"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Không hiện tiến trình / no progress bar"),
) -> None:
    """Đối chiếu hồ sơ với CSDLQG về dân cư / verify dossiers against the population registry."""
    from hoso.population import service
    from hoso.population.client import RegistryClient, RegistryRejected, RegistryUnavailable

    settings = get_settings()
    size = batch_size or settings.population_batch_size
    if not 1 <= size <= 1000:
        err.print(
            f"[red]Lỗi / Error:[/red] --batch-size phải từ 1 đến 1000 / must be 1..1000 ({size})"
        )
        raise typer.Exit(code=2)
    base_url = url or settings.population_url
    client = RegistryClient.from_settings(base_url=base_url, batch_size=size)
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"), TimeRemainingColumn(),
    ]  # fmt: skip
    try:
        with client, Progress(*columns, console=err, disable=quiet) as bar:
            task = bar.add_task("Đang đối chiếu / matching", total=None, counts="")

            def progress(report: service.JobReport) -> None:
                counts = " ".join(f"{k}={v:,}" for k, v in sorted(report.counts.items()))
                bar.update(task, total=report.total, completed=report.done, counts=counts)

            report = service.run_job(
                client,
                actor="operator",
                registry_url=base_url,
                agency=agency,
                batch_size=size,
                restart=restart,
                progress=progress,
                registry_errors=lambda: list(client.stats.errors),
            )
    except (RegistryUnavailable, RegistryRejected) as exc:
        err.print(
            f"[red]Lỗi / Error:[/red] {exc.message_vi} / {exc.message_en}\n"
            "Các lô đã xong được giữ lại; chạy lại 'hoso population match' để tiếp tục / "
            "finished batches are kept; run 'hoso population match' again to resume"
        )
        raise typer.Exit(code=3) from None
    except HosoError as exc:
        _fail(exc)
        return
    typer.echo(report.summary())
    stats = client.stats
    if stats.retries or stats.rate_limited:
        typer.echo(
            f"Gọi CSDLQG {service.vi_int(stats.calls)} lần, thử lại "
            f"{service.vi_int(stats.retries)}, bị giới hạn {service.vi_int(stats.rate_limited)}, "
            f"chờ {stats.waited_seconds:.1f} giây / registry calls "
            f"{stats.calls:,}, retries {stats.retries:,}, rate-limited {stats.rate_limited:,}, "
            f"waited {stats.waited_seconds:.1f} s"
        )


@app.command("link")
def link(
    registry: Path = typer.Option(
        ...,
        "--registry",
        exists=True,
        dir_okay=False,
        help="Tệp dữ liệu dân cư (JSON Lines như 'load', hoặc Parquet) / registry extract",
    ),
    agency: str | None = typer.Option(None, "--agency", help="Cơ quan (cả cây) / agency subtree"),
    spark: bool = typer.Option(False, "--spark", help="Chạy mô hình trên Spark / run on Spark"),
) -> None:
    """Ghép xác suất các hồ sơ chưa tìm thấy theo số / link the not-found dossiers (Splink)."""
    from hoso.population import linking

    try:
        with unit_of_work() as session:
            report = linking.link_not_found(
                session,
                registry,
                actor=operator().username,
                agency=agency,
                backend="spark" if spark else "duckdb",
            )
    except HosoError as exc:
        _fail(exc)
    out.print(
        f"Đã ghép {report.records:,} hồ sơ: {report.matched:,} khớp (tự động), "
        f"{report.potential:,} cần duyệt, {report.not_found:,} không tìm thấy / linked "
        f"{report.records:,} dossiers: {report.matched:,} matched (automatic), "
        f"{report.potential:,} for review, {report.not_found:,} not found"
    )


@app.command("results")
def results(
    agency: str | None = typer.Option(None, "--agency", help="Cơ quan (cả cây) / agency subtree"),
    outcome: str | None = typer.Option(
        None, "--outcome", help="matched | potential_match | conflict | not_found"
    ),
    fmt: ResultsFormat = typer.Option(ResultsFormat.table, "--format", help="jsonl | xlsx | table"),
    out_path: Path | None = typer.Option(None, "--out", help="Tệp đầu ra / output file"),
    limit: int = typer.Option(50, "--limit", help="Số dòng tối đa của bảng / table rows"),
) -> None:
    """Kết quả đối chiếu từng người / the registry result of each person."""
    from hoso.population import service
    from hoso.population import xlsx as xlsx_format

    if fmt is ResultsFormat.xlsx and out_path is None:
        err.print("[red]Lỗi / Error:[/red] --format xlsx cần --out / needs --out FILE")
        raise typer.Exit(code=2)
    principal = operator()
    try:
        with unit_of_work() as session:
            rows = service.iter_results(
                session, principal=principal, agency=agency, outcome=outcome,
                limit=limit if fmt is ResultsFormat.table else None,
            )  # fmt: skip
            if fmt is ResultsFormat.jsonl:
                sink = out_path.open("wb") if out_path else sys.stdout.buffer
                n = 0
                try:
                    for row in rows:
                        sink.write(orjson.dumps(row) + b"\n")
                        n += 1
                finally:
                    if out_path:
                        sink.close()
                    else:
                        sink.flush()
            elif fmt is ResultsFormat.xlsx:
                assert out_path is not None
                n = xlsx_format.write_results(rows, out_path)
            else:
                n = _print_table(rows)
                total = service.count_results(
                    session, principal=principal, agency=agency, outcome=outcome
                )
                counts = service.counts_by_outcome(session, principal=principal, agency=agency)
                out.print(
                    f"{service.vi_int(n)} / {service.vi_int(total)} người / {n:,} / {total:,} people"
                )
                out.print(
                    ", ".join(
                        f"{service.OUTCOME_VI[o]} ({o}) {service.vi_int(c)}"
                        for o, c in counts.items()
                    )
                )
            service.audit_read(session, actor=principal.username, agency=agency, count=n)
    except HosoError as exc:
        _fail(exc)
        return
    if out_path:
        err.print(
            f"Đã ghi {service.vi_int(n)} người vào {out_path} / wrote {n:,} people to {out_path}"
        )


def _print_table(rows: Any) -> int:
    from hoso.population import service

    table = Table(
        "Số định danh", "Họ và tên", "Cơ quan", "Kết quả", "Trường khác biệt: hồ sơ → CSDLQG",
        "Thời điểm (UTC)", "Quyết định",
    )  # fmt: skip
    n = 0
    for row in rows:
        diffs = "; ".join(
            f"{d['field']}: {d.get('ours')!s} → {d.get('registry')!s}" for d in row["differences"]
        )
        table.add_row(
            row["personal_id"], row["name"] or "", row["agency"],
            service.OUTCOME_VI.get(row["outcome"], row["outcome"]), diffs[:80],
            row["matched_at"].strftime("%Y-%m-%d %H:%M"), row["decision"],
        )  # fmt: skip
        n += 1
    out.print(table)
    return n


def _register_simulator() -> None:
    """Add ``serve``, ``seed`` and ``load`` of the registry simulator when it is installed."""
    try:
        module = importlib.import_module("hoso.popsim.cli")
    except ModuleNotFoundError as exc:
        if exc.name in ("hoso.popsim", "hoso.popsim.cli"):
            return
        raise
    module.register(app)


_register_simulator()
