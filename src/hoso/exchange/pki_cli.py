"""``hoso pki``: a test PKI (CA, node and officials' certificates) for development and the demo.

::

    hoso pki init --dir var/pki --agency 000.00.00.H41:"UBND tỉnh Nghệ An" \\
        --national 000.00.00.G09:"Bộ Nội vụ" --official 000.00.00.H41:040180001234:"Trần Thị Bình"
    hoso pki issue-node --dir var/pki 000.00.00.H38:"UBND tỉnh Thanh Hóa"
    hoso pki issue-official --dir var/pki 000.00.00.H38:038190004321:"Lê Văn Cường"
    hoso pki revoke var/pki/officials/038190004321.crt.pem --revoked-file var/pki/revoked.txt
    hoso pki show var/pki/nodes/000.00.00.H41.crt.pem

``init`` is idempotent: a rerun keeps the CA and the certificates already made and adds the
missing ones. Passwords go to 0600 files beside each PKCS#12 file and are never printed.
The folder layout is described in :mod:`hoso.exchange.pki`.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from rich.console import Console
from rich.text import Text

from hoso.errors import HosoError
from hoso.exchange import pki
from hoso.exchange.signing import thumbprint

app = typer.Typer(
    help="Hạ tầng khóa công khai thử nghiệm / test PKI (CA, node and officials' certificates)",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_DIR_HELP = "Thư mục PKI / PKI folder"
_DAYS_HELP = "Số ngày hiệu lực của chứng thư / certificate validity in days"


class KeyTypeChoice(StrEnum):
    """Key type of an official's personal certificate."""

    rsa = "rsa"
    ec = "ec"


class OutputFormat(StrEnum):
    """Output format of ``show``."""

    table = "table"
    json = "json"


def _fail(vi: str, en: str) -> NoReturn:
    err.print(f"Lỗi / Error: {vi} / {en}", markup=False)
    raise typer.Exit(1)


def _fail_error(exc: HosoError) -> NoReturn:
    _fail(exc.message_vi, exc.message_en)


def parse_agency(spec: str, *, national: bool = False) -> pki.Agency:
    """``CODE:NAME`` or ``CODE:NAME:SYSTEM_CN`` → :class:`pki.Agency`."""
    parts = spec.split(":", 2)
    if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
        raise typer.BadParameter(
            f"'{spec}': cần dạng MÃ:TÊN / expected CODE:NAME (e.g. 000.00.00.H41:UBND tỉnh Nghệ An)"
        )
    system = parts[2].strip() if len(parts) == 3 and parts[2].strip() else None
    return pki.Agency(parts[0].strip(), parts[1].strip(), system, national=national)


