"""Fast paths of the quality rules give the same answers as the plain computations.

- ``rules._json_text``: text quoted in one vectorised pass equals ``engine.json_column``
  (orjson) for every value, escapes included;
- ``rules_song._maybe_retired``: the SONG-010 pre-filter never drops a record the full
  computation reports (dates of birth around the cut-off, odd forms);
- ``rules_du.empty_cells``: the per-table candidate pass finds each empty cell of each
  column (a row with several empty cells, blank text, null numbers).
"""

from __future__ import annotations

import datetime as dt

import orjson
import polars as pl

from hoso.catalog.loader import get_catalog
from hoso.quality import rules_song
from hoso.quality.calendar import SEX_FEMALE, SEX_MALE, retirement_date
from hoso.quality.engine import json_column
from hoso.quality.rules import _json_text
from hoso.quality.rules_du import empty_cells


def test_json_text_matches_orjson_for_every_value() -> None:
    values = [
        "abc",
        "",
        'say "hi"',
        "back\\slash",
        "tab\there",
        "line\nbreak",
        "\x00nul",
        "\x1f",
        "\x7f",
        "\u2028sep",
        "NGUYỄN VĂN A",
        "😀",
        None,
        " lead",
    ]
    series = pl.Series("value", values, dtype=pl.String)
    out = _json_text(series, json_column)
    expected = [None if v is None else orjson.dumps(v).decode() for v in values]
    assert out.to_list() == expected
    assert out.name == "value"


def test_json_text_other_types_use_the_encoder() -> None:
    series = pl.Series("value", [1, None, 3], dtype=pl.Int64)
    assert _json_text(series, json_column).to_list() == ["1", None, "3"]
    empty = pl.Series("value", [], dtype=pl.String)
    assert _json_text(empty, json_column).to_list() == []


def _retired(dob: str, sex: str, as_of: dt.date) -> bool:
    """The rule's reading, by hand: a full date, a month (day 1) or a year (December)."""
    month = 12 if len(dob) == 4 else int(dob[5:7])
    day = dt.date(int(dob[:4]), month, 1)
    return as_of > retirement_date(day, sex)


def test_retirement_prefilter_keeps_everyone_reported() -> None:
    as_of = dt.date(2026, 11, 23)
    dobs = [
        f"{year}{suffix}"
        for year in range(1955, 1985)
        for suffix in ("", "-01", "-06", "-12", "-01-01", "-12-31")
    ]
    odd = [" 1960-01-01", "+1960", "-960", "196", "abcd", "", "19601-01"]
    frame = pl.DataFrame({"date_of_birth": [*dobs, *odd]})
    kept = frame.filter(rules_song._maybe_retired(as_of))["date_of_birth"].to_list()
    reported = {d for d in dobs for sex in (SEX_MALE, SEX_FEMALE) if _retired(d, sex, as_of)}
    assert reported, "the dates chosen must include retired people"
    assert reported <= set(kept)
    # Odd forms are never dropped (the full computation decides on them).
    assert set(odd) - {"19601-01"} <= set(kept)
    # The pre-filter does drop the young.
    assert "1984-06" not in kept


def test_empty_cells_reports_each_empty_column_of_a_row() -> None:
    catalog = get_catalog()
    table = catalog.by_code["work_history"]
    columns = [c for c in table.columns if c.code in ("from", "unit", "title")]
    rows = pl.List(pl.Struct({"from": pl.String, "unit": pl.String, "title": pl.String}))
    frame = pl.DataFrame(
        {
            "_id": [1, 2, 3, 4],
            "work_history": [
                [{"from": "2001-01", "unit": "A", "title": "B"}],
                [
                    {"from": "2001-01", "unit": " ", "title": None},
                    {"from": None, "unit": "A", "title": "B"},
                ],
                None,
                [{"from": "2003-01", "unit": "Ư", "title": "\u3000"}],
            ],
        },
        schema={"_id": pl.Int64, "work_history": rows},
    )
    out = empty_cells(frame, {"work_history": columns})
    got = sorted(out.select("_id", "_i", "column", "value").iter_rows())
    assert got == sorted(
        [
            (2, 0, "unit", " "),
            (2, 0, "title", None),
            (2, 1, "from", None),
            (4, 0, "title", "\u3000"),
        ]
    )
