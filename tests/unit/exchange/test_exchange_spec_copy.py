"""The exchange format's copy in ``tests/data/exchange`` is ``../shared/spec/exchange``, unchanged.

(a) every file matches ``tests/data/EXCHANGE_SHA256SUMS``; (b) the copy is byte-equal to
``../shared/spec/exchange`` (skipped, visibly, only when that folder is absent).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COPY = ROOT / "tests" / "data" / "exchange"
SUMS = ROOT / "tests" / "data" / "EXCHANGE_SHA256SUMS"
UPSTREAM = ROOT.parent / "shared" / "spec" / "exchange"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_copy_matches_its_checksums() -> None:
    expected = {}
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        expected[name.removeprefix("./")] = digest
    actual = {name: hashlib.sha256(data).hexdigest() for name, data in _files(COPY).items()}
    assert actual == expected


@pytest.mark.skipif(
    not UPSTREAM.is_dir(), reason=f"{UPSTREAM} is absent (clone outside the project)"
)
def test_copy_is_byte_equal_to_the_spec() -> None:
    ours, theirs = _files(COPY), _files(UPSTREAM)
    assert sorted(ours) == sorted(theirs), "file lists differ: copy shared/spec/exchange again"
    changed = [name for name in ours if ours[name] != theirs[name]]
    assert not changed, f"differ from shared/spec/exchange: {changed}"
