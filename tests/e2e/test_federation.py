"""The federation demo end to end: two agency nodes and the national node as real
``hoso serve`` processes on loopback ports; dossiers are submitted, verified and approved
with officials' certificates, synced over HTTP, and a correction comes back."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hoso.federation import OFFICIAL_IDS

pytestmark = pytest.mark.slow


def _three_free_ports() -> int:
    """A base port whose next two ports are free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base > 60000:
            continue
        try:
            for p in (base, base + 1, base + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise RuntimeError("no three consecutive free ports")


def test_federation_demo_flows_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "federation"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hoso",
            "demo",
            "federation",
            "--dir",
            str(root),
            "--people",
            "15",
            "--base-port",
            str(_three_free_ports()),
            "--check",
            "--timeout",
            "240",
        ],
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FEDERATION OK" in result.stdout
    with sqlite3.connect(root / "national.db") as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT managing_agency_code) FROM national_record"
        ).fetchone()
        proposed = conn.execute(
            "SELECT count(*) FROM correction WHERE side = 'national'"
        ).fetchone()[0]
    assert stored == (30, 2)
    assert proposed == 1
    for db in ("agency1.db", "agency2.db"):
        with sqlite3.connect(root / db) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM person_version GROUP BY status"
                ).fetchall()
            )
            assert statuses == {"SYNCED": 15}
            approvals = [
                json.loads(a[0]) for a in conn.execute("SELECT approval FROM person_version")
            ]
            assert {a["approved_by"]["personal_id"] for a in approvals} <= set(OFFICIAL_IDS)
            assert all(a["signature"].count(".") == 2 for a in approvals)
