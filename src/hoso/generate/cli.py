"""``hoso generate``: synthetic org trees and dossiers written to files (no database).

- ``hoso generate orgs [--seed S] [--agencies N] [--out FILE]`` writes an ``orgtree.upsert``
  body ``{"units": [...]}`` (stdout without ``--out``).
- ``hoso generate people --count N --seed S [--defect-rate R] --out FILE [--labels FILE]
  [--orgs FILE] [--registry FILE] [--as-of DATE]`` writes bulk JSON Lines (exchange README
  §8), the defect labels and optionally the population-registry view, with a progress bar
  on stderr and a one-line summary at the end.

Output is byte-identical for the same arguments. Files are written beside the target and
renamed into place, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hoso.generate.orgs import OrgUnitDict, generate_orgs
from hoso.generate.people import DEFAULT_AS_OF, iter_people

app = typer.Typer(
    help=(
        "Sinh dữ liệu tổng hợp ra tệp: cây tổ chức và hồ sơ CBCCVC (có thể cài sẵn lỗi)"
        " / Generate synthetic data files: the org tree and civil-servant dossiers"
        " (optionally with injected defects)."
    ),
    no_args_is_help=True,
)

_LINE = orjson.OPT_APPEND_NEWLINE


def _vi_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def _open_part(path: Path, stack: ExitStack) -> tuple[IO[bytes], Path]:
    """Open ``path.part`` for writing (renamed over ``path`` at the end).

    A target that exists and is not a regular file (``/dev/null``, a named pipe) is written
    directly; the returned path is then the target itself, so the final rename is a no-op.
    """
    if path.exists() and not path.is_file():
        return stack.enter_context(path.open("wb")), path
    part = path.with_name(path.name + ".part")
    fh = stack.enter_context(part.open("wb", buffering=1 << 20))
    return fh, part


def _commit(part: Path, target: Path) -> None:
    if part != target:
        os.replace(part, target)


def _discard(part: Path, target: Path) -> None:
    if part != target:
        part.unlink(missing_ok=True)


def _read_orgs(path: Path) -> list[OrgUnitDict]:
    try:
        raw: Any = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise _fail(
            f"Không đọc được tệp cây tổ chức '{path}': {exc} / Cannot read the org tree file '{path}': {exc}"
        ) from exc
    units = raw.get("units") if isinstance(raw, dict) else raw
    if not isinstance(units, list) or not all(
        isinstance(u, dict) and isinstance(u.get("code"), str) and isinstance(u.get("kind"), str)
        for u in units
    ):
        raise _fail(
            f"Tệp '{path}' không phải là cây tổ chức {{\"units\": [...]}}"
            f" / '{path}' is not an org tree {{\"units\": [...]}}"
        )
    return [dict(u, name=u.get("name") or u["code"]) for u in units]


@app.command("orgs")
def orgs_command(
    seed: int = typer.Option(1, "--seed", help="Hạt giống ngẫu nhiên / random seed"),
    agencies: int = typer.Option(
        12, "--agencies", min=1, help="Số cơ quan quản lý (bộ + tỉnh) / number of managing agencies"
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Tệp JSON đầu ra (mặc định: stdout) / output JSON file (default: stdout)",
    ),
) -> None:
    """Sinh cây tổ chức tổng hợp / generate a synthetic org tree (``orgtree.upsert`` body)."""
    try:
        units = generate_orgs(seed, agencies)
    except ValueError as exc:
        raise _fail(f"Tham số không hợp lệ: {exc} / Invalid argument: {exc}") from exc
    roots = sum(1 for u in units if u["parent_code"] is None and u["valid_to"] is None)
    payload = orjson.dumps({"units": units}, option=orjson.OPT_INDENT_2 | _LINE)
    if out is None:
        typer.echo(payload.decode(), nl=False)
        where_vi, where_en = "ra stdout", "to stdout"
    else:
        with ExitStack() as stack:
            fh, part = _open_part(out, stack)
            fh.write(payload)
        _commit(part, out)
        where_vi = where_en = f"'{out}'"
    typer.echo(
        f"Đã sinh {_vi_int(len(units))} đơn vị thuộc {roots} cơ quan quản lý {where_vi}"
        f" / Generated {len(units):,} units of {roots} managing agencies {where_en}",
        err=out is None,
    )


@app.command("people")
def people_command(
    count: int = typer.Option(..., "--count", min=0, help="Số hồ sơ / number of people"),
    seed: int = typer.Option(1, "--seed", help="Hạt giống ngẫu nhiên / random seed"),
    defect_rate: float = typer.Option(
        0.0,
        "--defect-rate",
        min=0.0,
        max=1.0,
        help="Tỷ lệ hồ sơ có lỗi cài sẵn / share of people with an injected defect",
    ),
    out: Path = typer.Option(..., "--out", help="Tệp JSON Lines đầu ra / output JSON Lines file"),
    labels: Path | None = typer.Option(
        None, "--labels", help="Tệp nhãn lỗi (JSON Lines) / defect labels file (JSON Lines)"
    ),
    orgs: Path | None = typer.Option(
        None,
        "--orgs",
        help="Cây tổ chức dùng để phân bổ (mặc định: hoso generate orgs --seed S)"
        " / org tree to draw units from (default: hoso generate orgs --seed S)",
    ),
    registry: Path | None = typer.Option(
        None,
        "--registry",
        help="Tệp dữ liệu dân cư tương ứng (JSON Lines) / matching population-registry view (JSON Lines)",
    ),
    as_of: str = typer.Option(
        DEFAULT_AS_OF.isoformat(),
        "--as-of",
        help="Ngày mà dữ liệu phản ánh (YYYY-MM-DD) / the date the data describes",
    ),
) -> None:
    """Sinh hồ sơ CBCCVC tổng hợp / generate synthetic dossiers as bulk JSON Lines."""
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError as exc:
        raise _fail(
            f"Ngày --as-of không hợp lệ: {as_of!r} / Invalid --as-of date: {as_of!r}"
        ) from exc
    units = _read_orgs(orgs) if orgs is not None else None
    console = Console(stderr=True)
    started = time.perf_counter()
    n_labels = 0
    defective: set[str] = set()
    parts: list[tuple[Path, Path]] = []
    try:
        with ExitStack() as stack:
            out_fh, out_part = _open_part(out, stack)
            parts.append((out_part, out))
            lab_fh = reg_fh = None
            if labels is not None:
                lab_fh, part = _open_part(labels, stack)
                parts.append((part, labels))
            if registry is not None:
                reg_fh, part = _open_part(registry, stack)
                parts.append((part, registry))
            progress = stack.enter_context(
                Progress(
                    TextColumn("Sinh hồ sơ / generating"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console,
                )
            )
            task = progress.add_task("people", total=count)
            done = 0
            for line, line_labels, entry in iter_people(
                count, seed, orgs=units, defect_rate=defect_rate, as_of=day
            ):
                out_fh.write(orjson.dumps(line, option=_LINE))
                if line_labels:
                    n_labels += len(line_labels)
                    for label in line_labels:
                        defective.add(label["personal_id"])
                        if lab_fh is not None:
                            lab_fh.write(orjson.dumps(label, option=_LINE))
                if reg_fh is not None and entry is not None:
                    reg_fh.write(orjson.dumps(entry, option=_LINE))
                done += 1
                if done % 1000 == 0:
                    progress.update(task, completed=done)
            progress.update(task, completed=done)
    except ValueError as exc:
        for part, target in parts:
            _discard(part, target)
        raise _fail(f"Không sinh được dữ liệu: {exc} / Cannot generate: {exc}") from exc
    except BaseException:
        for part, target in parts:
            _discard(part, target)
        raise
    for part, target in parts:
        _commit(part, target)
    secs = max(time.perf_counter() - started, 1e-9)
    rate = count / secs
    typer.echo(
        f"Đã sinh {_vi_int(count)} hồ sơ ({_vi_int(len(defective))} có lỗi cài sẵn,"
        f" {_vi_int(n_labels)} nhãn) vào '{out}' trong {secs:.1f} giây"
        f" ({_vi_int(int(rate))} hồ sơ/giây)"
        f" / Generated {count:,} people ({len(defective):,} with injected defects,"
        f" {n_labels:,} labels) into '{out}' in {secs:.1f} s ({rate:,.0f} people/s)"
    )