def parse_official(spec: str) -> pki.Official:
    """``AGENCY_CODE:PERSONAL_ID:FULL NAME`` → :class:`pki.Official`."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise typer.BadParameter(
            f"'{spec}': cần dạng MÃ_CƠ_QUAN:SỐ_ĐỊNH_DANH:HỌ_TÊN / "
            "expected AGENCY_CODE:PERSONAL_ID:FULL_NAME"
        )
    return pki.Official(parts[0].strip(), parts[1].strip(), parts[2].strip())


def _summary(p: pki.TestPki, already: int) -> None:
    for line in p.created:
        out.print(Text.assemble(("Đã tạo / Created ", "green"), line))
    if not p.created:
        out.print(
            "Không có gì mới: mọi chứng thư đã có / Nothing new: every certificate exists",
            markup=False,
        )
    elif already:
        out.print(f"Giữ nguyên {already} chứng thư đã có / Kept {already} existing certificate(s)")
    out.print(f"Chỉ mục / Index: {p.index_path}", markup=False)
    out.print(f"Neo tin cậy / Trust anchor: {p.ca_cert_path}", markup=False)


@app.command()
def init(
    dir: Path = typer.Option(..., "--dir", help=_DIR_HELP),
    agency: list[str] = typer.Option(
        [], "--agency", help="Cơ quan (chứng thư hệ thống) / agency node: CODE:NAME[:SYSTEM_CN]"
    ),
    national: str | None = typer.Option(
        None, "--national", help="CSDLQG (chứng thư hệ thống) / national node: CODE:NAME"
    ),
    official: list[str] = typer.Option(
        [],
        "--official",
        help="Người có thẩm quyền (chứng thư cá nhân) / official: AGENCY_CODE:PERSONAL_ID:NAME",
    ),
    days: int = typer.Option(pki.DEFAULT_DAYS, "--days", min=1, help=_DAYS_HELP),
    key_type: KeyTypeChoice = typer.Option(
        KeyTypeChoice.rsa, "--key-type", help="Khóa của chứng thư cá nhân / officials' key type"
    ),
) -> None:
    """Tạo hoặc bổ sung PKI thử nghiệm / create or complete a test PKI (idempotent)."""
    agencies = [parse_agency(a) for a in agency]
    nat = parse_agency(national, national=True) if national else None
    officials = [parse_official(o) for o in official]
    existing = 0
    try:
        before = pki.TestPki.open(dir, create=False) if (dir / "ca.crt.pem").exists() else None
        if before is not None:
            wanted = {a.code for a in agencies} | ({nat.code} if nat else set())
            existing = len(wanted & before.nodes.keys()) + len(
                {o.personal_id for o in officials} & before.officials.keys()
            )
        p = pki.init_pki(
            dir,
            agencies=agencies,
            national=nat,
            officials=officials,
            days=days,
            official_key_type=key_type.value,
        )
    except HosoError as exc:
        _fail_error(exc)
    _summary(p, existing)


@app.command("issue-node")
def issue_node(
    agency: str = typer.Argument(..., metavar="CODE:NAME[:SYSTEM_CN]", help="Cơ quan / the agency"),
    dir: Path = typer.Option(..., "--dir", help=_DIR_HELP),
    national: bool = typer.Option(False, "--national", help="Chứng thư của CSDLQG / national node"),
    days: int = typer.Option(pki.DEFAULT_DAYS, "--days", min=1, help=_DAYS_HELP),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="Cấp cho khóa công khai PEM có sẵn (vd. trên thiết bị) / certify this PEM public key",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Cấp lại nếu đã có / reissue if it exists"
    ),
) -> None:
    """Cấp chứng thư hệ thống cho một cơ quan / issue a node certificate."""
    a = parse_agency(agency, national=national)
    try:
        p = pki.TestPki.open(dir, create=False)
        existed = a.code in p.nodes and not replace
        p.add_node(a, days=days, public_key=_read_public_key(public_key), replace=replace)
    except HosoError as exc:
        _fail_error(exc)
    if existed:
        out.print(
            f"Đã có chứng thư hệ thống của '{a.code}' (dùng --replace để cấp lại) / "
            f"A node certificate of '{a.code}' exists (use --replace to reissue)",
            markup=False,
        )
    _summary(p, 0)


@app.command("issue-official")
def issue_official(
    official: str = typer.Argument(
        ..., metavar="AGENCY_CODE:PERSONAL_ID:NAME", help="Người có thẩm quyền / the official"
    ),
    dir: Path = typer.Option(..., "--dir", help=_DIR_HELP),
    agency_name: str | None = typer.Option(
        None, "--agency-name", help="Tên cơ quan (O=) / agency name"
    ),
    key_type: KeyTypeChoice = typer.Option(KeyTypeChoice.rsa, "--key-type", help="rsa | ec"),
    days: int = typer.Option(pki.DEFAULT_DAYS, "--days", min=1, help=_DAYS_HELP),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="Cấp cho khóa công khai PEM có sẵn (vd. trên thiết bị) / certify this PEM public key",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Cấp lại nếu đã có / reissue if it exists"
    ),
) -> None:
    """Cấp chứng thư số cá nhân cho người có thẩm quyền / issue an official's certificate."""
    o = parse_official(official)
    try:
        p = pki.TestPki.open(dir, create=False)
        existed = o.personal_id in p.officials and not replace
        p.add_official(
            o,
            agency_name=agency_name,
            key_type=key_type.value,
            days=days,
            public_key=_read_public_key(public_key),
            replace=replace,
        )
    except HosoError as exc:
        _fail_error(exc)
    if existed:
        out.print(
            f"Đã có chứng thư của '{o.personal_id}' (dùng --replace để cấp lại) / "
            f"A certificate of '{o.personal_id}' exists (use --replace to reissue)",
            markup=False,
        )
    _summary(p, 0)


def _read_public_key(path: Path | None) -> pki.PublicKey | None:
    if path is None:
        return None
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        _fail(f"Không đọc được khóa công khai '{path}'", f"Cannot read the public key '{path}'")
        raise AssertionError from exc  # unreachable
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        _fail(f"'{path}' không phải khóa EC hoặc RSA", f"'{path}' is not an EC or RSA key")
    return key


