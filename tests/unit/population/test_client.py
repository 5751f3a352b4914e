"""The registry client: batching, retries with full-jitter backoff, Retry-After, rate limit.

No I/O: every answer comes from ``httpx.MockTransport``, time from a fake clock whose
``sleep`` moves it forward, the jitter from a seeded ``random.Random``.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from hoso.errors import HosoError
from hoso.population.client import (
    MAX_BATCH,
    RegistryClient,
    RegistryRejected,
    RegistryUnavailable,
    TokenBucket,
    retry_after_seconds,
)

Handler = Callable[[httpx.Request], httpx.Response]
KEY = "test-key"


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def citizen(pid: str) -> dict[str, Any]:
    return {"personal_id": pid, "birth_name": "NGUYỄN VĂN A", "date_of_birth": "1980-01-02",
            "sex": "M", "status": "alive"}  # fmt: skip


def verify_answer(request: httpx.Request) -> httpx.Response:
    """The registry's verify: IDs ending in 0 are unknown."""
    asked = orjson.loads(request.content)["personal_ids"]
    results = [
        {"query": pid, "found": not pid.endswith("0"),
         "matched_by": None if pid.endswith("0") else "personal_id",
         "citizen": None if pid.endswith("0") else citizen(pid)}
        for pid in asked
    ]  # fmt: skip
    return httpx.Response(200, json={"results": results})


def make(
    handler: Handler, fake: FakeTime, *, rate: float = 0.0, retries: int = 3, **kw: Any
) -> RegistryClient:
    return RegistryClient(
        "http://registry.test/",
        KEY,
        timeout=1.0,
        max_retries=retries,
        rate_per_second=rate,
        transport=httpx.MockTransport(handler),
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(7),
        **kw,
    )


def ids(n: int, start: int = 1) -> list[str]:
    return [f"{i:012d}" for i in range(start, start + n)]


# --- batching and the API -------------------------------------------------------------------


def test_verify_splits_into_batches_and_keeps_the_order() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/citizens/verify"
        assert request.headers["X-Api-Key"] == KEY
        sizes.append(len(orjson.loads(request.content)["personal_ids"]))
        return verify_answer(request)

    fake = FakeTime()
    asked = ids(2345)
    with make(handler, fake, batch_size=1000) as client:
        results = client.verify(asked)
        assert client.stats.calls == 3
    assert sizes == [1000, 1000, 345]
    assert [r["query"] for r in results] == asked
    assert [r["found"] for r in results] == [not p.endswith("0") for p in asked]
    assert fake.sleeps == []


def test_verify_of_nothing_makes_no_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    assert make(handler, FakeTime()).verify([]) == []


def test_batch_size_above_the_registry_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        make(verify_answer, FakeTime(), batch_size=MAX_BATCH + 1)


def test_lookup_found_and_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        pid = request.url.path.rsplit("/", 1)[1]
        if pid == "040180001234" or pid == "123456789":
            return httpx.Response(200, json=citizen("040180001234"))
        return httpx.Response(404, json={"error": "not_found"})

    client = make(handler, FakeTime())
    found = client.lookup("123456789")
    assert found is not None and found["personal_id"] == "040180001234"
    assert client.lookup("999999999999") is None
    assert client.stats.retries == 0


def test_search_sends_the_criteria() -> None:
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/citizens"
        seen.append(request.url.params)
        return httpx.Response(200, json={"results": [citizen("040180001234")]})

    out = make(handler, FakeTime()).search(
        birth_name="Nguyễn Văn A", date_of_birth="1980", sex="M", limit=5
    )
    assert out[0]["personal_id"] == "040180001234"
    assert seen[0]["birth_name"] == "Nguyễn Văn A"
    assert seen[0]["date_of_birth"] == "1980"
    assert seen[0]["sex"] == "M"
    assert seen[0]["limit"] == "5"
    make(handler, FakeTime()).search(birth_name="X")
    assert "date_of_birth" not in seen[1] and "sex" not in seen[1]


