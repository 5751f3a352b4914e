"""Careers: rank families and ladders, salary timelines on the scale, leadership posts.

Everything numeric comes from the catalogue: a rank's salary group from ``rank.csv``, the
group's steps and step interval from ``salary_group.csv``, coefficients from
``salary_scale.csv`` and position allowances from ``position.csv``.

A **family** is a line of ranks a person climbs (Chuyên viên → Chuyên viên chính → Chuyên viên
cao cấp; Giáo viên THPT hạng III → II → I; Bác sĩ hạng III → II → I …). A **profile** of an
employing unit (see :mod:`hoso.generate.context`) employs a weighted mix of families.

:func:`salary_timeline` plays the salary rules forward from recruitment: step 1 at
recruitment, one step every ``step_interval_months`` until the group's last step, then the
seniority allowance beyond the last step (PCTNVK) 5 % after one more interval and +1 % a
year; on a promotion the new rank starts at the lowest step whose coefficient is not lower
than the old one. So the current salary is always on the scale, the last increase is less
than one interval ago (no SONG-007 finding) and ``rank_appointment_date`` ≤
``salary_effective_date`` (DUNG-015).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from hoso.catalog.loader import get_catalog
from hoso.generate.dates import add_months, months_between
from hoso.generate.names import Pool


@dataclass(frozen=True, slots=True)
class Family:
    """A line of ranks with what goes with it (title, duties, education, job-position group)."""

    id: str
    ladder: tuple[tuple[str, int, float], ...]
    """(rank code, minimum years of service to hold it, probability to reach it)."""
    title: str
    """Work-history title of a holder without a leadership post."""
    education: str
    """Education path (see ``people._education``)."""
    support: bool = False
    """True for support and service staff (job-position group HO_TRO_PHUC_VU)."""


F = Family
FAMILIES: dict[str, Family] = {
    f.id: f
    for f in (
        F("cc_general", (("01.003", 0, 1.0), ("01.002", 9, 0.45), ("01.001", 18, 0.15)), "Chuyên viên", "admin"),
        F("cc_account", (("06.031", 0, 1.0), ("06.030", 9, 0.4), ("06.029", 18, 0.08)), "Kế toán viên", "finance"),
        F("cc_account_mid", (("06.032", 0, 1.0),), "Kế toán viên trung cấp", "finance_mid"),
        F("cc_inspect", (("04.025", 0, 1.0), ("04.024", 9, 0.45), ("04.023", 18, 0.12)), "Thanh tra viên", "inspect"),
        F("cc_archive", (("02.007", 0, 1.0), ("02.006", 10, 0.3)), "Văn thư viên", "archive"),
        F("cc_archive_mid", (("02.008", 0, 1.0),), "Văn thư", "archive_mid", support=True),
        F("cc_clerk", (("01.004", 0, 1.0),), "Cán sự", "clerk"),
        F("cc_staff", (("01.005", 0, 1.0),), "Nhân viên", "staff", support=True),
        F("vc_mn", (("V.07.02.26", 0, 1.0), ("V.07.02.25", 6, 0.55), ("V.07.02.24", 15, 0.1)), "Giáo viên", "teacher_mn"),
        F("vc_th", (("V.07.03.29", 0, 1.0), ("V.07.03.28", 6, 0.6), ("V.07.03.27", 15, 0.12)), "Giáo viên", "teacher_th"),
        F("vc_thcs", (("V.07.04.32", 0, 1.0), ("V.07.04.31", 6, 0.6), ("V.07.04.30", 15, 0.12)), "Giáo viên", "teacher_thcs"),
        F("vc_thpt", (("V.07.05.15", 0, 1.0), ("V.07.05.14", 6, 0.6), ("V.07.05.13", 15, 0.15)), "Giáo viên", "teacher_thpt"),
        F("vc_lecturer", (("V.07.01.03", 0, 1.0), ("V.07.01.02", 7, 0.55), ("V.07.01.01", 15, 0.2)), "Giảng viên", "lecturer"),
        F("vc_doctor", (("V.08.01.03", 0, 1.0), ("V.08.01.02", 8, 0.5), ("V.08.01.01", 16, 0.12)), "Bác sĩ", "doctor"),
        F("vc_yhdp", (("V.08.02.06", 0, 1.0), ("V.08.02.05", 8, 0.45), ("V.08.02.04", 16, 0.1)), "Bác sĩ y học dự phòng", "yhdp"),
        F("vc_ysi", (("V.08.03.07", 0, 1.0),), "Y sĩ", "ysi"),
        F("vc_engineer", (("13.095", 0, 1.0), ("13.092", 9, 0.4)), "Kỹ sư", "engineer"),
        F("vc_tech", (("13.096", 0, 1.0),), "Kỹ thuật viên", "tech", support=True),
    )
}  # fmt: skip

_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "central_admin": (("cc_general", 80), ("cc_account", 7), ("cc_archive", 4), ("cc_archive_mid", 2), ("cc_clerk", 3), ("cc_staff", 4)),
    "province_admin": (("cc_general", 74), ("cc_account", 8), ("cc_archive", 4), ("cc_archive_mid", 2), ("cc_clerk", 6), ("cc_staff", 6)),
    "finance": (("cc_general", 55), ("cc_account", 30), ("cc_account_mid", 4), ("cc_archive", 4), ("cc_clerk", 4), ("cc_staff", 3)),
    "inspectorate": (("cc_inspect", 78), ("cc_general", 15), ("cc_archive", 4), ("cc_staff", 3)),
    "commune_admin": (("cc_general", 68), ("cc_clerk", 12), ("cc_account", 10), ("cc_archive_mid", 6), ("cc_staff", 4)),
    "school_mn": (("vc_mn", 95), ("vc_tech", 5)),
    "school_th": (("vc_th", 95), ("vc_tech", 5)),
    "school_thcs": (("vc_thcs", 94), ("vc_tech", 6)),
    "school_thpt": (("vc_thpt", 93), ("vc_tech", 7)),
    "university": (("vc_lecturer", 85), ("vc_engineer", 10), ("vc_tech", 5)),
    "hospital": (("vc_doctor", 65), ("vc_ysi", 15), ("vc_tech", 12), ("vc_engineer", 8)),
    "cdc": (("vc_yhdp", 60), ("vc_doctor", 10), ("vc_ysi", 15), ("vc_tech", 15)),
    "health_station": (("vc_ysi", 60), ("vc_doctor", 40)),
    "institute": (("vc_engineer", 75), ("vc_tech", 25)),
}  # fmt: skip

#: Share of women by profile (teachers and health staff are mostly women).
FEMALE_SHARE: dict[str, float] = {
    "central_admin": 0.5, "province_admin": 0.48, "finance": 0.6, "inspectorate": 0.35,
    "commune_admin": 0.42, "school_mn": 0.98, "school_th": 0.82, "school_thcs": 0.72,
    "school_thpt": 0.65, "university": 0.55, "hospital": 0.6, "cdc": 0.6,
    "health_station": 0.7, "institute": 0.45,
}  # fmt: skip

PROFILE_FAMILIES: dict[str, Pool[Family]] = {
    p: Pool([(FAMILIES[f], w) for f, w in mix]) for p, mix in _MIX.items()
}

# Leadership posts by unit head type: (position code, probability per person, min years of service).
POSITIONS: dict[str, tuple[tuple[str, float, int], ...]] = {
    "vu": (("VU_TRUONG", 0.03, 15), ("PHO_VU_TRUONG", 0.08, 10)),
    "cuc": (("CUC_TRUONG", 0.03, 15), ("PHO_CUC_TRUONG", 0.07, 10)),
    "division_central": (("TRUONG_PHONG_TW", 0.08, 10), ("PHO_TRUONG_PHONG_TW", 0.14, 6)),
    "so": (("GIAM_DOC_SO", 0.04, 15), ("PHO_GIAM_DOC_SO", 0.10, 10)),
    "division_province": (("TRUONG_PHONG_SO", 0.08, 10), ("PHO_TRUONG_PHONG_SO", 0.14, 6)),
    "commune": (("CHU_TICH_UBND_XA", 0.09, 10), ("PHO_CHU_TICH_UBND_XA", 0.18, 6)),
    "commune_division": (("TRUONG_PHONG_XA", 0.08, 8), ("PHO_TRUONG_PHONG_XA", 0.12, 5)),
    "school": (("HIEU_TRUONG", 0.015, 15), ("PHO_HIEU_TRUONG", 0.035, 10), ("TO_TRUONG", 0.07, 6), ("TO_PHO", 0.05, 4)),
    "university": (("HIEU_TRUONG", 0.002, 20), ("PHO_HIEU_TRUONG", 0.006, 15), ("TRUONG_KHOA", 0.02, 12), ("PHO_TRUONG_KHOA", 0.03, 8)),
    "hospital": (("GIAM_DOC_DVSN", 0.002, 20), ("PHO_GIAM_DOC_DVSN", 0.006, 15), ("TRUONG_KHOA", 0.03, 12), ("PHO_TRUONG_KHOA", 0.04, 8)),
    "psu": (("GIAM_DOC_DVSN", 0.02, 15), ("PHO_GIAM_DOC_DVSN", 0.05, 10)),
    "none": (),
}  # fmt: skip

#: Deputy post held before a head post.
DEPUTY_OF: dict[str, str] = {
    "VU_TRUONG": "PHO_VU_TRUONG", "CUC_TRUONG": "PHO_CUC_TRUONG",
    "TRUONG_PHONG_TW": "PHO_TRUONG_PHONG_TW", "GIAM_DOC_SO": "PHO_GIAM_DOC_SO",
    "TRUONG_PHONG_SO": "PHO_TRUONG_PHONG_SO", "CHU_TICH_UBND_XA": "PHO_CHU_TICH_UBND_XA",
    "TRUONG_PHONG_XA": "PHO_TRUONG_PHONG_XA", "HIEU_TRUONG": "PHO_HIEU_TRUONG",
    "TO_TRUONG": "TO_PHO", "TRUONG_KHOA": "PHO_TRUONG_KHOA", "GIAM_DOC_DVSN": "PHO_GIAM_DOC_DVSN",
}  # fmt: skip
HEAD_OF = {v: k for k, v in DEPUTY_OF.items()}

#: Allowance for posts whose coefficient position.csv leaves open (DUNG-023 then checks
#: the 0.10-1.30 range only) [I].
_OPEN_ALLOWANCE = {
    "GIAM_DOC_DVSN": "0.70", "PHO_GIAM_DOC_DVSN": "0.50", "HIEU_TRUONG": "0.50",
    "PHO_HIEU_TRUONG": "0.35", "TRUONG_KHOA": "0.50", "PHO_TRUONG_KHOA": "0.30",
}  # fmt: skip

#: Short printed titles of the posts.
POSITION_TITLE = {
    "VU_TRUONG": "Vụ trưởng", "PHO_VU_TRUONG": "Phó Vụ trưởng",
    "CUC_TRUONG": "Cục trưởng", "PHO_CUC_TRUONG": "Phó Cục trưởng",
    "TRUONG_PHONG_TW": "Trưởng phòng", "PHO_TRUONG_PHONG_TW": "Phó Trưởng phòng",
    "GIAM_DOC_SO": "Giám đốc", "PHO_GIAM_DOC_SO": "Phó Giám đốc",
    "TRUONG_PHONG_SO": "Trưởng phòng", "PHO_TRUONG_PHONG_SO": "Phó Trưởng phòng",
    "CHU_TICH_UBND_XA": "Chủ tịch", "PHO_CHU_TICH_UBND_XA": "Phó Chủ tịch",
    "TRUONG_PHONG_XA": "Trưởng phòng", "PHO_TRUONG_PHONG_XA": "Phó Trưởng phòng",
    "HIEU_TRUONG": "Hiệu trưởng", "PHO_HIEU_TRUONG": "Phó Hiệu trưởng",
    "TO_TRUONG": "Tổ trưởng chuyên môn", "TO_PHO": "Tổ phó chuyên môn",
    "TRUONG_KHOA": "Trưởng khoa", "PHO_TRUONG_KHOA": "Phó Trưởng khoa",
    "GIAM_DOC_DVSN": "Giám đốc", "PHO_GIAM_DOC_DVSN": "Phó Giám đốc",
}  # fmt: skip


def position_title(code: str, unit_name: str) -> str:
    """Printed title of a post in a unit (``Trưởng phòng Công chức, viên chức``)."""
    title = POSITION_TITLE.get(code, code)
    if unit_name.startswith("Văn phòng") and title in ("Vụ trưởng", "Trưởng phòng", "Giám đốc"):
        return "Chánh Văn phòng"
    if unit_name.startswith("Văn phòng") and title.startswith("Phó "):
        return "Phó Chánh Văn phòng"
    if unit_name.startswith("Thanh tra") and title in ("Vụ trưởng", "Giám đốc"):
        return "Chánh Thanh tra"
    if unit_name.startswith("Thanh tra") and title.startswith("Phó "):
        return "Phó Chánh Thanh tra"
    if unit_name.startswith("Viện") and title == "Giám đốc":
        return "Viện trưởng"
    if unit_name.startswith("Viện") and title == "Phó Giám đốc":
        return "Phó Viện trưởng"
    return title


@dataclass(frozen=True, slots=True)
class SalaryTables:
    """The salary data of the catalogue in the shapes the generator needs."""

    group_of: dict[str, str]
    """Rank code → salary group."""
    steps: dict[str, int]
    interval: dict[str, int]
    coef: dict[tuple[str, int], str]
    coef_value: dict[tuple[str, int], Decimal]
    allowance: dict[tuple[str, bool], str]
    """(position code, Hà Nội/TP.HCM) → allowance coefficient."""
    rank_label: dict[str, str]
    rank_type: dict[str, str]


@lru_cache
def salary_tables() -> SalaryTables:
    """Salary data from the shipped catalogue (cached)."""
    cat = get_catalog()
    ranks = cat.codelist("rank").codes
    groups = cat.codelist("salary_group").codes
    positions = cat.codelist("position").codes
    allowance: dict[tuple[str, bool], str] = {}
    for code, entry in positions.items():
        default = entry.extra.get("allowance_coefficient") or _OPEN_ALLOWANCE.get(code)
        if not default:
            continue
        alt = entry.extra.get("allowance_coefficient_alt") or ""
        big = alt if alt and "Hà Nội" in entry.extra.get("alt_condition", "") else default
        allowance[(code, False)] = default
        allowance[(code, True)] = big
    return SalaryTables(
        group_of={c: e.extra["salary_group"] for c, e in ranks.items()},
        steps={c: int(e.extra["steps"]) for c, e in groups.items()},
        interval={c: int(e.extra["step_interval_months"]) for c, e in groups.items()},
        coef=dict(cat.salary_scale),
        coef_value={k: Decimal(v) for k, v in cat.salary_scale.items()},
        allowance=allowance,
        rank_label={c: e.label_vi for c, e in ranks.items()},
        rank_type={c: e.extra["employee_type"] for c, e in ranks.items()},
    )


@dataclass(slots=True)
class SalaryEvent:
    """A change of rank or step, effective on ``key`` (a day key)."""

    key: int
    rank: str
    step: int


@dataclass(slots=True)
class Salary:
    """Outcome of :func:`salary_timeline`."""

    events: list[SalaryEvent]
    rank: str
    group: str
    step: int
    coefficient: str
    effective: int
    """Day key of the last event (``salary_effective_date``)."""
    rank_appointed: int
    """Day key of the current rank's start (``rank_appointment_date``)."""
    pctnvk: int | None = None
    pctnvk_key: int | None = None


