"""The test PKI of ``hoso.exchange.pki``: certificates hoso accepts, and independent checks.

The certificates must pass hoso's own checks (``TrustStore.validate``, ``check_approval``)
and an independent implementation (the ``openssl`` command line: chain verification and
PKCS#12 parsing).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from hoso.errors import InvalidInput
from hoso.exchange import certificates, jws, pki
from hoso.exchange.errors import ExchangeError
from hoso.exchange.signing import load_pkcs12, thumbprint
from hoso.exchange.trust import TrustStore

H41 = ("000.00.00.H41", "UBND tỉnh Nghệ An")
H38 = ("000.00.00.H38", "UBND tỉnh Thanh Hóa")
G09 = ("000.00.00.G09", "Bộ Nội vụ")
BINH = ("000.00.00.H41", "040180001234", "Trần Thị Bình")
CUONG = ("000.00.00.H38", "038190004321", "Lê Văn Cường")
NOW = dt.datetime(2026, 11, 23, 7, 15, tzinfo=dt.UTC)
CONTENT_HASH = "sha256:" + "ab" * 32


@pytest.fixture
def made(tmp_path: Path) -> pki.TestPki:
    return pki.make_test_pki(
        tmp_path / "pki", agencies=[H41, H38], officials=[BINH, CUONG], national=G09, now=NOW
    )


def _approval(signer: jws.Signer, personal_id: str, at: dt.datetime = NOW) -> dict[str, object]:
    return {
        "approved_by": {"personal_id": personal_id, "name": "x", "title": "Giám đốc"},
        "approved_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signature": jws.sign_detached(signer, CONTENT_HASH.encode("ascii")),
    }


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, errors="replace", check=False
    )


def _ku(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def test_subjects_and_key_usage_follow_the_spec(made: pki.TestPki) -> None:
    node = made.nodes["000.00.00.H41"].cert
    official = made.officials["040180001234"].cert
    national = made.nodes["000.00.00.G09"].cert

    assert node.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    assert node.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == H41[1]
    assert certificates.agency_codes(node) == ["000.00.00.H41"]
    assert certificates.personal_id(node) is None
    assert not certificates.is_personal(node)
    assert _ku(node).digital_signature and not _ku(node).content_commitment
    assert certificates.common_name(national) == pki.NATIONAL_SYSTEM_NAME
    assert certificates.agency_codes(national) == ["000.00.00.G09"]

    assert certificates.is_personal(official)
    assert certificates.personal_id(official) == "040180001234"
    assert certificates.common_name(official) == "Trần Thị Bình"
    assert official.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == H41[1]
    assert _ku(official).digital_signature and _ku(official).content_commitment
    assert not _ku(official).key_cert_sign
    assert made.official_signer("040180001234").alg == "RS256"
    assert made.node_signer("000.00.00.H41").alg == "ES256"

    ca = made.ca.cert
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    assert _ku(ca).key_cert_sign and _ku(ca).crl_sign and not _ku(ca).digital_signature
    for leaf in (node, official, national):
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        leaf.verify_directly_issued_by(ca)


def test_made_chains_validate_with_the_trust_store(made: pki.TestPki) -> None:
    trust = made.trust()
    for issued in [*made.nodes.values(), *made.officials.values()]:
        trust.validate(issued.chain, NOW)
        trust.validate(issued.chain[:1], NOW)  # the anchor may be left out of x5c
    leaf = made.nodes["000.00.00.H41"].chain
    with pytest.raises(ExchangeError) as exc:
        trust.validate(leaf, NOW + dt.timedelta(days=pki.DEFAULT_DAYS + 1))
    assert exc.value.code == "certificate_expired"
    other = pki.make_test_pki(made.dir.parent / "other", agencies=[H41], now=NOW)
    with pytest.raises(ExchangeError) as exc:
        other.trust().validate(leaf, NOW)
    assert exc.value.code == "certificate_untrusted"


def test_check_approval_accepts_personal_certificates(made: pki.TestPki) -> None:
    for personal_id, agency in (("040180001234", "000.00.00.H41"), ("038190004321", H38[0])):
        signer = made.official_signer(personal_id)
        verified = certificates.check_approval(
            _approval(signer, personal_id), CONTENT_HASH, agency, trust=made.trust()
        )
        assert verified.leaf == made.officials[personal_id].cert
    ec_signer = made.official("040190009999", "000.00.00.H41", "Phạm Văn Dũng")
    assert ec_signer.alg == "ES256"
    certificates.check_approval(
        _approval(ec_signer, "040190009999"), CONTENT_HASH, "000.00.00.H41", trust=made.trust()
    )


def test_check_approval_refuses_node_and_foreign_certificates(made: pki.TestPki) -> None:
    node = made.node_signer("000.00.00.H41")
    with pytest.raises(ExchangeError) as exc:
        certificates.check_approval(
            _approval(node, "040180001234"), CONTENT_HASH, "000.00.00.H41", trust=made.trust()
        )
    assert exc.value.code == "approval_invalid"
    assert "chứng thư số cá nhân" in exc.value.message_vi
    # An official of another agency does not approve H41's records.
    with pytest.raises(ExchangeError) as exc:
        certificates.check_approval(
            _approval(made.official_signer("038190004321"), "038190004321"),
            CONTENT_HASH,
            "000.00.00.H41",
            trust=made.trust(),
        )
    assert exc.value.code == "approval_invalid"


def test_revoked_certificate_is_untrusted(made: pki.TestPki) -> None:
    signer = made.official_signer("040180001234")
    token = jws.sign_detached(signer, b"payload")
    jws.verify_detached(token, b"payload", trust=made.trust(), at=NOW)

    assert made.revoke("040180001234", reason="mất thiết bị") is True
    assert made.revoke("040180001234") is False  # idempotent
    entries = pki.revoked_thumbprints(made.revoked_path)
    assert thumbprint(made.officials["040180001234"].cert) in entries
    trust = TrustStore.from_files([made.ca_cert_path], made.revoked_path)
    with pytest.raises(ExchangeError) as exc:
        jws.verify_detached(token, b"payload", trust=trust, at=NOW)
    assert exc.value.code == "certificate_untrusted"
    with pytest.raises(ExchangeError) as exc:
        certificates.check_approval(
            _approval(signer, "040180001234"), CONTENT_HASH, "000.00.00.H41", trust=trust
        )
    assert exc.value.code == "approval_invalid"
    assert "thu hồi" in exc.value.message_vi
    trust.validate(made.officials["038190004321"].chain, NOW)  # others stay trusted


def test_openssl_verifies_the_made_chains(made: pki.TestPki) -> None:
    at = str(int(NOW.timestamp()))
    for issued in [*made.nodes.values(), *made.officials.values()]:
        run = _openssl(
            "verify",
            "-CAfile",
            str(made.ca_cert_path),
            "-attime",
            at,
            "-x509_strict",
            str(issued.cert_path),
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().endswith(": OK")
    # Negative controls: another CA, and a time after expiry.
    other = pki.make_test_pki(made.dir.parent / "other", now=NOW)
    leaf = str(made.officials["040180001234"].cert_path)
    for ca, when in (
        (other.ca_cert_path, at),
        (made.ca_cert_path, str(int(NOW.timestamp()) + 86400 * 800)),
    ):
        run = _openssl("verify", "-CAfile", str(ca), "-attime", when, leaf)
        assert run.returncode != 0


def test_pkcs12_loads_with_hoso_and_openssl(made: pki.TestPki) -> None:
    for issued in (made.nodes["000.00.00.H41"], made.officials["040180001234"]):
        assert issued.p12_path is not None and issued.password_file is not None
        signer = load_pkcs12(issued.p12_path, issued.password_file.read_bytes().strip())
        assert list(signer.chain) == [issued.cert, made.ca.cert]
        run = _openssl(
            "pkcs12",
            "-info",
            "-nokeys",
            "-in",
            str(issued.p12_path),
            "-passin",
            f"file:{issued.password_file}",
        )
        assert run.returncode == 0, run.stderr
        pems = re.findall(
            r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", run.stdout, re.S
        )
        found = {thumbprint(x509.load_pem_x509_certificate(p.encode())) for p in pems}
        assert found == {issued.thumbprint, thumbprint(made.ca.cert)}
        wrong = _openssl(
            "pkcs12", "-info", "-nokeys", "-in", str(issued.p12_path), "-passin", "pass:wrong"
        )
        assert wrong.returncode != 0
        with pytest.raises(InvalidInput):
            load_pkcs12(issued.p12_path, b"wrong")


def test_secrets_are_owner_only_and_index_describes_the_folder(made: pki.TestPki) -> None:
    secret_files = [made.ca_key_path, made.passwords_path]
    for issued in [*made.nodes.values(), *made.officials.values()]:
        assert issued.p12_path is not None and issued.password_file is not None
        secret_files += [issued.p12_path, issued.password_file]
    for f in secret_files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    index = json.loads(made.index_path.read_text(encoding="utf-8"))
    assert index["ca"]["thumbprint"] == thumbprint(made.ca.cert)
    assert set(index["nodes"]) == {"000.00.00.H41", "000.00.00.H38", "000.00.00.G09"}
    assert index["nodes"]["000.00.00.G09"]["national"] is True
    entry = index["officials"]["040180001234"]
    assert entry["thumbprint"] == made.officials["040180001234"].thumbprint
    assert "serialNumber=CCCD:040180001234" in entry["subject"]
    assert (made.dir / entry["p12"]).exists() and (made.dir / entry["cert"]).exists()
    passwords = made.passwords_path.read_text(encoding="utf-8").splitlines()
    assert len(passwords) == 5
    assert all(line.split(" ")[0].endswith(".p12") for line in passwords)


def test_init_is_idempotent(tmp_path: Path) -> None:
    first = pki.init_pki(tmp_path, agencies=[H41], officials=[BINH], now=NOW)
    node_pem = first.nodes["000.00.00.H41"].cert_path.read_bytes()
    again = pki.init_pki(tmp_path, agencies=[H41], officials=[BINH, CUONG])
    assert thumbprint(again.ca.cert) == thumbprint(first.ca.cert)
    assert again.nodes["000.00.00.H41"].cert_path.read_bytes() == node_pem
    assert again.created == [
        "official 038190004321: " + pki.dn(again.officials["038190004321"].cert.subject)
    ]
    # Loaded from disk, the signers still work and the index lists both officials.
    reopened = pki.TestPki.open(tmp_path, create=False)
    assert set(reopened.officials) == {"040180001234", "038190004321"}
    token = jws.sign_detached(reopened.official_signer("040180001234"), b"x")
    jws.verify_detached(token, b"x", trust=reopened.trust(), at=NOW)


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        pki.make_test_pki(tmp_path, officials=[("000.00.00.H41", "04018000123", "A")])
    assert "12 chữ số" in exc.value.message_vi and "12 digits" in exc.value.message_en
    with pytest.raises(InvalidInput):
        pki.make_test_pki(tmp_path, agencies=[("../etc", "x")])
    with pytest.raises(InvalidInput) as exc:
        pki.TestPki.open(tmp_path / "empty", create=False)
    assert "hoso pki init" in exc.value.message_en
