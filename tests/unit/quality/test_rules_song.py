"""Sống rules SONG-001 … SONG-013 (quality-rules.md §5, §8) on hand-made records.

Every expected date is worked by hand in the comments (calendar days between local dates in
Asia/Ho_Chi_Minh, UTC+7; working days Monday to Friday minus the public holidays), never a
value printed by the code under test. The last tests score the rules against the
generator's labels.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import polars as pl
import pytest

from hoso.catalog.loader import get_catalog
from hoso.generate.dates import retirement_date as generator_retirement_date
from hoso.quality import engine, evaluate
from hoso.quality.rules import APPROVAL, FIRST_DECLARED, HR_EVENTS, META, REGISTRY, Context
from hoso.quality.snapshot import frame_from_documents

UTC = dt.UTC
ALL_INPUTS = {META, APPROVAL, HR_EVENTS, FIRST_DECLARED, REGISTRY}
EVENT_DTYPE = pl.Struct(
    {
        "event_type": pl.String,
        "decision_no": pl.String,
        "decision_date": pl.String,
        "completed_at": pl.Datetime("us", "UTC"),
        "synced_at": pl.Datetime("us", "UTC"),
        "origin": pl.String,
    }
)


def at(text: str) -> dt.datetime:
    """A UTC time from ``YYYY-MM-DDTHH:MM``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def day(text: str) -> dt.date:
    """A date from ISO text."""
    return dt.date.fromisoformat(text)


def meta(i: int, **extra: Any) -> dict[str, Any]:
    """Metadata of an approved, synced, fresh record (overridden by ``extra``)."""
    moment = at("2026-11-20T03:00")
    base: dict[str, Any] = {
        "_id": i,
        "_personal_id": f"0010850{i:05d}",
        "_hash": f"sha256:{i:064x}",
        "_status": "SYNCED",
        "_created_at": moment,
        "_updated_at": moment,
        "_approved_at": moment,
        "_approved_hash": f"sha256:{i:064x}",
        "_synced_at": moment,
    }
    base.update(extra)
    return base


def frame(
    records: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    **columns: Sequence[Any],
) -> pl.DataFrame:
    """A records frame; ``columns`` add optional metadata columns (one value per record)."""
    out = frame_from_documents(records)
    extra = []
    for name, values in columns.items():
        if name == "_hr_events":
            extra.append(pl.Series(name, values, dtype=pl.List(EVENT_DTYPE)))
        elif name == "_population_match_status":
            extra.append(pl.Series(name, values, dtype=pl.String))
        else:
            extra.append(pl.Series(name, values, dtype=pl.Datetime("us", "UTC")))
    return out.with_columns(extra) if extra else out


