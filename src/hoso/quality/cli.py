"""``hoso quality``: run the rules, list findings, show scores and their trend."""

from __future__ import annotations

import datetime as dt
import enum
import sys
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

from hoso.db.engine import unit_of_work
from hoso.errors import HosoError
from hoso.quality import service
from hoso.quality import xlsx as xlsx_format
from hoso.quality.models import QualityRun

app = typer.Typer(
    help="Chất lượng dữ liệu: đúng – đủ – sạch – sống / data quality", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


class FindingsFormat(enum.StrEnum):
    """Output of ``hoso quality findings``."""

    jsonl = "jsonl"
    xlsx = "xlsx"
    table = "table"


def _fail(exc: HosoError) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {exc.message_vi} / {exc.message_en}")
    for issue in exc.issues[:20]:
        err.print(f"  - {issue.field}: {issue.message_vi} / {issue.message_en} ({issue.value!r})")
    raise typer.Exit(code=1)


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(
            f"[red]Lỗi / Error:[/red] --as-of: ngày '{value}' không hợp lệ (YYYY-MM-DD) / "
            f"invalid date '{value}' (YYYY-MM-DD)"
        )
        raise typer.Exit(code=2) from None


@app.command("run")
def run(
    agency: str | None = typer.Option(
        None, "--agency", help="Chỉ các hồ sơ thuộc cơ quan này / only this agency's subtree"
    ),
    profile: str | None = typer.Option(
        None, "--profile", help="Hồ sơ mẫu core|p109|tt06|nd27 (mặc định: cấu hình) / profile"
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Ngày đánh giá YYYY-MM-DD (mặc định: hôm nay) / as-of date"
    ),
    full: bool = typer.Option(False, "--full", help="Kiểm tra lại toàn bộ / re-check everything"),
    quiet: bool = typer.Option(False, "--quiet", help="Không in tiến trình / no progress"),
) -> None:
    """Kiểm tra chất lượng hồ sơ / check the records' quality (incremental by default)."""
    day = _as_of(as_of)
    try:
        with unit_of_work() as session:
            summary = service.run(
                session,
                actor="operator",
                profile=profile,
                as_of=day,
                agency=agency,
                full=full,
                progress=None if quiet else (lambda m: err.print(f"[dim]{m}[/dim]")),
            )
    except HosoError as exc:
        _fail(exc)
        return
    seconds = sum(summary.timings.values())
    out.print(
        f"Lần chạy {summary.run_id} ({'toàn bộ' if summary.kind == 'full' else 'tăng dần'}, "
        f"{summary.profile}, {summary.as_of}): kiểm tra {summary.records_checked:,} hồ sơ, "
        f"chấm điểm {summary.records_rescored:,}, {summary.findings:,} phát hiện mới, "
        f"{seconds:.1f} giây / run {summary.run_id} ({summary.kind}): checked "
        f"{summary.records_checked:,} records, rescored {summary.records_rescored:,}, "
        f"{summary.findings:,} new findings in {seconds:.1f} s"
    )
    if summary.rules_rerun:
        out.print(
            f"Quy tắc chạy lại cho mọi hồ sơ / rules re-run for every record: "
            f"{', '.join(summary.rules_rerun)}"
        )
    for ne in summary.not_evaluated:
        out.print(f"  [yellow]{ne.rule_id}[/yellow] chưa đánh giá: {ne.reason_vi} / "
                  f"not evaluated: {ne.reason_en}")  # fmt: skip


@app.command("compact")
def compact() -> None:
    """Gộp các phần của ảnh chụp dữ liệu / merge the snapshot's parts into one (e.g. nightly)."""
    from hoso.config import get_settings
    from hoso.quality.snapshot import Snapshot

    snapshot = Snapshot(get_settings().quality_dir)
    with snapshot.locked():
        parts = snapshot.compact()
    typer.echo(
        f"Ảnh chụp dữ liệu: đã gộp {parts} phần thành một / snapshot: {parts} parts merged into one"
        if parts > 1
        else f"Ảnh chụp dữ liệu có {parts} phần, không cần gộp / snapshot has {parts} part(s), "
        "nothing to merge"
    )


@app.command("findings")
def findings(
    agency: str | None = typer.Option(None, "--agency", help="Cơ quan (cả cây) / agency subtree"),
    fmt: FindingsFormat = typer.Option(
        FindingsFormat.table, "--format", help="jsonl | xlsx | table"
    ),
    out_path: Path | None = typer.Option(None, "--out", help="Tệp đầu ra / output file"),
    rule_id: str | None = typer.Option(None, "--rule", help="Chỉ quy tắc này / only this rule"),
    severity: str | None = typer.Option(None, "--severity", help="error | warning"),
    personal_id: str | None = typer.Option(None, "--person", help="Số định danh / personal ID"),
    limit: int = typer.Option(50, "--limit", help="Số dòng tối đa của bảng / table rows"),
) -> None:
    """Danh sách phát hiện / list the current findings."""
    if fmt is FindingsFormat.xlsx and out_path is None:
        err.print("[red]Lỗi / Error:[/red] --format xlsx cần --out / needs --out FILE")
        raise typer.Exit(code=2)
    try:
        with unit_of_work() as session:
            rows = service.iter_findings(
                session,
                agency=agency,
                rule_id=rule_id,
                severity=severity,
                personal_id=personal_id,
                limit=limit if fmt is FindingsFormat.table else None,
                with_names=fmt is not FindingsFormat.jsonl,
            )
            if fmt is FindingsFormat.jsonl:
                sink = out_path.open("wb") if out_path else sys.stdout.buffer
                n = 0
                try:
                    for row in rows:
                        sink.write(orjson.dumps(row) + b"\n")
                        n += 1
                finally:
                    if out_path:
                        sink.close()
            elif fmt is FindingsFormat.xlsx:
                assert out_path is not None
                n = xlsx_format.write_findings(rows, out_path)
            else:
                table = Table("Số định danh", "Quy tắc", "Mức độ", "Trường", "Giá trị", "Mô tả")
                n = 0
                for row in rows:
                    table.add_row(
                        row["personal_id"], row["rule_id"], row["severity"], row["field"],
                        orjson.dumps(row["value"]).decode() if row["value"] is not None else "",
                        row["message"].split(" / ")[0][:60],
                    )  # fmt: skip
                    n += 1
                out.print(table)
                total = service.count_findings(session, agency=agency)
                out.print(f"{n:,} / {total:,} phát hiện / findings")
            service.audit_read(session, actor="operator", what="findings", agency=agency, count=n)
    except HosoError as exc:
        _fail(exc)
        return
    if out_path:
        err.print(f"Đã ghi {n:,} phát hiện vào {out_path} / wrote {n:,} findings to {out_path}")


@app.command("scores")
def scores(
    agency: str | None = typer.Option(None, "--agency", help="Cơ quan (cả cây) / agency subtree"),
    records: bool = typer.Option(
        False, "--records", help="Điểm từng hồ sơ (kém nhất trước) / per-record scores"
    ),
    limit: int = typer.Option(30, "--limit", help="Số hồ sơ / records listed"),
    as_json: bool = typer.Option(False, "--json", help="In JSON (báo cáo §7) / print JSON"),
) -> None:
    """Điểm chất lượng theo cơ quan và xu hướng / scores per agency, with the trend."""
    try:
        with unit_of_work() as session:
            rows = service.latest_agency_scores(session, agency=agency)
            if not rows:
                err.print(
                    "Chưa có lần kiểm tra nào: chạy 'hoso quality run' / "
                    "no run yet: run 'hoso quality run'"
                )
                raise typer.Exit(code=1)
            run_row = session.get(QualityRun, rows[0].run_id)
            assert run_row is not None
            total = (
                service.subtree_report(session, agency, run_row)
                if agency
                else next(r.report for r in rows if r.agency_code == service.ALL)
            )
            history = service.trend(session, None if agency is None else agency)
            if as_json:
                sys.stdout.write(orjson.dumps(total, option=orjson.OPT_INDENT_2).decode() + "\n")
                return
            table = Table(
                "Cơ quan / agency", "Hồ sơ", "Đạt", "Đủ (%)", "Đúng", "Đủ", "Sạch", "Sống",
                "Chung", "Xu hướng / trend",
                title=f"Điểm chất lượng ({run_row.profile}, {run_row.as_of}) / quality scores",
            )  # fmt: skip
            table.columns[0].no_wrap = True
            table.columns[0].min_width = 13
            for r in rows:
                if r.agency_code == service.ALL:
                    continue
                past = service.trend(session, r.agency_code, limit=6)
                table.add_row(
                    r.agency_code, f"{r.records:,}", f"{r.records_passed:,}",
                    f"{r.complete_records:.1f}", f"{r.dung:.1f}", f"{r.du:.1f}",
                    f"{r.sach:.1f}", f"{r.song:.1f}", f"{r.overall:.1f}",
                    " → ".join(f"{p.overall:.1f}" for p in past),
                )  # fmt: skip
            s = total["scores"]
            table.add_row(
                f"[bold]{agency or 'Tất cả'}[/bold]", f"{total['records']:,}",
                f"{total['records_passed']:,}", f"{total['complete_records']:.1f}",
                f"{s['dung']:.1f}", f"{s['du']:.1f}", f"{s['sach']:.1f}", f"{s['song']:.1f}",
                f"{s['overall']:.1f}",
                " → ".join(f"{p.overall:.1f}" for p in history[-6:]) if not agency else "",
            )  # fmt: skip
            out.print(table)
            for ne in total.get("not_evaluated", []):
                out.print(f"  {ne['rule_id']}: chưa đánh giá / not evaluated ({ne['reason']})")
            if records:
                rt = Table("Số định danh", "Cơ quan", "Đúng", "Đủ", "Sạch", "Sống", "Chung",
                           "Đạt", "Lỗi", "Cảnh báo", title="Hồ sơ kém nhất / worst records")  # fmt: skip
                worst = service.record_scores(session, agency=agency, limit=limit)
                for q in worst:
                    rt.add_row(
                        q.personal_id, q.managing_agency_code, f"{q.dung:.1f}", f"{q.du:.1f}",
                        f"{q.sach:.1f}", f"{q.song:.1f}", f"{q.overall:.1f}",
                        "✓" if q.passed else "✗", str(q.errors), str(q.warnings),
                    )  # fmt: skip
                out.print(rt)
                service.audit_read(
                    session, actor="operator", what="scores", agency=agency, count=len(worst)
                )
    except HosoError as exc:
        _fail(exc)


from hoso.quality import cleaning_cli  # noqa: E402

app.add_typer(cleaning_cli.app)  # propose, fixes, accept, reject under `hoso quality`
