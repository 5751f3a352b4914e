"""The shipped copy of the data standard (``src/hoso/catalog/data``) is the spec, unchanged.

(a) ``check_spec.py`` passes on the shipped copy; (b) every shipped file is byte-equal to
``../shared/spec`` (skipped, visibly, only when that folder is absent, e.g. in a clone used
outside the project); (c) the files match ``SPEC_SHA256SUMS``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hoso.catalog import loader

REPO_ROOT = Path(__file__).resolve().parents[3]
UPSTREAM = REPO_ROOT.parent / "shared" / "spec"
SHIPPED = loader.DATA_DIR
SUMS_FILE = SHIPPED.parent / "SPEC_SHA256SUMS"
#: Top-level spec files shipped in the package (``exchange/`` is documentation, not data).
TOP_LEVEL = (
    "README.md",
    "catalog.yaml",
    "check_spec.py",
    "identifiers.md",
    "quality-rules.csv",
    "quality-rules.md",
)


def _relative_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _upstream_shipped_files() -> set[str]:
    names = {name for name in TOP_LEVEL if (UPSTREAM / name).is_file()}
    return names | {
        f"codelists/{p.name}" for p in (UPSTREAM / "codelists").iterdir() if p.is_file()
    }


def _first_difference(ours: bytes, theirs: bytes) -> str:
    try:
        a, b = ours.decode("utf-8").splitlines(), theirs.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return f"binary difference ({len(ours)} vs {len(theirs)} bytes)"
    diff = list(difflib.unified_diff(b, a, "shared/spec", "shipped", n=0, lineterm=""))
    if not diff:
        return "differs only in line endings or a final newline"
    return "\n      ".join(diff[:12]) + ("\n      ..." if len(diff) > 12 else "")


def _check_spec_output() -> str:
    script = UPSTREAM / "check_spec.py"
    if not script.is_file():
        script = SHIPPED / "check_spec.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(SHIPPED)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, f"{script} failed on {SHIPPED}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_check_spec_passes_on_the_shipped_copy() -> None:
    out = _check_spec_output()
    assert out.startswith("OK"), out


def test_loader_agrees_with_the_check_spec_summary() -> None:
    out = _check_spec_output()
    counts = dict(re.findall(r"\b(core|p109|tt06|nd27)=(\d+)", out))
    catalog = loader.load_catalog()
    assert counts, out
    assert {p: len(catalog.profile_leaves(p)) for p in counts} == {
        p: int(n) for p, n in counts.items()
    }
    rules = re.search(r"rules=(\d+)", out)
    assert rules and len(catalog.rules) == int(rules[1])
    lists = re.search(r"code lists=(\d+)", out)
    assert lists and len(catalog.codelists) == int(lists[1])


def test_shipped_copy_is_byte_equal_to_shared_spec() -> None:
    if not UPSTREAM.is_dir():
        pytest.skip(f"{UPSTREAM} not found: cannot compare the shipped copy with the spec")
    expected = _upstream_shipped_files()
    shipped = _relative_files(SHIPPED)
    problems = [f"  missing from the shipped copy: {name}" for name in sorted(expected - shipped)]
    problems += [f"  not in shared/spec: {name}" for name in sorted(shipped - expected)]
    for name in sorted(expected & shipped):
        ours, theirs = (SHIPPED / name).read_bytes(), (UPSTREAM / name).read_bytes()
        if ours != theirs:
            problems.append(f"  differs: {name}\n      {_first_difference(ours, theirs)}")
    assert not problems, (
        f"THE SHIPPED SPEC COPY ({SHIPPED}) DIFFERS FROM {UPSTREAM}:\n"
        + "\n".join(problems)
        + "\nCopy the spec again and regenerate SPEC_SHA256SUMS."
    )


def test_shipped_copy_matches_spec_sha256sums() -> None:
    listed: dict[str, str] = {}
    for line in SUMS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listed[name.strip().removeprefix("./")] = digest
    actual = {
        name: hashlib.sha256((SHIPPED / name).read_bytes()).hexdigest()
        for name in _relative_files(SHIPPED)
    }
    assert set(actual) == set(listed), (
        f"unlisted: {sorted(set(actual) - set(listed))}, "
        f"listed but absent: {sorted(set(listed) - set(actual))}"
    )
    wrong = sorted(name for name in actual if actual[name] != listed[name])
    assert not wrong, f"SHA-256 differs from SPEC_SHA256SUMS for: {wrong}"