def run(
    rule_id: str,
    records: pl.DataFrame,
    as_of: str,
    *,
    inputs: Collection[str] = ALL_INPUTS,
    profile: str = "nd27",
    params: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Findings of one rule as dicts (``value``/``expected`` decoded from JSON)."""
    ctx = Context(
        frame=records,
        as_of=day(as_of),
        profile=profile,
        catalog=get_catalog(),
        params=params or {},
    )
    result = engine.check(ctx, inputs=inputs, only={rule_id})
    assert result.rules_run == [rule_id]
    out = []
    for row in result.findings.sort("_id", "field").iter_rows(named=True):
        row["value"] = None if row["value"] is None else json.loads(row["value"])
        row["expected"] = None if row["expected"] is None else json.loads(row["expected"])
        out.append(row)
    return out


def hits(rule_id: str, records: pl.DataFrame, as_of: str, **kw: Any) -> list[tuple[int, str]]:
    """``(_id, field)`` of the findings."""
    return [(f["_id"], f["field"]) for f in run(rule_id, records, as_of, **kw)]


def event(
    event_type: str = "NANG_LUONG",
    *,
    decision: str | None = None,
    completed: str | None = None,
    synced: str | None = None,
    origin: str | None = "own",
) -> dict[str, Any]:
    """One HR event."""
    return {
        "event_type": event_type,
        "decision_no": "12/QĐ-UBND",
        "decision_date": decision,
        "completed_at": None if completed is None else at(completed),
        "synced_at": None if synced is None else at(synced),
        "origin": origin,
    }


# --- SONG-001 freshness ------------------------------------------------------------------------


def test_song_001_fresh_until_the_end_of_the_window() -> None:
    # Updated 2025-11-23 10:00 local: fresh through 2026-11-23, stale from 2026-11-24.
    records = frame([(meta(1, _updated_at=at("2025-11-23T03:00")), {})])
    assert hits("SONG-001", records, "2026-11-23") == []
    found = run("SONG-001", records, "2026-11-24")
    assert [(f["_id"], f["field"]) for f in found] == [(1, "meta.updated_at")]
    assert found[0]["value"] == "2025-11-23T03:00:00+00:00"


def test_song_001_counts_local_dates() -> None:
    # 2025-11-22 18:00 UTC is 2025-11-23 01:00 in Hà Nội: the local date is the 23rd.
    records = frame([(meta(1, _updated_at=at("2025-11-22T18:00")), {})])
    assert hits("SONG-001", records, "2026-11-23") == []
    assert hits("SONG-001", records, "2026-11-24") == [(1, "meta.updated_at")]


def test_song_001_end_of_february_is_clamped() -> None:
    # 2024-02-29 + 12 months = 2025-02-28.
    records = frame([(meta(1, _updated_at=at("2024-02-29T03:00")), {})])
    assert hits("SONG-001", records, "2025-02-28") == []
    assert hits("SONG-001", records, "2025-03-01") == [(1, "meta.updated_at")]


def test_song_001_a_recent_verification_keeps_the_record_fresh() -> None:
    old = at("2024-01-10T03:00")
    records = frame(
        [(meta(1, _updated_at=old), {}), (meta(2, _updated_at=old), {})],
        _last_verified_at=[at("2026-06-01T03:00"), at("2025-01-10T03:00")],
    )
    # Record 2 was last seen 2025-01-10: stale after 2026-01-10.
    assert hits("SONG-001", records, "2026-11-23") == [(2, "meta.updated_at")]


def test_song_001_window_is_a_parameter() -> None:
    records = frame([(meta(1, _updated_at=at("2026-05-01T03:00")), {})])
    assert hits("SONG-001", records, "2026-11-23") == []
    assert hits("SONG-001", records, "2026-11-23", params={"SONG-001.freshness_months": "6"}) == [
        (1, "meta.updated_at")
    ]


def test_song_001_needs_metadata() -> None:
    records = frame([(meta(1, _updated_at=at("2020-01-01T03:00")), {})])
    ctx = Context(frame=records, as_of=day("2026-11-23"), profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs=set(), only={"SONG-001"})
    assert result.rules_run == []
    assert [ne.rule_id for ne in result.not_evaluated] == ["SONG-001"]


# --- SONG-002 own HR events synced within 1 day --------------------------------------------------


def test_song_002_one_calendar_day_between_local_dates() -> None:
    records = frame(
        [(meta(1), {}), (meta(2), {}), (meta(3), {})],
        _hr_events=[
            # 2026-11-20 17:00 local → synced 2026-11-21 17:00 local: 1 day, on time.
            [event(completed="2026-11-20T10:00", synced="2026-11-21T10:00")],
            # Completed 2026-11-20 local, synced 2026-11-22 08:00 local: 2 days, late.
            [
                event(completed="2026-11-10T10:00", synced="2026-11-10T11:00"),
                event(completed="2026-11-20T10:00", synced="2026-11-22T01:00"),
            ],
            # 23:30 local on the 20th → 00:30 local on the 22nd: 25 hours but 2 local days.
            [event(completed="2026-11-20T16:30", synced="2026-11-21T17:30")],
        ],
    )
    found = run("SONG-002", records, "2026-11-23")
    assert [(f["_id"], f["field"]) for f in found] == [
        (2, "meta.hr_events[1]"),
        (3, "meta.hr_events[0]"),
    ]
    assert found[0]["value"]["completed_at"].startswith("2026-11-20T10:00")
    assert found[0]["value"]["origin"] == "own"


def test_song_002_not_synced_yet_is_late_after_the_deadline() -> None:
    # Completed 2026-11-21 local, never synced: on time on the 22nd, late on the 23rd.
    records = frame([(meta(1), {})], _hr_events=[[event(completed="2026-11-21T03:00")]])
    assert hits("SONG-002", records, "2026-11-22") == []
    assert hits("SONG-002", records, "2026-11-23") == [(1, "meta.hr_events[0]")]


def test_song_002_a_sync_before_completion_does_not_count() -> None:
    records = frame(
        [(meta(1), {})],
        _hr_events=[[event(completed="2026-11-18T03:00", synced="2026-11-17T03:00")]],
    )
    assert hits("SONG-002", records, "2026-11-23") == [(1, "meta.hr_events[0]")]


def test_song_002_only_own_completed_events() -> None:
    records = frame(
        [(meta(1), {}), (meta(2), {})],
        _hr_events=[
            [event(completed="2026-11-01T03:00", origin="other_agency")],
            [
                event(completed=None, decision="2026-11-01"),
                event(origin=None, completed="2026-11-01T03:00"),
            ],
        ],
    )
    assert hits("SONG-002", records, "2026-11-23") == []


def test_song_002_not_evaluated_without_hr_events() -> None:
    records = frame([(meta(1), {})])
    ctx = Context(frame=records, as_of=day("2026-11-23"), profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={META, APPROVAL}, only={"SONG-002", "SONG-005"})
    assert result.rules_run == []
    assert sorted(ne.rule_id for ne in result.not_evaluated) == ["SONG-002", "SONG-005"]
    assert result.not_evaluated[0].reason_en == "no HR events recorded"


# --- SONG-003 first declaration within 3 working days --------------------------------------------


def test_song_003_three_working_days_after_creation() -> None:
    # Created Friday 2026-10-16: day 1 Mon 19, 2 Tue 20, 3 Wed 21, 4 Thu 22.
    created = at("2026-10-16T03:00")
    records = frame(
        [(meta(1, _created_at=created), {}), (meta(2, _created_at=created), {})],
        _first_declared_at=[at("2026-10-21T09:00"), at("2026-10-22T02:00")],
    )
    found = run("SONG-003", records, "2026-11-23")
    assert [(f["_id"], f["field"]) for f in found] == [(2, "meta.first_declared_at")]
    assert found[0]["value"] == "2026-10-22T02:00:00+00:00"


def test_song_003_public_holidays_are_not_working_days() -> None:
    # Created Wed 2026-04-29; 30/4 and 1/5 are holidays, then the weekend:
    # day 1 Mon 4/5, 2 Tue 5/5, 3 Wed 6/5, 4 Thu 7/5.
    created = at("2026-04-29T03:00")
    records = frame(
        [(meta(1, _created_at=created), {}), (meta(2, _created_at=created), {})],
        _first_declared_at=[at("2026-05-06T03:00"), at("2026-05-07T03:00")],
    )
    assert hits("SONG-003", records, "2026-11-23") == [(2, "meta.first_declared_at")]


def test_song_003_tet_holidays() -> None:
    # Created Fri 2026-02-13; Tết: 16-20/2 off. Day 1 Mon 23/2, 2 Tue 24, 3 Wed 25.
    records = frame(
        [(meta(1, _created_at=at("2026-02-13T03:00")), {})],
        _first_declared_at=[at("2026-02-25T03:00")],
    )
    assert hits("SONG-003", records, "2026-11-23") == []


def test_song_003_not_declared_yet() -> None:
    # Created Fri 2026-10-16, not declared: on time through Wed 21, late from Thu 22
    # (and still on time on Sat 17 or Sun 18, whatever the calendar days).
    records = frame([(meta(1, _created_at=at("2026-10-16T03:00")), {})], _first_declared_at=[None])
    assert hits("SONG-003", records, "2026-10-21") == []
    found = run("SONG-003", records, "2026-10-22")
    assert [(f["_id"], f["field"], f["value"]) for f in found] == [
        (1, "meta.first_declared_at", None)
    ]


def test_song_003_counts_from_the_local_creation_date() -> None:
    # 2026-10-15 17:30 UTC is Friday 2026-10-16 00:30 local.
    records = frame(
        [(meta(1, _created_at=at("2026-10-15T17:30")), {})],
        _first_declared_at=[at("2026-10-21T03:00")],
    )
    assert hits("SONG-003", records, "2026-11-23") == []


# --- SONG-004 e-dossier created within 3 days of the decision ------------------------------------


def test_song_004_three_days_after_the_decision() -> None:
    records = frame(
        [
            (meta(1, _created_at=at("2026-11-13T03:00")), {}),
            (meta(2, _created_at=at("2026-11-14T03:00")), {}),
            # 2026-11-13 17:30 UTC is 2026-11-14 00:30 local: 4 days.
            (meta(3, _created_at=at("2026-11-13T17:30")), {}),
        ],
        _hr_events=[[event("TUYEN_DUNG", decision="2026-11-10")]] * 3,
    )
    found = run("SONG-004", records, "2026-11-23")
    assert [(f["_id"], f["field"]) for f in found] == [
        (2, "meta.created_at"),
        (3, "meta.created_at"),
    ]
    assert found[0]["value"] == "2026-11-14T03:00:00+00:00"


def test_song_004_the_latest_creating_decision_before_the_dossier_counts() -> None:
    created = at("2026-11-13T03:00")
    records = frame(
        [(meta(1, _created_at=created), {}), (meta(2, _created_at=created), {})],
        _hr_events=[
            # Recruited long ago elsewhere, received here two days before the dossier.
            [event("TUYEN_DUNG", decision="2015-03-01"), event("TIEP_NHAN", decision="2026-11-11")],
            # A salary step and a later appointment do not call for a dossier.
            [
                event("TUYEN_DUNG", decision="2026-11-13"),
                event("NANG_LUONG", decision="2026-11-01"),
                event("BO_NHIEM", decision="2026-11-20"),
            ],
        ],
    )
    assert hits("SONG-004", records, "2026-11-23") == []


def test_song_004_does_not_depend_on_the_as_of_date() -> None:
    records = frame(
        [(meta(1, _created_at=at("2026-01-20T03:00")), {})],
        _hr_events=[[event("BO_NHIEM", decision="2026-01-05")]],
    )
    assert hits("SONG-004", records, "2026-02-01") == [(1, "meta.created_at")]
    assert hits("SONG-004", records, "2030-02-01") == [(1, "meta.created_at")]


# --- SONG-005 other agencies' data within 3 working days -----------------------------------------


def test_song_005_other_agency_within_three_working_days() -> None:
    other = "other_agency"
    records = frame(
        [(meta(1), {}), (meta(2), {}), (meta(3), {}), (meta(4), {})],
        _hr_events=[
            # Completed Fri 2026-10-16: Mon 19, Tue 20, Wed 21 → on time.
            [event(completed="2026-10-16T03:00", synced="2026-10-21T03:00", origin=other)],
            # Thu 22 = working day 4 → late.
            [event(completed="2026-10-16T03:00", synced="2026-10-22T03:00", origin=other)],
            # Own events are SONG-002's.
            [event(completed="2026-10-16T03:00", synced="2026-10-22T03:00", origin="own")],
            # Not synced: late on the as-of date.
            [event(completed="2026-10-16T03:00", origin=other)],
        ],
    )
    assert hits("SONG-005", records, "2026-11-23") == [
        (2, "meta.hr_events[0]"),
        (4, "meta.hr_events[0]"),
    ]
    assert hits("SONG-005", records, "2026-10-21") == []


def test_song_005_deadline_is_a_parameter() -> None:
    records = frame(
        [(meta(1), {})],
        _hr_events=[
            [event(completed="2026-10-16T03:00", synced="2026-10-20T03:00", origin="other_agency")]
        ],
    )
    assert hits("SONG-005", records, "2026-11-23") == []
    assert hits(
        "SONG-005", records, "2026-11-23", params={"SONG-005.deadline_working_days": "1"}
    ) == [(1, "meta.hr_events[0]")]


# --- SONG-006 evaluation of a viên chức within 5 days --------------------------------------------


def test_song_006_five_days_for_a_public_employee() -> None:
    vc = {"employee_type_code": "VC"}
    records = frame(
        [(meta(1), vc), (meta(2), vc), (meta(3), {"employee_type_code": "CC"}), (meta(4), vc)],
        _hr_events=[
            [event("DANH_GIA", decision="2026-11-10", synced="2026-11-15T03:00")],
            [event("DANH_GIA", decision="2026-11-10", synced="2026-11-16T03:00")],
            [event("DANH_GIA", decision="2026-11-10", synced="2026-11-20T03:00")],
            [event("KHEN_THUONG", decision="2026-11-10", synced="2026-11-20T03:00")],
        ],
    )
    assert hits("SONG-006", records, "2026-11-23") == [(2, "meta.hr_events[0]")]


def test_song_006_not_synced_and_without_a_decision_date() -> None:
    vc = {"employee_type_code": "VC"}
    records = frame(
        [(meta(1), vc), (meta(2), vc), (meta(3), {})],
        _hr_events=[
            [event("DANH_GIA", decision="2026-11-17")],
            # No decision date: counted from the completion (2026-11-10 local).
            [event("DANH_GIA", completed="2026-11-10T03:00", synced="2026-11-16T03:00")],
            # Employee type empty: skipped.
            [event("DANH_GIA", decision="2026-01-01")],
        ],
    )
    assert hits("SONG-006", records, "2026-11-22") == [(2, "meta.hr_events[0]")]
    assert hits("SONG-006", records, "2026-11-23") == [
        (1, "meta.hr_events[0]"),
        (2, "meta.hr_events[0]"),
    ]


# --- SONG-007 salary step increase overdue -------------------------------------------------------


def salary(effective: str, step: int = 3, rank: str = "01.003") -> dict[str, Any]:
    """Current salary data (01.003 Chuyên viên: group A1, 9 steps, 36 months)."""
    return {"rank_code": rank, "salary_step": step, "salary_effective_date": effective}


def test_song_007_interval_plus_grace() -> None:
    # A1: 36 + 3 months: 2023-08-23 → due by 2026-11-23.
    records = frame([(meta(1), salary("2023-08-23"))])
    assert hits("SONG-007", records, "2026-11-23") == []
    found = run("SONG-007", records, "2026-11-24")
    assert [(f["_id"], f["field"], f["value"]) for f in found] == [
        (1, "salary_effective_date", "2023-08-23")
    ]


def test_song_007_interval_of_the_group() -> None:
    # 01.005 Nhân viên is group B: 24 + 3 months, 2024-08-23 → due by 2026-11-23.
    b_rank = "01.005"
    records = frame([(meta(1), salary("2024-08-23", rank=b_rank))])
    assert hits("SONG-007", records, "2026-11-23") == []
    assert hits("SONG-007", records, "2026-11-24") == [(1, "salary_effective_date")]


def test_song_007_last_step_unknown_rank_and_empty_values_skip() -> None:
    old = "2015-01-01"
    records = frame(
        [
            (meta(1), salary(old, step=9)),  # last step of A1
            (meta(2), salary(old, step=12)),  # above the last step: DUNG-019's
            (meta(3), salary(old, rank="99.999")),  # unknown rank: DUNG-010's
            (meta(4), {"rank_code": "01.003", "salary_effective_date": old}),
            (meta(5), {"rank_code": "01.003", "salary_step": 3}),
            (meta(6), salary(old, step=8)),
        ]
    )
    assert hits("SONG-007", records, "2026-11-23") == [(6, "salary_effective_date")]


def test_song_007_partial_dates_at_the_coarser_precision() -> None:
    # "2023-08" + 39 months is the month 2026-11: overdue from 2026-12-01.
    # "2023" may mean December 2023: + 39 months = 2027-03, overdue from 2027-04-01.
    records = frame([(meta(1), salary("2023-08")), (meta(2), salary("2023"))])
    assert hits("SONG-007", records, "2026-11-30") == []
    assert hits("SONG-007", records, "2026-12-01") == [(1, "salary_effective_date")]
    assert hits("SONG-007", records, "2027-03-31") == [(1, "salary_effective_date")]
    assert hits("SONG-007", records, "2027-04-01") == [
        (1, "salary_effective_date"),
        (2, "salary_effective_date"),
    ]


def test_song_007_grace_is_a_parameter_and_the_rule_is_not_in_core() -> None:
    records = frame([(meta(1), salary("2023-09-01"))])
    assert hits("SONG-007", records, "2026-11-23") == []
    assert hits("SONG-007", records, "2026-11-23", params={"SONG-007.grace_months": "0"}) == [
        (1, "salary_effective_date")
    ]
    ctx = Context(frame=records, as_of=day("2030-01-01"), profile="core", catalog=get_catalog())
    assert engine.check(ctx, inputs=ALL_INPUTS, only={"SONG-007"}).rules_run == []


# --- SONG-008 appointment older than the term ----------------------------------------------------


def post(
    appointed: str | None, reappointed: str | None = None, position: str | None = "TRUONG_PHONG_SO"
) -> dict[str, Any]:
    """A leadership post."""
    data: dict[str, Any] = {"current_position_code": position}
    if appointed is not None:
        data["position_appointment_date"] = appointed
    if reappointed is not None:
        data["position_reappointment_date"] = reappointed
    return data


def test_song_008_term_of_five_years() -> None:
    records = frame(
        [
            (meta(1), post("2021-11-23")),
            (meta(2), post("2016-01-10", "2021-01-10")),  # reappointed
            (meta(3), post("2015-01-10", position=None)),  # no current post
            (meta(4), post(None)),
        ]
    )
    assert hits("SONG-008", records, "2026-11-23") == []
    found = run("SONG-008", records, "2026-11-24")
    assert [(f["_id"], f["field"], f["value"]) for f in found] == [
        (1, "position_appointment_date", "2021-11-23")
    ]


def test_song_008_partial_appointment_date() -> None:
    records = frame([(meta(1), post("2021-11"))])
    assert hits("SONG-008", records, "2026-11-30") == []
    assert hits("SONG-008", records, "2026-12-01") == [(1, "position_appointment_date")]


# --- SONG-009 population-registry match ----------------------------------------------------------


def test_song_009_never_matched_or_matched_too_long_ago() -> None:
    records = frame(
        [(meta(i), {}) for i in range(1, 5)],
        _population_match_status=[None, "NOT_CHECKED", "MATCHED", "MISMATCH"],
        _population_matched_at=[
            None,
            at("2026-01-01T03:00"),
            at("2025-11-23T03:00"),
            at("2026-10-01T03:00"),
        ],
    )
    found = run("SONG-009", records, "2026-11-23")
    assert [(f["_id"], f["field"], f["value"]) for f in found] == [
        (1, "meta.population_matched_at", None),
        (2, "meta.population_matched_at", "2026-01-01T03:00:00+00:00"),
    ]
    assert hits("SONG-009", records, "2026-11-24") == [
        (1, "meta.population_matched_at"),
        (2, "meta.population_matched_at"),
        (3, "meta.population_matched_at"),
    ]


def test_song_009_needs_the_registry() -> None:
    records = frame([(meta(1), {})], _population_match_status=[None], _population_matched_at=[None])
    ctx = Context(frame=records, as_of=day("2026-11-23"), profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={META, APPROVAL}, only={"SONG-009"})
    assert [ne.rule_id for ne in result.not_evaluated] == ["SONG-009"]


# --- SONG-010 retirement -------------------------------------------------------------------------


def person(
    dob: str | None, sex: str | None = "M", status: str | None = "DANG_CONG_TAC"
) -> dict[str, Any]:
    """Identity and employment status."""
    data: dict[str, Any] = {}
    if dob is not None:
        data["date_of_birth"] = dob
    if sex is not None:
        data["sex"] = sex
    if status is not None:
        data["employment_status_code"] = status
    return data


def test_song_010_worked_example() -> None:
    # §5: a man born 1961-10-15 reaches 60y6m on 2022-04-15 and retires after 2022-04-30.
    records = frame([(meta(1), person("1961-10-15"))])
    assert hits("SONG-010", records, "2022-04-30") == []
    found = run("SONG-010", records, "2022-05-01")
    assert [(f["_id"], f["field"], f["value"], f["expected"]) for f in found] == [
        (1, "date_of_birth", "1961-10-15", "2022-04-30")
    ]


@pytest.mark.parametrize(
    ("dob", "sex", "retires"),
    [
        # Woman 1966-05: 55y4m in 2021 → 2021-09, within 2021.
        ("1966-05-10", "F", "2021-09-30"),
        # Woman 1970-01: 2025 (56y8m) → 2026-09 no; 2026 (57y) → 2027-01 no;
        # 2027 (57y4m) → 2027-05 yes.
        ("1970-01-01", "F", "2027-05-31"),
        # Man 1963-12: 2021 → 2024-03, 2022 → 2024-06, 2023 → 2024-09 no; 2024 (61y) → 2024-12.
        ("1963-12-31", "M", "2024-12-31"),
        # Man 1960-05: reached 60 in 2020-05, before the roadmap.
        ("1960-05-10", "M", "2020-05-31"),
        # Man 1970-03: 62 (from 2028) → 2032-03.
        ("1970-03-15", "M", "2032-03-31"),
    ],
)
def test_song_010_roadmap(dob: str, sex: str, retires: str) -> None:
    last = day(retires)
    records = frame([(meta(1), person(dob, sex))])
    assert hits("SONG-010", records, last.isoformat()) == []
    found = run("SONG-010", records, (last + dt.timedelta(days=1)).isoformat())
    assert [(f["field"], f["expected"]) for f in found] == [("date_of_birth", retires)]


def test_song_010_only_active_people() -> None:
    dob = "1955-01-01"
    records = frame(
        [
            (meta(1), person(dob, status="NGHI_HUU")),
            (meta(2), person(dob, status=None)),  # empty counts as active
            (meta(3), person(dob, status="BIET_PHAI")),
            (meta(4), person(dob, status="XYZ")),  # unknown code: DUNG-009's
            (meta(5), person(dob, sex=None)),
            (meta(6), person(None)),
        ]
    )
    assert hits("SONG-010", records, "2026-11-23") == [(2, "date_of_birth"), (3, "date_of_birth")]


def test_song_010_year_only_birth_date_is_read_as_december() -> None:
    # "1961" may be 1961-12: 2021 → 2022-03 no; 2022 (60y6m) → 2022-06 → 2022-06-30.
    records = frame([(meta(1), person("1961"))])
    assert hits("SONG-010", records, "2022-06-30") == []
    found = run("SONG-010", records, "2022-07-01")
    assert [(f["value"], f["expected"]) for f in found] == [("1961", "2022-06-30")]


def test_song_010_runs_in_p109_reading_the_nd27_status() -> None:
    records = frame(
        [(meta(1), person("1955-01-01", status="NGHI_HUU")), (meta(2), person("1955-01-01"))]
    )
    assert hits("SONG-010", records, "2026-11-23", profile="p109") == [(2, "date_of_birth")]


def test_song_010_agrees_with_the_generator_reading() -> None:
    # Two independent implementations of §5: the rule (through the engine) and the generator.
    births = [dt.date(1955, 1, 1) + dt.timedelta(days=37 * k) for k in range(300)]
    records = frame(
        [(meta(i + 1), person(b.isoformat(), "MF"[i % 2])) for i, b in enumerate(births)]
    )
    found = {f["_id"]: f["expected"] for f in run("SONG-010", records, "2100-01-01")}
    assert len(found) == len(births)
    for i, b in enumerate(births):
        assert found[i + 1] == generator_retirement_date(b, "MF"[i % 2]).isoformat(), b


# --- SONG-011 … SONG-013 approval and sync -------------------------------------------------------


def test_song_011_never_approved() -> None:
    records = frame(
        [
            (meta(1), {}),
            (meta(2, _approved_at=None, _approved_hash=None, _synced_at=None, _status="DRAFT"), {}),
        ]
    )
    found = run("SONG-011", records, "2026-11-23")
    assert [(f["_id"], f["field"], f["value"]) for f in found] == [(2, "meta.approval", None)]


def test_song_012_changed_after_approval_for_three_working_days() -> None:
    # Changed Fri 2026-10-16 local; day 1 Mon 19, 2 Tue 20, 3 Wed 21, 4 Thu 22.
    changed = at("2026-10-16T03:00")
    records = frame(
        [
            (meta(1, _updated_at=changed, _hash="sha256:new"), {}),
            (meta(2, _updated_at=changed), {}),  # unchanged since approval
            (
                meta(
                    3,
                    _updated_at=changed,
                    _hash="sha256:new",
                    _approved_at=None,
                    _approved_hash=None,
                ),
                {},
            ),
        ]
    )
    assert hits("SONG-012", records, "2026-10-21") == []
    found = run("SONG-012", records, "2026-10-22")
    assert [(f["_id"], f["field"], f["value"], f["expected"]) for f in found] == [
        (1, "meta.content_hash", "sha256:new", f"sha256:{1:064x}")
    ]


def test_song_012_holidays_extend_the_grace() -> None:
    # Changed Wed 2026-04-29: 30/4, 1/5 off, weekend; day 3 is Wed 6/5.
    records = frame([(meta(1, _updated_at=at("2026-04-29T03:00"), _hash="sha256:new"), {})])
    assert hits("SONG-012", records, "2026-05-06") == []
    assert hits("SONG-012", records, "2026-05-07") == [(1, "meta.content_hash")]


def test_song_013_synced_within_one_day_of_approval() -> None:
    approved = at("2026-11-20T03:00")
    records = frame(
        [
            (meta(1, _approved_at=approved, _synced_at=at("2026-11-21T10:00")), {}),
            (meta(2, _approved_at=approved, _synced_at=at("2026-11-22T03:00")), {}),
            (meta(3, _approved_at=approved, _synced_at=None, _status="QUEUED"), {}),
            # The last sync was of an earlier version.
            (meta(4, _approved_at=approved, _synced_at=at("2026-10-01T03:00")), {}),
            # 23:59 local on the 20th → 00:01 local on the 22nd: two local days.
            (meta(5, _approved_at=at("2026-11-20T16:59"), _synced_at=at("2026-11-21T17:01")), {}),
            (meta(6, _approved_at=None, _approved_hash=None, _synced_at=None), {}),
        ]
    )
    # On the 21st nobody is late yet (a sync after the as-of date has not happened then).
    assert hits("SONG-013", records, "2026-11-21") == []
    found = run("SONG-013", records, "2026-11-30")
    assert [(f["_id"], f["value"]) for f in found] == [
        (2, "2026-11-22T03:00:00+00:00"),
        (3, None),
        (4, "2026-10-01T03:00:00+00:00"),
        (5, "2026-11-21T17:01:00+00:00"),
    ]


# --- against the generator's labels --------------------------------------------------------------

SONG_RULES = {f"SONG-{i:03d}" for i in range(1, 14)}


@pytest.fixture(scope="module")
def generated() -> evaluate.Generated:
    """1,500 generated people, a tenth of them with a defect."""
    return evaluate.generated(1500, seed=3, defect_rate=0.1)


@pytest.mark.parametrize("profile", ["nd27", "p109"])
def test_labels_precision_and_recall(generated: evaluate.Generated, profile: str) -> None:
    ctx = Context(
        frame=generated.frame, as_of=generated.as_of, profile=profile, catalog=get_catalog()
    )
    result = engine.check(ctx, inputs={META, APPROVAL, "dataset"}, only=SONG_RULES)
    cmp = evaluate.compare(
        result.findings, generated.frame, generated.labels, rules=result.rules_run
    )
    labelled = {lab["rule_id"] for lab in generated.labels} & SONG_RULES
    assert {"SONG-007", "SONG-010", "SONG-011"} <= labelled
    assert labelled <= set(result.rules_run)
    for rule_id in result.rules_run:
        counts = cmp.by_rule.get(rule_id, evaluate.Counts())
        assert counts.precision >= 0.98, (rule_id, cmp.false_positives.get(rule_id))
        assert counts.recall >= 0.98, (rule_id, cmp.false_negatives.get(rule_id))


def test_clean_generated_data_gives_no_findings() -> None:
    clean = evaluate.generated(600, seed=5, defect_rate=0.0)
    ctx = Context(frame=clean.frame, as_of=clean.as_of, profile="nd27", catalog=get_catalog())
    result = engine.check(ctx, inputs={META, APPROVAL, "dataset"}, only=SONG_RULES)
    assert result.findings.height == 0


def test_hr_event_rules_share_one_context() -> None:
    # One run of the four event rules over the same records: each reports only its own.
    records = frame(
        [(meta(1, _created_at=at("2026-10-30T03:00")), {"employee_type_code": "VC"})],
        _hr_events=[
            [
                # Own evaluation, decided 2026-10-20, synced 2026-10-30: SONG-002 (completed
                # 2026-10-21, 9 days) and SONG-006 (10 days).
                event(
                    "DANH_GIA",
                    decision="2026-10-20",
                    completed="2026-10-21T03:00",
                    synced="2026-10-30T03:00",
                ),
                # Recruitment decided 2026-10-26: the dossier of 2026-10-30 is 4 days late.
                event("TUYEN_DUNG", decision="2026-10-26", origin="other_agency"),
            ]
        ],
    )
    ctx = Context(frame=records, as_of=day("2026-11-23"), profile="nd27", catalog=get_catalog())
    rules = {"SONG-002", "SONG-004", "SONG-005", "SONG-006"}
    result = engine.check(ctx, inputs=ALL_INPUTS, only=rules)
    assert sorted(result.rules_run) == sorted(rules)
    got = sorted(result.findings.select("rule_id", "field").iter_rows())
    assert got == [
        ("SONG-002", "meta.hr_events[0]"),
        ("SONG-004", "meta.created_at"),
        ("SONG-006", "meta.hr_events[0]"),
    ]
