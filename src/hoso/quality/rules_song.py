"""Sống (live) rules SONG-001 … SONG-013: freshness, legal deadlines, retirement, approval.

Every rule is a whole-column Polars computation (quality-rules.md §5):

- **Local dates.** Metadata times are UTC; deadlines count days between *local* dates
  (Asia/Ho_Chi_Minh), so a change at 18:00 UTC belongs to the next local day.
- **Calendar days** (SONG-002/004/006/013): the deadline is met when
  ``date(done) − date(event) ≤ N``; an event not done yet is late once ``T − date(event) > N``.
- **Working days** (SONG-003/005/012): the same with working days of the
  :class:`~hoso.quality.calendar.WorkingCalendar` (Monday to Friday minus Vietnamese public
  holidays, make-up days included); day 1 is the first working day after the event.
- **Partial dates** (SONG-007/008/010 read catalogue dates, which may be a legacy
  ``YYYY-MM`` or ``YYYY``): compared at the coarser precision, i.e. a partial value stands
  for its *last* day, so a rule only fires when it fires for every day the value may mean.
- **HR events** (SONG-002/004/005/006) come from the ``_hr_events`` metadata column
  (``List(Struct(event_type, decision_no, decision_date, completed_at, synced_at, origin))``);
  hoso does not record them yet, so the engine reports these rules as not evaluated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import polars as pl

from hoso.quality.calendar import (
    LOCAL_TZ_NAME,
    SEX_FEMALE,
    SEX_MALE,
    WorkingCalendar,
    default_calendar,
    retirement_age_months,
    retirement_table,
)
from hoso.quality.rules import (
    APPROVAL,
    FIRST_DECLARED,
    HR_EVENTS,
    ID,
    META,
    REGISTRY,
    Context,
    concat,
    empty_findings,
    findings,
    rule,
)

HR_EVENTS_COLUMN = "_hr_events"
"""Metadata column of the HR events (optional; :data:`~hoso.quality.rules.HR_EVENTS`)."""
FIRST_DECLARED_COLUMN = "_first_declared_at"
"""Metadata column of the first full declaration (optional)."""
LAST_VERIFIED_COLUMN = "_last_verified_at"
"""Metadata column of the last verification of the whole record (optional)."""
MATCH_STATUS_COLUMN = "_population_match_status"
"""Metadata column of the last population-registry match result (optional)."""
MATCHED_AT_COLUMN = "_population_matched_at"
"""Metadata column of the time of the last population-registry match (optional)."""

PUBLIC_EMPLOYEE = "VC"
"""``employee_type`` code of a viên chức (public employee), whom SONG-006 concerns."""
NOT_MATCHED = "NOT_CHECKED"
"""``population_match_status`` code meaning "never matched" (SONG-009)."""

_LIB_FIRST_YEAR = 1901
_LIB_LAST_YEAR = 2100
"""Years the ``holidays`` library covers; outside them only weekends count."""


# --- local helpers: dates ---------------------------------------------------------------------


def _local_day(expr: pl.Expr, dtype: Any) -> pl.Expr:
    """The local (Asia/Ho_Chi_Minh) date of a metadata time of any stored form.

    Timezone-aware datetimes are converted, naive ones are taken as UTC (the storage
    convention), ``Date`` is kept, and text is read as an ISO datetime with an offset (UTC
    if none) or as an ISO date.
    """
    if isinstance(dtype, pl.Datetime):
        aware = expr if dtype.time_zone else expr.dt.replace_time_zone("UTC")
        return aware.dt.convert_time_zone(LOCAL_TZ_NAME).dt.date()
    if dtype == pl.Date:
        return expr
    if dtype == pl.String:
        moment = expr.str.to_datetime(time_zone="UTC", strict=False)
        return pl.coalesce(
            moment.dt.convert_time_zone(LOCAL_TZ_NAME).dt.date(),
            expr.str.to_date("%Y-%m-%d", strict=False),
        )
    if dtype == pl.Null:
        return pl.lit(None, dtype=pl.Date)
    raise TypeError(f"cannot read a date from a column of type {dtype}")


def _instant(expr: pl.Expr, dtype: Any) -> pl.Expr:
    """A metadata time as a UTC ``Datetime`` (for ordering two times of one record)."""
    if isinstance(dtype, pl.Datetime):
        return (
            expr.dt.convert_time_zone("UTC")
            if dtype.time_zone
            else expr.dt.replace_time_zone("UTC")
        )
    if dtype == pl.Date:
        return (
            expr.cast(pl.Datetime("us"))
            .dt.replace_time_zone(LOCAL_TZ_NAME)
            .dt.convert_time_zone("UTC")
        )
    if dtype == pl.String:
        return expr.str.to_datetime(time_zone="UTC", strict=False)
    if dtype == pl.Null:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    raise TypeError(f"cannot read a time from a column of type {dtype}")


def _narrow(ctx: Context, *columns: str) -> pl.DataFrame:
    """``_id`` and those of ``columns`` the frame has (filtering the whole frame would copy
    every table column of the rows kept)."""
    return ctx.frame.select(ID, *[c for c in columns if ctx.has(c)])


def _meta_day(ctx: Context, column: str) -> pl.Expr:
    """Local date of metadata ``column`` (null when the frame lacks it)."""
    if not ctx.has(column):
        return pl.lit(None, dtype=pl.Date)
    return _local_day(pl.col(column), ctx.frame.schema[column])


def _meta_instant(ctx: Context, column: str) -> pl.Expr:
    """UTC time of metadata ``column`` (null when the frame lacks it)."""
    if not ctx.has(column):
        return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    return _instant(pl.col(column), ctx.frame.schema[column])


def _latest_month(text: pl.Expr) -> pl.Expr:
    """First day of the last month an ISO partial date may mean (``YYYY`` → December)."""
    n = text.str.len_chars()
    return (
        pl.when(n == 10)
        .then(text.str.slice(0, 7))
        .when(n == 7)
        .then(text)
        .when(n == 4)
        .then(text + "-12")
        .otherwise(None)
        + "-01"
    ).str.to_date("%Y-%m-%d", strict=False)


def _months_after(text: pl.Expr, months: pl.Expr | int) -> pl.Expr:
    """The last day ``text`` + ``months`` calendar months may mean (coarser precision).

    A full date moves by whole months with the day clamped to the month's end
    (``2024-01-31`` + 1 → ``2024-02-29``); a ``YYYY-MM`` (or ``YYYY``, as December) moves
    to the end of the month ``months`` later, so ``as_of`` is after it exactly when the
    as-of month is after that month.
    """
    offset = pl.format("{}mo", months if isinstance(months, pl.Expr) else pl.lit(months))
    full = text.str.to_date("%Y-%m-%d", strict=False).dt.offset_by(offset)
    partial = _latest_month(text).dt.offset_by(offset).dt.month_end()
    return pl.when(text.str.len_chars() == 10).then(full).otherwise(partial)


def _as_text(column: str) -> pl.Expr:
    """A catalogue date column as text with surrounding blanks removed (empty → null)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _int_param(ctx: Context, rule_id: str, key: str) -> int:
    """An integer parameter of ``rule_id``."""
    return int(ctx.param(rule_id, key))


