"""The simulator's HTTP API (``/v1``): what hoso's registry client codes against.

::

    GET  /v1/health                      {"status": "ok", "citizens": N}  (no key)
    GET  /v1/citizens/{id}               citizen | 404 (12-digit ID, or 9-digit old CMND)
    POST /v1/citizens/verify             {"personal_ids": [≤ 1000]} → {"results": [...]}
    GET  /v1/citizens?birth_name=&date_of_birth=&sex=&limit=   {"results": [citizen...]}
    PUT  /v1/_faults                     {"latency_ms", "timeout_rate", "error_rate", "down"}
    GET  /v1/_faults                     the current faults

Every ``/v1`` call but the health check needs ``X-Api-Key`` (one of ``popsim_api_keys``;
401 otherwise) and is rate limited per key by a token bucket (``popsim_rate_per_second``,
a burst of one second's worth; 429 with ``Retry-After`` in whole seconds). The fault
endpoints need the key but are not rate limited and never faulted, so a test can always
switch faults off again.

Injected faults (:class:`Faults`, set at start-up through :func:`create_app`, the
``HOSO_POPSIM_*`` fault settings or the CLI, and at run time with ``PUT /v1/_faults``)
apply to every other ``/v1`` call, before the key check, as an outage would: ``down``
answers 503; ``latency_ms`` delays each answer; ``timeout_rate`` is the share of calls
that sleep ``timeout_seconds`` (30 s) before answering; ``error_rate`` the share answered
503.

Errors are ``{"error": code, "message": "<Vietnamese> / <English>"}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from random import Random
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hoso.config import Settings, get_settings
from hoso.popsim import service
from hoso.popsim.fields import is_legacy_id, is_personal_id
from hoso.popsim.load import vi_int
from hoso.popsim.models import open_engine

HEALTH_PATH = "/v1/health"
FAULTS_PATH = "/v1/_faults"


@dataclass
class Faults:
    """Injected faults (all off by default)."""

    latency_ms: float = 0.0
    """Delay added to every answer."""
    timeout_rate: float = 0.0
    """Share of calls that sleep ``timeout_seconds`` before answering."""
    error_rate: float = 0.0
    """Share of calls answered 503."""
    down: bool = False
    """Answer every call 503."""
    timeout_seconds: float = 30.0
    """How long a "timed out" call sleeps (past any sane client timeout)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Faults:
        """The start-up faults of ``HOSO_POPSIM_LATENCY_MS``, ``_ERROR_RATE``,
        ``_TIMEOUT_RATE``, ``_TIMEOUT_SECONDS`` and ``_DOWN``."""
        s = settings or get_settings()
        return cls(
            latency_ms=s.popsim_latency_ms,
            timeout_rate=s.popsim_timeout_rate,
            error_rate=s.popsim_error_rate,
            down=s.popsim_down,
            timeout_seconds=s.popsim_timeout_seconds,
        )


