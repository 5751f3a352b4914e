"""End-to-end fixtures: a real uvicorn server on a fresh database, and a real Chromium.

``live_server`` fills a brand-new migrated database (``fresh_db_url``) with a generated org
tree, generated people and a user (through the real services), then starts
``uvicorn --factory hoso.main:create_app`` in a subprocess on a loopback socket that this
process binds to port 0 and hands over with ``--fd`` (no race for a free port). ``page`` is a
Playwright page in Debian's Chromium at ``/usr/bin/chromium`` (``make install`` installs it);
the test fails, rather than skips, when it is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import SHOTS, LiveServer, seed, serve

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
    log = tmp_path / "uvicorn.log"
    with serve(fresh_db_url, log) as base_url:
        yield LiveServer(base_url, seeded, log)


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