# --- local helpers: working days and calendar days ----------------------------------------------


def _calendar(ctx: Context) -> WorkingCalendar:
    """The deployment's working calendar when the context carries one, else the library's."""
    configured = getattr(ctx, "calendar", None)
    return configured if isinstance(configured, WorkingCalendar) else default_calendar()


def _until(as_of: dt.date) -> pl.Expr:
    """When the clock stops: ``_done``, or the as-of date when not done by then (a
    completion after the as-of date had not happened yet on that date)."""
    return pl.min_horizontal(pl.coalesce(pl.col("_done"), pl.lit(as_of)), pl.lit(as_of))


def _late_days(frame: pl.DataFrame, n: int, as_of: dt.date) -> pl.Series:
    """``_event`` / ``_done`` (local ``Date``; ``_done`` null = not done): more than ``n``
    calendar days passed (quality-rules.md §5)."""
    until = _until(as_of)
    return frame.select(
        ((until - pl.col("_event")).dt.total_days() > n).fill_null(False)
    ).to_series()


def _late_working_days(
    frame: pl.DataFrame, n: int, as_of: dt.date, calendar: WorkingCalendar
) -> pl.DataFrame:
    """Rows of ``frame`` (``_event``, ``_done`` local dates) late by more than ``n`` working
    days. Rows with ``n`` or fewer calendar days are on time without counting."""
    until = _until(as_of)
    candidates = frame.with_columns(_until=until).filter(
        pl.col("_event").is_not_null() & ((pl.col("_until") - pl.col("_event")).dt.total_days() > n)
    )
    if candidates.height == 0:
        return candidates
    years = candidates.select(
        pl.col("_event").dt.year().min().alias("lo"), pl.col("_until").dt.year().max().alias("hi")
    ).row(0)
    lo = min(max(int(years[0]), _LIB_FIRST_YEAR), _LIB_LAST_YEAR)
    hi = max(min(int(years[1]), _LIB_LAST_YEAR), lo)
    count = calendar.working_days_between_expr(
        pl.col("_event"), pl.col("_until"), start_year=lo, end_year=hi
    )
    return candidates.filter(count > n)


