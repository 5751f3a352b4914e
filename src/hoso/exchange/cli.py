"""``hoso exchange``: verify envelopes, push the outbox, move batches on files, read status."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

from hoso.db.engine import unit_of_work
from hoso.errors import HosoError
from hoso.exchange import receiver, sender
from hoso.exchange.certificates import parse_time
from hoso.exchange.models import ExchangeStream, OutboxMessage
from hoso.exchange.node import get_node
from hoso.exchange.trust import TrustStore
from hoso.exchange.verify import Verifier, read_messages

app = typer.Typer(help="Trao đổi dữ liệu có ký số / the signed exchange", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _fail(exc: HosoError) -> None:
    err.print(f"[red]Lỗi / Error:[/red] {exc.message_vi} / {exc.message_en}")
    for issue in exc.issues[:20]:
        err.print(f"  - {issue.field}: {issue.message_vi} / {issue.message_en}")
    raise typer.Exit(code=1)


@app.command()
def verify(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Phong bì .json hoặc lô .jsonl"
    ),
    trust: list[Path] = typer.Option(
        ..., "--trust", exists=True, help="Chứng thư CA tin cậy (PEM) / trust anchor"
    ),
    at: str | None = typer.Option(
        None, "--at", help="Kiểm tra tại thời điểm (RFC 3339) / check at this time"
    ),
    window_days: float = typer.Option(
        7.0, "--window-days", help="Khoảng thời gian cho phép / replay window"
    ),
    revoked: Path | None = typer.Option(
        None, "--revoked", help="Danh sách chứng thư bị thu hồi / revoked list"
    ),
) -> None:
    """Kiểm tra chữ ký và nội dung, không lưu / verify envelopes without storing them.

    Prints ``ok`` or the §7 error code per message; exits 1 when any fails.
    """
    when = None
    if at is not None:
        when = parse_time(at)
        if when is None:
            err.print(f"[red]--at '{at}' không theo RFC 3339 UTC / is not RFC 3339 UTC (…Z)[/red]")
            raise typer.Exit(code=2)
    verifier = Verifier(
        trust=TrustStore.from_files(trust, revoked),
        at=when,
        window=dt.timedelta(days=window_days),
    )
    failed = 0
    for path in files:
        for label, message in read_messages(path):
            outcome = verifier.check(message, label)
            if outcome.ok:
                typer.echo(f"{label}\tok")
            else:
                failed += 1
                first = outcome.errors[0]
                typer.echo(
                    f"{label}\t{first.code}\t{first.field}\t{first.message_vi} / {first.message_en}"
                )
                for more in outcome.errors[1:]:
                    typer.echo(f"{label}\t{more.code}\t{more.field}")
            for note in outcome.notes:
                err.print(f"{label}: {note}")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def send(
    until_idle: bool = typer.Option(
        True, "--until-idle/--forever", help="Dừng khi hết việc / stop when idle"
    ),
) -> None:
    """Gửi các thông điệp đang chờ qua HTTP / push the outbox over HTTP."""
    try:
        node = get_node()
    except HosoError as exc:
        _fail(exc)
        return
    stop = threading.Event()
    stats = sender.run(
        unit_of_work, node=node, transport=sender.HttpTransport(), stop=stop, until_idle=until_idle
    )
    out.print(
        f"Đã gửi / sent {stats.sent}, đã xác nhận / acked {stats.acked}, "
        f"đồng bộ / synced {stats.records_synced}, bị từ chối / rejected {stats.records_rejected}, "
        f"thử lại / retries {stats.retries}"
    )
    if stats.last_error:
        err.print(f"Lỗi gần nhất / last error: {stats.last_error}")


@app.command("export-batch")
def export_batch(
    to: str = typer.Option(..., "--to", help="Hệ thống nhận / receiving node id"),
    out_file: Path = typer.Option(..., "--out", help="Tệp lô .jsonl / batch file"),
) -> None:
    """Ghi các thông điệp chưa được xác nhận ra tệp lô / write unacked messages to a batch file."""
    try:
        node = get_node()
        count = 0
        tmp = out_file.with_suffix(out_file.suffix + ".part")
        with unit_of_work() as session, tmp.open("wb") as fh:
            for envelope in sender.iter_pending_envelopes(session, node=node, receiver=to):
                fh.write(orjson.dumps(envelope) + b"\n")
                count += 1
        tmp.replace(out_file)
    except HosoError as exc:
        _fail(exc)
        return
    out.print(f"Đã ghi {count} thông điệp vào {out_file} / wrote {count} messages to {out_file}")


@app.command("import-batch")
def import_batch(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Tệp lô .jsonl hoặc tệp ack"
    ),
    acks_out: Path | None = typer.Option(
        None, "--acks", help="Tệp ack (mặc định: bên cạnh tệp lô)"
    ),
) -> None:
    """Nhận một tệp lô (ghi ack bên cạnh), hoặc áp dụng một tệp ack / receive a batch or apply acks."""
    try:
        node = get_node()
    except HosoError as exc:
        _fail(exc)
        return
    target = acks_out or file.with_name(file.name.removesuffix(".jsonl") + ".ack.jsonl")
    received = acked = 0
    acks: list[bytes] = []
    for label, message in read_messages(file):
        if isinstance(message, dict) and message.get("type") == "ack":
            with unit_of_work() as session:
                body = message.get("body") or {}
                msg = (
                    session.get(OutboxMessage, body.get("ack_of"))
                    if isinstance(body, dict)
                    else None
                )
                if msg is None:
                    err.print(f"{label}: ack của thông điệp lạ / ack of an unknown message")
                    continue
                if msg.status != "pending":
                    continue
                try:
                    sender.verify_ack(message, msg, node=node)
                except HosoError as exc:
                    err.print(f"{label}: {exc.code}: {exc.message_vi} / {exc.message_en}")
                    continue
                sender.apply_ack(session, msg, message, node=node)
                acked += 1
            continue
        raw = message if isinstance(message, dict) else str(message).encode()
        with unit_of_work() as session:
            receipt = receiver.receive(session, raw, node=node, transport="file")
        acks.append(orjson.dumps(receipt.ack))
        received += 1
        status = receipt.status
        error = receipt.ack["body"].get("error")
        typer.echo(f"{label}\t{status}" + (f"\t{error['code']}" if error else ""))
    if acks:
        target.write_bytes(b"\n".join(acks) + b"\n")
        out.print(
            f"Đã nhận {received} thông điệp, ack ghi vào {target} / received {received}, acks in {target}"
        )
    if acked:
        out.print(f"Đã áp dụng {acked} ack / applied {acked} acks")


@app.command()
def status() -> None:
    """Các luồng và hộp thư đi / streams and the outbox."""
    with unit_of_work() as session:
        table = Table("gửi / sender", "nhận / receiver", "số tiếp theo / next")
        for s in session.query(ExchangeStream).order_by(
            ExchangeStream.sender, ExchangeStream.receiver
        ):
            table.add_row(s.sender, s.receiver, str(s.next_sequence))
        out.print(table)
        pending = session.query(OutboxMessage).filter(OutboxMessage.status == "pending").count()
        acked = session.query(OutboxMessage).filter(OutboxMessage.status == "acked").count()
        out.print(f"Thông điệp chờ / pending messages: {pending}; đã xác nhận / acked: {acked}")


@app.command()
def propose(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSONL: personal_id, field, proposed_value, …"
    ),
) -> None:
    """CSDLQG đề xuất đính chính cho cơ quan quản lý / propose corrections (national side)."""
    from hoso.auth.principal import operator
    from hoso.exchange import corrections

    items = []
    for label, line in read_messages(file):
        if not isinstance(line, dict):
            err.print(f"[red]{label}: không phải đối tượng JSON / not a JSON object[/red]")
            raise typer.Exit(code=1)
        try:
            items.append(
                corrections.CorrectionIn(
                    personal_id=str(line["personal_id"]),
                    field=str(line["field"]),
                    proposed_value=line["proposed_value"],
                    reason_code=str(line.get("reason_code", "population_mismatch")),
                    source=str(line.get("source", "population_registry")),
                    evidence=line.get("evidence"),
                )
            )
        except KeyError as exc:
            err.print(f"[red]{label}: thiếu trường / missing field {exc}[/red]")
            raise typer.Exit(code=1) from exc
    try:
        with unit_of_work() as session:
            made = corrections.propose(session, items, principal=operator())
    except HosoError as exc:
        _fail(exc)
        return
    out.print(f"Đã đề xuất {len(made)} đính chính / proposed {len(made)} corrections")


@app.command("corrections")
def list_corrections(
    status_: str | None = typer.Option(None, "--status", help="proposed | accepted | rejected"),
    side: str | None = typer.Option(None, "--side", help="national | agency"),
) -> None:
    """Danh sách đề xuất đính chính và trạng thái / corrections and their status."""
    from hoso.auth.principal import operator
    from hoso.exchange import corrections

    with unit_of_work() as session:
        rows = corrections.list_(session, principal=operator(), status=status_, side=side)
    table = Table(
        "id",
        "số định danh / personal ID",
        "trường / field",
        "hiện tại / current",
        "đề xuất / proposed",
        "trạng thái / status",
    )
    for r in rows:
        table.add_row(
            r["correction_id"],
            r["personal_id"],
            r["field"],
            str(r["current_value"]),
            str(r["proposed_value"]),
            r["status"],
        )
    out.print(table)


@app.command()
def resolve(
    correction_id: str = typer.Argument(...),
    accept: bool = typer.Option(
        ..., "--accept/--reject", help="Chấp nhận hay từ chối / accept or reject"
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Lý do (bắt buộc khi từ chối) / reason"
    ),
) -> None:
    """Cơ quan chấp nhận (tạo bản nháp mới) hoặc từ chối đề xuất / resolve a correction (agency side)."""
    from hoso.auth.principal import operator
    from hoso.config import get_settings
    from hoso.exchange import corrections

    try:
        with unit_of_work() as session:
            done = corrections.resolve(
                session,
                correction_id,
                decision="accepted" if accept else "rejected",
                reason=reason,
                principal=operator(),
                national_node=get_settings().national_node,
            )
    except HosoError as exc:
        _fail(exc)
        return
    out.print(f"Đề xuất {done['correction_id']}: {done['status']}")


@app.command("push-orgtree")
def push_orgtree(
    to: str = typer.Option(..., "--to", help="Hệ thống nhận / receiving node id"),
    root: str | None = typer.Option(None, "--root", help="Chỉ cây con này / only this subtree"),
) -> None:
    """Xếp cây tổ chức vào hộp thư đi / queue the org tree (or a subtree) for a node."""
    from hoso.auth.principal import operator
    from hoso.exchange import outbox
    from hoso.orgs import service as orgs_service

    with unit_of_work() as session:
        units = orgs_service.export(session, principal=operator(root))["units"]
        count = 0
        for start in range(0, len(units), 1000):
            count += outbox.enqueue_many(
                session,
                receiver=to,
                kind="orgunit",
                items=[(None, None, u) for u in units[start : start + 1000]],
            )
    out.print(f"Đã xếp {count} đơn vị gửi {to} / queued {count} units for {to}")


@app.command()
def fetch(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân / personal ID"),
) -> None:
    """Đọc hồ sơ đã phê duyệt từ CSDLQG (yêu cầu có ký số) / read an approved record from the national node."""
    import httpx

    from hoso.exchange.api import sign_request

    try:
        node = get_node()
    except HosoError as exc:
        _fail(exc)
        return
    url = node.url_of(node.national_node)
    if url is None:
        err.print("[red]Chưa cấu hình HOSO_NATIONAL_URL / HOSO_NATIONAL_URL is not set[/red]")
        raise typer.Exit(code=2)
    path = f"/exchange/v1/records/{personal_id}"
    response = httpx.get(
        url.rstrip("/") + path, headers=sign_request(node, "GET", path), timeout=30
    )
    if response.status_code != 200:
        try:
            problem = response.json()
            err.print(
                f"[red]{problem.get('title')} / {problem.get('title_en')}: {problem.get('detail')}[/red]"
            )
        except ValueError:
            err.print(f"[red]HTTP {response.status_code}[/red]")
        raise typer.Exit(code=1)
    typer.echo(orjson.dumps(response.json(), option=orjson.OPT_INDENT_2).decode())
