"""HTTP client of the population registry (CSDLQG về dân cư) or its simulator (popsim).

The registry is an external system behind the small :class:`PopulationRegistry` protocol;
:class:`RegistryClient` implements it over HTTP (``/v1`` API, ``X-Api-Key``; the contract is
in ``docs/TEAM_CONTEXT.md``, "Simulator HTTP API"). It is synchronous: verification runs
as a CLI or background job, one batch at a time.

Resilience (issue 5 §5):

- **Batches**: :meth:`RegistryClient.verify` splits the IDs into calls of at most
  ``batch_size`` (the registry accepts at most 1,000 per call).
- **Retries**: connection errors, timeouts, malformed answers and 5xx answers are retried up
  to ``max_retries`` times with exponential backoff and *full jitter* (a uniform wait in
  ``[0, min(backoff_max, backoff_base * 2**attempt)]``), at least the ``Retry-After`` of a
  ``503`` when it gives one; a ``429`` waits what its ``Retry-After`` says. Waits are capped
  at ``backoff_max``. Every call is a read, so repeating it is safe.
- **Rate**: a client-side token bucket keeps the calls at or below ``rate_per_second``
  (the registry enforces its own limit too).
- After the retries the client raises :class:`RegistryUnavailable`; a refusal that
  retrying cannot fix (wrong key, a request the registry rejects) raises
  :class:`RegistryRejected` at once.

::

    HosoError
     ├── RegistryUnavailable   (503 registry_unavailable: down, slow, failing; retried)
     └── RegistryRejected      (502 registry_rejected: 401/403/4xx or a wrong answer)

The clock, the sleep, the jitter source and the httpx transport are injectable, so the
behaviour is tested deterministically (``httpx.MockTransport``, a fake clock). Logs carry
counts and status codes, never personal IDs.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from hoso.errors import HosoError

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
"""The most personal IDs the registry accepts in one verification call."""

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(eq=False)
class RegistryUnavailable(HosoError):
    """The registry did not answer usefully after every retry (down, too slow, failing)."""

    message_vi: str = "CSDLQG về dân cư hiện không phản hồi; vui lòng thử lại sau"
    message_en: str = "The population registry is not responding; try again later"
    code: str = "registry_unavailable"
    status: int = 503


@dataclass(eq=False)
class RegistryRejected(HosoError):
    """The registry refused the request in a way retrying cannot fix (key, request, answer)."""

    message_vi: str = "CSDLQG về dân cư từ chối yêu cầu"
    message_en: str = "The population registry refused the request"
    code: str = "registry_rejected"
    status: int = 502


class PopulationRegistry(Protocol):
    """What hoso needs of the population registry (HTTP client, or a local double)."""

    def verify(self, personal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """One result per ID, in the order asked (see :meth:`RegistryClient.verify`)."""
        ...

    def lookup(self, personal_id: str) -> dict[str, Any] | None:
        """The citizen with this 12-digit ID (or 9-digit old CMND), or None."""
        ...

    def search(
        self,
        *,
        birth_name: str,
        date_of_birth: str | None = None,
        sex: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """Citizens by birth name, date of birth (``YYYY`` or full) and sex."""
        ...

    def health(self) -> dict[str, Any]:
        """The registry's health answer (``{"status": "ok", "citizens": N}``)."""
        ...


@dataclass
class ClientStats:
    """What the client did (for the run's record, the progress line and the bench)."""

    calls: int = 0
    """Requests that got a usable answer."""
    attempts: int = 0
    """Every request sent, including the failed ones."""
    retries: int = 0
    rate_limited: int = 0
    """``429`` answers."""
    waited_seconds: float = 0.0
    """Time spent waiting: backoff, ``Retry-After`` and the client's own rate limit."""
    errors: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))
    """The last failed attempts ``{"at", "kind", "detail"}`` (no personal data)."""


