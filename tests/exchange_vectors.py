"""Shared access to the exchange test vectors (tests/data/exchange/vectors) and their keys."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hoso.exchange.node import Node
from hoso.exchange.signing import KeySigner, load_pem
from hoso.exchange.trust import TrustStore

VECTORS = Path(__file__).resolve().parent / "data" / "exchange" / "vectors"
PKI = VECTORS / "pki"
CLOCK = dt.datetime(2026, 11, 23, 7, 15, tzinfo=dt.UTC)
AGENCY_NODE = "000.00.00.H41:hrm"
NATIONAL_NODE = "000.00.00.G09:csdlqg"


def manifest() -> list[dict[str, Any]]:
    """The manifest entries that name a file."""
    return [
        e
        for e in json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
        if "file" in e
    ]


def load(name: str) -> dict[str, Any]:
    """A vector envelope."""
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def trust() -> TrustStore:
    """The vectors' trust anchor."""
    return TrustStore.from_files([PKI / "ca.crt.pem"])


def signer(label: str) -> KeySigner:
    """A signer from a vector key (``agency``, ``national``, ``official``, ...) with the CA in its chain."""
    chain = (PKI / f"{label}.crt.pem").read_bytes() + (PKI / "ca.crt.pem").read_bytes()
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as fh:
        fh.write(chain)
        chain_path = Path(fh.name)
    try:
        return load_pem(PKI / f"{label}.key.pem", chain_path)
    finally:
        chain_path.unlink()


def national_node(**overrides: Any) -> Node:
    """A national node signing with the vectors' national key."""
    args: dict[str, Any] = {
        "node_id": NATIONAL_NODE,
        "role": "national",
        "signer": signer("national"),
        "trust": trust(),
        "national_node": NATIONAL_NODE,
    }
    args.update(overrides)
    return Node(**args)


def agency_node(**overrides: Any) -> Node:
    """An agency node signing with the vectors' agency key."""
    args: dict[str, Any] = {
        "node_id": AGENCY_NODE,
        "role": "agency",
        "signer": signer("agency"),
        "trust": trust(),
        "national_node": NATIONAL_NODE,
    }
    args.update(overrides)
    return Node(**args)
