"""Dates for the quality rules: working days, deadlines, retirement, partial dates.

Everything here follows ``quality-rules.md`` §5 and has two faces: a plain-Python function
for one value (cleaning proposals, web pages, tests) and, where the engine scans millions of
rows, a Polars expression or a lookup table that gives the same answers.

- **Working days** (SONG-003/005/012): :class:`WorkingCalendar` = Monday to Friday minus the
  Vietnamese public holidays of the maintained ``holidays`` library (lunar Tết, Giỗ Tổ Hùng
  Vương, 30/4, 1/5, 2/9 and the swaps the government announces), plus a deployment's own
  extra days off and make-up working days ("làm bù") from a CSV file (:func:`load_overrides`).
  Day 1 is the first working day after the event.
- **Calendar days** (SONG-002/004/006/013): :func:`days_late` on local dates
  (:func:`local_date`, Asia/Ho_Chi_Minh).
- **Retirement** (SONG-010): :func:`retirement_date` and :func:`retirement_table` from
  ``codelists/retirement_age.csv``. The date depends only on the year and month of birth.
- **Partial dates** (DUNG-006/011/012): :func:`parse_partial`, :func:`compare_partial` (at the
  coarser precision) and the month arithmetic :func:`add_months` / :func:`months_between`.

The calendar override file is UTF-8 CSV with a header::

    date,kind,name_vi,name_en
    2027-02-11,off,Nghỉ thêm dịp Tết Nguyên Đán,Extra Lunar New Year day off
    2027-02-20,work,Làm bù cho ngày 11/02/2027,Make-up working day for 2027-02-11

``date`` is ISO ``YYYY-MM-DD``; ``kind`` is ``off`` (a day off, whatever the library says) or
``work`` (a working day, even on a weekend or a library holiday); ``name_vi`` is required;
``name_en`` is optional. A date may appear once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from calendar import monthrange
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import polars as pl

__all__ = [
    "LOCAL_TZ",
    "SEX_FEMALE",
    "SEX_MALE",
    "WEEK_MASK",
    "CalendarFileError",
    "CalendarOverride",
    "DayKind",
    "PartialDate",
    "Precision",
    "WorkingCalendar",
    "add_months",
    "compare_partial",
    "compare_partial_expr",
    "days_late",
    "days_late_expr",
    "default_calendar",
    "load_overrides",
    "local_date",
    "local_date_expr",
    "months_between",
    "parse_overrides",
    "parse_partial",
    "retirement_age_months",
    "retirement_date",
    "retirement_table",
    "working_days_late",
]

LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)
"""The time zone in which deadlines are counted (quality-rules.md §5)."""

WEEK_MASK: tuple[bool, ...] = (True, True, True, True, True, False, False)
"""Monday to Friday, in the form ``polars`` business-day functions take."""

_ONE_DAY = dt.timedelta(days=1)


# --------------------------------------------------------------------------- working days


class DayKind(StrEnum):
    """What an override line makes of a date."""

    OFF = "off"
    WORK = "work"


@dataclass(frozen=True, slots=True)
class CalendarOverride:
    """One configured day: an extra day off, or an extra (make-up) working day."""

    day: dt.date
    kind: DayKind
    name_vi: str
    name_en: str = ""


class CalendarFileError(ValueError):
    """The calendar override file is malformed (message in Vietnamese, then English)."""


def parse_overrides(text: str, *, source: str = "<text>") -> tuple[CalendarOverride, ...]:
    """Parse the CSV override format described in the module docstring."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    missing = {"date", "kind", "name_vi"} - set(reader.fieldnames or ())
    if missing:
        cols = ", ".join(sorted(missing))
        raise CalendarFileError(
            f"Tệp lịch làm việc {source}: thiếu cột {cols} / "
            f"Working calendar file {source}: missing column(s) {cols}"
        )
    out: list[CalendarOverride] = []
    seen: set[dt.date] = set()
    for row in reader:
        line = reader.line_num
        raw_date = (row.get("date") or "").strip()
        raw_kind = (row.get("kind") or "").strip().lower()
        name_vi = unicodedata.normalize("NFC", (row.get("name_vi") or "").strip())
        name_en = (row.get("name_en") or "").strip()
        if not (raw_date or raw_kind or name_vi or name_en):
            continue
        where_vi = f"Tệp lịch làm việc {source}, dòng {line}"
        where_en = f"Working calendar file {source}, line {line}"
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw_date):
                raise ValueError(raw_date)
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            raise CalendarFileError(
                f"{where_vi}: ngày '{raw_date}' không hợp lệ (YYYY-MM-DD) / "
                f"{where_en}: invalid date '{raw_date}' (YYYY-MM-DD)"
            ) from None
        try:
            kind = DayKind(raw_kind)
        except ValueError:
            raise CalendarFileError(
                f"{where_vi}: loại ngày '{raw_kind}' không hợp lệ (off hoặc work) / "
                f"{where_en}: invalid kind '{raw_kind}' (off or work)"
            ) from None
        if not name_vi:
            raise CalendarFileError(
                f"{where_vi}: thiếu tên ngày (name_vi) / {where_en}: name_vi is empty"
            )
        if day in seen:
            raise CalendarFileError(
                f"{where_vi}: ngày {day.isoformat()} khai nhiều lần / "
                f"{where_en}: date {day.isoformat()} listed twice"
            )
        seen.add(day)
        out.append(CalendarOverride(day=day, kind=kind, name_vi=name_vi, name_en=name_en))
    return tuple(out)


