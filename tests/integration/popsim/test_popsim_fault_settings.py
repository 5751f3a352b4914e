"""The simulator's injected faults as settings: ``HOSO_POPSIM_*`` and the ``serve`` options.

``serve`` is run in process with uvicorn replaced by a stand-in that keeps the app, so the
faults the app starts with are read from its state; :class:`BackgroundServer` (the demo's
simulator) is started for real and answers 503 when the settings say it is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import typer
from popsim_support import KEY
from sqlalchemy import Engine
from typer.testing import CliRunner

from hoso.config import Settings, get_settings
from hoso.popsim import cli as popsim_cli
from hoso.popsim.api import Faults, create_app
from hoso.popsim.server import BackgroundServer

FAULT_ENV = {
    "HOSO_POPSIM_LATENCY_MS": "250",
    "HOSO_POPSIM_ERROR_RATE": "0.5",
    "HOSO_POPSIM_TIMEOUT_RATE": "0.25",
    "HOSO_POPSIM_TIMEOUT_SECONDS": "3",
    "HOSO_POPSIM_DOWN": "true",
}


@pytest.fixture
def served(popsim_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """``uvicorn.run`` keeps the app it is given instead of serving it."""
    import uvicorn

    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    yield apps
    for app in apps:  # never served: no lifespan released the engine
        app.state.popsim.engine.dispose()


def _serve(*args: str) -> None:
    app = typer.Typer()
    popsim_cli.register(app)
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output


def _faults(apps: list[Any]) -> dict[str, Any]:
    faults: Faults = apps[-1].state.popsim.faults
    return faults.as_dict()


def test_the_defaults_inject_nothing(served: list[Any]) -> None:
    _serve()
    assert _faults(served) == Faults().as_dict()
    assert Faults().as_dict() == {
        "latency_ms": 0.0,
        "timeout_rate": 0.0,
        "error_rate": 0.0,
        "down": False,
        "timeout_seconds": 30.0,
    }


def test_serve_takes_the_faults_from_the_environment(
    served: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in FAULT_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    _serve()
    assert _faults(served) == {
        "latency_ms": 250.0,
        "error_rate": 0.5,
        "timeout_rate": 0.25,
        "timeout_seconds": 3.0,
        "down": True,
    }
    # an option given on the command line wins over its setting; the others stay
    _serve("--latency-ms", "0", "--up", "--error-rate", "0.1")
    assert _faults(served) == {
        "latency_ms": 0.0,
        "error_rate": 0.1,
        "timeout_rate": 0.25,
        "timeout_seconds": 3.0,
        "down": False,
    }


def test_invalid_fault_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSO_POPSIM_ERROR_RATE", "1.5")
    with pytest.raises(ValueError, match="popsim_error_rate"):
        Settings()


def test_create_app_and_the_background_server_follow_the_settings(
    popsim_url: str, popsim_engine: Engine
) -> None:
    settings = Settings(popsim_database_url=popsim_url, popsim_api_keys=[KEY], popsim_down=True)
    assert create_app(settings, engine=popsim_engine).state.popsim.faults.down is True
    # explicit faults win over the settings
    app = create_app(settings, faults=Faults(), engine=popsim_engine)
    assert app.state.popsim.faults.down is False
    with BackgroundServer(settings=settings) as server:
        headers = {"X-Api-Key": KEY}
        assert httpx.get(f"{server.url}/v1/health", timeout=5).status_code == 503
        up = httpx.put(f"{server.url}/v1/_faults", json={"down": False}, headers=headers)
        assert up.json()["down"] is False
        assert httpx.get(f"{server.url}/v1/health", timeout=5).json() == {
            "status": "ok",
            "citizens": 0,
        }
        port = server.port
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