# --- local helpers: HR events -----------------------------------------------------------------


_EVENTS_CACHE_KEY = "_hr_events"
"""Key of the exploded events in the context's per-run cache (no table code starts with ``_``)."""


def _hr_events(ctx: Context) -> pl.DataFrame:
    """One row per HR event: ``_id``, ``_i`` (0-based index), the record's
    ``employee_type_code``, the event's fields as ``_type``, ``_origin`` (text),
    ``_decision`` (date), ``_completed``, ``_synced`` (UTC times) and the whole event as
    ``_event_value``. Built once per context and shared by SONG-002/004/005/006."""
    # Context._tables is the context's per-run cache of exploded tables; the events are
    # exploded the same way, so they share it rather than explode 4 times.
    cache = ctx._tables
    cached = cache.get(_EVENTS_CACHE_KEY)
    if cached is None:
        cached = _explode_events(ctx)
        cache[_EVENTS_CACHE_KEY] = cached
    return cached


def _explode_events(ctx: Context) -> pl.DataFrame:
    """:func:`_hr_events` without the cache."""
    employee_type = (
        pl.col("employee_type_code").cast(pl.String)
        if ctx.has("employee_type_code")
        else pl.lit(None, dtype=pl.String)
    ).alias("employee_type_code")
    schema: dict[str, Any] = {
        ID: pl.Int64,
        "_i": pl.Int64,
        "employee_type_code": pl.String,
        "_type": pl.String,
        "_origin": pl.String,
        "_decision": pl.Date,
        "_completed": pl.Datetime("us", "UTC"),
        "_synced": pl.Datetime("us", "UTC"),
        "_event_value": pl.Null,
    }
    if not ctx.has(HR_EVENTS_COLUMN):
        return pl.DataFrame(schema=schema)
    dtype = ctx.frame.schema[HR_EVENTS_COLUMN]
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if not isinstance(inner, pl.Struct):
        return pl.DataFrame(schema=schema)
    fields = {f.name: f.dtype for f in inner.fields}
    col = pl.col(HR_EVENTS_COLUMN)
    rows = (
        ctx.frame.select(ID, employee_type, col)
        .filter(col.list.len() > 0)
        .with_columns(_i=pl.int_ranges(col.list.len(), dtype=pl.Int64))
        .explode(HR_EVENTS_COLUMN, "_i")
        .filter(col.is_not_null())
    )

    def part(name: str, reader: Callable[[pl.Expr, Any], pl.Expr], null: Any) -> pl.Expr:
        if name not in fields:
            return pl.lit(None, dtype=null)
        return reader(col.struct.field(name), fields[name])

    def text(expr: pl.Expr, dtype: Any) -> pl.Expr:
        return expr.cast(pl.String)

    def decision(expr: pl.Expr, dtype: Any) -> pl.Expr:
        # A decision date is a calendar date; a time (if any) is read in local time.
        if dtype == pl.String:
            return expr.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return _local_day(expr, dtype)

    return rows.select(
        ID,
        "_i",
        "employee_type_code",
        part("event_type", text, pl.String).alias("_type"),
        part("origin", text, pl.String).alias("_origin"),
        part("decision_date", decision, pl.Date).alias("_decision"),
        part("completed_at", _instant, pl.Datetime("us", "UTC")).alias("_completed"),
        part("synced_at", _instant, pl.Datetime("us", "UTC")).alias("_synced"),
        col.alias("_event_value"),
    )