def load_overrides(path: Path) -> tuple[CalendarOverride, ...]:
    """Read an override CSV file (UTF-8, a BOM is accepted)."""
    return parse_overrides(path.read_text(encoding="utf-8"), source=str(path))


@dataclass(frozen=True, slots=True)
class _Year:
    """The resolved calendar of one year."""

    days_off: Mapping[dt.date, tuple[str, str]]  # holiday → (name_vi, name_en), weekends too
    weekend_work: frozenset[dt.date]  # Saturdays/Sundays that are working days
    weekday_off: frozenset[dt.date]  # Monday-Friday dates that are not working days


class WorkingCalendar:
    """Monday to Friday minus Vietnamese public holidays, with configured overrides.

    Holidays come from ``holidays.country_holidays("VN")`` (names in Vietnamese and English),
    including its make-up Saturdays (``weekend_workdays``). ``overrides`` win over the
    library: an ``off`` date is a day off, a ``work`` date is a working day. The library
    covers 1901-2100; outside that range only weekends and overrides apply.
    """

    def __init__(self, overrides: Iterable[CalendarOverride] = ()) -> None:
        """Build a calendar; years are resolved lazily and cached."""
        self._overrides: dict[dt.date, CalendarOverride] = {}
        for item in overrides:
            if item.day in self._overrides:
                raise ValueError(
                    f"Ngày {item.day.isoformat()} khai nhiều lần / "
                    f"Date {item.day.isoformat()} given twice"
                )
            self._overrides[item.day] = item
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_csv(cls, path: Path) -> WorkingCalendar:
        """A calendar with the overrides of ``path`` (see the module docstring)."""
        return cls(load_overrides(path))

    @property
    def overrides(self) -> tuple[CalendarOverride, ...]:
        """The configured overrides, by date."""
        return tuple(self._overrides[d] for d in sorted(self._overrides))

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        # The language is always explicit: without it the library picks names from the
        # process locale (LANG), so the same code would print English on one server and
        # Vietnamese on another.
        vi = holidays_lib.country_holidays("VN", years=year, language="vi")
        en = holidays_lib.country_holidays("VN", years=year, language="en_US")
        days_off: dict[dt.date, tuple[str, str]] = {
            d: (str(name), str(en.get(d, name))) for d, name in vi.items() if d.year == year
        }
        # ``weekend_workdays`` also holds swaps of other years (0.109 leaks 2014-12-27 and
        # 2019-01-05 into every year), so keep only this year's weekend dates.
        weekend_work = {d for d in vi.weekend_workdays if d.year == year and d.weekday() >= 5}
        for d, item in self._overrides.items():
            if d.year != year:
                continue
            if item.kind is DayKind.OFF:
                days_off[d] = (item.name_vi, item.name_en or item.name_vi)
                weekend_work.discard(d)
            else:
                days_off.pop(d, None)
                if d.weekday() >= 5:
                    weekend_work.add(d)
        resolved = _Year(
            days_off=dict(sorted(days_off.items())),
            weekend_work=frozenset(weekend_work),
            weekday_off=frozenset(d for d in days_off if d.weekday() < 5),
        )
        self._years[year] = resolved
        return resolved

    # -- one value -------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        """True on Monday-Friday that is not a day off, and on a make-up weekend day."""
        resolved = self._year(day.year)
        if day.weekday() >= 5:
            return day in resolved.weekend_work
        return day not in resolved.weekday_off

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (day 1 is the first working day after it).

        ``n = 0`` returns ``day`` itself; a negative ``n`` is refused.
        """
        if n < 0:
            raise ValueError(f"Số ngày làm việc phải ≥ 0 / n must be >= 0, got {n}")
        current = day
        left = n
        while left:
            current += _ONE_DAY
            if self.is_working_day(current):
                left -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if reversed)."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        current = start + _ONE_DAY
        while current <= end:
            count += self.is_working_day(current)
            current += _ONE_DAY
        return count

    def working_days_late(
        self, event: dt.date, done: dt.date | None, as_of: dt.date, n: int
    ) -> bool:
        """SONG-003/005/012: late when more than ``n`` working days passed after ``event``.

        Done: late when ``working_days_between(event, done) > n``. Not done yet: late once
        ``working_days_between(event, as_of) > n``. Work finished on the weekend after the
        deadline day is on time (no working day has passed).
        """
        return self.working_days_between(event, as_of if done is None else done) > n

    def holidays(self, year: int) -> list[tuple[dt.date, str, str]]:
        """Days off of ``year`` as ``(date, name_vi, name_en)``, weekend holidays included.

        Dates made working days by an override are left out; names of the library's days
        that share a date are joined with ``"; "``.
        """
        return [(d, vi, en) for d, (vi, en) in self._year(year).days_off.items()]

    def make_up_days(self, year: int) -> list[dt.date]:
        """Weekend days of ``year`` that are working days ("làm bù")."""
        return sorted(self._year(year).weekend_work)

    # -- vectorised ------------------------------------------------------------------------

    def holiday_dates(self, start_year: int, end_year: int) -> list[dt.date]:
        """Monday-Friday days off of ``start_year``..``end_year`` (inclusive), sorted.

        This is the ``holidays=`` list for ``pl.business_day_count`` and
        ``Expr.dt.add_business_days`` with :data:`WEEK_MASK`. Those functions cannot add
        make-up weekend days (:meth:`make_up_days`): use :meth:`working_days_between_expr`
        and :meth:`add_working_days_expr`, which can.
        """
        return sorted(d for y in range(start_year, end_year + 1) for d in self._year(y).weekday_off)

    def working_dates(self, start_year: int, end_year: int) -> list[dt.date]:
        """Every working day of ``start_year``..``end_year`` (inclusive), sorted."""
        first = dt.date(start_year, 1, 1)
        days = (dt.date(end_year, 12, 31) - first).days + 1
        return [
            d for d in (first + dt.timedelta(days=i) for i in range(days)) if self.is_working_day(d)
        ]

    def working_days_between_expr(
        self, start: pl.Expr, end: pl.Expr, *, start_year: int, end_year: int
    ) -> pl.Expr:
        """Vectorised :meth:`working_days_between` for dates within the given years.

        ``pl.business_day_count(s, e)`` counts ``[s, e)`` when ``s ≤ e`` but ``−(e, s]`` when
        ``e < s`` (Polars 2.1), so ``(start, end]`` is ``count(start + 1, end + 1)`` forwards
        and ``count(start, end)`` backwards. Make-up weekend days are then added back one by
        one (there are one or two a year).
        """
        holidays = self.holiday_dates(start_year, end_year)
        forward = pl.business_day_count(
            start + pl.duration(days=1),
            end + pl.duration(days=1),
            week_mask=WEEK_MASK,
            holidays=holidays,
        )
        backward = pl.business_day_count(start, end, week_mask=WEEK_MASK, holidays=holidays)
        count = pl.when(start <= end).then(forward).otherwise(backward).cast(pl.Int64)
        for y in range(start_year, end_year + 1):
            for d in self.make_up_days(y):
                day = pl.lit(d)
                count = (
                    count
                    + ((start < day) & (day <= end)).cast(pl.Int64)
                    - ((end < day) & (day <= start)).cast(pl.Int64)
                )
        return count

    def add_working_days_expr(
        self, day: pl.Expr, n: pl.Expr | int, *, start_year: int, end_year: int
    ) -> pl.Expr:
        """Vectorised :meth:`add_working_days` (``n ≥ 0``) over a sorted list of working days.

        Null when ``day`` lies outside ``start_year``..``end_year`` or the result would.
        """
        dates = pl.Series("working_date", self.working_dates(start_year, end_year), pl.Date)
        steps = n if isinstance(n, pl.Expr) else pl.lit(n)
        position = pl.lit(dates).search_sorted(day, side="right").cast(pl.Int64) + steps - 1
        shifted = pl.lit(dates).gather(position, null_on_oob=True)
        inside = (day >= pl.lit(dt.date(start_year, 1, 1))) & (
            day <= pl.lit(dt.date(end_year, 12, 31))
        )
        return pl.when(~inside).then(None).when(steps == 0).then(day).otherwise(shifted)

    def working_days_late_expr(
        self,
        event: pl.Expr,
        done: pl.Expr,
        as_of: dt.date,
        n: int,
        *,
        start_year: int,
        end_year: int,
    ) -> pl.Expr:
        """Vectorised :meth:`working_days_late` (``done`` null = not done yet)."""
        until = pl.coalesce(done, pl.lit(as_of))
        between = self.working_days_between_expr(
            event, until, start_year=start_year, end_year=end_year
        )
        return between > n


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The library calendar without overrides (a deployment loads its file with ``from_csv``)."""
    return WorkingCalendar()


