"""Commands of the registry simulator, mounted by the lead as ``hoso population …``.

- ``serve [--host H] [--port 8100] [--latency-ms MS] [--error-rate R] [--timeout-rate R]
  [--timeout-seconds S] [--down/--up]`` runs the HTTP API (uvicorn, one process); the
  fault options default to the ``HOSO_POPSIM_*`` settings of the same names;
- ``seed (--count N | --registry-file FILE [--labels-file FILE]) [--seed S]
  [--defect-rate R] [--others-factor 3] [--difference-rate 0.01] [--truth FILE]
  [--as-of DATE]`` replaces the registry's citizens (see :mod:`hoso.popsim.seed`);
- ``load FILE [--errors FILE] [--batch-size N]`` upserts citizens from JSON Lines.

All of them work on ``HOSO_POPSIM_DATABASE_URL`` (the simulator's own database).
:func:`register` adds them to a Typer app.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from hoso.generate.people import DEFAULT_AS_OF
from hoso.popsim import load as load_module
from hoso.popsim import seed as seed_module
from hoso.popsim.api import Faults, create_app
from hoso.popsim.models import open_engine

err = Console(stderr=True)

_STAGES = {
    "generate": "Sinh hồ sơ CBCCVC / generating civil servants",
    "civil_servants": "Ghi CBCCVC / storing civil servants",
    "others": "Ghi công dân khác / storing other citizens",
}


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Địa chỉ lắng nghe / bind address"),
    port: int = typer.Option(8100, "--port", help="Cổng / port"),
    latency_ms: float | None = typer.Option(
        None,
        "--latency-ms",
        min=0,
        help="Độ trễ thêm mỗi lần gọi (ms) / added latency [HOSO_POPSIM_LATENCY_MS]",
    ),
    error_rate: float | None = typer.Option(
        None,
        "--error-rate",
        min=0,
        max=1,
        help="Tỷ lệ trả lỗi 503 / share of 503 answers [HOSO_POPSIM_ERROR_RATE]",
    ),
    timeout_rate: float | None = typer.Option(
        None,
        "--timeout-rate",
        min=0,
        max=1,
        help="Tỷ lệ treo quá thời gian / share of timeouts [HOSO_POPSIM_TIMEOUT_RATE]",
    ),
    timeout_seconds: float | None = typer.Option(
        None,
        "--timeout-seconds",
        min=0,
        help="Thời gian treo (giây) / how long a timeout hangs [HOSO_POPSIM_TIMEOUT_SECONDS]",
    ),
    down: bool | None = typer.Option(
        None,
        "--down/--up",
        help="Giả lập ngừng phục vụ / answer 503 to all [HOSO_POPSIM_DOWN]",
        show_default=False,
    ),
    fd: int | None = typer.Option(
        None, "--fd", hidden=True, help="Socket đã mở sẵn / an already bound socket (tests)"
    ),
) -> None:
    """Chạy máy chủ mô phỏng CSDL dân cư / serve the population-registry simulator.

    Each fault option defaults to its ``HOSO_POPSIM_*`` setting (all off by default).
    """
    import uvicorn

    faults = Faults.from_settings()
    given = {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "timeout_rate": timeout_rate,
        "timeout_seconds": timeout_seconds,
        "down": down,
    }
    for name, value in given.items():
        if value is not None:
            setattr(faults, name, value)
    app = create_app(faults=faults)
    # Access logs would record URLs, which carry personal IDs.
    if fd is not None:
        uvicorn.run(app, fd=fd, log_level="warning", access_log=False)
    else:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def seed(
    count: int | None = typer.Option(
        None, "--count", min=0, help="Số CBCCVC sinh lại (không có --registry-file) / people"
    ),
    seed: int = typer.Option(1, "--seed", help="Hạt giống ngẫu nhiên / random seed"),
    defect_rate: float = typer.Option(
        0.0, "--defect-rate", min=0, max=1, help="Như hoso generate people / as for generate"
    ),
    registry_file: Path | None = typer.Option(
        None,
        "--registry-file",
        exists=True,
        dir_okay=False,
        help="Tệp --registry của hoso generate people (nhanh hơn sinh lại) / registry view file",
    ),
    labels_file: Path | None = typer.Option(
        None,
        "--labels-file",
        exists=True,
        dir_okay=False,
        help="Tệp --labels của cùng lần sinh / the same run's defect labels",
    ),
    others_factor: float = typer.Option(
        3.0,
        "--others-factor",
        min=0,
        help="Số công dân khác gấp mấy lần / other citizens per CBCCVC",
    ),
    difference_rate: float = typer.Option(
        0.01,
        "--difference-rate",
        min=0,
        max=1,
        help="Tỷ lệ CBCCVC có khác biệt cài sẵn / share of civil servants given a difference",
    ),
    truth: Path | None = typer.Option(
        None, "--truth", help="Tệp JSON Lines ghi các khác biệt / ground-truth file"
    ),
    as_of: str = typer.Option(
        DEFAULT_AS_OF.isoformat(), "--as-of", help="Ngày dữ liệu phản ánh / the data's as-of date"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Không hiện tiến trình / no progress bar"),
) -> None:
    """Nạp dữ liệu mô phỏng vào CSDL dân cư / fill the simulator with citizens."""
    if registry_file is None and count is None:
        err.print("[red]Lỗi / Error:[/red] cần --count hoặc --registry-file / needs one of them")
        raise typer.Exit(code=2)
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        err.print(f"[red]Lỗi / Error:[/red] --as-of '{as_of}' không hợp lệ / invalid date")
        raise typer.Exit(code=2) from None
    engine = open_engine()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err, disable=quiet) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, advance: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
                bar.update(tasks[stage], advance=advance)

            report = seed_module.seed(
                engine,
                count=count,
                seed=seed,
                defect_rate=defect_rate,
                registry_file=registry_file,
                labels_file=labels_file,
                others_factor=others_factor,
                difference_rate=difference_rate,
                truth=truth,
                as_of=day,
                progress=progress,
            )
    except ValueError as exc:
        err.print(f"[red]Lỗi / Error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    typer.echo(report.summary())


def load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Tệp JSON Lines"),
    errors: Path | None = typer.Option(
        None, "--errors", help="Tệp JSON Lines ghi mọi dòng lỗi / every line error"
    ),
    batch_size: int = typer.Option(
        5000, "--batch-size", min=1, help="Số dòng mỗi giao dịch / lines per transaction"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Không hiện tiến trình / no progress bar"),
) -> None:
    """Nạp công dân từ tệp JSON Lines / load citizens from JSON Lines (upsert by ID)."""
    engine = open_engine()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err, disable=quiet) as bar:
            task = bar.add_task("Đang nạp / loading", total=file.stat().st_size)
            report = load_module.load(
                engine,
                file,
                batch_size=batch_size,
                errors_file=errors,
                progress=lambda n: bar.update(task, advance=n),
            )
    finally:
        engine.dispose()
    typer.echo(report.summary())
    for line_error in report.errors[:20]:
        err.print(f"  - {line_error.message}", markup=False, highlight=False, soft_wrap=True)
    if report.rejected > 20:
        err.print(
            f"  … và {report.rejected - 20} dòng lỗi khác / and {report.rejected - 20} more"
            + (f" (xem / see {errors})" if errors else "")
        )
    if report.rejected:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``seed`` and ``load`` to ``app`` (the lead mounts ``hoso population``)."""
    app.command("serve")(serve)
    app.command("seed")(seed)
    app.command("load")(load)
