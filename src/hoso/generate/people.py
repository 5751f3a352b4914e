"""Synthetic civil servants: full nd27 dossiers as bulk lines, streamed, with defect labels.

:func:`generate_people` yields ``(line, labels)`` pairs, one person at a time (memory stays
bounded: a fixed 16 MiB bit set and a few thousand ID counters, whatever the count). A line is the
bulk shape of exchange README §8, ``{"personal_id", "managing_agency", "employing_unit",
"data"}``; ``data`` holds catalogue fields by code in the JSON representation of the
catalogue's ``notes``: dates ``YYYY-MM-DD``, months ``YYYY-MM``, years and integers as JSON
integers, decimals as strings with exactly the field's ``scale`` decimals, codes of the code
lists valid on the relevant date, NFC text, and unknown values left out.

What makes the data realistic and internally consistent:

- names with diacritics at real frequencies (:mod:`hoso.generate.names`), the birth name in
  upper case; personal IDs ``PPP G YY RRRRRR`` with the legacy province of birth, the
  century/sex digit and the birth year (identifiers.md §1.1), unique within a run;
- working ages (men under 60, women under 56 on the as-of date, so nobody is past the
  retirement age of SONG-010), birth place, home town and residence with 2025 commune codes;
- a rank family matching the employing unit (teachers ``V.07.xx`` in schools, doctors
  ``V.08.xx`` in hospitals, civil-service ranks in offices), promotions after the usual years
  of service, salary steps and coefficients on ``salary_scale.csv`` and a salary history that
  replays them (:func:`hoso.generate.careers.salary_timeline`);
- education before recruitment, in-service training, a work history from the first
  recruitment to today with one open row, leadership posts with appointment dates and
  allowances, Party and Youth Union dates in the right order, yearly ratings;
- a family whose birth years fit (parents ≥ 19 years older, children born when the person
  was 23 or more), spouse-side relatives for married people.

A clean person passes every data-level rule of ``quality-rules.csv`` on the as-of date
(``DEFAULT_AS_OF`` unless given); run the quality engine with the same as-of date.

Defects (``defect_rate`` > 0) are injected by :mod:`hoso.generate.defects`, which documents
how each category is represented. :func:`generate_registry` yields the matching view of the
population registry (the "truth" the SACH-009/010/011 rules compare with).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from collections.abc import Iterator
from random import Random
from typing import Any

from hoso.generate import texts as tx
from hoso.generate.careers import (
    DEPUTY_OF,
    FEMALE_SHARE,
    HEAD_OF,
    POSITIONS,
    PROFILE_FAMILIES,
    Family,
    SalaryTables,
    position_title,
    salary_tables,
    salary_timeline,
)
from hoso.generate.context import (
    BIG_CITIES,
    NORTH_MOUNTAIN,
    SOUTH,
    Geography,
    UnitInfo,
    employing_units,
    geography,
)
from hoso.generate.dates import (
    add_months,
    add_months_date,
    iso,
    key,
    key_of,
    months_between,
    ym,
    ym_of,
)
from hoso.generate.model import Identity, Label, Line, Person
from hoso.generate.names import (
    Pool,
    birth_name,
    given_name,
    middle_name,
    surname_pool,
    weighted,
)
from hoso.generate.orgs import OrgUnitDict, generate_orgs, locality, lower_type
from hoso.generate.sections import HIGH_POSTS, STRENGTHS, TEAM_POSTS, Sections, region

__all__ = [
    "DEFAULT_AS_OF",
    "REGISTRY_FIELDS",
    "Generator",
    "IdAllocator",
    "Identity",
    "Label",
    "Line",
    "Person",
    "SeenKeys",
    "century_sex_digit",
    "generate_people",
    "generate_registry",
    "iter_people",
    "registry_entry",
]

DEFAULT_AS_OF = dt.date(2026, 11, 23)
"""The date the generated data describes (the quality engine's as-of date)."""
EARLIEST_AS_OF = dt.date(2026, 7, 1)
"""The nd27 profile (career levels, record ID = personal ID) applies from 1/7/2026."""

REGISTRY_FIELDS = (
    "personal_id", "birth_name", "date_of_birth", "sex", "birth_place_text",
    "birth_place_ward_code", "birth_place_province_code", "birth_place_unit_scheme",
    "hometown_ward_code", "hometown_district_legacy_code", "hometown_province_code",
    "hometown_unit_scheme", "hometown_legacy_text", "ethnicity_code", "religion_code",
    "id_issue_date", "residence_address_line", "residence_ward_code", "residence_province_code",
    "residence_unit_scheme", "legacy_id_no",
)  # fmt: skip
"""Fields whose master is the population registry (``master: population_registry``)."""


# --- identifiers --------------------------------------------------------------------------


def century_sex_digit(year: int, sex: str) -> int:
    """Digit 4 of the personal ID: ``2 * (century - 19) + (1 if female)`` (identifiers §1.1)."""
    return 2 * (year // 100 - 19) + (1 if sex == "F" else 0)


class IdAllocator:
    """Unique personal IDs without remembering them.

    IDs share a 6-digit *head* ``PPP G YY``; within a head the random part is an affine
    permutation of a counter (``(a * k + b) mod 10**6``, ``a`` coprime with 10), so two
    counters never give the same number. Counters 0-899,999 serve clean IDs, counters counted
    down from 999,999 serve IDs made for defects (typos, mismatches), so the two never meet.
    """

    CLEAN_LIMIT = 900_000

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._heads: dict[str, list[int]] = {}

    def _state(self, head: str) -> list[int]:
        state = self._heads.get(head)
        if state is None:
            rnd = Random(f"hoso-ids:{self._seed}:{head}")
            a = rnd.randrange(1, 1_000_000)
            while a % 2 == 0 or a % 5 == 0:
                a = rnd.randrange(1, 1_000_000)
            state = [a, rnd.randrange(1_000_000), 0, 999_999]
            self._heads[head] = state
        return state

    def clean(self, head: str) -> str:
        """A fresh ID with this head for a clean person."""
        state = self._state(head)
        k = state[2]
        if k >= self.CLEAN_LIMIT:
            raise RuntimeError(f"too many personal IDs with head {head}")
        state[2] = k + 1
        return f"{head}{(state[0] * k + state[1]) % 1_000_000:06d}"

    def reserved(self, head: str) -> str:
        """A fresh ID with this head from the range kept for defects."""
        state = self._state(head)
        k = state[3]
        if k < self.CLEAN_LIMIT:
            raise RuntimeError(f"too many defect IDs with head {head}")
        state[3] = k - 1
        return f"{head}{(state[0] * k + state[1]) % 1_000_000:06d}"


class SeenKeys:
    """A fixed-size bit set of the SACH-002 keys (birth name, date of birth, home province).

    A set bit means "maybe seen": the generator then draws another given name, so clean
    people never look like one person under two IDs. False positives only cost a redraw.
    The size (2**27 bits, 16 MiB) does not depend on the count, so the first N people of a
    run are the same whatever the count.
    """

    BITS = 1 << 27

    def __init__(self) -> None:
        self._mask = self.BITS - 1
        self._bits = bytearray(self.BITS >> 3)

    @staticmethod
    def key(name: str, dob: str, province: str) -> int:
        """Hash of the duplicate key."""
        return zlib.crc32(f"{name}|{dob}|{province}".encode())

    def seen(self, h: int) -> bool:
        """True when the hash may have been added before."""
        h &= self._mask
        return bool(self._bits[h >> 3] & (1 << (h & 7)))

    def add(self, h: int) -> None:
        """Remember a hash."""
        h &= self._mask
        self._bits[h >> 3] |= 1 << (h & 7)


# --- pools --------------------------------------------------------------------------------


_ETHNICITY = {
    "default": weighted(
        "01:92|02:1.3|03:1.1|06:1.3|05:0.9|04:0.9|07:0.8|08:0.5|09:0.4|10:0.1|12:0.1|17:0.1"
    ),
    "north_mountain": weighted(
        "01:55|02:14|03:9|07:8|08:6|09:5|06:1|25:0.6|15:0.6|18:0.3|43:0.2|35:0.3"
    ),
    "highlands": weighted("01:76|12:6|10:6|13:4|14:2|20:2|16:2|02:1|07:1"),
    "khmer": weighted("01:85|05:12|04:2|17:1"),
    "phu_tho": weighted("01:80|06:17|09:1|02:1|03:1"),
    "thanh_hoa": weighted("01:88|06:8|03:4"),
    "nghe_an": weighted("01:90|03:7|29:1|08:1|24:1"),
}
_RELIGION = {
    "default": weighted("00:86|01:7|02:5|08:0.5|05:0.5|03:0.3|04:0.05"),
    "south": weighted("00:70|01:16|02:6|05:4|03:3|08:0.5|09:0.3|11:0.2"),
    "catholic": weighted("00:72|02:20|01:7|08:1"),
    "khmer": weighted("01:95|00:5"),
    "highland_minority": weighted("00:50|08:30|02:20"),
    "hoa": weighted("00:55|01:40|02:5"),
    "cham": weighted("04:35|13:35|00:30"),
}
_FAMILY_BACKGROUND = weighted(
    "NONG_DAN:40|CONG_NHAN:12|CAN_BO_CONG_CHUC:25|TRI_THUC:8|TIEU_THUONG:7|QUAN_NHAN:4|KHAC:4"
)
_POLICY = weighted(
    "KHONG:90|CON_THUONG_BINH:3|CON_LIET_SI:1|CON_BENH_BINH:1.5|CON_NHIEM_CDHH:1|"
    "THAN_NHAN_LIET_SI:0.5|CON_NHU_THUONG_BINH:0.5|DOI_VIEN_TNXP:0.3"
)
_HEALTH = weighted("LOAI_I:30|LOAI_II:55|LOAI_III:13|LOAI_IV:2")
_BLOOD = weighted("O:42|B:30|A:21|AB:7")
_AGE_BANDS = Pool(
    [((22, 25), 6), ((25, 30), 16), ((30, 35), 17), ((35, 40), 16), ((40, 45), 14),
     ((45, 50), 12), ((50, 55), 11), ((55, 60), 8)]
)  # fmt: skip
_MIN_AGE = {"doctor": 25, "yhdp": 25, "lecturer": 25}

# Education paths: (level, years, major pool, institution pool).
_EDU: dict[str, tuple[str, int, tuple[str, ...], tuple[str, ...]]] = {
    "admin": ("DAI_HOC", 4, tx.ADMIN_MAJORS, tx.UNIVERSITIES_GENERAL),
    "finance": ("DAI_HOC", 4, tx.FINANCE_MAJORS, tx.UNIVERSITIES_GENERAL),
    "finance_mid": ("TRUNG_CAP", 2, ("Kế toán doanh nghiệp", "Kế toán hành chính sự nghiệp"), tx.VOCATIONAL),
    "inspect": ("DAI_HOC", 4, ("Luật", "Kinh tế", "Quản lý nhà nước", "Luật kinh tế"), tx.UNIVERSITIES_GENERAL),
    "archive": ("DAI_HOC", 4, ("Lưu trữ học", "Quản trị văn phòng"), tx.UNIVERSITIES_GENERAL),
    "archive_mid": ("TRUNG_CAP", 2, ("Văn thư - Lưu trữ", "Văn thư hành chính"), tx.VOCATIONAL),
    "clerk": ("CAO_DANG", 3, ("Quản trị văn phòng", "Kế toán", "Tin học ứng dụng"), tx.VOCATIONAL),
    "staff": ("TRUNG_CAP", 2, ("Tin học văn phòng", "Hành chính văn phòng"), tx.VOCATIONAL),
    "teacher_mn": ("CAO_DANG", 3, ("Giáo dục Mầm non",), tx.UNIVERSITIES_EDU),
    "teacher_th": ("DAI_HOC", 4, ("Giáo dục Tiểu học",), tx.UNIVERSITIES_EDU),
    "teacher_thcs": ("DAI_HOC", 4, (), tx.UNIVERSITIES_EDU),
    "teacher_thpt": ("DAI_HOC", 4, (), tx.UNIVERSITIES_EDU),
    "lecturer": ("DAI_HOC", 4, tx.LECTURE_MAJORS, tx.UNIVERSITIES_GENERAL),
    "doctor": ("DAI_HOC", 6, ("Bác sĩ đa khoa",), tx.UNIVERSITIES_MED),
    "yhdp": ("DAI_HOC", 6, ("Y học dự phòng",), tx.UNIVERSITIES_MED),
    "ysi": ("TRUNG_CAP", 2, ("Y sĩ đa khoa",), tx.MED_VOCATIONAL),
    "engineer": ("DAI_HOC", 4, tx.ENGINEER_MAJORS, tx.UNIVERSITIES_GENERAL),
    "tech": ("CAO_DANG", 3, tx.TECH_MAJORS, tx.VOCATIONAL),
}  # fmt: skip

_SUPPORT_GROUP = "HO_TRO_PHUC_VU"
_LEADER_GROUP = "LANH_DAO_QUAN_LY"
_PRO_GROUP = "CHUYEN_MON_NGHIEP_VU"


def _religion_pool(province: str, ethnicity: str) -> Pool[str]:
    if ethnicity == "05":
        return _RELIGION["khmer"]
    if ethnicity == "04":
        return _RELIGION["hoa"]
    if ethnicity == "17":
        return _RELIGION["cham"]
    if ethnicity in ("10", "12", "13", "14", "16", "20"):
        return _RELIGION["highland_minority"]
    if province in ("37", "75"):
        return _RELIGION["catholic"]
    if province in SOUTH and province not in ("48", "51", "52"):
        return _RELIGION["south"]
    return _RELIGION["default"]


class Generator(Sections):
    """Builds clean people for one run (seed, org tree, as-of date)."""

    def __init__(
        self,
        seed: int,
        orgs: list[OrgUnitDict],
        as_of: dt.date,
    ) -> None:
        self.seed = seed
        self.as_of = as_of
        self.as_of_key = key_of(as_of)
        self.as_of_mi = as_of.year * 12 + as_of.month - 1
        self.geo: Geography = geography()
        self.tables: SalaryTables = salary_tables()
        units = employing_units(orgs, as_of.isoformat())
        if not units:
            raise ValueError(
                "Cây tổ chức không có đơn vị nào đang hoạt động để tuyển dụng"
                " / the org tree has no active unit to employ people"
            )
        self.units = units
        self.unit_pool: Pool[UnitInfo] = Pool([(u, u.weight) for u in units])
        self.profile_pools: dict[str, Pool[UnitInfo]] = {
            profile: Pool([(u, u.weight) for u in units if u.profile == profile])
            for profile in {u.profile for u in units}
        }
        self.loc = {c: locality(label) for c, label in self.geo.province_labels.items()}
        self.legacy_loc = {c: locality(label) for c, label in self.geo.legacy_labels.items()}
        self.ids = IdAllocator(seed)
        self.seen = SeenKeys()

    # -- identity --------------------------------------------------------------------------

    def identity(self, unit: UnitInfo, fam: Family, r: Random) -> Identity:
        """Draw a new identity for someone employed by ``unit`` (unique SACH-002 key)."""
        rnd = r.random
        geo = self.geo
        sex = "F" if rnd() < FEMALE_SHARE[unit.profile] else "M"
        lo, hi = _AGE_BANDS.pick(rnd)
        hi = min(hi, 60 if sex == "M" else 56)
        lo = max(min(lo, hi - 1), _MIN_AGE.get(fam.education, 22))
        lo = min(lo, hi - 1)
        age_days = int((lo + (hi - lo) * rnd()) * 365.25)
        dob = self.as_of - dt.timedelta(days=max(age_days, 22 * 366))
        if unit.level == "central":
            birth = (
                geo.birth_pool.pick(rnd)
                if rnd() < 0.55
                else geo.legacy_pools[unit.province].pick(rnd)
            )
        else:
            birth = (
                geo.legacy_pools[unit.province].pick(rnd)
                if rnd() < 0.7
                else geo.birth_pool.pick(rnd)
            )
        home_legacy = birth if rnd() < 0.85 else geo.birth_pool.pick(rnd)
        home_new = geo.merged_into[home_legacy]
        home_ward = self._ward(home_new, r)
        eth = _ETHNICITY[region(home_new)].pick(rnd)
        surnames = surname_pool(eth, home_new in SOUTH)
        surname = surnames.pick(rnd)
        dob_iso = dob.isoformat()
        for _ in range(50):
            middle = middle_name(sex, rnd)
            given = given_name(sex, rnd)
            h = SeenKeys.key(birth_name(surname, middle, given), dob_iso, home_new)
            if not self.seen.seen(h):
                break
            dob_iso = (dob := dob - dt.timedelta(days=1)).isoformat()
        self.seen.add(h)
        return Identity(
            sex, dob, surname, middle, given, birth, home_legacy, home_new, home_ward, eth
        )

    # -- the whole person ------------------------------------------------------------------

    def person(self, index: int, r: Random, forced: Identity | None = None) -> Person:
        """One clean person; ``forced`` reuses another person's identity (a SACH-002 twin)."""
        rnd = r.random
        geo = self.geo
        tables = self.tables
        as_of_key = self.as_of_key
        unit = self.unit_pool.pick(rnd)
        fam = PROFILE_FAMILIES[unit.profile].pick(rnd)
        is_vc = tables.rank_type[fam.ladder[0][0]] == "VC"
        ident = forced if forced is not None else self.identity(unit, fam, r)
        sex, dob = ident.sex, ident.dob
        dob_key = key_of(dob)
        age_months = months_between(dob_key, as_of_key)
        head = f"{geo.prefix[ident.birth_legacy]}{century_sex_digit(dob.year, sex)}{dob.year % 100:02d}"
        pid = self.ids.clean(head)
        bname = birth_name(ident.surname, ident.middle, ident.given)

        # Military service (some men), then education and recruitment.
        enlist = discharge = None
        if sex == "M" and fam.education not in ("doctor", "yhdp", "lecturer") and rnd() < 0.05:
            enlist = key_of(add_months_date(dob, 216 + int(rnd() * 18)))
            discharge = add_months(enlist, 24)
        level, years, majors, schools = _EDU[fam.education]
        edu_start = key(dob.year + 18, 9, 1 + int(rnd() * 15))
        if discharge is not None:
            edu_start = max(edu_start, add_months(discharge, 3 + int(rnd() * 9)))
        edu_end = add_months(edu_start, 12 * years - 3)
        recruit = add_months(edu_end, 2 + int(rnd() * 20))
        if fam.education == "lecturer":
            recruit = add_months(recruit, 24)
        latest = add_months(as_of_key, -1 - int(rnd() * 4))
        if recruit > latest:
            recruit = latest
            edu_end = add_months(recruit, -2)
            edu_start = add_months(edu_end, -(12 * years - 3))
            if discharge is not None and edu_start <= discharge:
                enlist = discharge = None
        service = months_between(recruit, as_of_key)

        # Ranks and salary.
        rungs: list[tuple[str, int]] = [(fam.ladder[0][0], recruit)]
        for code, min_years, prob in fam.ladder[1:]:
            earliest = max(add_months(recruit, 12 * min_years), add_months(rungs[-1][1], 36))
            room = months_between(earliest, as_of_key) - 1
            if room < 0 or rnd() >= prob:
                break
            rungs.append((code, add_months(earliest, int(rnd() * min(room, 72)))))
        salary = salary_timeline(rungs, as_of_key, tables)
        rank_level = len(rungs) - 1

        # Transfer into the current unit, and leadership posts.
        join = recruit
        if service >= 72 and rnd() < 0.25:
            join = add_months(recruit, 24 + int(rnd() * (service - 36)))
        position = None
        appointed = deputy_from = None
        for code, prob, min_years in POSITIONS[unit.head]:
            if rnd() < prob and service >= 12 * min_years:
                start = max(add_months(join, 12), add_months(recruit, 12 * min_years))
                room = months_between(start, as_of_key) - 1
                if room >= 0:
                    position = code
                    appointed = add_months(start, int(rnd() * min(room, 110)))
                    deputy = DEPUTY_OF.get(code)
                    if deputy and rnd() < 0.6:
                        dep_key = add_months(appointed, -(36 + int(rnd() * 36)))
                        if dep_key >= add_months(join, 6) and dep_key >= add_months(recruit, 48):
                            deputy_from = dep_key
                break
        leader = position is not None

        # Party, Youth Union.
        party_prob = 1.0 if leader else (0.3 if is_vc else 0.45)
        admission = official = None
        if rnd() < party_prob:
            min_adm = key_of(add_months_date(dob, 217))
            lo_k = max(min_adm, add_months(recruit, -36))
            hi_k = add_months(as_of_key, -2)
            if appointed is not None:
                hi_k = min(hi_k, add_months(appointed, -12))
            if hi_k > lo_k:
                span = months_between(lo_k, hi_k)
                admission = add_months(lo_k, int(rnd() * max(span, 1)))
                admission = min(admission, hi_k)
                if admission < min_adm:
                    admission = None
            if admission is not None:
                off = add_months(admission, 12)
                if (off & 31) < 20:
                    off += int(rnd() * 8)
                official = off if off <= as_of_key else None
        youth = None
        if rnd() < 0.92:
            youth = key_of(add_months_date(dob, 180 + int(rnd() * 30)))

        d: dict[str, Any] = {}
        line: Line = {
            "personal_id": pid,
            "managing_agency": unit.agency,
            "employing_unit": unit.code,
            "data": d,
        }
        d["managing_agency_code"] = unit.agency
        d["managing_agency_name"] = unit.agency_name
        d["employing_unit_code"] = unit.code
        d["employing_unit_name"] = unit.display
        d["serial_no"] = f"{index + 1:07d}"
        d["record_id"] = pid
        digest = hashlib.sha256(f"hoso-photo:{self.seed}:{index}".encode()).hexdigest()
        d["photo"] = {
            "media_type": "image/jpeg",
            "sha256": digest,
            "uri": f"photos/{digest[:16]}.jpg",
        }
        d["birth_name"] = bname
        d["sex"] = sex
        if rnd() < 0.02:
            d["other_names"] = given_name(sex, rnd)
        d["date_of_birth"] = dob.isoformat()
        birth_new = geo.merged_into[ident.birth_legacy]
        bward = (
            ident.home_ward
            if ident.birth_legacy == ident.home_legacy and rnd() < 0.7
            else self._ward(birth_new, r)
        )
        d["birth_place_text"] = self._legacy_text(ident.birth_legacy, r)
        d["birth_place_ward_code"] = bward[0]
        d["birth_place_province_code"] = birth_new
        d["birth_place_unit_scheme"] = "2025"
        d["hometown_ward_code"] = ident.home_ward[0]
        d["hometown_province_code"] = ident.home_new
        d["hometown_unit_scheme"] = "2025"
        d["hometown_legacy_text"] = self._legacy_text(ident.home_legacy, r)
        d["ethnicity_code"] = ident.ethnicity
        d["religion_code"] = _religion_pool(ident.home_new, ident.ethnicity).pick(rnd)
        d["personal_id"] = pid
        issue_lo = max(key(2016, 3, 1), key_of(add_months_date(dob, 14 * 12 + 1)))
        issue_hi = add_months(as_of_key, -1)
        if rnd() < 0.7:
            issue_lo = max(issue_lo, key(2021, 1, 4))
        issue = add_months(issue_lo, int(rnd() * max(months_between(issue_lo, issue_hi), 1)))
        d["id_issue_date"] = iso(min(issue, issue_hi))
        d["phone"] = ("09", "03", "08", "07", "05")[
            int(rnd() * 5)
        ] + f"{int(rnd() * 100_000_000):08d}"
        social = f"{int(ident.birth_legacy):02d}{int(rnd() * 100_000_000):08d}"
        d["social_insurance_no"] = social
        d["health_insurance_no"] = social if rnd() < 0.6 else f"HC4{int(unit.province):02d}{social}"
        res_province = unit.province if rnd() < 0.95 else ident.home_new
        rward = self._ward(res_province, r)
        if rward[1].startswith("Phường"):
            street = tx.STREETS[int(rnd() * len(tx.STREETS))]
            d["residence_address_line"] = f"Số {1 + int(rnd() * 250)}, đường {street}"
        else:
            word = (
                "Bản"
                if res_province in NORTH_MOUNTAIN and rnd() < 0.5
                else ("Thôn", "Xóm")[int(rnd() * 2)]
            )
            d["residence_address_line"] = f"{word} {1 + int(rnd() * 15)}"
        d["residence_ward_code"] = rward[0]
        d["residence_province_code"] = res_province
        d["residence_unit_scheme"] = "2025"
        d["family_background"] = _FAMILY_BACKGROUND.pick(rnd)
        d["occupation_before_recruitment"] = tx.OCCUPATION_BEFORE[
            int(rnd() * len(tx.OCCUPATION_BEFORE))
        ]
        d["first_recruitment_date"] = iso(recruit)

        # Work history: an earlier unit (transfer), then titles held in the current unit;
        # commune staff worked for the legacy commune until 30/6/2025.
        cur_text = unit.display
        if unit.level == "commune":
            cur_text = f"{unit.display}, {self.loc[unit.province]}"
        staff_title = fam.title
        segments: list[tuple[int, str, str]] = []
        if join > recruit:
            other = self.profile_pools[unit.profile].pick(rnd)
            prev_text = other.display if other.code != unit.code else unit.agency_name
            segments.append((recruit, prev_text, staff_title))
        titles: list[tuple[int, str]] = [(join, staff_title)]
        if deputy_from is not None and position is not None:
            titles.append((deputy_from, position_title(DEPUTY_OF[position], unit.name)))
        if appointed is not None and position is not None:
            titles.append((appointed, position_title(position, unit.name)))
        cutover = key(2025, 7, 1)
        old_unit = None
        if unit.level == "commune" and join < cutover:
            legacy = geo.legacy_pools[unit.province].pick(rnd)
            rows = geo.legacy_wards[legacy]
            lname = self.legacy_loc[legacy]
            if rows:
                _, wname, _, dname = rows[int(rnd() * len(rows))]
            else:
                wname, dname = unit.name, ""
            district = f", {lower_type(dname)}" if dname else ""
            if unit.kind == "commune" or unit.kind == "division":
                old_unit = f"Ủy ban nhân dân {lower_type(wname)}{district}, {lname}"
                if unit.kind == "division":
                    old_unit = f"{unit.name}, {old_unit}"
            else:
                old_unit = f"{unit.name}{district}, {lname}"
            active = [t for t in titles if t[0] < cutover][-1][1]
            if not any((t[0] >> 5) == (cutover >> 5) for t in titles):
                titles.append((cutover, active))
        for start, title in sorted(titles):
            text = old_unit if old_unit is not None and start < cutover else cur_text
            segments.append((start, text, title))
        d["first_recruiting_body"] = segments[0][1]
        merged: list[tuple[int, str, str]] = []
        for seg in sorted(segments, key=lambda x: x[0]):
            if merged and (seg[0] >> 5) <= (merged[-1][0] >> 5):
                merged[-1] = (merged[-1][0], seg[1], seg[2])
            else:
                merged.append(seg)
        work: list[dict[str, Any]] = []
        for i, (start, text, title) in enumerate(merged):
            row: dict[str, Any] = {"from": ym_of(start)}
            if i + 1 < len(merged):
                row["to"] = ym((merged[i + 1][0] >> 5) - 1)
            row["unit"] = text
            row["title"] = title
            work.append(row)

        d["current_agency_join_date"] = iso(join)
        if admission is not None:
            d["party_admission_date"] = iso(admission)
            if official is not None:
                d["party_official_date"] = iso(official)
        if youth is not None:
            d["first_sociopolitical_org_join_date"] = iso(youth)
            d["first_sociopolitical_org_code"] = "DOAN_TNCS_HCM"
        if enlist is not None and discharge is not None:
            d["enlistment_date"] = iso(enlist)
            d["discharge_date"] = iso(discharge)
            d["highest_military_rank_code"] = ("HA_SI", "TRUNG_SI", "THUONG_SI", "BINH_NHAT")[
                int(rnd() * 4)
            ]
            d["policy_beneficiary_code"] = "QUAN_NHAN_XUAT_NGU"
        else:
            d["policy_beneficiary_code"] = _POLICY.pick(rnd)
        north_old = dob.year <= 1972 and ident.home_new not in SOUTH
        d["general_education_code"] = "10/10" if north_old and rnd() < 0.5 else "12/12"

        # Professional training and the highest level; the subject or clinical department
        # ties the degree to the duty.
        focus = None
        if fam.education in ("teacher_thcs", "teacher_thpt"):
            subjects = tx.SUBJECTS_THPT if fam.education == "teacher_thpt" else tx.SUBJECTS_THCS
            focus = subjects[int(rnd() * len(subjects))]
        elif fam.education == "doctor":
            focus = tx.CLINICAL_DEPTS[int(rnd() * len(tx.CLINICAL_DEPTS))]
        training, top_level, top_major = self._training(
            fam, rank_level, edu_start, edu_end, recruit, level, majors, schools, focus, r
        )
        d["highest_professional_level_code"] = top_level
        d["highest_professional_major"] = top_major
        if (
            fam.education == "lecturer"
            and rank_level == 2
            and top_level == "TIEN_SI"
            and rnd() < 0.4
        ):
            d["academic_title_code"] = "PGS" if rnd() < 0.88 else "GS"
        elif (
            fam.education == "doctor"
            and rank_level == 2
            and top_level == "TIEN_SI"
            and rnd() < 0.15
        ):
            d["academic_title_code"] = "PGS"
        if rank_level >= 1 and service >= 240:
            if fam.education.startswith("teacher") and rnd() < 0.02:
                d["state_honorary_title_codes"] = ["NHA_GIAO_UU_TU"]
            elif fam.education == "doctor" and rnd() < 0.03:
                d["state_honorary_title_codes"] = ["THAY_THUOC_UU_TU"]
        big_city = unit.province in BIG_CITIES
        allowance = None
        if position is not None and appointed is not None:
            d["current_position_code"] = position
            d["current_position_title"] = _full_title(
                position_title(position, unit.name), unit.display
            )
            d["position_appointment_date"] = iso(appointed)
            terms = months_between(appointed, as_of_key) // 60
            if terms:
                d["position_reappointment_date"] = iso(add_months(appointed, 60 * terms))
            if position in HEAD_OF and rnd() < 0.4:
                d["planned_position_codes"] = [HEAD_OF[position]]
            allowance = tables.allowance.get((position, big_city))
        if admission is not None and (leader or rnd() < 0.05):
            if position in HIGH_POSTS:
                party_post = "BI_THU" if position != "CHU_TICH_UBND_XA" else "PHO_BI_THU"
            elif leader:
                party_post = (
                    "BI_THU_CHI_BO"
                    if position in HEAD_OF.values() and position not in TEAM_POSTS
                    else ("PHO_BI_THU_CHI_BO" if rnd() < 0.3 else "CHI_UY_VIEN")
                )
            else:
                party_post = "CHI_UY_VIEN"
            d["party_position_code"] = party_post
        d["main_assigned_duty"] = self._duty(unit, fam, focus, top_major, r)
        if rnd() < 0.7:
            strengths = STRENGTHS.get(fam.education, tx.STRENGTHS)
            d["work_strengths"] = strengths[int(rnd() * len(strengths))]
        if service >= 60 and rnd() < 0.6:
            d["longest_held_job"] = f"{staff_title}, {work[0]['unit']}"
        d["rank_name"] = tables.rank_label[salary.rank]
        d["rank_code"] = salary.rank
        d["rank_appointment_date"] = iso(salary.rank_appointed)
        d["salary_step"] = salary.step
        d["salary_coefficient"] = salary.coefficient
        d["salary_effective_date"] = iso(salary.effective)
        probation = is_vc and service < 12
        d["salary_percent"] = 85 if probation else 100
        if salary.pctnvk is not None and salary.pctnvk_key is not None:
            d["beyond_scale_seniority_percent"] = salary.pctnvk
            d["beyond_scale_seniority_date"] = iso(salary.pctnvk_key)
        if allowance is not None:
            d["position_allowance_coefficient"] = allowance
        allowances, summary, extra_pct = self._allowances(
            unit, fam, is_vc, salary, recruit, appointed, allowance, position
        )
        if summary:
            d["other_allowances"] = summary
        job_group = _LEADER_GROUP if leader else (_SUPPORT_GROUP if fam.support else _PRO_GROUP)
        if leader and position is not None:
            d["job_position_name"] = position_title(position, unit.name)
            d["job_position_code"] = f"LDQL.{position}"
        else:
            d["job_position_name"] = tables.rank_label[salary.rank]
            d["job_position_code"] = f"{'HTPV' if fam.support else 'CMNV'}.{salary.rank}"
        health = _HEALTH.pick(rnd)
        d["health_status_code"] = health
        if sex == "M":
            height = int(r.gauss(166, 6))
            weight = int(height - 100 - 6 + r.gauss(0, 7))
        else:
            height = int(r.gauss(155, 5))
            weight = int(height - 100 - 5 + r.gauss(0, 6))
        d["height_cm"] = max(140, min(195, height))
        d["weight_kg"] = max(38, min(110, weight))
        if rnd() < 0.8:
            d["blood_group_code"] = _BLOOD.pick(rnd)
        if training:
            d["professional_training"] = training
        abroad = [
            {
                "from": row["from"],
                "to": row["to"],
                "description": "Hội viên Hội Sinh viên Việt Nam tại "
                + row["institution"].rsplit(", ", 1)[-1],
            }
            for row in training
            if row["institution"] in tx.FOREIGN_UNIVERSITIES
        ]
        if abroad:
            d["foreign_org_relations"] = abroad
        pol = self._political(leader, position, admission, recruit, appointed, unit, r)
        if pol:
            d["political_theory_training"] = pol
        mgmt, sm_level = self._management(fam, is_vc, rungs, leader, appointed, recruit, unit, r)
        if mgmt:
            d["management_training"] = mgmt
        if sm_level:
            d["state_management_level_code"] = sm_level
        if admission is not None or leader or rnd() < 0.3:
            d["defence_training"] = [self._defence(leader, position, recruit, unit, r)]
        it = self._it(fam, recruit, edu_end, r)
        if it:
            d["it_training"] = [it]
        lang = self._languages(ident, unit, recruit, edu_end, r)
        if lang:
            d["language_training"] = lang
        d["work_history"] = work
        d["arrest_history"] = "Không"
        rewards, discipline = self._rewards(unit, fam, recruit, admission, r)
        if rewards:
            d["rewards_and_ratings"] = rewards
        if discipline:
            d["discipline"] = discipline
        own_side, spouse_side = self._family(ident, dob, age_months, unit, r)
        d["family_own_side"] = own_side
        if spouse_side:
            d["family_spouse_side"] = spouse_side
        d["salary_history"] = self._salary_rows(salary)
        if allowances:
            d["allowance_history"] = allowances
        d["household_income_assets"] = [
            self._household(salary, allowance, extra_pct, res_province, r)
        ]
        if rnd() < 0.6:
            d["agency_assessment"] = tx.ASSESSMENTS[int(rnd() * len(tx.ASSESSMENTS))]
        d["declarant_confirmed"] = True
        conf = add_months(as_of_key, -int(rnd() * 10))
        d["declarant_confirmation_date"] = iso(max(min(conf, as_of_key), recruit))
        if dob.year < 1998 and rnd() < 0.85:
            d["legacy_id_no"] = f"{int(rnd() * 1_000_000_000):09d}"
        d["employee_type_code"] = "VC" if is_vc else "CC"
        d["employment_status_code"] = "TAP_SU" if probation else self._status(rnd)
        d["employment_status_date"] = iso(recruit if probation else join)
        d["job_position_group_code"] = job_group
        if d["employee_type_code"] == "VC":
            d["career_level"] = _CAREER_LEVEL[salary.group]
        return Person(index, line, d, ident, unit, fam, salary, head)

    @staticmethod
    def _status(rnd: Any) -> str:
        x = rnd()
        if x < 0.985:
            return "DANG_CONG_TAC"
        if x < 0.993:
            return "BIET_PHAI"
        if x < 0.998:
            return "DANG_DAO_TAO"
        return "NGHI_KHONG_LUONG"


def _full_title(title: str, display: str) -> str:
    """``Trưởng phòng`` + ``Phòng Công chức, viên chức, Sở …`` → ``Trưởng phòng Công chức, …``."""
    if display.startswith("Phòng ") and title.endswith("Trưởng phòng"):
        return f"{title}{display[len('Phòng') :]}"
    if display.startswith("Văn phòng") and "Văn phòng" in title:
        return f"{title}{display[len('Văn phòng') :]}"
    if display.startswith("Thanh tra") and "Thanh tra" in title:
        return f"{title}{display[len('Thanh tra') :]}"
    return f"{title} {display}"


#: Career level of a viên chức by the salary group of the title (NĐ 232/2026 Art 7;
#: career_level.csv). Groups no level maps to (A2.2, A3.2) are exempt from DUNG-025 and get
#: the nearest level.
_CAREER_LEVEL = {"B": "1", "A0": "2", "A1": "3", "A2.1": "4", "A2.2": "4", "A3.1": "5", "A3.2": "5"}


def registry_entry(data: dict[str, Any]) -> dict[str, Any]:
    """The population-registry view of a dossier: its registry-mastered fields."""
    return {k: data[k] for k in REGISTRY_FIELDS if k in data}


def iter_people(
    count: int,
    seed: int,
    *,
    orgs: list[OrgUnitDict] | None = None,
    defect_rate: float = 0.0,
    as_of: dt.date = DEFAULT_AS_OF,
) -> Iterator[tuple[Line, list[Label], dict[str, Any] | None]]:
    """Stream ``(line, labels, registry entry)`` triples: the run behind both public streams.

    Arguments as for :func:`generate_people`. The registry entry is the population
    registry's view of the person (see :func:`generate_registry`).
    """
    from hoso.generate.defects import DefectInjector

    if count < 0:
        raise ValueError("count must be >= 0")
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError("defect_rate must be between 0 and 1")
    if as_of < EARLIEST_AS_OF:
        raise ValueError(f"as_of must be on or after {EARLIEST_AS_OF} (NĐ 27/2026 regime)")
    gen = Generator(seed, orgs if orgs is not None else generate_orgs(seed), as_of)
    rng = Random(f"hoso-people:{seed}")
    injector = DefectInjector(gen, Random(f"hoso-defects:{seed}"), defect_rate)
    for i in range(count):
        forced = injector.before(i)
        person = gen.person(i, rng, forced)
        labels, registry = injector.after(person)
        yield person.line, labels, registry


def generate_people(
    count: int,
    seed: int,
    *,
    orgs: list[OrgUnitDict] | None = None,
    defect_rate: float = 0.0,
    as_of: dt.date = DEFAULT_AS_OF,
) -> Iterator[tuple[Line, list[Label]]]:
    """Stream ``count`` bulk lines with their defect labels (empty for a clean person).

    ``orgs`` is an org tree (``OrgUnit`` dicts); by default ``generate_orgs(seed)``. About
    ``defect_rate`` of the people get one injected defect (a SACH-002 twin also labels the
    person it copies). Deterministic for (count, seed, orgs, defect_rate, as_of); the first
    N people do not depend on ``count``.
    """
    for line, labels, _ in iter_people(
        count, seed, orgs=orgs, defect_rate=defect_rate, as_of=as_of
    ):
        yield line, labels


def generate_registry(
    count: int,
    seed: int,
    *,
    orgs: list[OrgUnitDict] | None = None,
    defect_rate: float = 0.0,
    as_of: dt.date = DEFAULT_AS_OF,
) -> Iterator[dict[str, Any]]:
    """The population registry's view of the same run (same arguments as the people file).

    One entry per person, keyed by ``personal_id``, with the registry-mastered fields
    (``REGISTRY_FIELDS``). Where a ``population_mismatch`` defect changed a dossier the entry
    keeps the true value; a ``not_in_population_registry`` person is listed under its true
    number, so the dossier's number is not found.
    """
    for _, _, registry in iter_people(count, seed, orgs=orgs, defect_rate=defect_rate, as_of=as_of):
        if registry is not None:
            yield registry