def working_days_late(
    event: dt.date,
    done: dt.date | None,
    as_of: dt.date,
    n: int,
    *,
    calendar: WorkingCalendar | None = None,
) -> bool:
    """:meth:`WorkingCalendar.working_days_late` on ``calendar`` (default: the library's)."""
    return (calendar or default_calendar()).working_days_late(event, done, as_of, n)


# --------------------------------------------------------------------------- calendar days


def local_date(ts: dt.datetime) -> dt.date:
    """Date of a timezone-aware timestamp in Asia/Ho_Chi_Minh (naive timestamps are refused)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("Thời điểm phải có múi giờ (UTC) / Timestamp must be timezone-aware (UTC)")
    return ts.astimezone(LOCAL_TZ).date()


def local_date_expr(ts: pl.Expr) -> pl.Expr:
    """Vectorised :func:`local_date` for a timezone-aware ``Datetime`` column."""
    return ts.dt.convert_time_zone(LOCAL_TZ_NAME).dt.date()


def days_late(event: dt.date, done: dt.date | None, as_of: dt.date, n: int) -> bool:
    """SONG-002/004/006/013: late when more than ``n`` calendar days passed after ``event``.

    The deadline is met when ``done − event ≤ n``; an event not done yet is late once
    ``as_of − event > n`` (quality-rules.md §5). Pass local dates (:func:`local_date`).
    """
    return ((as_of if done is None else done) - event).days > n


def days_late_expr(event: pl.Expr, done: pl.Expr, as_of: dt.date, n: int) -> pl.Expr:
    """Vectorised :func:`days_late` on ``Date`` columns (``done`` null = not done yet)."""
    return (pl.coalesce(done, pl.lit(as_of)) - event).dt.total_days() > n


# --------------------------------------------------------------------------- months


def add_months(day: dt.date, n: int) -> dt.date:
    """``day`` plus ``n`` calendar months, the day clamped to the end of the month."""
    index = day.year * 12 + day.month - 1 + n
    year, month0 = divmod(index, 12)
    last = monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end``: the largest m with ``add_months(start, m) ≤ end``.

    Negative (``-months_between(end, start)``) when ``end`` is before ``start``. With the
    clamping of :func:`add_months`, 2024-01-31 → 2024-02-29 is one month.
    """
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