def _load_certificates(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except OSError:
        _fail(f"Không đọc được tệp '{path}'", f"Cannot read '{path}'")
    except ValueError:
        _fail(f"'{path}' không phải chứng thư PEM", f"'{path}' is not a PEM certificate")


@app.command()
def revoke(
    cert_pem: Path = typer.Argument(..., help="Chứng thư cần thu hồi (PEM) / certificate (PEM)"),
    revoked_file: Path = typer.Option(
        ..., "--revoked-file", help="Tệp danh sách thu hồi / revoked-certificates file"
    ),
    reason: str = typer.Option("", "--reason", help="Lý do / reason"),
) -> None:
    """Thu hồi chứng thư (thêm dấu vân tay vào tệp thu hồi) / revoke a certificate."""
    cert = _load_certificates(cert_pem)[0]
    added = pki.revoke(cert, revoked_file, reason=reason)
    tp = thumbprint(cert)
    subject = pki.dn(cert.subject)
    if added:
        out.print(f"Đã thu hồi / Revoked {subject} ({tp})", markup=False)
    else:
        out.print(f"Đã thu hồi từ trước / Already revoked {subject} ({tp})", markup=False)


def _p12_certificates(path: Path, password_file: Path | None) -> list[x509.Certificate]:
    pw_file = password_file or path.with_suffix(".pass")
    if not pw_file.exists():
        _fail(
            f"Cần mật khẩu của '{path}' (--password-file)",
            f"The password of '{path}' is needed (--password-file)",
        )
    try:
        loaded = pkcs12.load_pkcs12(path.read_bytes(), pw_file.read_bytes().strip())
    except ValueError:
        _fail(
            f"Sai mật khẩu hoặc '{path}' không phải PKCS#12",
            f"Wrong password or '{path}' is not PKCS#12",
        )
    certs = [c.certificate for c in loaded.additional_certs]
    if loaded.cert is not None:
        certs.insert(0, loaded.cert.certificate)
    return certs


@app.command()
def show(
    file: Path = typer.Argument(..., help="Chứng thư PEM hoặc tệp .p12 / PEM certificate or .p12"),
    password_file: Path | None = typer.Option(
        None, "--password-file", help="Mật khẩu của .p12 (mặc định <tệp>.pass) / .p12 password"
    ),
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table | json"),
) -> None:
    """Xem chứng thư: chủ thể, hiệu lực, dấu vân tay, mục đích khóa / show certificates."""
    if not file.exists():
        _fail(f"Không tìm thấy tệp '{file}'", f"File '{file}' not found")
    if file.suffix.lower() in (".p12", ".pfx"):
        certs = _p12_certificates(file, password_file)
    else:
        certs = _load_certificates(file)
    infos = [pki.describe(c) for c in certs]
    if format is OutputFormat.json:
        out.print_json(json.dumps([i.as_dict() for i in infos], ensure_ascii=False))
        return
    now = dt.datetime.now(dt.UTC)
    kinds = {
        "ca": "CA / root CA",
        "node": "hệ thống / node",
        "official": "cá nhân / personal",
    }
    for info in infos:
        valid = info.not_before <= now <= info.not_after
        rows = [
            ("Loại / Kind", kinds[info.kind]),
            ("Chủ thể / Subject", info.subject),
            ("Tổ chức cấp / Issuer", info.issuer),
            ("Số hiệu / Serial", info.serial),
            ("Hiệu lực từ / Not before", f"{info.not_before:%Y-%m-%d %H:%M:%S}Z"),
            ("Hiệu lực đến / Not after", f"{info.not_after:%Y-%m-%d %H:%M:%S}Z"),
            ("Hiện tại / Now", "còn hiệu lực / valid" if valid else "hết hiệu lực / not valid"),
            ("Dấu vân tay SHA-256 / Thumbprint", info.thumbprint),
            ("Khóa / Key", info.key_type),
            ("Mục đích khóa / Key usage", ", ".join(info.key_usage) or "-"),
            ("Mã cơ quan / Agency codes", ", ".join(info.agency_codes) or "-"),
            ("Số định danh / Personal ID", info.personal_id or "-"),
        ]
        for label, value in rows:
            out.print(Text.assemble((label, "bold"), ": ", value))
        out.print()
