"""The snapshot's parts: Arrow IPC files mapped into memory, merged newest-last.

The engine trusts the snapshot for everything it does not reload, so a merge that kept an
old row, lost a row or mixed columns would silently check stale data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from hoso.quality.rules import ID
from hoso.quality.snapshot import Snapshot, has_retired, live, merge

T0 = dt.datetime(2026, 11, 23, 3, tzinfo=dt.UTC)


def _frame(ids: list[int], name: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            ID: ids,
            "birth_name": [f"{name} {i}" for i in ids],
            "work_history": [[{"from": "2010-01", "unit": name}] for _ in ids],
        },
        schema={
            ID: pl.Int64,
            "birth_name": pl.String,
            "work_history": pl.List(pl.Struct({"from": pl.String, "unit": pl.String})),
        },
    )


def test_merge_replaces_and_adds_rows_with_the_newest_winning() -> None:
    base = _frame([1, 2, 3, 4], "A")
    merged = merge(base, _frame([2, 5], "B"), _frame([2, 3], "C"))
    by_id = dict(zip(merged[ID].to_list(), merged["birth_name"].to_list(), strict=True))
    assert by_id == {1: "A 1", 2: "C 2", 3: "C 3", 4: "A 4", 5: "B 5"}
    assert merged.height == 5
    assert merge(base) is base  # nothing newer: no copy


def test_merge_retiring_negates_the_superseded_rows_and_copies_nothing_else() -> None:
    base = _frame([1, 2, 3, 4], "A")
    merged = merge(base, _frame([2, 5], "B"), _frame([2, 3], "C"), retire=True)
    assert merged.height == 4 + 3  # the base rows all stay
    assert has_retired(merged) and not has_retired(base)
    assert sorted(i for i in merged[ID].to_list() if i < 0) == [-3, -2]
    by_id = dict(zip(live(merged)[ID].to_list(), live(merged)["birth_name"].to_list(), strict=True))
    assert by_id == {1: "A 1", 2: "C 2", 3: "C 3", 4: "A 4", 5: "B 5"}
    # the base part's other columns are the same buffers, not a copy
    assert merged["birth_name"].head(4).equals(base["birth_name"])
    assert live(base) is base


def test_parts_round_trip_through_memory_mapped_ipc(tmp_path: Path) -> None:
    snap = Snapshot(tmp_path / "snap")
    snap.source = "db-1"
    snap.replace(_frame([1, 2, 3], "A"), T0)
    snap.add(_frame([2, 9], "B"), T0 + dt.timedelta(minutes=1))
    parts = snap.manifest()["parts"]
    assert len(parts) == 2 and all(p.endswith(".arrow") for p in parts)
    assert snap.synced_at() == T0 + dt.timedelta(minutes=1)
    assert snap.matches("db-1") and not snap.matches("db-2")

    full = snap.load()
    assert full is not None
    assert sorted(zip(full[ID].to_list(), full["birth_name"].to_list(), strict=True)) == [
        (1, "A 1"), (2, "B 2"), (3, "A 3"), (9, "B 9"),
    ]  # fmt: skip
    assert full.filter(pl.col(ID) == 2)["work_history"].to_list() == [
        [{"from": "2010-01", "unit": "B"}]
    ]
    names = snap.load(["birth_name"])
    assert names is not None and names.columns == [ID, "birth_name"]

    rows = snap.rows([2, 3, 77])
    assert rows is not None
    assert sorted(rows["birth_name"].to_list()) == ["A 3", "B 2"]


def test_a_parquet_part_of_an_older_snapshot_still_reads(tmp_path: Path) -> None:
    snap = Snapshot(tmp_path / "snap")
    snap.source = "db-1"
    snap.replace(_frame([1, 2], "A"), T0)
    old = snap.manifest()["parts"][0]
    legacy = old.replace(".arrow", ".parquet")
    snap.load().write_parquet(tmp_path / "snap" / legacy)  # type: ignore[union-attr]
    (tmp_path / "snap" / old).unlink()
    snap._save_manifest([legacy], T0)
    snap.add(_frame([2], "B"), T0)
    loaded = snap.load()
    assert loaded is not None
    assert sorted(loaded["birth_name"].to_list()) == ["A 1", "B 2"]


def test_compaction_keeps_every_row_once(tmp_path: Path) -> None:
    snap = Snapshot(tmp_path / "snap")
    snap.source = "db-1"
    snap.replace(_frame(list(range(1, 11)), "A"), T0)
    for k in range(Snapshot.MAX_DELTAS + 1):
        snap.add(_frame([k + 1, 100 + k], f"D{k}"), T0)
    parts = snap.manifest()["parts"]
    assert len(parts) <= 1 + Snapshot.MAX_DELTAS
    assert parts[0].startswith("base-")  # the deltas were merged, not the base rewritten
    loaded = snap.load()
    assert loaded is not None
    n = Snapshot.MAX_DELTAS + 1
    expected = set(range(1, 11)) | {k + 1 for k in range(n)} | {100 + k for k in range(n)}
    assert loaded[ID].n_unique() == loaded.height == len(expected)
    assert set(loaded[ID].to_list()) == expected
    assert loaded.filter(pl.col(ID) == 1)["birth_name"].item() == "D0 1"
    # on demand: one base part with the same rows and watermark
    assert snap.compact() > 1
    assert len(snap.manifest()["parts"]) == 1 and snap.synced_at() == T0
    again = snap.load()
    assert again is not None and again.sort(ID).equals(loaded.sort(ID))
    assert snap.compact() == 1  # nothing left to merge
