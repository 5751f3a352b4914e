"""The PKCS#11 signer against SoftHSM2: keys generated on the token never leave it.

Per test session: a private ``SOFTHSM2_CONF`` and token folder, two tokens (``hoso-test`` for
signing, ``hoso-pin`` for PIN failures), an EC P-256 node key and an RSA-2048 official key
generated on the token, certified by a test CA (``hoso.exchange.pki``) and stored beside
their keys. Signatures are checked with hoso's ``jws.verify_detached`` and with jwcrypto.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11 as p11
import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk
from jwcrypto import jws as jjws
from jwcrypto.common import JWException

from hoso.errors import InvalidInput
from hoso.exchange import certificates, jws, pki
from hoso.exchange.errors import ExchangeError
from hoso.exchange.pkcs11 import (
    Pkcs11Signer,
    generate_keypair,
    parse_uri,
    signer_from_uri,
    store_certificate,
)
from hoso.exchange.signing import Signer, load_signer

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN, PIN, SO_PIN = "hoso-test", "123456", "87654321"
PIN_TOKEN = "hoso-pin"
H41 = pki.Agency("000.00.00.H41", "UBND tỉnh Nghệ An")
OFFICIAL = pki.Official("000.00.00.H41", "040180001234", "Trần Thị Bình")


@dataclass
class Hsm:
    """The session's SoftHSM tokens and the CA that certified their keys."""

    root: Path
    pki: pki.TestPki

    def uri(self, obj: str, **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in {"module-path": MODULE, **query}.items())
        return f"pkcs11:token={TOKEN};object={obj}?{q}"


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hsm]:
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the module at C_Initialize
    for label in (TOKEN, PIN_TOKEN):
        init = ["softhsm2-util", "--init-token", "--free", "--label", label]
        subprocess.run(
            [*init, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        )
    test_pki = pki.make_test_pki(root / "pki")
    # The realistic path: generate on the token, certify the public key, store the cert.
    node_pub = generate_keypair(
        MODULE, token_label=TOKEN, pin=PIN, label="node", key_id=b"\x01", key_type="ec"
    )
    node = test_pki.add_node(H41, public_key=node_pub)
    store_certificate(
        MODULE, token_label=TOKEN, pin=PIN, cert=node.cert, label="node", key_id=b"\x01"
    )
    store_certificate(
        MODULE, token_label=TOKEN, pin=PIN, cert=test_pki.ca.cert, label="ca", key_id=b"\xca"
    )
    official_pub = generate_keypair(
        MODULE, token_label=TOKEN, pin=PIN, label="official", key_id=b"\x02", key_type="rsa"
    )
    official = test_pki.add_official(OFFICIAL, public_key=official_pub)
    store_certificate(
        MODULE, token_label=TOKEN, pin=PIN, cert=official.cert, label="official", key_id=b"\x02"
    )
    # A key whose certificate is not on the token (given as a PEM file instead).
    generate_keypair(
        MODULE, token_label=TOKEN, pin=PIN, label="bare", key_id=b"\x03", key_type="ec"
    )
    yield Hsm(root=root, pki=test_pki)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def _payload() -> bytes:
    envelope = {
        "spec": "hoso-exchange/1",
        "id": "0193b7a2-5c1e-7d3a-9f10-000000000001",
        "type": "records.upsert",
        "sender": "000.00.00.H41:hrm",
        "receiver": "000.00.00.G09:csdlqg",
        "sequence": 1,
        "created_at": "2026-11-23T07:15:00Z",
        "body": {"records": []},
    }
    return bytes(rfc8785.dumps(envelope))


def _jwcrypto_verify(token: str, payload: bytes, signer: Signer) -> None:
    """Independent verification (jwcrypto) with the public key of the signer's certificate."""
    key = jwk.JWK.from_pyca(signer.chain[0].public_key())
    obj = jjws.JWS()
    obj.deserialize(token)
    obj.verify(key, alg=signer.alg, detached_payload=payload)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(("obj", "alg"), [("node", "ES256"), ("official", "RS256")])
def test_token_signature_verifies_with_hoso_and_jwcrypto(hsm: Hsm, obj: str, alg: str) -> None:
    payload = _payload()
    with signer_from_uri(hsm.uri(obj), pin=PIN) as signer:
        assert signer.alg == alg
        leaf = signer.chain[0]
        expected = (
            hsm.pki.nodes[H41.code] if obj == "node" else hsm.pki.officials[OFFICIAL.personal_id]
        )
        assert leaf == expected.cert
        # The CA stored on the token completes the chain.
        assert list(signer.chain) == [expected.cert, hsm.pki.ca.cert]
        token = jws.sign_detached(signer, payload)
        verified = jws.verify_detached(token, payload, trust=hsm.pki.trust(), at=_now())
        assert verified.alg == alg and verified.leaf == leaf
        _jwcrypto_verify(token, payload, signer)
        tampered = payload.replace(b'"sequence":1', b'"sequence":2')
        with pytest.raises(JWException):
            _jwcrypto_verify(token, tampered, signer)
        with pytest.raises(ExchangeError) as exc:
            jws.verify_detached(token, tampered, trust=hsm.pki.trust(), at=_now())
        assert exc.value.code == "signature_invalid"


def test_official_approval_from_the_token_is_accepted(hsm: Hsm) -> None:
    content_hash = "sha256:" + "cd" * 32
    with signer_from_uri(hsm.uri("official", **{"pin-value": PIN})) as signer:
        approval = {
            "approved_by": {"personal_id": OFFICIAL.personal_id, "name": OFFICIAL.name},
            "approved_at": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signature": jws.sign_detached(signer, content_hash.encode("ascii")),
        }
    verified = certificates.check_approval(
        approval, content_hash, OFFICIAL.agency_code, trust=hsm.pki.trust()
    )
    assert certificates.personal_id(verified.leaf) == OFFICIAL.personal_id


def test_private_keys_never_leave_the_token(hsm: Hsm) -> None:
    lib = p11.lib(MODULE)
    with lib.get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        keys = list(session.get_objects({p11.Attribute.CLASS: p11.ObjectClass.PRIVATE_KEY}))
        assert {k.label for k in keys} == {"node", "official", "bare"}
        for key in keys:
            assert key[p11.Attribute.SENSITIVE] is True
            assert key[p11.Attribute.EXTRACTABLE] is False
            with pytest.raises(p11.exceptions.AttributeSensitive):
                key[
                    p11.Attribute.VALUE
                    if key.key_type == p11.KeyType.EC
                    else p11.Attribute.PRIVATE_EXPONENT
                ]


def test_concurrent_signing_is_serialised(hsm: Hsm) -> None:
    payloads = [f"message {i}".encode() for i in range(80)]
    tokens: dict[int, str] = {}
    errors: list[BaseException] = []
    with Pkcs11Signer(MODULE, token_label=TOKEN, pin=PIN, key_id=b"\x01") as signer:

        def work(start: int) -> None:
            try:
                for i in range(start, len(payloads), 8):
                    tokens[i] = jws.sign_detached(signer, payloads[i])
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert len(tokens) == len(payloads)
    trust = hsm.pki.trust()
    for i, token in tokens.items():
        jws.verify_detached(token, payloads[i], trust=trust, at=_now())


def test_chain_from_a_pem_file_when_the_token_has_none(hsm: Hsm, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        signer_from_uri(hsm.uri("bare"), pin=PIN)
    assert exc.value.issues[0].code == "pkcs11_cert"
    assert "x-chain-file" in exc.value.message_en
    # Certify the token's public key and give the chain as a file.
    lib = p11.lib(MODULE)
    with lib.get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        pub = session.get_key(p11.ObjectClass.PUBLIC_KEY, label="bare")
        der = p11.util.ec.encode_ec_public_key(pub)
    public_key = serialization.load_der_public_key(der)
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    cert = hsm.pki.ca.issue(
        pki.node_subject("000.00.00.H38", "UBND tỉnh Thanh Hóa"), public_key, personal=False
    )
    chain_file = tmp_path / "bare-chain.pem"
    chain_file.write_bytes(pki.pem(cert) + pki.pem(hsm.pki.ca.cert))
    with signer_from_uri(hsm.uri("bare", **{"x-chain-file": str(chain_file)}), pin=PIN) as s:
        token = jws.sign_detached(s, b"abc")
        assert jws.verify_detached(token, b"abc", trust=hsm.pki.trust(), at=_now()).leaf == cert
    # A chain whose leaf belongs to another key is refused.
    wrong = tmp_path / "wrong-chain.pem"
    wrong.write_bytes(pki.pem(hsm.pki.nodes[H41.code].cert))
    with pytest.raises(InvalidInput) as exc:
        signer_from_uri(hsm.uri("bare", **{"x-chain-file": str(wrong)}), pin=PIN)
    assert "does not belong" in exc.value.message_en


def test_load_signer_takes_a_uri_and_a_pin_file(hsm: Hsm, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    signer = load_signer(hsm.uri("node"), password=pin_file.read_bytes().strip())
    assert signer.alg == "ES256"
    with signer_from_uri(hsm.uri("official", **{"pin-source": f"file:{pin_file}"})) as s2:
        assert s2.alg == "RS256"
    assert isinstance(signer, Pkcs11Signer)
    signer.close()


def test_wrong_pin_missing_token_and_missing_key_are_clear(hsm: Hsm) -> None:
    with pytest.raises(InvalidInput) as exc:
        Pkcs11Signer(MODULE, token_label=PIN_TOKEN, pin="000000", key_label="node")
    assert exc.value.message_vi == f"Sai mã PIN của thiết bị ký số '{PIN_TOKEN}'"
    assert exc.value.message_en == f"Wrong PIN for token '{PIN_TOKEN}'"
    assert exc.value.issues[0].code == "pkcs11_pin"
    # The right PIN then gets past the login, to the (missing) key.
    with pytest.raises(InvalidInput) as exc:
        Pkcs11Signer(MODULE, token_label=PIN_TOKEN, pin=PIN, key_label="node")
    assert exc.value.issues[0].code == "pkcs11_key"
    assert "Không tìm thấy khóa ký" in exc.value.message_vi
    with pytest.raises(InvalidInput) as exc:
        Pkcs11Signer(MODULE, token_label="no-such-token", pin=PIN, key_label="node")
    assert exc.value.issues[0].code == "pkcs11_token"
    assert "Không tìm thấy thiết bị ký số" in exc.value.message_vi
    with pytest.raises(InvalidInput) as exc:
        Pkcs11Signer(MODULE, token_label=PIN_TOKEN, pin=None, key_label="node")
    assert "Cần mã PIN" in exc.value.message_vi
    with pytest.raises(InvalidInput) as exc:
        Pkcs11Signer("/nonexistent/libpkcs11.so", token_label=TOKEN, pin=PIN, key_label="x")
    assert exc.value.issues[0].code == "pkcs11_module"


def test_uri_parser(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text("4321\n")
    parsed = parse_uri(
        "pkcs11:token=H%E1%BB%93%20s%C6%A1;object=node%20key;id=%01%FF;type=private"
        f"?module-path={MODULE}&pin-source=file:{pin_file}&x-chain-file=/tmp/c.pem&x-other=1"
    )
    assert parsed.token == "Hồ sơ"
    assert parsed.object == "node key"
    assert parsed.id == b"\x01\xff"
    assert parsed.type == "private"
    assert parsed.module_path == MODULE
    assert parsed.chain_file == "/tmp/c.pem"
    assert parsed.pin() == "4321"
    assert parse_uri("pkcs11:object=a?pin-value=12%2534").pin() == "12%34"
    assert parse_uri("pkcs11:object=a").pin() is None
    for bad in (
        "pkcs12:object=a",
        "pkcs11:object=a;colour=red",
        "pkcs11:object=a;object=b",
        "pkcs11:object",
        "pkcs11:object=a?pin-source=|/bin/cat",
    ):
        with pytest.raises(InvalidInput):
            parse_uri(bad).pin()
    with pytest.raises(InvalidInput) as exc:
        signer_from_uri("pkcs11:token=x;object=a")
    assert "module-path" in exc.value.message_en
    with pytest.raises(InvalidInput) as exc:
        signer_from_uri(f"pkcs11:token=x;object=a;type=cert?module-path={MODULE}")
    assert "type=private" in exc.value.message_en


def test_signer_reopens_a_lost_session(hsm: Hsm) -> None:
    with Pkcs11Signer(MODULE, token_label=TOKEN, pin=PIN, key_label="node") as signer:
        first = jws.sign_detached(signer, b"one")
        signer._session.close()  # as if the token had been pulled out and put back
        second = jws.sign_detached(signer, b"two")
    trust = hsm.pki.trust()
    jws.verify_detached(first, b"one", trust=trust, at=_now())
    jws.verify_detached(second, b"two", trust=trust, at=_now())