def _local(expr: pl.Expr) -> pl.Expr:
    """Local date of a UTC ``Datetime`` expression."""
    return expr.dt.convert_time_zone(LOCAL_TZ_NAME).dt.date()


def _synced_after(synced: pl.Expr, done_from: pl.Expr) -> pl.Expr:
    """``synced`` when it is on or after ``done_from`` (a sync before the event does not
    carry it), else null: the event is not synced yet."""
    return pl.when(synced >= done_from).then(synced).otherwise(None)


def _event_findings(rows: pl.DataFrame) -> pl.DataFrame:
    """Findings ``meta.hr_events[i]`` with the whole event as the value."""
    return findings(rows, field=pl.format("meta.hr_events[{}]", pl.col("_i")), value="_event_value")


# --- SONG-001 freshness -------------------------------------------------------------------------


@rule("SONG-001", needs=[META], time_dependent=True)
def song_001(ctx: Context) -> pl.DataFrame:
    """Neither updated nor verified within the freshness window (``freshness_months``).

    The record is fresh until the end of the day ``freshness_months`` months after the
    local date of its last update or verification (whichever is later)."""
    months = _int_param(ctx, "SONG-001", "freshness_months")
    latest = pl.max_horizontal(_meta_day(ctx, "_updated_at"), _meta_day(ctx, LAST_VERIFIED_COLUMN))
    stale = _narrow(ctx, "_updated_at", LAST_VERIFIED_COLUMN).filter(
        latest.is_not_null() & (pl.lit(ctx.as_of) > latest.dt.offset_by(f"{months}mo"))
    )
    value = "_updated_at" if ctx.has("_updated_at") else None
    return concat([findings(stale, field="meta.updated_at", value=value)])


# --- SONG-002, SONG-005, SONG-006: HR events synced within the deadline -------------------------


@rule("SONG-002", needs=[HR_EVENTS], time_dependent=True)
def song_002(ctx: Context) -> pl.DataFrame:
    """An own HR event (``origin``) completed but not synced within ``deadline_days`` days."""
    origin = ctx.param("SONG-002", "origin")
    n = _int_param(ctx, "SONG-002", "deadline_days")
    rows = _hr_events(ctx).filter(
        (pl.col("_origin") == origin) & pl.col("_completed").is_not_null()
    )
    rows = rows.with_columns(
        _event=_local(pl.col("_completed")),
        _done=_local(_synced_after(pl.col("_synced"), pl.col("_completed"))),
    )
    return concat([_event_findings(rows.filter(_late_days(rows, n, ctx.as_of)))])


@rule("SONG-005", needs=[HR_EVENTS], time_dependent=True)
def song_005(ctx: Context) -> pl.DataFrame:
    """Data from another agency's process (``origin``) not synced within
    ``deadline_working_days`` working days after it was completed."""
    origin = ctx.param("SONG-005", "origin")
    n = _int_param(ctx, "SONG-005", "deadline_working_days")
    rows = _hr_events(ctx).filter(
        (pl.col("_origin") == origin) & pl.col("_completed").is_not_null()
    )
    rows = rows.with_columns(
        _event=_local(pl.col("_completed")),
        _done=_local(_synced_after(pl.col("_synced"), pl.col("_completed"))),
    )
    late = _late_working_days(rows, n, ctx.as_of, _calendar(ctx))
    return concat([_event_findings(late)])


@rule("SONG-006", needs=[HR_EVENTS], time_dependent=True)
def song_006(ctx: Context) -> pl.DataFrame:
    """A viên chức's evaluation (``event_type``) not synced within ``deadline_days`` days of
    its result (the decision date, else the completion time)."""
    event_type = ctx.param("SONG-006", "event_type")
    n = _int_param(ctx, "SONG-006", "deadline_days")
    rows = _hr_events(ctx).filter(
        (pl.col("employee_type_code") == PUBLIC_EMPLOYEE) & (pl.col("_type") == event_type)
    )
    start = pl.coalesce(pl.col("_decision"), _local(pl.col("_completed")))
    rows = rows.with_columns(_event=start, _synced_day=_local(pl.col("_synced"))).with_columns(
        _done=pl.when(pl.col("_synced_day") >= pl.col("_event")).then(pl.col("_synced_day"))
    )
    rows = rows.filter(pl.col("_event").is_not_null())
    return concat([_event_findings(rows.filter(_late_days(rows, n, ctx.as_of)))])


