"""End-to-end fixtures: a real uvicorn server on a fresh database, and a real Chromium.

``live_server`` fills a brand-new migrated database (``fresh_db_url``) with a generated org
tree, generated people and a user (through the real services), then starts
``uvicorn --factory hoso.main:create_app`` in a subprocess on a loopback socket that this
process binds to port 0 and hands over with ``--fd`` (no race for a free port). ``page`` is a
Playwright page in Debian's Chromium at ``/usr/bin/chromium`` (``make install`` installs it);
the test fails, rather than skips, when it is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import SHOTS, LiveServer, seed, wait_until_up

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(
    fresh_db_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> Iterator[LiveServer]:
    """Seed ``fresh_db_url`` in this process, then serve it from a uvicorn subprocess."""
    use_database(fresh_db_url)
    seeded = seed()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "HOSO_DATABASE_URL": fresh_db_url,
        "HOSO_ENV": "test",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "hoso.main:create_app",
                "--fd",
                str(sock.fileno()),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, proc, log)
        yield LiveServer(base_url, seeded, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        sock.close()


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh page in a real Chromium (Vietnamese locale, desktop size)."""
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: run `make install` (apt-get install -y chromium)"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                locale="vi-VN", viewport={"width": 1366, "height": 900}, device_scale_factor=1
            )
            p = context.new_page()
            p.set_default_timeout(15_000)
            yield p
            context.close()
        finally:
            browser.close()
