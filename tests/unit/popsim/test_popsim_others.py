"""Other citizens, deliberate differences and the rate limiter (pure computation)."""

from __future__ import annotations

import datetime as dt
from array import array
from random import Random

import pytest

from hoso.catalog.loader import get_catalog
from hoso.popsim.api import TokenBucket
from hoso.popsim.models import COLUMNS
from hoso.popsim.seed import _ETHNICITY, _RELIGION, _RELIGION_KHMER, OtherCitizens, _difference

PID = COLUMNS.index("personal_id")
LEGACY = COLUMNS.index("legacy_id_no")


def test_pools_hold_only_code_list_codes() -> None:
    cat = get_catalog()
    ethnicity, religion = cat.codelist("ethnicity").codes, cat.codelist("religion").codes
    for pool in _ETHNICITY.values():
        assert set(pool.items) <= set(ethnicity)
    for pool in (_RELIGION, _RELIGION_KHMER):
        assert set(pool.items) <= set(religion)


def test_others_are_deterministic_and_unique() -> None:
    a = OtherCitizens(3).rows(5000)
    assert OtherCitizens(3).rows(5000) == a
    assert OtherCitizens(4).rows(50) != a[:50]
    assert len({r[PID] for r in a}) == len(a)
    legacy = [r[LEGACY] for r in a if r[LEGACY] is not None]
    assert len(legacy) > 100 and len(set(legacy)) == len(legacy)
    assert all(len(x) == 9 and x.isdigit() for x in legacy)


def test_others_skip_taken_numbers() -> None:
    free = OtherCitizens(9).rows(300)
    taken_pids = array("q", sorted(int(r[PID] or 0) for r in free[:150]))
    taken_legacy = {r[LEGACY] for r in free if r[LEGACY] is not None}
    assert taken_legacy
    again = OtherCitizens(9, taken=taken_pids, legacy_taken={x for x in taken_legacy if x}).rows(
        300
    )
    assert not {int(r[PID] or 0) for r in again} & set(taken_pids)
    assert not {r[LEGACY] for r in again} & taken_legacy


def test_personal_id_heads_are_permutations() -> None:
    gen = OtherCitizens(1)
    ids = [gen.personal_id(1085) for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("001085") for i in ids)


def test_ages_span_a_population() -> None:
    rows = OtherCitizens(2).rows(5000)
    years = [int(str(r[COLUMNS.index("date_of_birth")])[:4]) for r in rows]
    assert min(years) < 1950 and max(years) >= 2025
    minors = sum(y > 2008 for y in years) / len(years)
    assert 0.1 < minors < 0.4


@pytest.mark.parametrize(
    "kind", ["date_of_birth", "birth_name", "deceased", "legacy_id_no", "missing"]
)
def test_a_difference_changes_what_its_truth_says(kind: str) -> None:
    citizen = {
        "personal_id": "001085012345",
        "birth_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1985-01-03",
        "sex": "M",
        "status": "alive",
        "legacy_id_no": "123456789",
    }
    before = dict(citizen)
    record = _difference(kind, citizen, Random(1), {"123456789"})
    assert record["kind"] == kind and record["personal_id"] == "001085012345"
    assert record["dossier_value"] == before.get(record["field"])
    if kind == "missing":
        assert citizen == before and record["registry_value"] is None
        return
    assert citizen[record["field"]] == record["registry_value"] != record["dossier_value"]
    assert {k for k in citizen if citizen[k] != before[k]} == {record["field"]}
    if kind == "date_of_birth":
        assert dt.date.fromisoformat(citizen["date_of_birth"]).year == 1985


def test_token_bucket() -> None:
    now = [100.0]
    bucket = TokenBucket(4.0, clock=lambda: now[0])
    assert [bucket.take(b"k") for _ in range(4)] == [0.0] * 4
    wait = bucket.take(b"k")
    assert wait == pytest.approx(0.25)
    assert bucket.take(b"other") == 0.0
    now[0] += 0.25
    assert bucket.take(b"k") == 0.0
    assert bucket.take(b"k") > 0
    now[0] += 100  # saved-up tokens are capped at the burst
    assert [bucket.take(b"k") == 0.0 for _ in range(5)] == [True] * 4 + [False]
    assert TokenBucket(0).take(b"k") == 0.0  # 0 = unlimited
