"""The crash soak in small: a real national node and a real sender are SIGKILLed at random
points while 3,000 approved records sync; the end state must equal the agency's approved
state with gapless sequences and verifiable acks (``bench/soak_exchange_kill.py`` does the
100,000-record, 20-kill run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def test_sync_survives_sigkills_of_sender_and_receiver(_db_provider: object) -> None:
    agency_url, drop_a = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    national_url, drop_n = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "soak_exchange_kill.py"),
                "--records",
                "3000",
                "--kills",
                "6",
                "--message-size",
                "50",
                # Kill soon after the victim is back, so every kill lands while the sync runs.
                "--max-delay",
                "1.0",
                "--agency-url",
                agency_url,
                "--national-url",
                national_url,
                "--timeout",
                "240",
            ],
            capture_output=True,
            text=True,
            timeout=400,
        )
    finally:
        drop_a()
        drop_n()
    summary = "\n".join(line for line in result.stdout.splitlines() if "INFO" not in line)
    assert result.returncode == 0, summary[-6000:] + result.stderr[-2000:]
    assert "VERDICT: national store equals the agency's approved state" in result.stdout
    assert result.stdout.count("SIGKILL") >= 1 and "with 6 SIGKILLs" in result.stdout
