"""Read latency of one dossier by personal ID over HTTP, at national scale.

    .venv/bin/python bench/api_read.py [--count 1000000] [--requests 5000]

Loads ``count`` generated people into a durable throwaway PostgreSQL with the real import
command, starts the real server (uvicorn, one worker) on loopback, signs in through the
API, and times ``GET /api/v1/people/{personal_id}`` for random people with a keep-alive
HTTP client (httpx), beside ``GET /healthz`` measured the same way as the baseline (the
framework's floor). Goal: p99 < 20 ms at 1,000,000 people.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from _common import DurableCluster, load_orgs, people_file, run_measured


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_ids(path: Path, n: int, seed: int) -> list[str]:
    ids = []
    with path.open("rb") as fh:
        for line in fh:
            ids.append(orjson.loads(line)["personal_id"])
    random.Random(seed).shuffle(ids)
    return ids[:n]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100)
    return {"p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3, "max": ordered[-1] * 1e3}


def timed(client: httpx.Client, urls: list[str], headers: dict[str, str]) -> list[float]:
    out = []
    for url in urls:
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        out.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    path, orgs = people_file(args.count, args.seed)
    cluster = DurableCluster()
    cluster.start()
    server = None
    try:
        url = cluster.create_database("apiread")
        load_orgs(url, orgs)
        env = {
            **os.environ,
            "HOSO_DATABASE_URL": url,
            "HOSO_SECRET_KEY": "bench-secret-" + "x" * 20,
        }
        wall, _, out = run_measured(
            [sys.executable, "-m", "hoso", "people", "import", str(path), "--quiet"], env
        )
        print(
            f"loaded {args.count:,} people in {wall:.0f} s ({args.count / wall:,.0f}/s): {out.strip()}"
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hoso",
                "users",
                "create",
                "bench",
                "--role",
                "national_admin",
                "--org",
                str(orgs[0]["code"]),
                "--full-name",
                "Bench",
                "--password",
                "bench-password-123",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "psql",
                "-h",
                str(cluster.root),
                "-p",
                str(cluster.port),
                "-U",
                "postgres",
                "-d",
                "apiread",
                "-c",
                "VACUUM ANALYZE",
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hoso.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            token = client.post(
                "/api/v1/auth/token", data={"username": "bench", "password": "bench-password-123"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ids = sample_ids(path, args.requests + 500, args.seed)
            timed(client, [f"/api/v1/people/{pid}" for pid in ids[:500]], headers)  # warm-up
            health = timed(client, ["/healthz"] * args.requests, {})
            reads = timed(client, [f"/api/v1/people/{pid}" for pid in ids[500:]], headers)
        h, r = percentiles(health), percentiles(reads)
        print(
            f"\nGET /healthz (baseline)        p50 {h['p50']:.2f} ms  p95 {h['p95']:.2f}  p99 {h['p99']:.2f}  max {h['max']:.1f}"
        )
        print(
            f"GET /api/v1/people/{{id}}       p50 {r['p50']:.2f} ms  p95 {r['p95']:.2f}  p99 {r['p99']:.2f}  max {r['max']:.1f}"
        )
        print(
            f"ratio p99 read / p99 baseline: {r['p99'] / h['p99']:.1f}; goal p99 < 20 ms: "
            f"{'met' if r['p99'] < 20 else 'NOT met'} ({args.count:,} people, {args.requests:,} requests)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cluster.stop()


if __name__ == "__main__":
    main()
