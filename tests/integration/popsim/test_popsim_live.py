"""A real simulator: ``python -m hoso.popsim serve`` (uvicorn) on a loopback socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from popsim_support import KEY, citizen, write_jsonl
from sqlalchemy import Engine

from hoso.popsim.load import load

pytestmark = pytest.mark.slow


@pytest.fixture
def live(
    popsim_url: str, popsim_engine: Engine, tmp_path: Path
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Load 30 citizens, then serve them from a subprocess; yields (base URL, citizens)."""
    docs = [
        citizen(i, legacy_id_no=f"{300_000_000 + i:09d}" if i % 3 == 0 else None) for i in range(30)
    ]
    assert load(popsim_engine, write_jsonl(tmp_path / "c.jsonl", docs)).stored == 30
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "HOSO_POPSIM_DATABASE_URL": popsim_url,
        "HOSO_POPSIM_API_KEYS": orjson.dumps([KEY]).decode(),
        "HOSO_POPSIM_RATE_PER_SECOND": "1000",
        "HOSO_ENV": "test",
    }
    log = tmp_path / "popsim.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hoso.popsim", "serve", "--fd", str(sock.fileno()),
             "--latency-ms", "50"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the simulator exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the simulator did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base, docs
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        sock.close()


def test_a_real_server(live: tuple[str, list[dict[str, Any]]]) -> None:
    base, docs = live
    headers = {"X-Api-Key": KEY}
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/v1/health").json() == {"status": "ok", "citizens": 30}
        assert client.get(f"/v1/citizens/{docs[0]['personal_id']}").status_code == 401
        asked = [d["personal_id"] for d in docs[::2]] + [docs[3]["legacy_id_no"], "001000000000"]
        t0 = time.perf_counter()
        r = client.post("/v1/citizens/verify", json={"personal_ids": asked}, headers=headers)
        assert time.perf_counter() - t0 >= 0.05  # the start-up latency option is in force
        assert r.status_code == 200
        results = r.json()["results"]
        assert [x["query"] for x in results] == asked
        assert [x["found"] for x in results] == [True] * (len(asked) - 1) + [False]
        assert results[-2]["citizen"]["personal_id"] == docs[3]["personal_id"]

        assert client.put("/v1/_faults", json={"down": True}, headers=headers).status_code == 200
        assert client.get("/v1/health").status_code == 503
        assert client.put("/v1/_faults", json={"down": False}, headers=headers).status_code == 200
        assert client.get("/v1/health").status_code == 200
        faults = {"timeout_rate": 1, "timeout_seconds": 1.5}
        assert client.put("/v1/_faults", json=faults, headers=headers).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            client.get("/v1/health", timeout=0.5)
