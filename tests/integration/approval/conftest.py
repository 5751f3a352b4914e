"""Fixtures of the approval tests (helpers live in approval_world.py and conftest_approval_pki.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from approval_world import World, official_signers, seed  # type: ignore[import-not-found]
from conftest_approval_pki import TestPki  # type: ignore[import-not-found]
from sqlalchemy.orm import Session

from hoso.exchange.signing import KeySigner


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test CA (its PEM in a temporary folder)."""
    folder: Path = tmp_path_factory.mktemp("approval-pki")
    return TestPki(folder)


@pytest.fixture(scope="session")
def signers(pki: TestPki) -> dict[str, KeySigner]:
    """Officials' and nodes' signers, made once per session."""
    return official_signers(pki)


@pytest.fixture
def world(session: Session, pki: TestPki, signers: dict[str, KeySigner]) -> World:
    """The tree and users in the test's rolled-back transaction."""
    return seed(session, pki, signers)