# --- SONG-003, SONG-004: creation and first declaration -----------------------------------------


@rule("SONG-003", needs=[META, FIRST_DECLARED], time_dependent=True)
def song_003(ctx: Context) -> pl.DataFrame:
    """First full declaration not completed within ``deadline_working_days`` working days
    after the e-dossier was created (not declared yet: late once that many have passed)."""
    n = _int_param(ctx, "SONG-003", "deadline_working_days")
    if not ctx.has(FIRST_DECLARED_COLUMN):
        return empty_findings()
    rows = ctx.frame.select(
        ID,
        FIRST_DECLARED_COLUMN,
        _event=_meta_day(ctx, "_created_at"),
        _done=_meta_day(ctx, FIRST_DECLARED_COLUMN),
    )
    late = _late_working_days(rows, n, ctx.as_of, _calendar(ctx))
    return concat([findings(late, field="meta.first_declared_at", value=FIRST_DECLARED_COLUMN)])


@rule("SONG-004", needs=[META, HR_EVENTS], codelists=["hr_event_type"])
def song_004(ctx: Context) -> pl.DataFrame:
    """E-dossier created more than ``deadline_days`` days after the decision that called for
    it: the latest decision of a ``creates_dossier`` event type on or before the creation
    date (a later decision found the dossier already there)."""
    n = _int_param(ctx, "SONG-004", "deadline_days")
    creating = (
        ctx.codes("hr_event_type").filter(pl.col("creates_dossier") == "true")["code"].to_list()
    )
    created = _meta_day(ctx, "_created_at").alias("_created")
    rows = _hr_events(ctx).filter(pl.col("_type").is_in(creating))
    if rows.height == 0:
        return empty_findings()
    dossiers = ctx.frame.select(ID, "_created_at", created)
    last = (
        rows.join(dossiers, on=ID, how="inner")
        .filter(pl.col("_decision") <= pl.col("_created"))
        .group_by(ID)
        .agg(pl.col("_decision").max(), pl.col("_created").first(), pl.col("_created_at").first())
    )
    late = last.filter((pl.col("_created") - pl.col("_decision")).dt.total_days() > n)
    return concat([findings(late, field="meta.created_at", value="_created_at")])


# --- SONG-007, SONG-008: visible in the data ----------------------------------------------------


@rule("SONG-007", time_dependent=True, codelists=["salary_group"])
def song_007(ctx: Context) -> pl.DataFrame:
    """Regular step increase overdue: below the last step of the rank's salary group and
    ``salary_effective_date`` + the group's interval + ``grace_months`` before the as-of date.

    An unknown rank code or a step outside the group skips the record (DUNG-010/019)."""
    grace = _int_param(ctx, "SONG-007", "grace_months")
    list_id, _, column = ctx.param("SONG-007", "interval").partition(".")
    needed = ("salary_effective_date", "salary_step", "rank_code")
    if not all(ctx.has(c) for c in needed):
        return empty_findings()
    groups = ctx.codes(list_id).select(
        pl.col("code").alias("_group"),
        pl.col(column).cast(pl.Int64, strict=False).alias("_interval"),
        pl.col("steps").cast(pl.Int64, strict=False).alias("_steps"),
    )
    ranks = ctx.codes("rank").select(
        pl.col("code").alias("rank_code"), pl.col("salary_group").alias("_group")
    )
    effective = _as_text("salary_effective_date")
    rows = (
        ctx.frame.select(ID, "salary_effective_date", "salary_step", "rank_code")
        .filter(effective.is_not_null() & pl.col("salary_step").is_not_null())
        .join(ranks, on="rank_code", how="inner")
        .join(groups, on="_group", how="inner")
        .filter((pl.col("salary_step") >= 1) & (pl.col("salary_step") < pl.col("_steps")))
    )
    due = _months_after(effective, pl.col("_interval") + grace)
    overdue = rows.filter(pl.lit(ctx.as_of) > due)
    return concat([findings(overdue, field="salary_effective_date", value="salary_effective_date")])


