"""Records passed between the people generator and the defect injector."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from hoso.generate.careers import Family, Salary
from hoso.generate.context import UnitInfo


class Label(TypedDict):
    """One injected defect: the finding a quality engine is expected to report."""

    personal_id: str
    category: str
    rule_id: str
    field: str


Line = dict[str, Any]


@dataclass(slots=True)
class Identity:
    """Who a person is for the registry and the SACH-002 key (copied for a twin)."""

    sex: str
    dob: dt.date
    surname: str
    middle: str
    given: str
    birth_legacy: str
    home_legacy: str
    home_new: str
    home_ward: tuple[str, str]
    ethnicity: str


@dataclass(slots=True)
class Person:
    """A generated person while it is assembled and possibly given defects."""

    index: int
    line: Line
    data: dict[str, Any]
    identity: Identity
    unit: UnitInfo
    family: Family
    salary: Salary
    head: str
    """Personal-ID head ``PPP G YY``."""
