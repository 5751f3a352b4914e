"""Bulk-import throughput: people/s and peak RSS, against a raw COPY of the same documents.

    .venv/bin/python bench/ingest.py [--count 200000] [--backends postgresql,sqlite]

For each size (count/4 and count, to show that memory stays flat as the file grows) it
runs the real ``hoso people import`` command in a subprocess on a fresh durable PostgreSQL
database and on a fresh SQLite file, and, as the baseline, COPYs the same ``data``
documents into a bare one-column ``json COMPRESSION lz4`` table of the same cluster (the
column definition of ``person_version.data``; the rates into plain ``json`` and ``jsonb``
are printed too). Goal at 200,000:
≥ 5,000 people/s, ≥ 0.25 of the raw COPY rate, peak RSS < 1 GB and flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psycopg

from _common import DurableCluster, load_orgs, people_file, run_measured


def raw_copy_rate(
    cluster: DurableCluster, path: Path, column_type: str = "json", compression: str | None = None
) -> tuple[int, float]:
    """COPY each line's ``data`` document into a bare one-column table; (rows, seconds)."""
    dbname = "rawcopy"
    cluster.create_database(dbname)
    with psycopg.connect(
        host=str(cluster.root), port=cluster.port, user="postgres", dbname=dbname
    ) as conn:
        suffix = f" COMPRESSION {compression}" if compression else ""
        conn.execute(f"CREATE TABLE raw_doc (doc {column_type}{suffix})")
        conn.commit()
        rows = 0
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY raw_doc (doc) FROM STDIN") as copy,
            path.open("rb") as fh,
        ):
            for line in fh:
                copy.write_row((orjson.dumps(orjson.loads(line)["data"]).decode(),))
                rows += 1
        conn.commit()
        return rows, time.perf_counter() - t0


def import_run(url: str, path: Path, orgs: list[dict[str, object]]) -> tuple[float, int, str]:
    load_orgs(url, orgs)
    env = {**os.environ, "HOSO_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "hoso", "people", "import", str(path), "--quiet"]
    return run_measured(cmd, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    backends = args.backends.split(",")
    sizes = sorted({max(1000, args.count // 4), args.count})
    cluster = DurableCluster() if "postgresql" in backends else None
    if cluster is not None:
        cluster.start()
    results = []
    try:
        for size in sizes:
            path, orgs = people_file(size, args.seed)
            mb = path.stat().st_size / 1e6
            print(
                f"\n== {size:,} people, {mb:,.0f} MB JSON Lines ({mb * 1e6 / size / 1e3:.1f} KB/person)"
            )
            if cluster is not None:
                rows, secs = raw_copy_rate(cluster, path, "jsonb")
                print(f"raw COPY into a bare jsonb table: {rows / secs:,.0f} docs/s ({secs:.1f} s)")
                cluster.drop_database("rawcopy")
                rows, secs = raw_copy_rate(cluster, path, "json")
                print(f"raw COPY into a bare json table: {rows / secs:,.0f} docs/s ({secs:.1f} s)")
                cluster.drop_database("rawcopy")
                rows, secs = raw_copy_rate(cluster, path, "json", "lz4")
                raw = rows / secs
                print(
                    f"raw COPY into a bare json COMPRESSION lz4 table (the baseline: the column "
                    f"of person_version.data): {raw:,.0f} docs/s ({secs:.1f} s)"
                )
                cluster.drop_database("rawcopy")
                url = cluster.create_database(f"ingest{size}")
                wall, rss, out = import_run(url, path, orgs)
                rate = size / wall
                print(
                    f"hoso people import, PostgreSQL: {rate:,.0f} people/s ({wall:.1f} s), "
                    f"peak RSS {rss / 1e6:,.0f} MB, ratio to raw COPY {rate / raw:.2f}"
                )
                print(f"  {out.strip()}")
                results.append(("postgresql", size, rate, rss, rate / raw))
            if "sqlite" in backends:
                with tempfile.TemporaryDirectory() as tmp:
                    url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                    wall, rss, out = import_run(url, path, orgs)
                    rate = size / wall
                    print(
                        f"hoso people import, SQLite: {rate:,.0f} people/s ({wall:.1f} s), "
                        f"peak RSS {rss / 1e6:,.0f} MB"
                    )
                    results.append(("sqlite", size, rate, rss, None))
    finally:
        if cluster is not None:
            cluster.stop()
    print("\nbackend     people  people/s  peak RSS MB  ratio to raw COPY")
    for backend, size, rate, rss, ratio in results:
        r = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{backend:<10} {size:>7,} {rate:>9,.0f} {rss / 1e6:>12,.0f}  {r}")


if __name__ == "__main__":
    main()