def test_health() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/health"
        return httpx.Response(200, json={"status": "ok", "citizens": 12})

    assert make(handler, FakeTime()).health() == {"status": "ok", "citizens": 12}


# --- retries ----------------------------------------------------------------------------------


def failing(times: int, failure: Callable[[httpx.Request], httpx.Response]) -> Handler:
    state = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        state["n"] += 1
        if state["n"] <= times:
            return failure(request)
        return verify_answer(request)

    return handler


def status(code: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, json={"error": "x"}, headers=headers)


def raising(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)

    return fail


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (status(503), "server_error"),
        (status(500), "server_error"),
        (raising(httpx.ConnectError), "connection"),
        (raising(httpx.ReadTimeout), "timeout"),
        (raising(httpx.RemoteProtocolError), "connection"),
        (lambda r: httpx.Response(200, content=b"<html>proxy</html>"), "bad_answer"),
    ],
)
def test_transient_failures_are_retried_with_full_jitter_backoff(
    failure: Callable[[httpx.Request], httpx.Response], kind: str
) -> None:
    fake = FakeTime()
    client = make(failing(3, failure), fake, retries=3, backoff_base=0.5, backoff_max=30.0)
    results = client.verify(ids(3))
    assert [r["query"] for r in results] == ids(3)
    assert client.stats.attempts == 4
    assert client.stats.retries == 3
    assert client.stats.calls == 1
    assert len(fake.sleeps) == 3
    for attempt, waited in enumerate(fake.sleeps):
        assert 0.0 <= waited <= 0.5 * 2**attempt
    assert [e["kind"] for e in client.stats.errors] == [kind] * 3
    # full jitter: the waits are not the deterministic ceilings
    assert fake.sleeps != [0.5, 1.0, 2.0]
    assert client.stats.waited_seconds == pytest.approx(sum(fake.sleeps))


def test_backoff_is_capped() -> None:
    fake = FakeTime()
    client = make(failing(10, status(503)), fake, retries=10, backoff_base=1.0, backoff_max=4.0)
    client.verify(ids(1))
    assert len(fake.sleeps) == 10
    assert max(fake.sleeps) <= 4.0
    assert max(fake.sleeps[4:]) > 2.0  # past the cap's doubling the ceiling stays at 4


def test_gives_up_after_the_retries_with_a_vietnamese_message() -> None:
    fake = FakeTime()
    calls: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, json={"error": "down"})

    client = make(down, fake, retries=4)
    with pytest.raises(RegistryUnavailable) as info:
        client.verify(ids(5))
    assert len(calls) == 5
    assert len(fake.sleeps) == 4
    error = info.value
    assert isinstance(error, HosoError)
    assert error.code == "registry_unavailable" and error.status == 503
    assert "CSDLQG về dân cư" in error.message_vi and "5 lần thử" in error.message_vi
    assert "population registry" in error.message_en


def test_zero_retries_fails_on_the_first_error() -> None:
    fake = FakeTime()
    with pytest.raises(RegistryUnavailable):
        make(raising(httpx.ConnectError), fake, retries=0).verify(ids(1))
    assert fake.sleeps == []


def test_429_waits_what_retry_after_says() -> None:
    fake = FakeTime()
    client = make(failing(2, status(429, **{"Retry-After": "3"})), fake, backoff_max=30.0)
    client.verify(ids(2))
    assert fake.sleeps == [3.0, 3.0]
    assert client.stats.rate_limited == 2


def test_503_retry_after_is_a_floor_under_the_backoff() -> None:
    fake = FakeTime()
    client = make(failing(3, status(503, **{"Retry-After": "2"})), fake, backoff_base=0.1,
                  backoff_max=30.0)  # fmt: skip
    client.verify(ids(1))
    assert fake.sleeps == [2.0, 2.0, 2.0]  # the jitter alone would wait at most 0.1, 0.2, 0.4
    fake = FakeTime()
    client = make(failing(1, status(503, **{"Retry-After": "90"})), fake, backoff_max=5.0)
    client.verify(ids(1))
    assert fake.sleeps == [5.0]