# --------------------------------------------------------------------------- partial dates


class Precision(IntEnum):
    """Precision of a date value; a smaller value is coarser (the catalogue's field types)."""

    YEAR = 1
    YEAR_MONTH = 2
    DATE = 3

    @property
    def field_type(self) -> str:
        """The catalogue type with this precision: ``year``, ``year_month`` or ``date``."""
        return self.name.lower()


class PartialDate(NamedTuple):
    """A date, year-month or year: its first day and its precision."""

    lower: dt.date
    precision: Precision


_PARTIAL = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def parse_partial(text: str) -> PartialDate:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (ASCII digits, nothing around them).

    Raises ``ValueError`` for a malformed or impossible value (``2023-02-30``): DUNG-006.
    """
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise ValueError(
            f"Ngày '{text}' sai định dạng (YYYY, YYYY-MM, YYYY-MM-DD) / "
            f"Malformed date '{text}' (YYYY, YYYY-MM, YYYY-MM-DD)"
        )
    year, month, day = match.groups()
    precision = Precision.DATE if day else Precision.YEAR_MONTH if month else Precision.YEAR
    try:
        lower = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"Ngày '{text}' không có thật / Date '{text}' does not exist") from None
    return PartialDate(lower, precision)


def compare_partial(a: str | PartialDate, b: str | PartialDate) -> int:
    """-1, 0 or 1 comparing ``a`` with ``b`` at the coarser of their precisions.

    ``compare_partial("2008-09", "2008-09-15") == 0``: a year-month is not before a day of
    that month (quality-rules.md §5, Precision).
    """
    pa = parse_partial(a) if isinstance(a, str) else a
    pb = parse_partial(b) if isinstance(b, str) else b
    precision = min(pa.precision, pb.precision)

    def key(value: PartialDate) -> tuple[int, int, int]:
        d = value.lower
        return (
            d.year,
            d.month if precision >= Precision.YEAR_MONTH else 0,
            d.day if precision >= Precision.DATE else 0,
        )

    ka, kb = key(pa), key(pb)
    return (ka > kb) - (ka < kb)


def compare_partial_expr(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Vectorised :func:`compare_partial` on well-formed ISO strings (Int8, null if either is).

    Comparing the two strings cut to the shorter length is comparing at the coarser
    precision, because ``YYYY``, ``YYYY-MM`` and ``YYYY-MM-DD`` are prefixes of each other.
    """
    length = pl.min_horizontal(a.str.len_chars(), b.str.len_chars())
    sa = a.str.slice(0, length)
    sb = b.str.slice(0, length)
    return (
        pl.when(a.is_null() | b.is_null())
        .then(None)
        .when(sa < sb)
        .then(pl.lit(-1, pl.Int8))
        .when(sa > sb)
        .then(pl.lit(1, pl.Int8))
        .otherwise(pl.lit(0, pl.Int8))
    )