@rule("SONG-008", time_dependent=True)
def song_008(ctx: Context) -> pl.DataFrame:
    """A leadership appointment (a current position is recorded) older than ``term_months``
    with no reappointment date."""
    term = _int_param(ctx, "SONG-008", "term_months")
    needed = ("position_appointment_date", "position_reappointment_date", "current_position_code")
    if not all(ctx.has(c) for c in needed):
        return empty_findings()
    appointed = _as_text("position_appointment_date")
    position = pl.col("current_position_code").str.strip_chars()
    rows = _narrow(ctx, *needed).filter(
        appointed.is_not_null()
        & _as_text("position_reappointment_date").is_null()
        & position.is_not_null()
        & (position != "")
        & (pl.lit(ctx.as_of) > _months_after(appointed, term))
    )
    return concat(
        [findings(rows, field="position_appointment_date", value="position_appointment_date")]
    )


# --- SONG-009 population-registry match ---------------------------------------------------------


@rule(
    "SONG-009", needs=[META, REGISTRY], time_dependent=True, codelists=["population_match_status"]
)
def song_009(ctx: Context) -> pl.DataFrame:
    """Never matched with the population registry (no match time, or status
    ``NOT_CHECKED``), or the last match is more than ``max_age_months`` old."""
    months = _int_param(ctx, "SONG-009", "max_age_months")
    if not ctx.has(MATCHED_AT_COLUMN) and not ctx.has(MATCH_STATUS_COLUMN):
        return empty_findings()
    matched = _meta_day(ctx, MATCHED_AT_COLUMN)
    status = (
        pl.col(MATCH_STATUS_COLUMN).cast(pl.String)
        if ctx.has(MATCH_STATUS_COLUMN)
        else pl.lit(None, dtype=pl.String)
    )
    never = matched.is_null() | (status == NOT_MATCHED)
    old = pl.lit(ctx.as_of) > matched.dt.offset_by(f"{months}mo")
    rows = _narrow(ctx, MATCHED_AT_COLUMN, MATCH_STATUS_COLUMN).filter(never | old.fill_null(False))
    value = MATCHED_AT_COLUMN if ctx.has(MATCHED_AT_COLUMN) else None
    return concat([findings(rows, field="meta.population_matched_at", value=value)])


# --- SONG-010 retirement ------------------------------------------------------------------------


@rule("SONG-010", time_dependent=True)
def song_010(ctx: Context) -> pl.DataFrame:
    """Past the statutory retirement date (quality-rules.md §5) while active.

    The retirement date is the last day of the month in which the roadmap age is reached; it
    depends only on the year and month of birth (a year-only date of birth is read as
    December, the latest it may mean). Active: ``employment_status.active`` is true, or the
    status is empty; an unknown status code skips the record."""
    if not ctx.has("date_of_birth") or not ctx.has("sex"):
        return empty_findings()
    dob = _as_text("date_of_birth")
    born = _latest_month(dob)
    rows = (
        ctx.frame.lazy()
        .filter(_maybe_retired(ctx.as_of))
        .select(
            ID,
            "date_of_birth",
            pl.col("sex").str.strip_chars().alias("_sex"),
            (
                pl.col("employment_status_code").str.strip_chars()
                if ctx.has("employment_status_code")
                else pl.lit(None, dtype=pl.String)
            ).alias("_status"),
            born.dt.year().cast(pl.Int32).alias("birth_year"),
            born.dt.month().cast(pl.Int8).alias("birth_month"),
        )
        .filter(pl.col("birth_year").is_not_null() & pl.col("_sex").is_in([SEX_MALE, SEX_FEMALE]))
        .collect()
    )
    if rows.height == 0:
        return empty_findings()
    active = ctx.codes("employment_status").filter(pl.col("active") == "true")["code"].to_list()
    rows = rows.filter(
        pl.col("_status").is_null() | (pl.col("_status") == "") | pl.col("_status").is_in(active)
    )
    lo, hi = rows.select(
        pl.col("birth_year").min().alias("lo"), pl.col("birth_year").max().alias("hi")
    ).row(0)
    if lo is None:
        return empty_findings()
    table = _retirement_lookup(int(lo), int(hi))
    past = rows.join(table, on=["_sex", "birth_year", "birth_month"], how="inner").filter(
        pl.lit(ctx.as_of) > pl.col("retirement_date")
    )
    return concat(
        [
            findings(
                past,
                field="date_of_birth",
                value="date_of_birth",
                expected=pl.col("retirement_date").dt.to_string("%Y-%m-%d"),
            )
        ]
    )