def test_429_retry_after_as_an_http_date_and_capped() -> None:
    later = email.utils.formatdate(timeval=2_000_000_000 + 7, usegmt=True)
    assert retry_after_seconds(later, now=2_000_000_000) == pytest.approx(7.0)
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-4") == 0.0
    fake = FakeTime()
    client = make(failing(1, status(429, **{"Retry-After": "3600"})), fake, backoff_max=20.0)
    client.verify(ids(1))
    assert fake.sleeps == [20.0]


def test_refusals_are_not_retried() -> None:
    for code in (401, 403):
        fake = FakeTime()
        client = make(failing(1, status(code)), fake)
        with pytest.raises(RegistryRejected) as info:
            client.verify(ids(1))
        assert "HOSO_POPULATION_API_KEY" in info.value.message_vi
        assert fake.sleeps == [] and client.stats.attempts == 1
    client = make(failing(1, status(422)), FakeTime())
    with pytest.raises(RegistryRejected, match="422"):
        client.verify(ids(1))


def test_an_answer_that_does_not_match_the_question_is_refused() -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": []})

    with pytest.raises(RegistryRejected):
        make(short, FakeTime()).verify(ids(2))

    def shuffled(request: httpx.Request) -> httpx.Response:
        body = verify_answer(request).json()
        body["results"].reverse()
        return httpx.Response(200, json=body)

    with pytest.raises(RegistryRejected, match="order"):
        make(shuffled, FakeTime()).verify(ids(2))


def test_logs_carry_no_personal_ids(caplog: pytest.LogCaptureFixture) -> None:
    secret = "079201234567"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    caplog.set_level(logging.DEBUG, logger="hoso.population.client")
    with pytest.raises(RegistryUnavailable):
        make(handler, FakeTime(), retries=2).lookup(secret)
    assert caplog.records, "retries are logged"
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in str(record.__dict__)


# --- rate limit -------------------------------------------------------------------------------


def test_token_bucket_spaces_calls_at_the_rate() -> None:
    fake = FakeTime()
    bucket = TokenBucket(5.0, capacity=2.0, clock=fake.clock, sleep=fake.sleep)
    start = fake.now
    for _ in range(12):
        bucket.acquire()
    # two tokens of burst, then one every 0.2 s
    assert fake.now - start == pytest.approx(10 * 0.2)
    assert all(s == pytest.approx(0.2) for s in fake.sleeps)


def test_token_bucket_refills_while_idle() -> None:
    fake = FakeTime()
    bucket = TokenBucket(1.0, capacity=3.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(1.0)
    fake.now += 100.0  # idle: the bucket fills up to its capacity, not beyond
    for _ in range(3):
        assert bucket.acquire() == 0.0
    assert bucket.acquire() > 0.0


def test_disabled_bucket_never_waits() -> None:
    fake = FakeTime()
    bucket = TokenBucket(0.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):
        bucket.acquire()
    assert fake.sleeps == []


def test_client_respects_its_rate() -> None:
    fake = FakeTime()
    client = make(verify_answer, fake, rate=4.0, batch_size=10)
    start = fake.now
    client.verify(ids(200))  # 20 calls
    elapsed = fake.now - start
    burst = 4.0  # capacity = min(rate, 10)
    assert elapsed == pytest.approx((20 - burst) / 4.0)
    assert client.stats.calls == 20


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from hoso.config import get_settings

    monkeypatch.setenv("HOSO_POPULATION_URL", "http://example.test:9/")
    monkeypatch.setenv("HOSO_POPULATION_MAX_RETRIES", "2")
    monkeypatch.setenv("HOSO_POPULATION_BATCH_SIZE", "5000")
    get_settings.cache_clear()
    try:
        client = RegistryClient.from_settings()
        assert client.base_url == "http://example.test:9"
        assert client.max_retries == 2
        assert client.batch_size == MAX_BATCH
        assert RegistryClient.from_settings(batch_size=50).batch_size == 50
        client.close()
    finally:
        get_settings.cache_clear()