# --------------------------------------------------------------------------- retirement

SEX_MALE = "M"
"""Code of ``codelists/sex.csv`` for men."""
SEX_FEMALE = "F"
"""Code of ``codelists/sex.csv`` for women."""

_ROADMAP_START = 2021


@lru_cache(maxsize=1)
def _retirement_ages() -> dict[int, tuple[int, int]]:
    """``year → (male months, female months)`` from the packaged ``retirement_age.csv``.

    The catalogue loader does not expose it (its ``kind`` is ``table``, not ``codelist``).
    """
    path = resources.files("hoso.catalog").joinpath("data", "codelists", "retirement_age.csv")
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {
        int(r["year"]): (
            int(r["male_years"]) * 12 + int(r["male_months"]),
            int(r["female_years"]) * 12 + int(r["female_months"]),
        )
        for r in rows
    }


def retirement_age_months(year: int, sex: str) -> int:
    """Statutory retirement age, in months, for a person who reaches it in ``year``.

    Years before 2021 use the 2020 row (60 / 55), years after the last row use the last
    row (2035).
    """
    if sex not in (SEX_MALE, SEX_FEMALE):
        raise ValueError(f"Mã giới tính '{sex}' không hợp lệ (M, F) / Invalid sex code '{sex}'")
    table = _retirement_ages()
    row = table[min(max(year, min(table)), max(table))]
    return row[0] if sex == SEX_MALE else row[1]


