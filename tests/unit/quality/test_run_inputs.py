"""What runs depend on: stable fingerprints, and the columns an incremental run reads."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl

from hoso.catalog.loader import get_catalog
from hoso.quality import engine, evaluate
from hoso.quality.rules import APPROVAL, DATASET, META, Context
from hoso.quality.service import POPULATION_COLUMNS

SCRIPT = (
    "import datetime as dt, json\n"
    "from hoso.catalog.loader import get_catalog\n"
    "from hoso.quality.service import fingerprints\n"
    "print(json.dumps(fingerprints(get_catalog(), profile='nd27', "
    "as_of=dt.date(2026, 11, 23), params={})))\n"
)


def _fingerprints(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_fingerprints_are_the_same_in_every_process() -> None:
    # string hashing (and so set order) differs between these two processes
    first, second = _fingerprints("1"), _fingerprints("2")
    assert first == second and "DUNG-001" in first


def test_dataset_rules_need_only_the_population_columns() -> None:
    g = evaluate.generated(600, seed=4, defect_rate=0.3)
    catalog = get_catalog()
    keys = g.frame.select(list(dict.fromkeys(["_id", *POPULATION_COLUMNS])))
    results = []
    for frame in (g.frame, keys):
        ctx = Context(frame=frame, as_of=g.as_of, profile="nd27", catalog=catalog,
                      population=frame)  # fmt: skip
        found = engine.check(ctx, inputs={META, DATASET}, scope="dataset").findings
        results.append(found.sort("_id", "rule_id", "field"))
    assert results[0].height > 0  # the generator made twins at this rate
    assert results[0].equals(results[1])
    assert set(results[0]["rule_id"].to_list()) <= {"SACH-001", "SACH-002"}
    assert isinstance(results[1], pl.DataFrame)


def test_the_small_frame_engine_finds_what_the_default_one_finds() -> None:
    # service._small_frame_engine runs the rules of small runs on Polars' in-memory engine
    from hoso.quality import service

    g = evaluate.generated(600, seed=5, defect_rate=0.3)
    catalog = get_catalog()
    results = []
    for rows in (g.frame.height, service.SMALL_FRAME):  # in-memory, then the default
        ctx = Context(frame=g.frame, as_of=g.as_of, profile="nd27", catalog=catalog,
                      population=g.frame)  # fmt: skip
        with service._small_frame_engine(rows):
            engine_now = pl.Config.state().get("POLARS_ENGINE_AFFINITY")
            found = engine.check(ctx, inputs={META, APPROVAL, DATASET}).findings
        results.append((engine_now, found.sort("_id", "rule_id", "field")))
    assert results[0][0] == "in-memory" and results[1][0] != "in-memory"
    assert results[0][1].height > 100
    assert results[0][1].equals(results[1][1])
