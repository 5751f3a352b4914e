"""Compact date arithmetic for the generator, and the statutory retirement date.

Generated event dates are held as integer *day keys* ``k = month_index * 32 + day`` with
``month_index = year * 12 + (month - 1)`` and ``day`` in 1-28, so that adding months is an
addition (``k + 32 * n``) and formatting is two list lookups. Dates of birth keep their real
day (1-31) and are handled as :class:`datetime.date`.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
from functools import lru_cache

from hoso.catalog.loader import DATA_DIR

FIRST_YEAR = 1900
LAST_YEAR = 2200
_BASE = FIRST_YEAR * 12

YM: list[str] = [f"{y:04d}-{m:02d}" for y in range(FIRST_YEAR, LAST_YEAR) for m in range(1, 13)]
"""``YM[month_index - FIRST_YEAR * 12]`` is ``"YYYY-MM"``."""
_DAY_SUFFIX: list[str] = [f"-{d:02d}" for d in range(32)]


def month_index(year: int, month: int) -> int:
    """``year * 12 + month - 1``."""
    return year * 12 + month - 1


def ym(mi: int) -> str:
    """``"YYYY-MM"`` of a month index."""
    return YM[mi - _BASE]


def key(year: int, month: int, day: int) -> int:
    """Day key of a date whose day is at most 28."""
    return (year * 12 + month - 1) * 32 + day


def key_of(day: dt.date) -> int:
    """Day key of ``day`` (days after the 28th are clamped to 28)."""
    return (day.year * 12 + day.month - 1) * 32 + min(day.day, 28)


def iso(k: int) -> str:
    """``"YYYY-MM-DD"`` of a day key."""
    return YM[(k >> 5) - _BASE] + _DAY_SUFFIX[k & 31]


def ym_of(k: int) -> str:
    """``"YYYY-MM"`` of a day key."""
    return YM[(k >> 5) - _BASE]


def year_of(k: int) -> int:
    """Year of a day key."""
    return (k >> 5) // 12


def add_months(k: int, months: int) -> int:
    """The day key ``months`` months later (same day of month, all days are <= 28)."""
    return k + 32 * months


def months_between(a: int, b: int) -> int:
    """Whole months from day key ``a`` to day key ``b`` (negative when ``b`` is earlier)."""
    months = (b >> 5) - (a >> 5)
    if (b & 31) < (a & 31):
        months -= 1
    return months


def add_months_date(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's length."""
    mi = day.year * 12 + day.month - 1 + months
    year, month = divmod(mi, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@lru_cache
def _retirement_table() -> dict[int, tuple[int, int, int, int]]:
    with (DATA_DIR / "codelists" / "retirement_age.csv").open(encoding="utf-8", newline="") as fh:
        return {
            int(r["year"]): (
                int(r["male_years"]),
                int(r["male_months"]),
                int(r["female_years"]),
                int(r["female_months"]),
            )
            for r in csv.DictReader(fh)
        }


def retirement_age_months(year: int, sex: str) -> int:
    """Statutory retirement age in months for someone reaching it in ``year``."""
    table = _retirement_table()
    last = max(table)
    if year < 2021:
        return 60 * 12 if sex == "M" else 55 * 12
    row = table[min(year, last)]
    return row[0] * 12 + row[1] if sex == "M" else row[2] * 12 + row[3]


def retirement_date(dob: dt.date, sex: str) -> dt.date:
    """Last day of service under the roadmap of NĐ 135/2020 (quality-rules.md §5, SONG-010).

    The smallest year Y ≥ 2021 in which ``dob`` + age(Y) falls; retirement takes effect at
    the end of that month. People who reached the pre-2021 age before 2021 retired then.
    """
    before = add_months_date(dob, retirement_age_months(2020, sex))
    if before.year < 2021:
        reached = before
    else:
        year = 2021
        while True:
            reached = add_months_date(dob, retirement_age_months(year, sex))
            if reached.year <= year:
                break
            year += 1
    last = calendar.monthrange(reached.year, reached.month)[1]
    return dt.date(reached.year, reached.month, last)
