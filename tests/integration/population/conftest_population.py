"""Helpers and fixtures of the population integration tests (imported by ``conftest.py``).

The tables, a generated world, registries:

- ``population_tables`` (autouse): the ``population_*`` tables exist in the session's
  database (created from the models when no migration made them yet).
- ``world``: the generated org tree and ``WORLD_COUNT`` generated people (30 % with a
  defect) imported into the test's rolled-back session, with the registry's true view of
  the same run (``world.registry``) and the labels.
- :class:`FakeRegistry`: an in-process :class:`~hoso.population.client.PopulationRegistry`
  with the simulator's semantics (by personal ID, then by old CMND number), counting calls
  and failing on demand, for tests that need no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hoso.auth.principal import operator
from hoso.db.base import Base
from hoso.db.engine import make_engine, unit_of_work
from hoso.generate.orgs import generate_orgs
from hoso.generate.people import iter_people
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import bulk
from hoso.population.client import RegistryUnavailable

WORLD_COUNT = 150
WORLD_SEED = 11
POPULATION_TABLES = ("population_run", "population_match")


def create_population_tables(engine: Engine) -> None:
    """Create the population tables on ``engine`` unless a migration already did."""
    import hoso.db.models  # noqa: F401  (every model on Base.metadata)

    tables = [Base.metadata.tables[name] for name in POPULATION_TABLES]
    Base.metadata.create_all(engine, tables=tables, checkfirst=True)


def create_population_tables_at(url: str) -> None:
    """The same for a database URL (``fresh_db_url`` databases of subprocess tests)."""
    engine = make_engine(url)
    try:
        create_population_tables(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _population_tables_session(db_engine: Engine) -> None:
    create_population_tables(db_engine)


@pytest.fixture(autouse=True)
def population_tables(request: pytest.FixtureRequest) -> None:
    """The population tables exist in the session database (when the test uses it)."""
    if "session" in request.fixturenames or "db_engine" in request.fixturenames:
        request.getfixturevalue("_population_tables_session")


# --- a generated world -----------------------------------------------------------------------


@dataclass
class World:
    """Generated people as imported, with the registry's truth and the labels."""

    lines: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    registry: list[dict[str, Any]]
    orgs: list[dict[str, Any]]

    def labelled(self, category: str) -> set[str]:
        """Personal IDs (as in the dossiers) with a label of ``category``."""
        return {lab["personal_id"] for lab in self.labels if lab["category"] == category}


def make_world(count: int = WORLD_COUNT, seed: int = WORLD_SEED, rate: float = 0.3) -> World:
    """Generate ``count`` people and the registry's view of them (nothing stored)."""
    orgs = [dict(u) for u in generate_orgs(seed=seed)]
    lines: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    registry: list[dict[str, Any]] = []
    for line, person_labels, entry in iter_people(count, seed, orgs=orgs, defect_rate=rate):  # type: ignore[arg-type]
        lines.append(line)
        labels.extend(person_labels)
        if entry is not None:
            registry.append({**entry, "status": entry.get("status", "alive")})
    return World(lines, labels, registry, orgs)


def store_world(world: World, tmp_path: Path, session: Session | None = None) -> None:
    """Import the world's org tree and people (in ``session``, else in a new transaction)."""
    units = [OrgUnitIn.model_validate(u) for u in world.orgs]
    if session is not None:
        orgs_service.upsert_units(session, units, principal=operator())
    else:
        with unit_of_work() as s:
            orgs_service.upsert_units(s, units, principal=operator())
    src = tmp_path / "people.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in world.lines))
    report = bulk.import_file(src, principal=operator(), batch_size=500, workers=0)
    assert report.rejected == 0, report.rejected_codes


_WORLD_CACHE: dict[tuple[int, int, float], World] = {}


def cached_world(count: int = WORLD_COUNT, seed: int = WORLD_SEED, rate: float = 0.3) -> World:
    """:func:`make_world`, generated once per test session."""
    key = (count, seed, rate)
    if key not in _WORLD_CACHE:
        _WORLD_CACHE[key] = make_world(count, seed, rate)
    return _WORLD_CACHE[key]


@pytest.fixture
def world(session: Session, tmp_path: Path) -> World:
    """The generated world imported into the test's rolled-back session."""
    w = cached_world()
    store_world(w, tmp_path, session)
    return w


# --- an in-process registry ---------------------------------------------------------------------


@dataclass
class FakeRegistry:
    """The simulator's verification semantics in process.

    ``fail`` decides per call (numbered from 1) whether it raises ``RegistryUnavailable``;
    ``calls`` records the IDs of every call.
    """

    citizens: list[dict[str, Any]]
    fail: Callable[[int], bool] = lambda n: False
    calls: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_id = {c["personal_id"]: c for c in self.citizens}
        self.by_legacy = {c["legacy_id_no"]: c for c in self.citizens if c.get("legacy_id_no")}

    def _find(self, number: str) -> tuple[dict[str, Any] | None, str | None]:
        if number in self.by_id:
            return self.by_id[number], "personal_id"
        if number in self.by_legacy:
            return self.by_legacy[number], "legacy_id_no"
        return None, None

    def verify(self, personal_ids: Sequence[str]) -> list[dict[str, Any]]:
        self.calls.append(list(personal_ids))
        if self.fail(len(self.calls)):
            raise RegistryUnavailable()
        out = []
        for number in personal_ids:
            citizen, how = self._find(number)
            out.append({"query": number, "found": citizen is not None, "matched_by": how,
                        "citizen": citizen})  # fmt: skip
        return out

    def lookup(self, personal_id: str) -> dict[str, Any] | None:
        return self._find(personal_id)[0]

    def search(
        self, *, birth_name: str, date_of_birth: str | None = None, sex: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:  # fmt: skip
        return [c for c in self.citizens if c.get("birth_name") == birth_name][:limit]

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "citizens": len(self.citizens)}

    @property
    def asked(self) -> list[str]:
        """Every ID asked, over all calls."""
        return [pid for call in self.calls for pid in call]


