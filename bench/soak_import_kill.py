"""Crash soak: import a large file, SIGKILL the importer at random moments, rerun until done.

    .venv/bin/python bench/soak_import_kill.py [--count 200000] [--kills 8] [--backend postgresql]

The final database must equal a clean uninterrupted import of the same file: the same
exported bytes, the same number of versions, every refused line recorded once and an
intact audit chain. Prints each kill point and the verdict; exits non-zero on a mismatch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DurableCluster, load_orgs, people_file


def state(url: str) -> tuple[str, int, int, bool]:
    os.environ["HOSO_DATABASE_URL"] = url
    from sqlalchemy import func, select

    from hoso.audit import service as audit_service
    from hoso.auth.principal import operator
    from hoso.config import get_settings
    from hoso.db import engine
    from hoso.people import bulk
    from hoso.people.models import ImportIssue, PersonVersion

    get_settings.cache_clear()
    engine.reset()
    digest = hashlib.sha256()
    with engine.unit_of_work() as session:
        for record in bulk.export_records(session, principal=operator()):
            digest.update(repr(sorted(record.items())).encode())
        versions = session.execute(select(func.count()).select_from(PersonVersion)).scalar_one()
        issues = session.execute(select(func.count()).select_from(ImportIssue)).scalar_one()
        ok, _ = audit_service.verify_chain(session)
    engine.reset()
    return digest.hexdigest(), versions, issues, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    path, orgs = people_file(args.count, args.seed)
    rng = random.Random(args.seed)
    cluster = DurableCluster() if args.backend == "postgresql" else None
    tmp = tempfile.TemporaryDirectory()
    if cluster is not None:
        cluster.start()

    def new_db(name: str) -> str:
        if cluster is not None:
            return cluster.create_database(name)
        return f"sqlite:///{Path(tmp.name) / name}.db"

    cmd = [sys.executable, "-m", "hoso", "people", "import", str(path), "--quiet"]
    try:
        reference = new_db("reference")
        load_orgs(reference, orgs)
        t0 = time.perf_counter()
        subprocess.run(
            cmd, env={**os.environ, "HOSO_DATABASE_URL": reference}, check=True, capture_output=True
        )
        clean_seconds = time.perf_counter() - t0
        expected = state(reference)
        victim = new_db("victim")
        load_orgs(victim, orgs)
        env = {**os.environ, "HOSO_DATABASE_URL": victim}
        for n in range(args.kills):
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            delay = rng.uniform(2.0, clean_seconds / 2)
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                print(f"kill {n + 1}: after {delay:.1f} s")
            else:
                print(f"kill {n + 1}: the run had already finished")
                break
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        print(final.stdout.strip())
        got = state(victim)
        same = got == expected
        print(
            f"clean run {clean_seconds:.0f} s; versions {got[1]:,} vs {expected[1]:,}; "
            f"refused lines {got[2]:,} vs {expected[2]:,}; audit chain ok: {got[3]}"
        )
        print("VERDICT:", "same final state as the uninterrupted run" if same else "MISMATCH")
        if not same:
            raise SystemExit(1)
    finally:
        if cluster is not None:
            cluster.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
