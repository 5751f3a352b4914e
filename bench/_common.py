"""Shared pieces of the benchmarks: a durable throwaway PostgreSQL, data files, RSS sampling.

Benchmarks are not tests: they print figures and ratios against a baseline measured in the
same run. The PostgreSQL cluster here keeps the server's durable defaults (fsync on,
synchronous_commit on), unlike the test harness, so the figures mean something.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "tests"))

from pg_harness import Cluster  # noqa: E402


class DurableCluster(Cluster):
    """A throwaway cluster with PostgreSQL's default durability settings."""

    def start(self) -> None:
        t0 = time.perf_counter()
        proc = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self._check(proc, "initdb")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' "
            f"-p {self.port} -c max_connections=100 -c shared_buffers=512MB "
            "-c max_wal_size=4GB"
        )
        proc = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
        )
        self._check(proc, "pg_ctl start")
        self.started = True
        self.start_seconds = time.perf_counter() - t0


def people_file(count: int, seed: int) -> tuple[Path, list[dict[str, object]]]:
    """A generated people file (cached in bench/out) and the org tree it uses."""
    from hoso.generate.orgs import generate_orgs
    from hoso.generate.people import generate_people

    OUT.mkdir(parents=True, exist_ok=True)
    orgs = generate_orgs(seed=seed)
    path = OUT / f"people_{count}_{seed}.jsonl"
    if not path.exists():
        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            for line, _ in generate_people(count, seed, orgs=orgs):
                fh.write(orjson.dumps(line) + b"\n")
        tmp.rename(path)
        print(f"generated {count:,} people in {time.perf_counter() - t0:.1f} s → {path}")
    return path, orgs


def load_orgs(url: str, orgs: list[dict[str, object]]) -> None:
    """Migrate ``url`` and load the org tree through the orgs service."""
    os.environ["HOSO_DATABASE_URL"] = url
    from hoso.auth.principal import operator
    from hoso.config import get_settings
    from hoso.db import engine
    from hoso.db.migrate import upgrade
    from hoso.orgs import service as orgs_service
    from hoso.orgs.schemas import OrgUnitIn

    get_settings.cache_clear()
    engine.reset()
    upgrade(url)
    with engine.unit_of_work() as session:
        orgs_service.upsert_units(
            session, [OrgUnitIn.model_validate(u) for u in orgs], principal=operator()
        )
    engine.reset()


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS of its process tree in bytes, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            p = psutil.Process(proc.pid)
            while not stop.is_set():
                rss = p.memory_info().rss
                for child in p.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss += child.memory_info().rss
                peak = max(peak, rss)
                time.sleep(0.05)
        except psutil.Error:
            return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {err.decode()[-2000:]}")
    return time.perf_counter() - t0, peak, out.decode()