@pytest.fixture
def registry(world: World) -> FakeRegistry:
    """An in-process registry holding the world's citizens."""
    return FakeRegistry(world.registry)


def iter_batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def http_handler(
    registry: FakeRegistry, *, fail: Callable[[int], bool] = lambda n: False
) -> Callable[[Any], Any]:
    """An ``httpx.MockTransport`` handler serving ``registry`` with the simulator's HTTP
    contract; ``fail(n)`` answers the n-th request (from 1) with a 503."""
    import httpx

    state = {"n": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        state["n"] += 1
        if fail(state["n"]):
            return httpx.Response(503, json={"error": "unavailable"})
        path = request.url.path
        if path == "/v1/citizens/verify":
            asked = orjson.loads(request.content)["personal_ids"]
            return httpx.Response(200, json={"results": registry.verify(asked)})
        if path == "/v1/health":
            return httpx.Response(200, json=registry.health())
        if path.startswith("/v1/citizens/"):
            found = registry.lookup(path.rsplit("/", 1)[1])
            return httpx.Response(200, json=found) if found else httpx.Response(404)
        return httpx.Response(404, json={"error": "not_found"})

    return handle


def patch_client(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[Any], Any], *, retries: int = 3
) -> list[Any]:
    """Make ``RegistryClient.from_settings`` build clients on ``handler`` (no waiting);
    returns the list of clients built."""
    import httpx

    from hoso.population.client import RegistryClient

    built: list[RegistryClient] = []

    def from_settings(
        cls: type[RegistryClient], *, base_url: str | None = None, batch_size: int | None = None
    ) -> RegistryClient:
        client = RegistryClient(
            base_url or "http://registry.test", "key", max_retries=retries, rate_per_second=0,
            batch_size=batch_size or 1000, transport=httpx.MockTransport(handler),
            sleep=lambda s: None,
        )  # fmt: skip
        built.append(client)
        return client

    monkeypatch.setattr(RegistryClient, "from_settings", classmethod(from_settings))
    return built


# --- the real simulator over real HTTP -----------------------------------------------------------

POPSIM_KEY = "population-test-key"


class PopsimServer:
    """The registry simulator (:mod:`hoso.popsim.api`) in a real uvicorn server on a free
    loopback port, in a thread of this process, on its own SQLite database."""

    def __init__(self, folder: Path, citizens: Sequence[dict[str, Any]], *,
                 rate_per_second: float = 0.0) -> None:  # fmt: skip
        import socket

        from hoso.config import Settings
        from hoso.popsim.load import load
        from hoso.popsim.models import open_engine

        self.db_url = f"sqlite:///{folder / 'popsim.db'}"
        self.engine = open_engine(self.db_url)
        src = folder / "citizens.jsonl"
        src.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in citizens))
        self.load_report = load(self.engine, src)
        assert self.load_report.citizens > 0, self.load_report
        self.settings = Settings(
            popsim_database_url=self.db_url,
            popsim_api_keys=[POPSIM_KEY],
            popsim_rate_per_second=rate_per_second,
        )
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        self.thread: Any = None

    def start(self) -> PopsimServer:
        """Serve in a background thread; return when the server accepts connections."""
        import threading
        import time

        import uvicorn

        from hoso.popsim.api import create_app

        app = create_app(self.settings, engine=self.engine)
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1,
                                lifespan="on")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server and release its database."""
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.socket.close()
        self.engine.dispose()

    def faults(self, **change: Any) -> dict[str, Any]:
        """``PUT /v1/_faults`` (latency_ms, timeout_rate, error_rate, down, timeout_seconds)."""
        import httpx

        response = httpx.put(f"{self.url}/v1/_faults", json=change,
                             headers={"X-Api-Key": POPSIM_KEY}, timeout=5)  # fmt: skip
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def citizens(self) -> list[dict[str, Any]]:
        """The citizens the simulator holds (its loader refuses invalid entries)."""
        from hoso.popsim import service as popsim_service

        with self.engine.connect() as conn:
            return list(popsim_service.iter_citizens(conn))

    def client(self, **kw: Any) -> Any:
        """A :class:`~hoso.population.client.RegistryClient` on this server."""
        from hoso.population.client import RegistryClient

        kw.setdefault("timeout", 2.0)
        kw.setdefault("max_retries", 3)
        kw.setdefault("rate_per_second", 0)
        kw.setdefault("backoff_base", 0.02)
        kw.setdefault("backoff_max", 0.5)
        return RegistryClient(self.url, POPSIM_KEY, **kw)


@pytest.fixture
def popsim(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PopsimServer]:
    """The simulator serving the world's citizens over real HTTP."""
    server = PopsimServer(tmp_path_factory.mktemp("popsim"), world.registry).start()
    try:
        yield server
    finally:
        server.stop()
