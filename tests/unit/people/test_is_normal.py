"""``DossierValidator.is_normal`` answers exactly what ``check_data`` would say.

The exchange's receiver asks ``is_normal`` first and runs ``check_data`` only to explain a
refusal, so the two must agree on every input: a ``True`` where ``check_data`` would find an
issue or change the data would store data that is not in normal form. The inputs are
generated dossiers (with defects) and thousands of seeded mutations of them, of every kind
the normal form forbids and of the values each leaf type must refuse.
"""

from __future__ import annotations

import copy
import random
import unicodedata
from typing import Any

import pytest

from hoso.generate.people import generate_people
from hoso.people.validation import DossierValidator, get_validator

SEED = 20261203


def _reference(validator: DossierValidator, data: Any) -> bool:
    issues: list[Any] = []
    out = validator.check_data(data, issues)
    return not issues and out == data


@pytest.fixture(scope="module")
def dossiers() -> list[dict[str, Any]]:
    validator = get_validator()
    out = []
    for line, _ in generate_people(150, SEED, defect_rate=0.3):
        issues: list[Any] = []
        # The normal form of each line (what a conforming sender signs), and the raw line.
        out.append(validator.check_data(copy.deepcopy(line["data"]), issues))
        out.append(line["data"])
    return out


BAD_VALUES: list[Any] = [
    None,
    "",
    " ",
    " x",
    "x ",
    "x\n",
    "\u00a0x",
    "x\u3000",
    "\x1fx",
    unicodedata.normalize("NFD", "Nguyễn"),
    0,
    1,
    -1,
    2**53,
    1.5,
    True,
    False,
    [],
    ["x"],
    [""],
    {},
    {"uri": "x"},
    "2021-02-29",
    "2020-02-29",
    "2020-13",
    "2020-00",
    "2020-1-1",
    "0000-01-01",
    "١٢٣٤",
    "3.33",
    "-3",
    "3.",
    "001085012345",
    "00108501234",
]


def _leaf_paths(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            paths.append((key,))
            for i, row in enumerate(value):
                paths.append((key, i))
                paths.extend((key, i, col) for col in row)
        else:
            paths.append((key,))
            if isinstance(value, list | dict):
                paths.extend(
                    (key, k) for k in (range(len(value)) if isinstance(value, list) else value)
                )
    return paths


def _mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(data)
    paths = _leaf_paths(out)
    path = rng.choice(paths)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.random()
    if action < 0.08:
        del parent[last]  # removing a leaf keeps normal form unless a row becomes empty
    elif action < 0.14 and isinstance(parent, dict):
        parent[f"{last}_x" if isinstance(last, str) else "unknown"] = "x"
    elif action < 0.22 and isinstance(parent[last], str):
        value = parent[last]
        parent[last] = rng.choice(
            [f" {value}", f"{value} ", unicodedata.normalize("NFD", value), value.upper()]
        )
    else:
        parent[last] = copy.deepcopy(rng.choice(BAD_VALUES))
    return out


def test_is_normal_agrees_with_check_data_on_generated_dossiers(
    dossiers: list[dict[str, Any]],
) -> None:
    validator = get_validator()
    verdicts = [validator.is_normal(d) for d in dossiers]
    assert verdicts == [_reference(validator, d) for d in dossiers]
    assert all(verdicts[::2])  # every normal form is normal


def test_is_normal_agrees_with_check_data_on_mutations(dossiers: list[dict[str, Any]]) -> None:
    validator = get_validator()
    rng = random.Random(SEED)
    normal = [d for d in dossiers if validator.is_normal(d)]
    seen = {True: 0, False: 0}
    for _ in range(6000):
        mutated = _mutate(rng.choice(normal), rng)
        expected = _reference(validator, mutated)
        assert validator.is_normal(mutated) == expected, mutated
        seen[expected] += 1
    assert seen[True] > 300 and seen[False] > 3000, seen


def test_is_normal_refuses_what_is_not_a_document() -> None:
    validator = get_validator()
    for value in (None, [], "x", 1, [{"birth_name": "A"}]):
        assert not validator.is_normal(value)
    assert validator.is_normal({})