class FaultsIn(BaseModel):
    """Body of ``PUT /v1/_faults``: the fields to change."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(default=None, ge=0, le=600_000)
    timeout_rate: float | None = Field(default=None, ge=0, le=1)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    down: bool | None = None
    timeout_seconds: float | None = Field(default=None, ge=0, le=3600)
    seed: int | None = None
    """Restart the fault draws from this seed (a test gets the same faults every run)."""


class TokenBucket:
    """Per-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.clock = clock
        self._buckets: dict[bytes, list[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: bytes) -> float:
        """Take one token for ``key``: 0 when granted, else the seconds until one is there."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [self.burst, now]
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / self.rate


def error_body(code: str, vi: str, en: str, **more: Any) -> dict[str, Any]:
    """``{"error": code, "message": "vi / en", ...}``."""
    return {"error": code, "message": f"{vi} / {en}", **more}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _unavailable(vi: str, en: str) -> Response:
    return _json(503, error_body("unavailable", vi, en), {"Retry-After": "1"})


class RegistryState:
    """What the routes and the guard share: engine, keys, rate limiter, faults."""

    def __init__(self, engine: Engine, keys: list[str], rate: float, faults: Faults) -> None:
        self.engine = engine
        self.keys = [k.encode() for k in keys]
        self.limiter = TokenBucket(rate)
        self.faults = faults
        self.rng = Random()
        self._count: int | None = None
        self._count_until = 0.0

    def key_ok(self, key: bytes | None) -> bool:
        """True for one of the configured client keys."""
        return key is not None and any(hmac.compare_digest(key, k) for k in self.keys)

    def citizens(self) -> int:
        """Number of citizens (cached for 10 s when counting is slow: a big registry)."""
        now = time.monotonic()
        if self._count is not None and now < self._count_until:
            return self._count
        t0 = time.perf_counter()
        with self.engine.connect() as conn:
            n = service.count(conn)
        self._count = n
        self._count_until = now + (10.0 if time.perf_counter() - t0 > 0.05 else 0.0)
        return n


class _Guard:
    """ASGI middleware: injected faults, the key check and the rate limit of ``/v1``."""

    def __init__(self, app: ASGIApp, state: RegistryState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        if path != FAULTS_PATH:
            faults = state.faults
            if faults.down:
                await _unavailable(
                    "CSDL dân cư tạm ngừng phục vụ", "the population registry is down"
                )(scope, receive, send)
                return
            if faults.latency_ms > 0:
                await asyncio.sleep(faults.latency_ms / 1000)
            if faults.timeout_rate > 0 and state.rng.random() < faults.timeout_rate:
                await asyncio.sleep(faults.timeout_seconds)
            if faults.error_rate > 0 and state.rng.random() < faults.error_rate:
                await _unavailable(
                    "Lỗi tạm thời của CSDL dân cư, hãy thử lại",
                    "temporary registry error, try again",
                )(scope, receive, send)
                return
        if path != HEALTH_PATH:
            key = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
            if not state.key_ok(key):
                await _json(
                    401,
                    error_body(
                        "unauthorized",
                        "Thiếu hoặc sai khoá truy cập (X-Api-Key)",
                        "missing or invalid API key (X-Api-Key)",
                    ),
                )(scope, receive, send)
                return
            if path != FAULTS_PATH:
                assert key is not None
                wait = state.limiter.take(key)
                if wait > 0:
                    seconds = max(1, math.ceil(wait))
                    await _json(
                        429,
                        error_body(
                            "rate_limited",
                            f"Vượt quá giới hạn số yêu cầu, hãy thử lại sau {seconds} giây",
                            f"rate limit exceeded, retry after {seconds} s",
                        ),
                        {"Retry-After": str(seconds)},
                    )(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _invalid(vi: str, en: str, code: str = "invalid_request") -> Response:
    return _json(422, error_body(code, vi, en))


def _valid_dob(value: str) -> bool:
    if len(value) == 4:
        return value.isascii() and value.isdigit()
    try:
        return len(value) == 10 and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def create_app(
    settings: Settings | None = None,
    *,
    faults: Faults | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """The simulator's app on ``settings.popsim_database_url`` (tables created on start).

    ``faults`` are the injected faults at start-up (default: the ``popsim_*`` fault
    settings, see :meth:`Faults.from_settings`); ``engine`` overrides the database (the
    caller then owns it).
    """
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine if engine is not None else open_engine(settings.popsim_database_url)
    state = RegistryState(
        engine,
        list(settings.popsim_api_keys),
        settings.popsim_rate_per_second,
        faults if faults is not None else Faults.from_settings(settings),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="Mô phỏng CSDL quốc gia về dân cư / population-registry simulator",
        version="1",
        lifespan=lifespan,
    )
    app.state.popsim = state
    app.add_middleware(_Guard, state=state)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        issues = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return _json(
            422,
            error_body("invalid_request", "Yêu cầu không hợp lệ", "invalid request", issues=issues),
        )

    @app.get("/v1/health")
    def health() -> Response:
        """Tình trạng / health: ``{"status": "ok", "citizens": N}``."""
        return _json(200, {"status": "ok", "citizens": state.citizens()})

    @app.get("/v1/citizens/{personal_id}")
    def lookup(personal_id: str) -> Response:
        """Tra cứu một công dân / look up one citizen by personal ID or old CMND number."""
        if not (is_personal_id(personal_id) or is_legacy_id(personal_id)):
            return _invalid(
                "Số định danh phải gồm 12 chữ số (hoặc số CMND cũ 9 chữ số)",
                "the ID must have 12 digits (or 9 for an old CMND number)",
                "invalid_id",
            )
        with engine.connect() as conn:
            citizen = service.get(conn, personal_id)
        if citizen is None:
            return _json(
                404, error_body("not_found", "Không tìm thấy công dân", "citizen not found")
            )
        return _json(200, citizen)

    def _verify(ids: list[str]) -> bytes:
        with engine.connect() as conn:
            return orjson.dumps({"results": service.verify(conn, ids)})

    @app.post("/v1/citizens/verify")
    async def verify(request: Request) -> Response:
        """Xác thực một lô / verify up to 1,000 IDs: ``{"personal_ids": [...]}``."""
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _invalid("Nội dung không phải JSON", "the body is not JSON")
        ids = body.get("personal_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _invalid(
                'Cần {"personal_ids": [chuỗi, …]}', 'expected {"personal_ids": [string, ...]}'
            )
        if len(ids) > service.MAX_VERIFY:
            return _invalid(
                f"Tối đa {vi_int(service.MAX_VERIFY)} số định danh mỗi lần"
                f" (đã gửi {vi_int(len(ids))})",
                f"at most {service.MAX_VERIFY:,} IDs per call ({len(ids):,} sent)",
                "too_many_ids",
            )
        content = await run_in_threadpool(_verify, ids)
        return Response(content=content, media_type="application/json")

    @app.get("/v1/citizens")
    def search(
        birth_name: str = "",
        date_of_birth: str | None = None,
        sex: str | None = None,
        limit: int = 20,
    ) -> Response:
        """Tìm theo họ tên, ngày sinh, giới tính / search by birth name, date of birth, sex."""
        if not birth_name.strip():
            return _invalid("Cần tham số birth_name", "birth_name is required")
        if date_of_birth is not None and not _valid_dob(date_of_birth):
            return _invalid(
                "date_of_birth phải là YYYY hoặc YYYY-MM-DD",
                "date_of_birth must be YYYY or YYYY-MM-DD",
            )
        if sex is not None and sex not in ("M", "F"):
            return _invalid("sex phải là M hoặc F", "sex must be M or F")
        if not 1 <= limit <= service.MAX_SEARCH:
            return _invalid(
                f"limit phải từ 1 đến {service.MAX_SEARCH}",
                f"limit must be between 1 and {service.MAX_SEARCH}",
            )
        with engine.connect() as conn:
            results = service.search(
                conn, birth_name=birth_name, date_of_birth=date_of_birth, sex=sex, limit=limit
            )
        return _json(200, {"results": results})

    @app.get("/v1/_faults")
    def get_faults() -> Response:
        """Lỗi giả lập hiện tại / the injected faults."""
        return _json(200, state.faults.as_dict())

    @app.put("/v1/_faults")
    def put_faults(change: FaultsIn) -> Response:
        """Đặt lỗi giả lập / change the injected faults (only the fields given)."""
        values = change.model_dump(exclude_none=True)
        seed = values.pop("seed", None)
        if seed is not None:
            state.rng = Random(seed)
        for name, value in values.items():
            setattr(state.faults, name, value)
        return _json(200, state.faults.as_dict())

    return app