def salary_timeline(rungs: list[tuple[str, int]], as_of: int, tables: SalaryTables) -> Salary:
    """Play the salary rules from the first rung to ``as_of`` (day keys).

    ``rungs`` are (rank code, start day key), in order; the first start is the recruitment.
    """
    events: list[SalaryEvent] = []
    step = 1
    coef = Decimal(0)
    group = ""
    last_step_key = 0
    for i, (rank, start) in enumerate(rungs):
        group = tables.group_of[rank]
        n_steps = tables.steps[group]
        if i == 0:
            step = 1
        else:
            step = next(
                (s for s in range(1, n_steps + 1) if tables.coef_value[(group, s)] >= coef),
                n_steps,
            )
        events.append(SalaryEvent(start, rank, step))
        coef = tables.coef_value[(group, step)]
        last_step_key = start
        end_month = (rungs[i + 1][1] >> 5) if i + 1 < len(rungs) else None
        interval = tables.interval[group]
        k = start
        while step < n_steps:
            k = add_months(k, interval)
            if k > as_of or (end_month is not None and (k >> 5) >= end_month):
                break
            step += 1
            events.append(SalaryEvent(k, rank, step))
            coef = tables.coef_value[(group, step)]
            last_step_key = k
    last = events[-1]
    salary = Salary(
        events=events,
        rank=last.rank,
        group=group,
        step=last.step,
        coefficient=tables.coef[(group, last.step)],
        effective=last.key,
        rank_appointed=rungs[-1][1],
    )
    if step == tables.steps[group]:
        first = add_months(last_step_key, tables.interval[group])
        if first <= as_of:
            years = months_between(first, as_of) // 12
            salary.pctnvk = min(5 + years, 40)
            salary.pctnvk_key = add_months(first, 12 * years)
    return salary
