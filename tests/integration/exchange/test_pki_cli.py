"""``hoso pki``: init (idempotent), issue-node, issue-official, revoke and show, in-process."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from hoso.exchange import certificates, jws, pki
from hoso.exchange.errors import ExchangeError
from hoso.exchange.pki_cli import app
from hoso.exchange.signing import load_pkcs12, thumbprint
from hoso.exchange.trust import TrustStore

runner = CliRunner()
H41 = "000.00.00.H41:UBND tỉnh Nghệ An"
G09 = "000.00.00.G09:Bộ Nội vụ"
BINH = "000.00.00.H41:040180001234:Trần Thị Bình"


def _invoke(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result.output


def _init(folder: Path, *extra: str) -> str:
    return _invoke(
        "init", "--dir", str(folder), "--agency", H41, "--national", G09, "--official", BINH, *extra
    )


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_init_creates_the_pki_and_reruns_idempotently(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    output = _init(folder)
    assert output.count("Đã tạo / Created") == 4  # CA, two nodes, one official
    for name in (
        "ca.crt.pem",
        "ca.key.pem",
        "nodes/000.00.00.H41.p12",
        "nodes/000.00.00.H41.crt.pem",
        "nodes/000.00.00.G09.p12",
        "officials/040180001234.p12",
        "officials/040180001234.crt.pem",
        "passwords.txt",
        "revoked.txt",
        "pki.json",
    ):
        assert (folder / name).exists(), name
    index = json.loads((folder / "pki.json").read_text(encoding="utf-8"))
    assert index["nodes"]["000.00.00.G09"]["national"] is True
    official = index["officials"]["040180001234"]
    assert official["thumbprint"] == thumbprint(_cert(folder / official["cert"]))
    # No secret is printed.
    for line in (folder / "passwords.txt").read_text(encoding="utf-8").splitlines():
        assert line.split(" ", 1)[1] not in output

    ca_before = (folder / "ca.crt.pem").read_bytes()
    node_before = (folder / "nodes/000.00.00.H41.crt.pem").read_bytes()
    again = _init(folder)
    assert "Không có gì mới" in again and "Nothing new" in again
    assert "Đã tạo" not in again
    assert (folder / "ca.crt.pem").read_bytes() == ca_before
    assert (folder / "nodes/000.00.00.H41.crt.pem").read_bytes() == node_before

    more = _init(folder, "--official", "000.00.00.H41:040190005678:Phạm Văn Dũng")
    assert more.count("Đã tạo / Created") == 1 and "040190005678" in more
    assert "Giữ nguyên 3" in more
    assert (folder / "ca.crt.pem").read_bytes() == ca_before
    index = json.loads((folder / "pki.json").read_text(encoding="utf-8"))
    assert set(index["officials"]) == {"040180001234", "040190005678"}


def test_issue_official_makes_an_approval_certificate(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    _init(folder)
    out = _invoke(
        "issue-official",
        "--dir",
        str(folder),
        "--key-type",
        "ec",
        "000.00.00.H41:040185009876:Hoàng Thị Em",
    )
    assert "Đã tạo / Created official 040185009876" in out
    p12 = folder / "officials/040185009876.p12"
    signer = load_pkcs12(p12, (folder / "officials/040185009876.pass").read_bytes().strip())
    assert signer.alg == "ES256"
    leaf = signer.chain[0]
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == (
        "UBND tỉnh Nghệ An"  # taken from the agency's node entry
    )
    content_hash = "sha256:" + "01" * 32
    approval = {
        "approved_by": {"personal_id": "040185009876", "name": "Hoàng Thị Em"},
        "approved_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signature": jws.sign_detached(signer, content_hash.encode("ascii")),
    }
    trust = TrustStore.from_files([folder / "ca.crt.pem"], folder / "revoked.txt")
    certificates.check_approval(approval, content_hash, "000.00.00.H41", trust=trust)

    again = _invoke("issue-official", "--dir", str(folder), "000.00.00.H41:040185009876:X")
    assert "--replace" in again
    assert load_pkcs12(p12, (folder / "officials/040185009876.pass").read_bytes().strip())
    bad = _invoke("issue-official", "--dir", str(folder), "000.00.00.H41:123:X", ok=False)
    assert "12 chữ số" in bad and "12 digits" in bad
    malformed = _invoke("issue-official", "--dir", str(folder), "no-colons", ok=False)
    assert "AGENCY_CODE:PERSONAL_ID:FULL_NAME" in malformed
    no_ca = _invoke("issue-official", "--dir", str(tmp_path / "none"), BINH, ok=False)
    assert "chưa có CA" in no_ca and "has no CA" in no_ca


def test_issue_node_for_a_public_key_kept_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    _init(folder)
    key = pki.generate_key("ec")
    pub = tmp_path / "token.pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    out = _invoke(
        "issue-node",
        "--dir",
        str(folder),
        "--public-key",
        str(pub),
        "000.00.00.H38:UBND tỉnh Thanh Hóa",
    )
    assert "Đã tạo / Created node 000.00.00.H38" in out
    cert = _cert(folder / "nodes/000.00.00.H38.crt.pem")
    assert not (folder / "nodes/000.00.00.H38.p12").exists()
    assert cert.public_key() == key.public_key()
    assert certificates.agency_codes(cert) == ["000.00.00.H38"]
    assert certificates.common_name(cert) == "HRM UBND tỉnh Thanh Hóa"
    TrustStore.from_files([folder / "ca.crt.pem"]).validate([cert], dt.datetime.now(dt.UTC))


def test_revoke_and_show(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    _init(folder)
    leaf_path = folder / "officials/040180001234.crt.pem"
    leaf = _cert(leaf_path)
    tp = thumbprint(leaf)

    shown = _invoke("show", str(leaf_path))
    assert tp in shown
    assert "contentCommitment (nonRepudiation)" in shown and "digitalSignature" in shown
    assert "cá nhân / personal" in shown
    assert "040180001234" in shown and "còn hiệu lực / valid" in shown
    as_json = json.loads(
        _invoke("show", "--format", "json", str(folder / "nodes/000.00.00.H41.crt.pem"))
    )
    assert as_json[0]["kind"] == "node"
    assert as_json[0]["key_usage"] == ["digitalSignature"]
    assert as_json[0]["agency_codes"] == ["000.00.00.H41"]
    from_p12 = json.loads(
        _invoke("show", "--format", "json", str(folder / "nodes/000.00.00.H41.p12"))
    )
    assert [c["kind"] for c in from_p12] == ["node", "ca"]
    assert from_p12[1]["thumbprint"] == thumbprint(_cert(folder / "ca.crt.pem"))
    missing = _invoke("show", str(folder / "nope.pem"), ok=False)
    assert "Không tìm thấy tệp" in missing

    revoked_file = folder / "revoked.txt"
    out = _invoke("revoke", str(leaf_path), "--revoked-file", str(revoked_file), "--reason", "test")
    assert "Đã thu hồi / Revoked" in out and tp in out
    assert tp in pki.revoked_thumbprints(revoked_file)
    again = _invoke("revoke", str(leaf_path), "--revoked-file", str(revoked_file))
    assert "Đã thu hồi từ trước / Already revoked" in again
    assert revoked_file.read_text(encoding="utf-8").count(tp) == 1

    trust = TrustStore.from_files([folder / "ca.crt.pem"], revoked_file)
    with pytest.raises(ExchangeError) as exc:
        trust.validate([leaf], dt.datetime.now(dt.UTC))
    assert exc.value.code == "certificate_untrusted"
    trust.validate([_cert(folder / "nodes/000.00.00.H41.crt.pem")], dt.datetime.now(dt.UTC))
