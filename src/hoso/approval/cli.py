"""``hoso approve``: the approval workflow from the command line.

::

    hoso approve pending [--agency CODE] [--status VERIFIED] [--format table|json] [--as USER]
    hoso approve submit PID [--version N] [--as USER]
    hoso approve return PID --reason TEXT [--version N] [--as USER]
    hoso approve verify PID [--version N] [--as USER]
    hoso approve sign [PID ...] [--all-verified --agency CODE] --p12 FILE --password-file F \\
        --title "Giám đốc Sở Nội vụ" --as USER [--trust CA.pem ...]

Each command runs in one ``unit_of_work()``. ``--as`` names the user the command acts as
(their role and scope); without it the local operator acts (national scope). ``sign`` needs
``--as``: the approver is a real user whose personal ID matches the certificate in the
PKCS#12 file (the stand-in for the official's USB token). Approved versions are committed
even when other items are refused; the exit code is then 1.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session

from hoso.approval import service as approval_service
from hoso.approval.schemas import ApprovalReport, ApprovalResult, ItemError, VersionState
from hoso.auth import service as auth_service
from hoso.auth.principal import Principal, operator
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.errors import HosoError, NotFound
from hoso.exchange.signing import load_pkcs12
from hoso.exchange.trust import TrustStore
from hoso.orgs.cli import OutputFormat, fail, render_table
from hoso.people.models import VersionStatus

app = typer.Typer(
    help="Quy trình phê duyệt hồ sơ bằng chữ ký số / approval workflow", no_args_is_help=True
)
err = Console(stderr=True)

SIGN_CHUNK = 250
"""Versions signed and approved per step of the progress bar."""

_AS_HELP = "Thực hiện với tư cách người dùng này / act as this user"


def principal_as(session: Session, username: str | None) -> Principal:
    """The principal of user ``username`` (the local operator when None)."""
    if username is None:
        return operator()
    user = auth_service.get_by_username(session, username)
    if user is None or not user.is_active:
        raise NotFound(
            message_vi=f"Không tìm thấy người dùng đang hoạt động '{username}'",
            message_en=f"No active user '{username}'",
        )
    return auth_service.principal_for(user)


def _print_state(state: VersionState) -> None:
    vi, en = approval_service.status_label(state.status)
    typer.echo(
        f"Hồ sơ {state.personal_id} phiên bản {state.version}: {vi} / "
        f"dossier {state.personal_id} version {state.version}: {en} ({state.status})"
    )


@app.command("pending")
def pending(
    agency: str | None = typer.Option(
        None, "--agency", help="Cơ quan quản lý / managing agency code"
    ),
    status: str = typer.Option(
        VersionStatus.VERIFIED, "--status", help="Trạng thái / status (mặc định VERIFIED)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table hoặc json"),
    as_user: str | None = typer.Option(None, "--as", help=_AS_HELP),
) -> None:
    """Danh sách hồ sơ chờ phê duyệt / the approval queue."""
    try:
        with unit_of_work() as session:
            page = approval_service.list_pending(
                session,
                principal=principal_as(session, as_user),
                status=status,
                agency=agency,
                limit=None,
            )
    except HosoError as exc:
        fail(exc)
    if fmt is OutputFormat.json:
        typer.echo(orjson.dumps([i.model_dump(mode="json") for i in page.items]).decode())
        return
    rows = [
        [
            i.personal_id,
            str(i.version),
            i.birth_name or "",
            i.managing_agency,
            i.author,
            i.status,
            i.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
            i.content_hash,
        ]
        for i in page.items
    ]
    typer.echo(
        render_table(
            [
                "số định danh",
                "phiên bản",
                "họ tên",
                "cơ quan quản lý",
                "người tạo",
                "trạng thái",
                "thời điểm (UTC)",
                "mã băm",
            ],
            rows,
        )
    )
    typer.echo(f"Tổng cộng {page.total} hồ sơ / {page.total} dossiers in total")


@app.command("submit")
def submit(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    version: int | None = typer.Option(None, "--version", help="Phiên bản (mặc định: hiện hành)"),
    as_user: str | None = typer.Option(None, "--as", help=_AS_HELP),
) -> None:
    """Trình phiên bản để thẩm định / submit a draft for verification."""
    try:
        with unit_of_work() as session:
            state = approval_service.submit(
                session,
                personal_id=personal_id,
                version=version,
                principal=principal_as(session, as_user),
            )
    except HosoError as exc:
        fail(exc)
    _print_state(state)


@app.command("return")
def return_(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    reason: str = typer.Option(..., "--reason", help="Lý do trả lại / why"),
    version: int | None = typer.Option(None, "--version", help="Phiên bản (mặc định: hiện hành)"),
    as_user: str | None = typer.Option(None, "--as", help=_AS_HELP),
) -> None:
    """Trả lại phiên bản cho người lập / return a version to draft."""
    try:
        with unit_of_work() as session:
            state = approval_service.return_to_draft(
                session,
                personal_id=personal_id,
                version=version,
                reason=reason,
                principal=principal_as(session, as_user),
            )
    except HosoError as exc:
        fail(exc)
    _print_state(state)


@app.command("verify")
def verify(
    personal_id: str = typer.Argument(..., help="Số định danh cá nhân (12 chữ số)"),
    version: int | None = typer.Option(None, "--version", help="Phiên bản (mặc định: hiện hành)"),
    as_user: str | None = typer.Option(None, "--as", help=_AS_HELP),
) -> None:
    """Thẩm định phiên bản đã trình / verify a submitted version."""
    try:
        with unit_of_work() as session:
            state = approval_service.verify(
                session,
                personal_id=personal_id,
                version=version,
                principal=principal_as(session, as_user),
                settings=get_settings(),
            )
    except HosoError as exc:
        fail(exc)
    _print_state(state)


def _refused_line(result: ApprovalResult) -> str:
    error = result.error
    assert error is not None
    return (
        f"  - {result.personal_id} v{result.version}: {error.code} — "
        f"{error.message_vi} / {error.message_en}"
    )


@app.command("sign")
def sign(
    personal_ids: list[str] = typer.Argument(
        None, help="Số định danh cần ký (phiên bản hiện hành) / personal IDs to approve"
    ),
    all_verified: bool = typer.Option(
        False, "--all-verified", help="Ký mọi hồ sơ đã thẩm định / every verified version"
    ),
    agency: str | None = typer.Option(
        None, "--agency", help="Cơ quan quản lý (với --all-verified) / managing agency code"
    ),
    p12: Path = typer.Option(
        ..., "--p12", exists=True, dir_okay=False, help="Tệp PKCS#12 của người ký"
    ),
    password_file: Path = typer.Option(
        ..., "--password-file", exists=True, dir_okay=False, help="Tệp chứa mật khẩu PKCS#12"
    ),
    title: str = typer.Option(..., "--title", help="Chức vụ người ký / the signer's title"),
    as_user: str = typer.Option(..., "--as", help="Người phê duyệt / the approving user"),
    trust_files: list[Path] = typer.Option(
        None,
        "--trust",
        exists=True,
        dir_okay=False,
        help="Chứng thư CA tin cậy (mặc định HOSO_TRUST_ANCHORS) / trust anchors",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table hoặc json"),
    quiet: bool = typer.Option(False, "--quiet", help="Không hiện thanh tiến trình"),
) -> None:
    """Ký số phê duyệt hồ sơ / sign and approve versions with a PKCS#12 certificate."""
    if bool(personal_ids) == all_verified:
        err.print(
            "[red]Cần nêu số định danh hoặc --all-verified (không cả hai) / "
            "give personal IDs or --all-verified (not both)[/red]"
        )
        raise typer.Exit(code=2)
    settings = get_settings()
    results: list[ApprovalResult] = []
    try:
        signer = load_pkcs12(p12, password_file.read_bytes().strip() or None)
        trust = (
            TrustStore.from_files(trust_files, settings.revoked_file)
            if trust_files
            else approval_service.trust_from_settings(settings)
        )
        with unit_of_work() as session:
            principal = principal_as(session, as_user)
            approval_service.approver(session, principal)
            if all_verified:
                refs: list[approval_service.VersionRef] = list(
                    approval_service.list_pending(
                        session,
                        principal=principal,
                        status=VersionStatus.VERIFIED,
                        agency=agency,
                        limit=None,
                    ).items
                )
            else:
                found = approval_service.current_refs(session, personal_ids, principal=principal)
                refs = [found[p] for p in dict.fromkeys(personal_ids) if p in found]
                for pid in dict.fromkeys(personal_ids):
                    if pid not in found:
                        missing = NotFound(
                            message_vi=f"Không tìm thấy hồ sơ có số định danh {pid}",
                            message_en=f"No dossier with personal ID {pid}",
                        )
                        results.append(
                            ApprovalResult(
                                personal_id=pid,
                                version=0,
                                outcome="refused",
                                error=ItemError(
                                    code=missing.code,
                                    status=missing.status,
                                    message_vi=missing.message_vi,
                                    message_en=missing.message_en,
                                ),
                            )
                        )
            columns = [
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            ]
            with Progress(*columns, console=err, disable=quiet) as bar:
                task = bar.add_task("Đang ký / signing", total=len(refs))
                for start in range(0, len(refs), SIGN_CHUNK):
                    chunk = refs[start : start + SIGN_CHUNK]
                    report = approval_service.approve_with_signer(
                        session,
                        refs=chunk,
                        signer=signer,
                        title=title,
                        principal=principal,
                        trust=trust,
                        settings=settings,
                    )
                    results.extend(report.results)
                    bar.update(task, advance=len(chunk))
    except HosoError as exc:
        fail(exc)
    approved = sum(1 for r in results if r.outcome == "approved")
    total = ApprovalReport(approved=approved, refused=len(results) - approved, results=results)
    if fmt is OutputFormat.json:
        typer.echo(total.model_dump_json())
    else:
        typer.echo(
            f"Đã phê duyệt {total.approved}, từ chối {total.refused} / "
            f"approved {total.approved}, refused {total.refused}"
        )
        for result in results:
            if result.outcome == "refused":
                typer.echo(_refused_line(result))
    if total.refused:
        raise typer.Exit(code=1)