@lru_cache(maxsize=1)
def _youngest_retirement_months() -> int:
    """The smallest statutory retirement age of any year and sex, in months."""
    return min(
        retirement_age_months(year, sex)
        for sex in (SEX_MALE, SEX_FEMALE)
        for year in range(1900, 2200)
    )


def _maybe_retired(as_of: dt.date) -> pl.Expr:
    """A cheap superset of the records SONG-010 may report: all but the dates of birth
    written with four leading digits of a year too late to have reached the youngest
    retirement age by ``as_of`` (the retirement month is at least that many months after
    the latest month of birth, and must lie before the as-of month)."""
    as_of_month = as_of.year * 12 + as_of.month - 1
    latest_year = (as_of_month - _youngest_retirement_months() - 1) // 12
    dob = pl.col("date_of_birth").cast(pl.String)
    young = dob.str.contains(r"^[0-9]{4}") & (dob.str.slice(0, 4) > f"{latest_year:04d}")
    return ~young.fill_null(False)


@lru_cache(maxsize=8)
def _retirement_lookup(first_year: int, last_year: int) -> pl.DataFrame:
    """:func:`~hoso.quality.calendar.retirement_table` keyed for the join (cached: it is built
    by a Python loop over every month of birth)."""
    return retirement_table(first_year, last_year).rename({"sex": "_sex"})


# --- SONG-011 … SONG-013: approval and sync -----------------------------------------------------


@rule("SONG-011", needs=[APPROVAL])
def song_011(ctx: Context) -> pl.DataFrame:
    """Never approved and digitally signed by the managing agency (no approval time and no
    approved hash)."""
    never = _narrow(ctx, "_approved_at", "_approved_hash").filter(
        pl.col("_approved_at").is_null() & pl.col("_approved_hash").is_null()
    )
    return concat([findings(never, field="meta.approval")])


@rule("SONG-012", needs=[META, APPROVAL], time_dependent=True)
def song_012(ctx: Context) -> pl.DataFrame:
    """The current content hash differs from the last approved hash and the data changed
    (last update) more than ``grace_working_days`` working days ago.

    Never-approved records are SONG-011's; the finding's ``expected`` is the signed hash."""
    n = _int_param(ctx, "SONG-012", "grace_working_days")
    rows = (
        _narrow(ctx, "_hash", "_approved_hash", "_updated_at")
        .filter(
            pl.col("_hash").is_not_null()
            & pl.col("_approved_hash").is_not_null()
            & (pl.col("_hash") != pl.col("_approved_hash"))
        )
        .select(ID, "_hash", "_approved_hash", _event=_meta_day(ctx, "_updated_at"))
    )
    rows = rows.with_columns(_done=pl.lit(None, dtype=pl.Date))
    late = _late_working_days(rows, n, ctx.as_of, _calendar(ctx))
    return concat(
        [
            findings(
                late, field="meta.content_hash", value="_hash", expected=pl.col("_approved_hash")
            )
        ]
    )


@rule("SONG-013", needs=[META, APPROVAL], time_dependent=True)
def song_013(ctx: Context) -> pl.DataFrame:
    """Approved but not synced within ``deadline_days`` days: the last sync (if it came after
    the approval) or the as-of date is more than that many local days after the approval."""
    n = _int_param(ctx, "SONG-013", "deadline_days")
    approved = _meta_instant(ctx, "_approved_at")
    synced = _meta_instant(ctx, "_synced_at")
    rows = (
        _narrow(ctx, "_approved_at", "_synced_at")
        .filter(approved.is_not_null())
        .select(
            ID,
            "_synced_at",
            _event=_local(approved),
            _done=_local(_synced_after(synced, approved)),
        )
    )
    return concat(
        [
            findings(
                rows.filter(_late_days(rows, n, ctx.as_of)),
                field="meta.synced_at",
                value="_synced_at",
            )
        ]
    )
