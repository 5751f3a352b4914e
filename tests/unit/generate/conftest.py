"""Shared runs of the generator (computed once per session; pure computation, no files)."""

from __future__ import annotations

import pytest
from rulecheck import Run

from hoso.generate.orgs import OrgUnitDict, generate_orgs
from hoso.generate.people import DEFAULT_AS_OF, iter_people


@pytest.fixture(scope="session")
def default_orgs() -> list[OrgUnitDict]:
    """The default org tree (seed 1, 12 agencies)."""
    return generate_orgs()


@pytest.fixture(scope="session")
def clean_run(default_orgs: list[OrgUnitDict]) -> Run:
    """2,000 people without defects."""
    return list(iter_people(2000, 11, orgs=default_orgs, as_of=DEFAULT_AS_OF))


@pytest.fixture(scope="session")
def defect_run(default_orgs: list[OrgUnitDict]) -> Run:
    """2,000 people, a fifth of them with an injected defect."""
    return list(iter_people(2000, 12, orgs=default_orgs, defect_rate=0.2, as_of=DEFAULT_AS_OF))