def _retirement_month_index(birth_month_index: int, sex: str) -> int:
    """Month index (``year * 12 + month - 1``) of the month the retirement age is reached."""
    reached = birth_month_index + retirement_age_months(_ROADMAP_START - 1, sex)
    if reached // 12 < _ROADMAP_START:
        return reached  # reached the pre-roadmap age before 2021
    year = _ROADMAP_START
    # The smallest Y ≥ 2021 with birth + age(Y) in Y. The age grows by at most 4 months a
    # year, so (year reached) − Y falls by 0 or 1 at each step: ``>`` stops exactly at ``==``.
    while (birth_month_index + retirement_age_months(year, sex)) // 12 > year:
        year += 1
    return birth_month_index + retirement_age_months(year, sex)


def _last_day(month_index: int) -> dt.date:
    year, month0 = divmod(month_index, 12)
    return dt.date(year, month0 + 1, monthrange(year, month0 + 1)[1])


def retirement_date(dob: dt.date, sex: str) -> dt.date:
    """SONG-010: the last day of the month in which the person reaches the retirement age.

    Retirement takes effect at the end of that day (NĐ 135/2020/NĐ-CP); the rule fires when
    the as-of date is after it. Ages are whole months, so the result depends only on the
    year and month of birth, never on the day.
    """
    return _last_day(_retirement_month_index(dob.year * 12 + dob.month - 1, sex))


def retirement_table(first_year: int, last_year: int) -> pl.DataFrame:
    """Retirement date for every month of birth in ``first_year``..``last_year`` and both sexes.

    Columns ``sex`` (String), ``birth_year`` (Int32), ``birth_month`` (Int8),
    ``retirement_date`` (Date): join on ``dob.dt.year()``, ``dob.dt.month()`` (the same
    dtypes) and the sex code. A date of birth known only to the month is enough.
    """
    sexes: list[str] = []
    years: list[int] = []
    months: list[int] = []
    dates: list[dt.date] = []
    for sex in (SEX_MALE, SEX_FEMALE):
        for year in range(first_year, last_year + 1):
            for month in range(1, 13):
                sexes.append(sex)
                years.append(year)
                months.append(month)
                dates.append(_last_day(_retirement_month_index(year * 12 + month - 1, sex)))
    return pl.DataFrame(
        {"sex": sexes, "birth_year": years, "birth_month": months, "retirement_date": dates},
        schema={
            "sex": pl.String,
            "birth_year": pl.Int32,
            "birth_month": pl.Int8,
            "retirement_date": pl.Date,
        },
    )
