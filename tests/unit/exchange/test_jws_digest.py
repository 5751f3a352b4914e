"""The verifier hashes the JWS signing input in pieces; it must be the input's own hash."""

from __future__ import annotations

import hashlib
import os

import pytest

from hoso.exchange import jws


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 1_000_001, 1_000_002, 1_000_003])
def test_signing_digest_is_the_hash_of_the_signing_input(size: int) -> None:
    # every length modulo 3: base64 pads with 0, 1 or 2 '=' that the input leaves out
    payload = os.urandom(size)
    header = "eyJhbGciOiJFUzI1NiJ9"
    whole = jws.signing_input(header, payload)
    assert not whole.endswith(b"=")
    assert jws.signing_digest(header, payload) == hashlib.sha256(whole).digest()
