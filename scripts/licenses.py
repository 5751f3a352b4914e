"""Print a Markdown table of every package in requirements.lock: version and licence.

The licence is read from each installed distribution's metadata (``License-Expression``,
else the ``License ::`` classifiers, else a short ``License`` field, else the name of a
bundled licence file). Licences that are GPL/AGPL (copyleft beyond what the project's
EUPL-1.2 tolerates without care) or unknown are flagged. Exit status 1 when the installed
version of a locked package differs from the lock or the package is missing.

Usage: ``.venv/bin/python scripts/licenses.py [requirements.lock]``
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)")
CLASSIFIER = "License :: OSI Approved :: "
# Spelled-out classifier licences, shortened to their SPDX-like names.
SHORT = {
    "MIT License": "MIT",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "ISC License (ISCL)": "ISC",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "The Unlicense (Unlicense)": "Unlicense",
}


def locked(path: Path) -> list[tuple[str, str]]:
    """``(name, version)`` of every pinned line of the lock file."""
    out: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            out.append((match[1], match[2]))
    return out


def licence_of(dist: metadata.Distribution) -> str:
    """The best licence statement found in the distribution's metadata."""
    meta = dist.metadata
    expression = meta["License-Expression"]
    if expression:
        return str(expression).strip()
    classifiers = [
        c.removeprefix(CLASSIFIER)
        for c in meta.get_all("Classifier") or []
        if c.startswith(CLASSIFIER)
    ]
    if classifiers:
        return " OR ".join(SHORT.get(c, c) for c in classifiers)
    text = str(meta["License"] or "").strip()
    if text and len(text) <= 60 and "\n" not in text:
        return text
    if text:
        return text.splitlines()[0][:60] + " …"
    files = [str(f) for f in dist.files or [] if re.search(r"LICEN[CS]E|COPYING", str(f), re.I)]
    if files:
        return f"unknown (see {Path(files[0]).name})"
    return "unknown"


def flag(licence: str) -> str:
    """``"CHECK"`` for GPL/AGPL (not LGPL) or unknown licences, else empty."""
    copyleft = r"(?<!L)GPL|(?<!Lesser )(?<!Library )General Public License"
    if licence.startswith("unknown") or re.search(copyleft, licence):
        return "CHECK"
    return ""


def main(argv: list[str]) -> int:
    """Print the table; return 1 when the environment does not match the lock."""
    lock = Path(argv[1]) if len(argv) > 1 else LOCK
    problems = 0
    print("| Package | Version | Licence | Flag |")
    print("|---|---|---|---|")
    for name, version in locked(lock):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            print(f"| {name} | {version} | not installed | MISSING |")
            problems += 1
            continue
        note = flag(licence_of(dist))
        if dist.version != version:
            note = f"installed {dist.version}"
            problems += 1
        print(f"| {name} | {version} | {licence_of(dist)} | {note} |")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