class TokenBucket:
    """A token bucket: at most ``rate`` acquisitions per second, bursts up to ``capacity``.

    ``rate <= 0`` disables it. Thread-safe; the clock and the sleep are injectable.
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity if capacity is not None else min(rate, 10.0))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            # The token that accrued while sleeping is spent at once.
            self._tokens = 0.0
            self._last = now + wait
            return wait


class _Retryable(Exception):
    """An attempt failed in a way worth retrying; ``wait`` overrides the backoff."""

    def __init__(
        self, kind: str, detail: str, wait: float | None = None, floor: float | None = None
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.wait = wait
        self.floor = floor


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


class RegistryClient:
    """The population registry over HTTP, with batching, retries and a rate limit.

    ``transport`` (e.g. ``httpx.MockTransport``), ``clock``, ``sleep`` and ``rng`` are for
    tests; in production the defaults are used. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 6,
        rate_per_second: float = 20.0,
        batch_size: int = MAX_BATCH,
        backoff_base: float = 0.25,
        backoff_max: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stats = ClientStats()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._bucket = TokenBucket(rate_per_second, clock=clock, sleep=sleep)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls, *, base_url: str | None = None, batch_size: int | None = None
    ) -> RegistryClient:
        """A client configured from ``HOSO_POPULATION_*`` settings."""
        from hoso.config import get_settings

        s = get_settings()
        return cls(
            base_url or s.population_url,
            s.population_api_key,
            timeout=s.population_timeout_seconds,
            max_retries=s.population_max_retries,
            rate_per_second=s.population_rate_per_second,
            batch_size=min(MAX_BATCH, batch_size or s.population_batch_size),
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- the API ----------------------------------------------------------------------------

    def verify(self, personal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Verify IDs in calls of at most ``batch_size``: one result per ID, in order.

        A result is ``{"query", "found", "matched_by", "citizen"}`` as the registry sends it
        (``matched_by`` ``personal_id`` | ``legacy_id_no`` | None).
        """
        out: list[dict[str, Any]] = []
        ids = list(personal_ids)
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            body = self._request("POST", "/v1/citizens/verify", json={"personal_ids": chunk})
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list) or len(results) != len(chunk):
                raise _wrong_answer("verify: results do not match the IDs asked")
            for asked, result in zip(chunk, results, strict=True):
                if not isinstance(result, dict) or result.get("query") != asked:
                    raise _wrong_answer("verify: results out of order")
                out.append(result)
        return out

    def lookup(self, personal_id: str) -> dict[str, Any] | None:
        """The citizen with this 12-digit ID (or 9-digit old CMND), or None when unknown."""
        body = self._request("GET", f"/v1/citizens/{personal_id}", allow_404=True)
        if body is None:
            return None
        if not isinstance(body, dict):
            raise _wrong_answer("lookup: not an object")
        return body

    def search(
        self,
        *,
        birth_name: str,
        date_of_birth: str | None = None,
        sex: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """Citizens by birth name (compared upper case, NFC), date of birth and sex."""
        params: dict[str, str | int] = {"birth_name": birth_name, "limit": limit}
        if date_of_birth:
            params["date_of_birth"] = date_of_birth
        if sex:
            params["sex"] = sex
        body = self._request("GET", "/v1/citizens", params=params)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise _wrong_answer("search: no results list")
        return results

    def health(self) -> dict[str, Any]:
        """The registry's ``/v1/health`` answer (retried like every call)."""
        body = self._request("GET", "/v1/health")
        if not isinstance(body, dict):
            raise _wrong_answer("health: not an object")
        return body

    # --- the machinery ----------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in ``[0, min(cap, base * 2**attempt)]``."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return self._rng.uniform(0.0, ceiling)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
            self.stats.waited_seconds += seconds

    def _note(self, kind: str, detail: str) -> None:
        self.stats.errors.append(
            {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kind": kind,
             "detail": detail[:200]}
        )  # fmt: skip

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        allow_404: bool = False,
    ) -> Any:
        attempt = 0
        while True:
            self.stats.waited_seconds += self._bucket.acquire()
            self.stats.attempts += 1
            try:
                return self._attempt(method, path, json=json, params=params, allow_404=allow_404)
            except _Retryable as exc:
                self._note(exc.kind, exc.detail)
                if attempt >= self.max_retries:
                    logger.warning(
                        "population registry unavailable after retries",
                        extra={"path": _route(path), "attempts": attempt + 1, "kind": exc.kind},
                    )
                    raise RegistryUnavailable(
                        message_vi=(
                            f"CSDLQG về dân cư không phản hồi sau {attempt + 1} lần thử "
                            f"({exc.kind}); vui lòng thử lại sau"
                        ),
                        message_en=(
                            f"The population registry did not answer after {attempt + 1} "
                            f"attempts ({exc.kind}); try again later"
                        ),
                    ) from exc
                wait = exc.wait if exc.wait is not None else self._backoff(attempt)
                if exc.floor is not None:
                    wait = min(max(wait, exc.floor), self.backoff_max)
                logger.info(
                    "population registry call failed, retrying",
                    extra={"path": _route(path), "attempt": attempt + 1, "kind": exc.kind,
                           "wait_seconds": round(wait, 3)},
                )  # fmt: skip
                attempt += 1
                self.stats.retries += 1
                self._wait(wait)

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: dict[str, str | int] | None,
        allow_404: bool,
    ) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise _Retryable("timeout", type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise _Retryable("connection", type(exc).__name__) from exc
        status = response.status_code
        if status == 429:
            self.stats.rate_limited += 1
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            wait = self.backoff_base if wait is None else wait
            raise _Retryable("rate_limited", "429", wait=min(wait, self.backoff_max))
        if status >= 500:
            # a Retry-After on a 503 is a floor under the jittered backoff
            floor = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Retryable("server_error", str(status), floor=floor)
        if status == 404 and allow_404:
            self.stats.calls += 1
            return None
        if status in (401, 403):
            raise RegistryRejected(
                message_vi=(
                    f"CSDLQG về dân cư từ chối khóa truy cập (HTTP {status}); "
                    "kiểm tra HOSO_POPULATION_API_KEY"
                ),
                message_en=(
                    f"The population registry refused the client key (HTTP {status}); "
                    "check HOSO_POPULATION_API_KEY"
                ),
            )
        if status >= 400:
            raise RegistryRejected(
                message_vi=f"CSDLQG về dân cư từ chối yêu cầu (HTTP {status})",
                message_en=f"The population registry refused the request (HTTP {status})",
            )
        try:
            body = response.json()
        except ValueError as exc:  # a truncated or non-JSON answer (a proxy page)
            raise _Retryable("bad_answer", "not JSON") from exc
        self.stats.calls += 1
        return body


def _wrong_answer(detail: str) -> RegistryRejected:
    return RegistryRejected(
        message_vi=f"Câu trả lời của CSDLQG về dân cư không đúng định dạng ({detail})",
        message_en=f"The population registry's answer is malformed ({detail})",
    )


def _route(path: str) -> str:
    """The path without a personal ID (for logs)."""
    head, _, last = path.rpartition("/")
    if head == "/v1/citizens" and last != "verify":
        return "/v1/citizens/{id}"
    return path
