"""``hoso demo load`` / ``hoso demo run`` with the population registry (issue 5).

A small demo (600 people) into a fresh database, a private folder and a simulator
database of its own: the load seeds the simulator consistently with the demo people,
verifies everyone over real HTTP, links the ones not found, and the quality run after it
sees the results. A second load changes nothing; ``demo run`` serves the simulator at
``HOSO_POPULATION_URL`` while the web app runs (uvicorn replaced by a probe) and stops it
after.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hoso import demo
from hoso.audit.models import AuditEvent
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.people.models import Person
from hoso.popsim import service as popsim_service
from hoso.popsim.models import open_engine
from hoso.population.models import Outcome, PopulationMatch, PopulationRun
from hoso.quality.models import QualityFinding, QualityRun

pytestmark = pytest.mark.slow

COUNT = 600
KEY = "demo-test-key"
_names = itertools.count(1)


@pytest.fixture
def demo_env(
    backend: str,
    fresh_db_url: str,
    use_database: Callable[[str], None],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A fresh hoso database, a simulator database, a quality folder; yields the var folder."""
    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        name = f"demo_popsim_{next(_names)}"
        popsim_url = cluster.create_database(name)
        request.addfinalizer(lambda: cluster.drop_database(name))
    else:
        popsim_url = f"sqlite:///{tmp_path / 'popsim.db'}"
    monkeypatch.setenv("HOSO_POPSIM_DATABASE_URL", popsim_url)
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(tmp_path / "quality"))
    # The demo's client key need not be among the simulator's keys: the demo adds it.
    monkeypatch.setenv("HOSO_POPULATION_API_KEY", KEY)
    monkeypatch.setenv("HOSO_POPSIM_API_KEYS", orjson.dumps(["another-key"]).decode())
    use_database(fresh_db_url)
    yield tmp_path / "var"
    get_settings.cache_clear()


def _load(var_dir: Path) -> str:
    result = CliRunner().invoke(
        demo.app, ["load", "--count", str(COUNT), "--var-dir", str(var_dir)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _registry_ids() -> set[str]:
    engine = open_engine(get_settings().popsim_database_url)
    try:
        with engine.connect() as conn:
            return {c["personal_id"] for c in popsim_service.iter_citizens(conn)}
    finally:
        engine.dispose()


def _state() -> dict[str, Any]:
    with unit_of_work() as session:
        return {
            "people": session.execute(select(func.count()).select_from(Person)).scalar_one(),
            "runs": session.execute(select(func.count()).select_from(PopulationRun)).scalar_one(),
            "quality_runs": session.execute(
                select(func.count()).select_from(QualityRun)
            ).scalar_one(),
            "links": session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "population:link:complete")
            ).scalar_one(),
            "matches": {
                pid: (outcome, matched_by)
                for pid, outcome, matched_by in session.execute(
                    select(
                        PopulationMatch.personal_id,
                        PopulationMatch.outcome,
                        PopulationMatch.matched_by,
                    )
                )
            },
        }


def test_demo_load_matches_with_the_simulator_and_quality_sees_it(demo_env: Path) -> None:
    _load(demo_env)
    state = _state()
    assert state["people"] == COUNT
    assert state["runs"] == 1 and state["links"] == 1
    with unit_of_work() as session:
        run = session.execute(select(PopulationRun)).scalar_one()
        assert (run.status, run.done) == ("completed", COUNT)

    # The simulator holds the civil servants (a few deliberately missing) and 3x others.
    registry = _registry_ids()
    matches = state["matches"]
    assert len(matches) == COUNT  # every dossier has a result
    assert 4 * COUNT * 0.95 < len(registry) <= 4 * COUNT
    known = {pid for pid in matches if pid in registry}
    unknown = set(matches) - known
    assert unknown, "the demo has dossiers whose number the registry does not know"
    assert len(known) > COUNT * 0.9
    # Known by number: matched or a conflict by personal ID; unknown: not found, or
    # found through the old CMND or the probabilistic pass.
    for pid in known:
        assert matches[pid][1] == "personal_id", (pid, matches[pid])
        assert matches[pid][0] in (Outcome.MATCHED, Outcome.CONFLICT)
    for pid in unknown:
        assert matches[pid][1] in (None, "legacy_id_no", "probabilistic"), (pid, matches[pid])
    assert {o for o, _ in matches.values()} >= {Outcome.MATCHED, Outcome.CONFLICT}

    # The quality run came after the match: the registry rules were evaluated.
    with unit_of_work() as session:
        last = session.execute(select(QualityRun).order_by(QualityRun.id.desc())).scalars()
        quality_run = next(iter(last))
        skipped = {ne["rule_id"] for ne in quality_run.not_evaluated}
        assert not skipped & {"SACH-009", "SACH-010", "SACH-011", "SONG-009"}
        rules = dict(
            session.execute(
                select(QualityFinding.rule_id, func.count())
                .where(QualityFinding.rule_id.in_(["SACH-009", "SACH-010", "SACH-011"]))
                .group_by(QualityFinding.rule_id)
            ).all()
        )
        sach011 = set(
            session.execute(
                select(QualityFinding.personal_id).where(QualityFinding.rule_id == "SACH-011")
            ).scalars()
        )
    assert rules.get("SACH-011", 0) >= 1 and rules.get("SACH-009", 0) >= 1
    assert sach011 <= unknown  # SACH-011 only for numbers the registry does not know

    # Idempotent: a second load seeds, matches, links and checks nothing again.
    output = _load(demo_env)
    assert "đã có" in output
    again = _state()
    assert again == state
    assert _registry_ids() == registry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_demo_run_serves_the_simulator_beside_the_web_app(
    demo_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    port = _free_port()
    monkeypatch.setenv("HOSO_POPULATION_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    _load(demo_env)
    seen: dict[str, Any] = {}

    def web_app(target: str, **kw: Any) -> None:
        """Stands in for the web server: the simulator must answer the demo's key now."""
        seen["target"] = target
        with unit_of_work() as session:
            pid = session.execute(select(Person.personal_id).limit(1)).scalar_one()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            seen["health"] = client.get("/v1/health").json()
            seen["verify"] = client.post(
                "/v1/citizens/verify", json={"personal_ids": [pid]}, headers={"X-Api-Key": KEY}
            ).status_code

    monkeypatch.setattr(uvicorn, "run", web_app)
    result = CliRunner().invoke(
        demo.app, ["run", "--count", str(COUNT), "--var-dir", str(demo_env)]
    )
    assert result.exit_code == 0, result.output
    assert seen["target"] == "hoso.main:create_app"
    assert seen["health"] == {"status": "ok", "citizens": len(_registry_ids())}
    assert seen["verify"] == 200
    with pytest.raises(httpx.TransportError):  # stopped with the web app
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
