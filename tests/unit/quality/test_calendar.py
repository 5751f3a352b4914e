"""Working days, deadlines, retirement and partial dates (quality-rules.md §5).

Expected dates are facts from the decrees and the government's announcements, or worked by
hand in the comments, never values printed by the code under test. The vectorised forms are
checked against the plain-Python ones on thousands of seeded random values.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from calendar import monthrange
from pathlib import Path

import holidays
import polars as pl
import pytest

from hoso.catalog.loader import get_catalog
from hoso.generate.dates import retirement_date as generator_retirement_date
from hoso.quality.calendar import (
    SEX_FEMALE,
    SEX_MALE,
    WEEK_MASK,
    CalendarFileError,
    CalendarOverride,
    DayKind,
    PartialDate,
    Precision,
    WorkingCalendar,
    add_months,
    compare_partial,
    compare_partial_expr,
    days_late,
    days_late_expr,
    default_calendar,
    local_date,
    local_date_expr,
    months_between,
    parse_overrides,
    parse_partial,
    retirement_age_months,
    retirement_date,
    retirement_table,
    working_days_late,
)

D = dt.date
UTC = dt.UTC

# Lunar New Year's day (mùng 1 Tết), from the lunar calendar.
TET = {2025: D(2025, 1, 29), 2026: D(2026, 2, 17), 2027: D(2027, 2, 6)}


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    """The library calendar, without overrides."""
    return WorkingCalendar()


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


# --------------------------------------------------------------------------- known days


def test_tet_2026_is_off_from_16_to_20_february(cal: WorkingCalendar) -> None:
    # Tết Bính Ngọ: 17/02/2026 is mùng 1. Civil servants are off Sat 14/02 - Sun 22/02/2026,
    # i.e. the weekdays 16-20 February; Friday 13 and Monday 23 are working days.
    assert cal.is_working_day(D(2026, 2, 13))
    for day in _days(D(2026, 2, 14), D(2026, 2, 22)):
        assert not cal.is_working_day(day), day
    assert cal.is_working_day(D(2026, 2, 23))
    names = {d: vi for d, vi, _ in cal.holidays(2026)}
    assert names[TET[2026]] == "Tết Nguyên Đán"
    assert names[D(2026, 2, 16)] == "Giao thừa Tết Nguyên Đán"


def test_tet_2025_weekdays_27_to_31_january_are_off(cal: WorkingCalendar) -> None:
    # Tết Ất Tỵ: 29/01/2025 is mùng 1; civil servants off Sat 25/01 - Sun 02/02/2025.
    for day in _days(D(2025, 1, 25), D(2025, 2, 2)):
        assert not cal.is_working_day(day), day
    assert cal.is_working_day(D(2025, 1, 24))
    assert cal.is_working_day(D(2025, 2, 3))


def test_tet_2027_falls_on_a_saturday_and_its_weekdays_are_off(cal: WorkingCalendar) -> None:
    assert TET[2027].weekday() == 5  # Saturday
    # Eve (Fri 05/02), mùng 3 and mùng 4 (Mon 08/02, Tue 09/02) are weekdays off.
    for day in (D(2027, 2, 5), D(2027, 2, 8), D(2027, 2, 9)):
        assert not cal.is_working_day(day), day


def test_national_day_is_two_days(cal: WorkingCalendar) -> None:
    # Bộ luật Lao động 2019 Art. 112: 2/9 and the day before or after it.
    assert not cal.is_working_day(D(2025, 9, 1))  # Mon
    assert not cal.is_working_day(D(2025, 9, 2))  # Tue
    assert cal.is_working_day(D(2025, 9, 3))
    assert not cal.is_working_day(D(2027, 9, 2))  # Thu
    assert not cal.is_working_day(D(2027, 9, 3))  # Fri
    assert cal.is_working_day(D(2027, 9, 1))
    for year in (2025, 2026, 2027):
        national = [d for d, vi, _ in cal.holidays(year) if vi == "Quốc khánh"]
        assert len(national) == 2 and D(year, 9, 2) in national, year


def test_other_fixed_and_lunar_holidays(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(D(2026, 1, 1))  # Tết Dương lịch
    assert not cal.is_working_day(D(2025, 4, 7))  # Giỗ Tổ Hùng Vương, 10/3 lunar 2025
    assert not cal.is_working_day(D(2026, 4, 30))  # Thu, Ngày Chiến thắng
    assert not cal.is_working_day(D(2026, 5, 1))  # Fri, Quốc tế Lao động
    # 10/3 lunar 2026 is Sunday 26/04: the day off moves to Monday 27/04 (nghỉ bù).
    assert D(2026, 4, 26).weekday() == 6
    assert not cal.is_working_day(D(2026, 4, 27))
    assert cal.is_working_day(D(2026, 4, 28))


def test_the_2025_swap_makes_saturday_26_april_a_working_day(cal: WorkingCalendar) -> None:
    # Government swap for 30/4-1/5/2025: work Sat 26/04, rest Fri 02/05.
    assert cal.is_working_day(D(2025, 4, 26))
    assert not cal.is_working_day(D(2025, 4, 27))  # Sunday stays off
    assert not cal.is_working_day(D(2025, 5, 2))
    assert D(2025, 4, 26) in cal.make_up_days(2025)
    # Fri 25/04 + 1 working day is that Saturday; +2 is Mon 28/04.
    assert cal.add_working_days(D(2025, 4, 25), 1) == D(2025, 4, 26)
    assert cal.add_working_days(D(2025, 4, 25), 2) == D(2025, 4, 28)


def test_weekends(cal: WorkingCalendar) -> None:
    friday, saturday, sunday, monday = D(2026, 3, 6), D(2026, 3, 7), D(2026, 3, 8), D(2026, 3, 9)
    assert cal.is_working_day(friday) and cal.is_working_day(monday)
    assert not cal.is_working_day(saturday) and not cal.is_working_day(sunday)
    assert cal.add_working_days(friday, 1) == monday
    assert cal.add_working_days(saturday, 1) == monday
    assert cal.add_working_days(sunday, 2) == D(2026, 3, 10)
    assert cal.working_days_between(friday, monday) == 1
    assert cal.working_days_between(friday, sunday) == 0
    assert cal.working_days_between(monday, friday) == -1
    assert cal.add_working_days(saturday, 0) == saturday
    with pytest.raises(ValueError):
        cal.add_working_days(friday, -1)


def test_deadline_crossing_tet_2026(cal: WorkingCalendar) -> None:
    # Event on Fri 13/02/2026, the last working day before Tết: days 1-3 are 23, 24, 25 Feb.
    event = D(2026, 2, 13)
    assert cal.add_working_days(event, 1) == D(2026, 2, 23)
    assert cal.add_working_days(event, 3) == D(2026, 2, 25)
    assert cal.working_days_between(event, D(2026, 2, 25)) == 3
    assert not cal.working_days_late(event, D(2026, 2, 25), D(2026, 3, 31), 3)
    assert cal.working_days_late(event, D(2026, 2, 26), D(2026, 3, 31), 3)
    assert not cal.working_days_late(event, None, D(2026, 2, 25), 3)
    assert cal.working_days_late(event, None, D(2026, 2, 26), 3)
    # Not done during Tết is not late: no working day has passed yet.
    assert not working_days_late(event, None, D(2026, 2, 22), 0)


def test_done_on_the_weekend_after_the_deadline_day_is_on_time(cal: WorkingCalendar) -> None:
    # Wed 04/03/2026 + 2 working days = Fri 06/03; Saturday adds no working day.
    assert not cal.working_days_late(D(2026, 3, 4), D(2026, 3, 7), D(2026, 3, 31), 2)
    assert cal.working_days_late(D(2026, 3, 4), D(2026, 3, 9), D(2026, 3, 31), 2)


def test_agrees_with_the_librarys_own_working_day_test(cal: WorkingCalendar) -> None:
    library = holidays.country_holidays("VN", years=range(2020, 2031))
    for day in _days(D(2020, 1, 1), D(2030, 12, 31)):
        assert cal.is_working_day(day) == library.is_working_day(day), day


def test_library_weekend_workdays_of_other_years_do_not_leak(cal: WorkingCalendar) -> None:
    # holidays 0.109 puts the 2014-12-27 and 2019-01-05 swaps in every year's set.
    for year in (2025, 2026, 2027):
        assert all(d.year == year and d.weekday() >= 5 for d in cal.make_up_days(year))
    assert D(2019, 1, 5) in cal.make_up_days(2019)
    assert cal.is_working_day(D(2019, 1, 5))  # Saturday worked for the 31/12/2018 day off


def test_holiday_names_are_vietnamese_with_english_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGUAGE", "en_US")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    rows = {d: (vi, en) for d, vi, en in WorkingCalendar().holidays(2026)}
    assert rows[D(2026, 4, 30)] == ("Ngày Chiến thắng", "Liberation Day/Reunification Day")
    assert rows[D(2026, 9, 2)] == ("Quốc khánh", "National Day")
    assert rows[D(2026, 1, 1)] == ("Tết Dương lịch", "New Year's Day")
    for vi, _ in rows.values():
        assert unicodedata.normalize("NFC", vi) == vi


def test_holidays_lists_weekend_holidays_and_holiday_dates_only_weekdays(
    cal: WorkingCalendar,
) -> None:
    listed = [d for d, _, _ in cal.holidays(2027)]
    assert TET[2027] in listed  # a Saturday, listed for information
    weekdays = cal.holiday_dates(2027, 2027)
    assert TET[2027] not in weekdays
    assert weekdays == sorted(d for d in listed if d.weekday() < 5)
    assert all(not cal.is_working_day(d) for d in weekdays)


# --------------------------------------------------------------------------- overrides


OVERRIDES_CSV = (
    "\ufeffdate,kind,name_vi,name_en\n"
    "2027-02-11,off,Nghỉ thêm dịp Tết,Extra Tết day off\n"
    "\n"
    "2027-02-20,work,Làm bù cho ngày 11/02/2027,\n"
    "2027-02-10,work,Đi làm mùng năm,Work on the fifth day\n"
)


def test_overrides_add_days_off_and_make_up_days() -> None:
    cal = WorkingCalendar(parse_overrides(OVERRIDES_CSV))
    base = default_calendar()
    # Thu 11/02/2027 is a working day in the library; the file makes it a day off.
    assert base.is_working_day(D(2027, 2, 11)) and not cal.is_working_day(D(2027, 2, 11))
    # Sat 20/02/2027 becomes a working day.
    assert not base.is_working_day(D(2027, 2, 20)) and cal.is_working_day(D(2027, 2, 20))
    assert cal.make_up_days(2027) == [D(2027, 2, 20)]
    # Wed 10/02/2027 (mùng 5, a library day off) becomes a working day.
    assert not base.is_working_day(D(2027, 2, 10)) and cal.is_working_day(D(2027, 2, 10))
    names = {d: (vi, en) for d, vi, en in cal.holidays(2027)}
    assert names[D(2027, 2, 11)] == ("Nghỉ thêm dịp Tết", "Extra Tết day off")
    assert D(2027, 2, 10) not in names
    assert D(2027, 2, 11) in cal.holiday_dates(2027, 2027)
    assert D(2027, 2, 10) not in cal.holiday_dates(2027, 2027)
    # Fri 19/02 + 1 = the make-up Saturday 20/02.
    assert cal.add_working_days(D(2027, 2, 19), 1) == D(2027, 2, 20)
    assert [o.kind for o in cal.overrides] == [DayKind.WORK, DayKind.OFF, DayKind.WORK]


def test_an_off_override_cancels_a_library_make_up_saturday() -> None:
    cal = WorkingCalendar([CalendarOverride(D(2025, 4, 26), DayKind.OFF, "Hủy làm bù")])
    assert not cal.is_working_day(D(2025, 4, 26))
    assert cal.make_up_days(2025) == []
    assert cal.add_working_days(D(2025, 4, 25), 1) == D(2025, 4, 28)


def test_override_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(OVERRIDES_CSV, encoding="utf-8")
    assert not WorkingCalendar.from_csv(path).is_working_day(D(2027, 2, 11))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("day,kind,name_vi\n2027-02-11,off,X\n", "date"),
        ("date,kind,name_vi\n2027-2-11,off,X\n", "dòng 2"),
        ("date,kind,name_vi\n20270211,off,X\n", "20270211"),
        ("date,kind,name_vi\n2027-02-30,off,X\n", "2027-02-30"),
        ("date,kind,name_vi\n2027-02-11,holiday,X\n", "holiday"),
        ("date,kind,name_vi\n2027-02-11,off,\n", "name_vi"),
        ("date,kind,name_vi\n2027-02-11,off,X\n2027-02-11,work,Y\n", "dòng 3"),
    ],
)
def test_malformed_override_files_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(CalendarFileError) as err:
        parse_overrides(text, source="lich.csv")
    message = str(err.value)
    assert fragment in message
    assert "lich.csv" in message and " / " in message  # Vietnamese, then English


def test_duplicate_overrides_in_code_are_refused() -> None:
    item = CalendarOverride(D(2027, 1, 4), DayKind.OFF, "Nghỉ")
    with pytest.raises(ValueError):
        WorkingCalendar([item, item])


# --------------------------------------------------------------------------- Polars


def _tet_windows(rng: random.Random, count: int) -> list[dt.date]:
    return [
        TET[rng.choice(list(TET))] + dt.timedelta(days=rng.randint(-45, 45)) for _ in range(count)
    ]


def test_polars_business_day_functions_match_around_tet(cal: WorkingCalendar) -> None:
    rng = random.Random(20260217)
    starts = _tet_windows(rng, 4000)
    ends = [d + dt.timedelta(days=rng.randint(-40, 40)) for d in starts]
    steps = [rng.randint(1, 12) for _ in starts]
    hol = cal.holiday_dates(2024, 2028)
    frame = pl.DataFrame({"a": starts, "b": ends, "n": steps}).with_columns(
        # (a, b] forwards; Polars counts -(b, a] by itself backwards (see the next test).
        count=pl.when(pl.col("a") <= pl.col("b"))
        .then(
            pl.business_day_count(
                pl.col("a") + pl.duration(days=1),
                pl.col("b") + pl.duration(days=1),
                week_mask=WEEK_MASK,
                holidays=hol,
            )
        )
        .otherwise(pl.business_day_count("a", "b", week_mask=WEEK_MASK, holidays=hol)),
        # roll="backward": a start on a day off counts from the working day before it,
        # which has the same working days after it (day 1 = first working day after).
        due=pl.col("a").dt.add_business_days(
            pl.col("n"), week_mask=WEEK_MASK, holidays=hol, roll="backward"
        ),
    )
    make_up = [d for y in range(2024, 2029) for d in cal.make_up_days(y)]
    for a, b, n, count, due in frame.iter_rows():
        # Premise: no make-up weekend day in the span (Polars cannot add one back).
        assert not any(min(a, b) <= d <= max(a, b, due) for d in make_up), (a, b, due)
        assert count == cal.working_days_between(a, b), (a, b)
        assert due == cal.add_working_days(a, n), (a, n)
    assert sum(1 for a in starts if not cal.is_working_day(a)) > 1000  # starts on days off too


def test_polars_business_day_count_is_not_antisymmetric() -> None:
    # Pinned, because working_days_between_expr relies on it: [s, e) forwards, -(e, s]
    # backwards. Mon 02/03/2026 .. Sat 07/03/2026.
    def count(s: dt.date, e: dt.date) -> int:
        return int(pl.select(pl.business_day_count(pl.lit(s), pl.lit(e))).item())

    assert count(D(2026, 3, 2), D(2026, 3, 7)) == 5  # Mon-Fri
    assert count(D(2026, 3, 7), D(2026, 3, 2)) == -4  # Tue-Fri, not -5


def test_plain_polars_misses_make_up_saturdays(cal: WorkingCalendar) -> None:
    hol = cal.holiday_dates(2025, 2025)
    frame = pl.DataFrame({"a": [D(2025, 4, 25)], "b": [D(2025, 4, 28)]})
    plain = frame.select(
        pl.business_day_count(
            pl.col("a") + pl.duration(days=1), pl.col("b") + pl.duration(days=1), holidays=hol
        )
    ).item()
    exact = frame.select(
        cal.working_days_between_expr(pl.col("a"), pl.col("b"), start_year=2025, end_year=2025)
    ).item()
    # (25/04, 28/04] holds Sat 26/04 (make-up) and Mon 28/04: two working days.
    assert (plain, exact) == (1, 2)


def _exact_exprs_agree(cal: WorkingCalendar, seed: int) -> None:
    rng = random.Random(seed)
    first, last = D(2025, 1, 1), D(2027, 10, 31)
    span = (last - first).days
    starts = [first + dt.timedelta(days=rng.randint(0, span)) for _ in range(3000)]
    # Half of them next to a make-up day, where plain Polars is wrong.
    specials = [d for y in (2025, 2026, 2027) for d in cal.make_up_days(y)]
    starts[::2] = [
        rng.choice(specials) + dt.timedelta(days=rng.randint(-12, 3)) for _ in starts[::2]
    ]
    ends = [d + dt.timedelta(days=rng.randint(-60, 60)) for d in starts]
    steps = [rng.randint(0, 15) for _ in starts]
    dones = [
        None if rng.random() < 0.3 else d + dt.timedelta(days=rng.randint(0, 20)) for d in starts
    ]
    as_of = D(2026, 6, 15)
    frame = pl.DataFrame(
        {"a": starts, "b": ends, "n": steps, "done": dones}, schema_overrides={"done": pl.Date}
    ).with_columns(
        count=cal.working_days_between_expr(
            pl.col("a"), pl.col("b"), start_year=2024, end_year=2028
        ),
        due=cal.add_working_days_expr(pl.col("a"), pl.col("n"), start_year=2024, end_year=2028),
        late=cal.working_days_late_expr(
            pl.col("a"), pl.col("done"), as_of, 3, start_year=2024, end_year=2028
        ),
    )
    for a, b, n, done, count, due, late in frame.iter_rows():
        assert count == cal.working_days_between(a, b), (a, b)
        assert due == cal.add_working_days(a, n), (a, n)
        assert late == cal.working_days_late(a, done, as_of, 3), (a, done)


def test_exact_expressions_agree_with_python_including_make_up_days(cal: WorkingCalendar) -> None:
    _exact_exprs_agree(cal, 42)


def test_exact_expressions_agree_with_python_with_overrides() -> None:
    _exact_exprs_agree(WorkingCalendar(parse_overrides(OVERRIDES_CSV)), 7)


def test_add_working_days_expr_is_null_outside_its_years(cal: WorkingCalendar) -> None:
    frame = pl.DataFrame({"d": [D(2023, 12, 29), D(2025, 12, 31), D(2025, 6, 2)]})
    out = frame.select(cal.add_working_days_expr(pl.col("d"), 5, start_year=2024, end_year=2025))
    assert out.to_series().to_list() == [None, None, D(2025, 6, 9)]


# --------------------------------------------------------------------------- calendar days


def test_days_late_follows_section_5() -> None:
    event = D(2026, 3, 1)
    assert not days_late(event, D(2026, 3, 4), D(2026, 12, 31), 3)  # 3 ≤ 3
    assert days_late(event, D(2026, 3, 5), D(2026, 12, 31), 3)  # 4 > 3
    assert not days_late(event, None, D(2026, 3, 4), 3)
    assert days_late(event, None, D(2026, 3, 5), 3)
    assert not days_late(D(2026, 2, 28), D(2026, 3, 1), D(2026, 3, 1), 1)  # across month end
    assert days_late(D(2026, 2, 28), D(2026, 3, 2), D(2026, 3, 2), 1)


def test_days_late_expr_matches_python() -> None:
    rng = random.Random(3)
    events = [D(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300)) for _ in range(2000)]
    dones = [
        None if rng.random() < 0.4 else e + dt.timedelta(days=rng.randint(0, 8)) for e in events
    ]
    as_of = D(2026, 7, 1)
    frame = pl.DataFrame({"e": events, "d": dones}, schema_overrides={"d": pl.Date})
    late = frame.select(days_late_expr(pl.col("e"), pl.col("d"), as_of, 3)).to_series()
    expected = [days_late(e, d, as_of, 3) for e, d in zip(events, dones, strict=True)]
    assert late.to_list() == expected
    assert 0 < sum(expected) < len(expected)


def test_local_date_is_the_date_in_ho_chi_minh_city() -> None:
    # UTC+7, no daylight saving: 17:00 UTC is midnight in Hà Nội.
    assert local_date(dt.datetime(2026, 2, 16, 16, 59, 59, tzinfo=UTC)) == D(2026, 2, 16)
    assert local_date(dt.datetime(2026, 2, 16, 17, 0, tzinfo=UTC)) == D(2026, 2, 17)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert local_date(dt.datetime(2026, 2, 17, 1, 30, tzinfo=tokyo)) == D(2026, 2, 16)
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 2, 16, 17, 0))


def test_local_date_expr_matches_python() -> None:
    rng = random.Random(5)
    stamps = [
        dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=rng.randint(0, 400 * 86400))
        for _ in range(2000)
    ]
    stamps += [
        dt.datetime(2026, 2, 16, 17, 0, tzinfo=UTC),
        dt.datetime(2026, 2, 16, 16, 59, tzinfo=UTC),
    ]
    frame = pl.DataFrame({"ts": stamps}, schema={"ts": pl.Datetime("us", "UTC")})
    got = frame.select(local_date_expr(pl.col("ts"))).to_series().to_list()
    assert got == [local_date(s) for s in stamps]


# --------------------------------------------------------------------------- retirement


def test_sex_codes_are_those_of_the_catalogue() -> None:
    assert set(get_catalog().codelists["sex"].codes) == {SEX_MALE, SEX_FEMALE}


def test_retirement_ages_follow_the_roadmap_text() -> None:
    # SONG-010: men 60y3m in 2021 + 3 months a year up to 62 (2028); women 55y4m in 2021
    # + 4 months a year up to 60 (2035); before 2021 60 / 55.
    for year in range(2010, 2021):
        assert retirement_age_months(year, SEX_MALE) == 60 * 12
        assert retirement_age_months(year, SEX_FEMALE) == 55 * 12
    for year in range(2021, 2060):
        assert retirement_age_months(year, SEX_MALE) == min(60 * 12 + 3 * (year - 2020), 62 * 12)
        assert retirement_age_months(year, SEX_FEMALE) == min(55 * 12 + 4 * (year - 2020), 60 * 12)
    with pytest.raises(ValueError):
        retirement_age_months(2025, "X")


@pytest.mark.parametrize(
    ("dob", "sex", "expected"),
    [
        # §5 worked example: 60y3m would be 2022-01-15 (not in 2021); 60y6m = 2022-04-15.
        (D(1961, 10, 15), SEX_MALE, D(2022, 4, 30)),
        # 60y3m in 2021: 1961-01-15 + 60y3m = 2021-04-15.
        (D(1961, 1, 15), SEX_MALE, D(2021, 4, 30)),
        # 60 reached in December 2020: the pre-roadmap age applies.
        (D(1960, 12, 31), SEX_MALE, D(2020, 12, 31)),
        # 61y9m (2027) from 1966-01 is 2027-10; in 2027: retires then, before 62.
        (D(1966, 1, 20), SEX_MALE, D(2027, 10, 31)),
        # 1966-04 + 61y9m = 2028-01 (not 2027); + 62y = 2028-04.
        (D(1966, 4, 2), SEX_MALE, D(2028, 4, 30)),
        # Women: 1966-01-10 + 55y4m = 2021-05-10.
        (D(1966, 1, 10), SEX_FEMALE, D(2021, 5, 31)),
        # 1980-05 + 59y8m (2034) = 2040-01, not 2034; from 2035 on age 60: 2040-05.
        (D(1980, 5, 31), SEX_FEMALE, D(2040, 5, 31)),
    ],
)
def test_retirement_date_known_cases(dob: dt.date, sex: str, expected: dt.date) -> None:
    assert retirement_date(dob, sex) == expected


def test_retirement_of_a_woman_born_in_1968_follows_the_rule_by_hand() -> None:
    # 1968-02 + age(Y): 2021 55y4m → 2023-06; 2022 55y8m → 2023-10; 2023 56y → 2024-02;
    # 2024 56y4m → 2024-06, in 2024: the smallest Y is 2024, retirement 2024-06-30.
    assert retirement_date(D(1968, 2, 29), SEX_FEMALE) == D(2024, 6, 30)


def test_retirement_matches_the_generator_for_every_day_1950_2000() -> None:
    for day in _days(D(1950, 1, 1), D(2000, 12, 31)):
        for sex in (SEX_MALE, SEX_FEMALE):
            assert retirement_date(day, sex) == generator_retirement_date(day, sex), (day, sex)


def test_retirement_depends_only_on_the_month_of_birth() -> None:
    for year in range(1950, 2001):
        for month in range(1, 13):
            for sex in (SEX_MALE, SEX_FEMALE):
                dates = {
                    retirement_date(D(year, month, day), sex)
                    for day in range(1, monthrange(year, month)[1] + 1)
                }
                assert len(dates) == 1, (year, month, sex)
                (only,) = dates
                assert only.day == monthrange(only.year, only.month)[1]  # a month end


def test_retirement_table_joins_on_year_and_month_of_birth() -> None:
    table = retirement_table(1950, 2000)
    assert table.height == 51 * 12 * 2
    assert table.select(pl.struct("sex", "birth_year", "birth_month").is_unique().all()).item()
    rng = random.Random(11)
    dobs = [D(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 18627)) for _ in range(3000)]
    sexes = [rng.choice((SEX_MALE, SEX_FEMALE)) for _ in dobs]
    people = pl.DataFrame({"dob": dobs, "sex": sexes}).with_row_index("i")
    joined = (
        people.with_columns(
            birth_year=pl.col("dob").dt.year(), birth_month=pl.col("dob").dt.month()
        )
        .join(table, on=["sex", "birth_year", "birth_month"], how="left")
        .sort("i")
    )
    assert joined["retirement_date"].to_list() == [
        generator_retirement_date(d, s) for d, s in zip(dobs, sexes, strict=True)
    ]


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),
        (D(2025, 1, 15), -13, D(2023, 12, 15)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 5, 31), 0, D(2024, 5, 31)),
    ],
)
def test_add_months_known_cases(day: dt.date, n: int, expected: dt.date) -> None:
    assert add_months(day, n) == expected


def test_add_months_matches_polars_offset_by() -> None:
    rng = random.Random(9)
    days = [D(1990, 1, 1) + dt.timedelta(days=rng.randint(0, 15000)) for _ in range(3000)]
    steps = [rng.randint(-150, 150) for _ in days]
    frame = pl.DataFrame({"d": days, "n": steps}).with_columns(
        o=pl.col("d").dt.offset_by(pl.format("{}mo", pl.col("n")))
    )
    for day, n, offset in frame.iter_rows():
        assert add_months(day, n) == offset, (day, n)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2024, 1, 15), D(2024, 2, 14), 0),
        (D(2024, 1, 15), D(2024, 2, 15), 1),
        (D(2024, 1, 31), D(2024, 2, 29), 1),
        (D(2024, 1, 31), D(2024, 2, 28), 0),
        (D(2024, 1, 15), D(2025, 1, 15), 12),
        (D(2008, 3, 1), D(2026, 2, 28), 215),
        (D(2024, 2, 15), D(2024, 1, 15), -1),
        (D(2024, 2, 14), D(2024, 1, 15), 0),
    ],
)
def test_months_between_known_cases(start: dt.date, end: dt.date, expected: int) -> None:
    assert months_between(start, end) == expected


def test_months_between_is_the_largest_whole_number_of_months() -> None:
    rng = random.Random(13)
    for _ in range(2000):
        start = D(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 9000))
        end = start + dt.timedelta(days=rng.randint(0, 800))
        m = months_between(start, end)
        assert add_months(start, m) <= end < add_months(start, m + 1), (start, end)
        assert months_between(end, start) == -m
        n = rng.randint(-200, 200)
        assert months_between(start, add_months(start, n)) == n, (start, n)


# --------------------------------------------------------------------------- partial dates


def test_parse_partial() -> None:
    assert parse_partial("2008") == PartialDate(D(2008, 1, 1), Precision.YEAR)
    assert parse_partial("2008-09") == (D(2008, 9, 1), Precision.YEAR_MONTH)
    assert parse_partial("2008-09-15") == (D(2008, 9, 15), Precision.DATE)
    assert parse_partial("2024-02-29").lower == D(2024, 2, 29)
    assert [p.field_type for p in Precision] == ["year", "year_month", "date"]


@pytest.mark.parametrize(
    "text",
    ["2023-02-30", "2008-13", "2008-00", "2008-9", "08-09", " 2008", "2008-09-15T00:00",
     "２００８", "0000", "2008/09", "", "2008-09-"],
)  # fmt: skip
def test_parse_partial_refuses_malformed_or_impossible(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partial(text)


def test_compare_partial_at_the_coarser_precision() -> None:
    assert compare_partial("2008-09", "2008-09-15") == 0  # §5: not before
    assert compare_partial("2008-08", "2008-09-15") == -1
    assert compare_partial("2008-09-16", "2008-09-15") == 1
    assert compare_partial("2008", "2008-12-31") == 0
    assert compare_partial("2008", "2009-01-01") == -1
    assert compare_partial("2009-01", "2008") == 1
    assert compare_partial(parse_partial("2008-09-15"), "2008-09-15") == 0


def _random_partial(rng: random.Random) -> str:
    day = D(2005, 1, 1) + dt.timedelta(days=rng.randint(0, 1500))
    return day.isoformat()[: rng.choice((4, 7, 10))]


def test_compare_partial_expr_matches_python() -> None:
    rng = random.Random(17)
    left = [_random_partial(rng) for _ in range(4000)]
    right = [_random_partial(rng) for _ in range(4000)]
    for i in range(0, 4000, 4):  # many near-equal pairs
        right[i] = left[i][:4] + right[i][4:] if len(right[i]) > 4 else left[i][:4]
    frame = pl.DataFrame({"a": [*left, None], "b": [*right, "2008"]})
    got = frame.select(compare_partial_expr(pl.col("a"), pl.col("b"))).to_series().to_list()
    expected = [compare_partial(a, b) for a, b in zip(left, right, strict=True)]
    assert got == [*expected, None]
    assert {-1, 0, 1} <= set(expected)
    assert all(
        compare_partial(a, b) == -compare_partial(b, a) for a, b in zip(left, right, strict=True)
    )
