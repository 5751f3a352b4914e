"""``POST /exchange/v1/messages`` applies at most ``exchange_receive_concurrency`` messages at
once per process; the others wait with their bodies read (docs/exchange.md)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hoso.config import get_settings
from hoso.exchange import api, receiver


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """``receiver.receive`` replaced by a slow stand-in that counts how many run at once."""
    seen = {"now": 0, "most": 0, "calls": 0}
    lock = threading.Lock()

    def receive(session: Any, body: bytes, **_: Any) -> receiver.Receipt:
        with lock:
            seen["now"] += 1
            seen["calls"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(0.05)
        with lock:
            seen["now"] -= 1
        return receiver.Receipt(
            ack={"body": {"status": "accepted"}, "n": len(body)}, http_status=200
        )

    class _NoSession:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(api.receiver, "receive", receive)
    monkeypatch.setattr(api, "unit_of_work", _NoSession)
    monkeypatch.setattr(api, "_node", lambda request: object())
    yield seen
    get_settings.cache_clear()


def _post_many(count: int) -> list[httpx.Response]:
    app = FastAPI()
    app.include_router(api.router)

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post("/exchange/v1/messages", content=b"x" * (i + 1))
                        for i in range(count)
                    )
                )
            )

    return asyncio.run(main())


def test_one_message_at_a_time_by_default(counting: dict[str, int]) -> None:
    get_settings.cache_clear()
    responses = _post_many(4)
    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(r.json()["n"] for r in responses) == [1, 2, 3, 4]
    assert counting["calls"] == 4
    assert counting["most"] == 1


def test_the_setting_allows_more_at_once(
    counting: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSO_EXCHANGE_RECEIVE_CONCURRENCY", "3")
    get_settings.cache_clear()
    responses = _post_many(6)
    assert [r.status_code for r in responses] == [200] * 6
    assert counting["most"] == 3
