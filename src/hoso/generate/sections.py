"""The tables and free-text parts of a dossier, as methods shared by the people generator.

:class:`Sections` builds the training tables, the Party and management courses, languages,
yearly ratings and discipline, the family tables, the salary and allowance histories, the
household row and the assigned duty. It reads the run's context (geography, salary tables,
as-of date) from the :class:`hoso.generate.people.Generator` that inherits it.
"""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

from hoso.generate import texts as tx
from hoso.generate.careers import Family, Salary, SalaryTables
from hoso.generate.context import (
    BIG_CITIES,
    HIGHLANDS,
    KHMER_DELTA,
    NORTH_MOUNTAIN,
    SOUTH,
    Geography,
    UnitInfo,
)
from hoso.generate.dates import add_months, key, months_between, year_of, ym, ym_of
from hoso.generate.model import Identity
from hoso.generate.names import given_name, middle_name, surname_pool, weighted
from hoso.generate.orgs import lower_type, short_name

_ETHNIC_LANGUAGE = {
    "02": "tyz", "03": "blt", "08": "hmn", "17": "cjm", "12": "rad", "10": "jra", "13": "bdq",
    "16": "kpm", "06": "mtq", "07": "nut", "14": "sed", "20": "mng", "05": "km",
}  # fmt: skip
_RATING = weighted("HTXSNV:12|HTTNV:65|HTNV:21|KHTNV:2")
#: Posts whose holders take the advanced political course and lead the Party committee.
HIGH_POSTS = frozenset(
    {"VU_TRUONG", "PHO_VU_TRUONG", "CUC_TRUONG", "PHO_CUC_TRUONG", "GIAM_DOC_SO", "PHO_GIAM_DOC_SO",
     "HIEU_TRUONG", "GIAM_DOC_DVSN", "CHU_TICH_UBND_XA"}
)  # fmt: skip
#: Posts heading a team or department inside a unit (not the unit itself).
TEAM_POSTS = frozenset({"TO_TRUONG", "TO_PHO", "TRUONG_KHOA", "PHO_TRUONG_KHOA"})
_TEACHER_ALLOWANCE = {"school_mn": 35, "school_th": 35, "school_thcs": 30, "school_thpt": 30}
BASE_PAY_VND = 2_530_000
"""Lương cơ sở from 1/7/2026 (configuration in the spec README), for household income."""
_HOMETOWN_RELATIONS = frozenset(
    {"CHA", "ME", "VO", "CHONG", "CHA_VO", "ME_VO", "CHA_CHONG", "ME_CHONG"}
)
#: Work strengths by education path (the generic pool ``texts.STRENGTHS`` otherwise).
STRENGTHS = {
    "teacher_mn": ("Chăm sóc, giáo dục trẻ", "Tổ chức hoạt động vui chơi"),
    "teacher_th": ("Công tác chủ nhiệm lớp", "Bồi dưỡng học sinh giỏi"),
    "teacher_thcs": ("Bồi dưỡng học sinh giỏi", "Công tác chủ nhiệm lớp"),
    "teacher_thpt": ("Bồi dưỡng học sinh giỏi", "Ôn thi tốt nghiệp trung học phổ thông"),
    "lecturer": ("Giảng dạy, nghiên cứu khoa học", "Hướng dẫn luận văn"),
    "doctor": ("Khám, chữa bệnh", "Cấp cứu, hồi sức"),
    "yhdp": ("Phòng, chống dịch bệnh", "Giám sát dịch tễ"),
    "ysi": ("Chăm sóc sức khỏe ban đầu",),
    "engineer": ("Ứng dụng công nghệ thông tin", "Quản lý dự án"),
    "tech": ("Vận hành thiết bị",),
}
_SPECIALTIES = tuple(dict.fromkeys(tx.CLINICAL_SPECIALTY.values()))


def region(province: str) -> str:
    """Population region of a 2025 province, for ethnicity pools."""
    if province in NORTH_MOUNTAIN:
        return "north_mountain"
    if province in HIGHLANDS:
        return "highlands"
    if province in KHMER_DELTA:
        return "khmer"
    return {"25": "phu_tho", "38": "thanh_hoa", "40": "nghe_an"}.get(province, "default")


class Sections:
    """Builders of the dossier's tables; mixed into the generator, which sets the attributes."""

    geo: Geography
    tables: SalaryTables
    as_of: dt.date
    as_of_key: int
    loc: dict[str, str]
    legacy_loc: dict[str, str]

    # -- small helpers ---------------------------------------------------------------------

    def _legacy_text(self, legacy: str, r: Random) -> str:
        rows = self.geo.legacy_wards[legacy]
        if not rows:
            return self.geo.legacy_labels[legacy]
        _, name, _, dname = rows[int(r.random() * len(rows))]
        return f"{name}, {lower_type(dname)}, {self.legacy_loc[legacy]}"

    def _ward(self, province: str, r: Random) -> tuple[str, str]:
        rows = self.geo.wards[province]
        return rows[int(r.random() * len(rows))]

    def _ward_text(self, ward_name: str, province: str) -> str:
        return f"{ward_name}, {self.loc[province]}"

    def _name(self, sex: str, surname: str, r: Random) -> str:
        return f"{surname} {middle_name(sex, r.random)} {given_name(sex, r.random)}"

    # -- tables ----------------------------------------------------------------------------

    def _training(
        self,
        fam: Family,
        rank_level: int,
        start: int,
        end: int,
        recruit: int,
        level: str,
        majors: tuple[str, ...],
        schools: tuple[str, ...],
        focus: str | None,
        r: Random,
    ) -> tuple[list[dict[str, Any]], str, str]:
        rnd = r.random
        as_of_key = self.as_of_key
        edu = fam.education
        if edu in ("teacher_thcs", "teacher_thpt") and focus is not None:
            major = tx.SUBJECT_MAJOR[focus]
        else:
            major = majors[int(rnd() * len(majors))]
        if edu == "teacher_mn" and rnd() < 0.45:
            level = "DAI_HOC"
        school = schools[int(rnd() * len(schools))]
        mode = "CHINH_QUY" if rnd() < 0.88 else "VUA_LAM_VUA_HOC"
        rows = [
            {
                "from": ym_of(start),
                "to": ym_of(end),
                "institution": school,
                "major": major,
                "training_mode_code": mode,
                "qualification_code": level,
            }
        ]
        top_level, top_major = level, major
        # Postgraduate degrees, scheduled when there is time before the as-of date.
        want: list[tuple[str, int, str]] = []
        if edu == "lecturer":
            want.append(("THAC_SI", 24, major))
            if rank_level >= 1 or rnd() < 0.3:
                want.append(("TIEN_SI", 48, major))
        elif edu in ("doctor", "yhdp"):
            if edu == "yhdp":
                spec = "Y tế công cộng"
            elif focus is not None:
                spec = tx.CLINICAL_SPECIALTY[focus]
            else:
                spec = _SPECIALTIES[int(rnd() * len(_SPECIALTIES))]
            x = rnd()
            if rank_level == 0:
                if x < 0.35:
                    want.append(("CK1", 24, spec))
                elif x < 0.5:
                    want.append(("THAC_SI", 24, spec))
            elif rank_level == 1:
                want.append(("CK1" if x < 0.6 else "THAC_SI", 24, spec))
                if rnd() < 0.4:
                    want.append(("CK2" if x < 0.6 else "TIEN_SI", 24 if x < 0.6 else 48, spec))
            else:
                want.append(("CK1" if x < 0.5 else "THAC_SI", 24, spec))
                want.append(("CK2" if x < 0.5 else "TIEN_SI", 24 if x < 0.5 else 48, spec))
        elif level == "DAI_HOC":
            p_master = (0.25, 0.55, 0.75)[min(rank_level, 2)]
            if rnd() < p_master:
                want.append(
                    (
                        "THAC_SI",
                        24,
                        self._master_major(edu, major, focus, rnd),
                    )
                )
                if rank_level == 2 and rnd() < 0.35:
                    want.append(("TIEN_SI", 48, want[-1][2]))
        cursor = end if edu == "lecturer" else add_months(recruit, 24 + int(rnd() * 48))
        for qual, months, maj in want:
            s = add_months(
                cursor, 1 if edu == "lecturer" and qual == "THAC_SI" else 3 + int(rnd() * 24)
            )
            e = add_months(s, months - 1)
            if e >= as_of_key:
                break
            pool: tuple[str, ...]
            if qual == "TIEN_SI" and rnd() < 0.2:
                pool = tx.FOREIGN_UNIVERSITIES
            elif edu in ("doctor", "yhdp"):
                pool = tx.UNIVERSITIES_MED
            elif edu.startswith("teacher"):
                pool = tx.UNIVERSITIES_EDU
            else:
                pool = tx.UNIVERSITIES_GENERAL
            inst = pool[int(rnd() * len(pool))]
            rows.append(
                {
                    "from": ym_of(s),
                    "to": ym_of(e),
                    "institution": inst,
                    "major": maj,
                    "training_mode_code": "CHINH_QUY"
                    if edu == "lecturer" or rnd() < 0.5
                    else "VUA_LAM_VUA_HOC",
                    "qualification_code": qual,
                }
            )
            top_level, top_major = qual, maj
            cursor = e
        return rows, top_level, top_major

    def _political(
        self,
        leader: bool,
        position: str | None,
        admission: int | None,
        recruit: int,
        appointed: int | None,
        unit: UnitInfo,
        r: Random,
    ) -> list[dict[str, Any]]:
        rnd = r.random
        if admission is None:
            return []
        loc = self.loc[unit.province]
        if leader:
            level = "CAO_CAP" if position in HIGH_POSTS else "TRUNG_CAP"
        elif rnd() < 0.6:
            level = "SO_CAP"
        else:
            return []
        if level == "SO_CAP":
            s = add_months(admission, 3 + int(rnd() * 18))
            months = 2
        elif level == "TRUNG_CAP":
            s = add_months(max(recruit, admission), 12 + int(rnd() * 48))
            months = 10 if rnd() < 0.5 else 18
        else:
            s = add_months(max(recruit, admission), 60 + int(rnd() * 60))
            months = 8 if rnd() < 0.5 else 24
        if appointed is not None:
            s = min(s, add_months(appointed, -months - 2))
        s = max(s, admission)
        e = add_months(s, months - 1)
        if e >= self.as_of_key:
            return []
        institution = (
            tx.HIGH_POLITICAL_SCHOOLS[int(rnd() * len(tx.HIGH_POLITICAL_SCHOOLS))]
            if level == "CAO_CAP"
            else f"Trường Chính trị {loc}"
        )
        return [
            {
                "from": ym_of(s),
                "to": ym_of(e),
                "institution": institution,
                "training_mode_code": "TAP_TRUNG" if months <= 10 else "KHONG_TAP_TRUNG",
                "certificate_code": level,
            }
        ]

    def _management(
        self,
        fam: Family,
        is_vc: bool,
        rungs: list[tuple[str, int]],
        leader: bool,
        appointed: int | None,
        recruit: int,
        unit: UnitInfo,
        r: Random,
    ) -> tuple[list[dict[str, Any]], str | None]:
        rnd = r.random
        rows: list[dict[str, Any]] = []
        loc = self.loc[unit.province]
        courses: list[tuple[int, str, str]] = []
        level = None
        if not is_vc:
            if self.tables.group_of[rungs[0][0]] in ("A0", "B", "C1", "C2", "C3"):
                names: tuple[str, ...] = ("cán sự",)
                codes: tuple[str, ...] = ("CAN_SU",)
            else:
                names = ("chuyên viên", "chuyên viên chính", "chuyên viên cao cấp")
                codes = ("CHUYEN_VIEN", "CHUYEN_VIEN_CHINH", "CHUYEN_VIEN_CAO_CAP")
            for i, (_, start) in enumerate(rungs[: len(names)]):
                when = (
                    add_months(recruit, 12 + int(rnd() * 36))
                    if i == 0
                    else add_months(start, -(4 + int(rnd() * 12)))
                )
                courses.append(
                    (
                        when,
                        f"Bồi dưỡng kiến thức quản lý nhà nước chương trình {names[i]}",
                        codes[i],
                    )
                )
        else:
            for rank, start in rungs:
                when = (
                    add_months(recruit, 10 + int(rnd() * 24))
                    if start == recruit
                    else add_months(start, -(4 + int(rnd() * 12)))
                )
                label = self.tables.rank_label[rank]
                courses.append(
                    (when, f"Bồi dưỡng theo tiêu chuẩn chức danh nghề nghiệp {label}", "")
                )
        if leader and appointed is not None:
            courses.append(
                (
                    add_months(appointed, -(3 + int(rnd() * 12))),
                    "Bồi dưỡng kỹ năng lãnh đạo, quản lý",
                    "",
                )
            )
        institution = (
            "Học viện Hành chính và Quản trị công"
            if unit.level == "central"
            else f"Trường Chính trị {loc}"
        )
        for when, name, code in sorted(courses):
            if when < recruit:
                when = recruit
            e = add_months(when, 1 + int(rnd() * 2))
            if e >= self.as_of_key:
                continue
            rows.append(
                {
                    "from": ym_of(when),
                    "to": ym_of(e),
                    "institution": institution,
                    "certificate": f"Chứng chỉ {name[0].lower()}{name[1:]}",
                }
            )
            if code:
                level = code
        return rows, level

    def _defence(
        self, leader: bool, position: str | None, recruit: int, unit: UnitInfo, r: Random
    ) -> dict[str, Any]:
        rnd = r.random
        loc = self.loc[unit.province]
        group = "2" if position in HIGH_POSTS else ("3" if leader else "4")
        s = add_months(
            recruit, 6 + int(rnd() * max(months_between(recruit, self.as_of_key) - 8, 1))
        )
        s = min(s, add_months(self.as_of_key, -2))
        s = max(s, recruit)
        return {
            "from": ym_of(s),
            "to": ym_of(add_months(s, int(rnd() * 2)))
            if add_months(s, 1) < self.as_of_key
            else ym_of(s),
            "institution": f"Bộ Chỉ huy Quân sự {loc}"
            if unit.level != "central"
            else "Học viện Quốc phòng",
            "certificate": f"Chứng chỉ bồi dưỡng kiến thức quốc phòng và an ninh đối tượng {group}",
        }

    def _it(self, fam: Family, recruit: int, edu_end: int, r: Random) -> dict[str, Any] | None:
        rnd = r.random
        if rnd() > 0.85:
            return None
        s = (
            add_months(edu_end, -int(rnd() * 24))
            if rnd() < 0.5
            else add_months(recruit, int(rnd() * 60))
        )
        s = min(s, add_months(self.as_of_key, -3))
        e = add_months(s, 1 + int(rnd() * 2))
        if e >= self.as_of_key:
            e = s
        if fam.education == "engineer" and rnd() < 0.3:
            cert = "BANG_CNTT"
        elif (s >> 5) >= 2014 * 12 + 6:
            cert = "CNTT_CO_BAN" if rnd() < 0.85 else "CNTT_NANG_CAO"
        else:
            cert = "TH_A" if rnd() < 0.4 else "TH_B"
        return {
            "from": ym_of(s),
            "to": ym_of(e),
            "institution": tx.IT_CENTRES[int(rnd() * len(tx.IT_CENTRES))],
            "certificate_code": cert,
        }

    def _languages(
        self, ident: Identity, unit: UnitInfo, recruit: int, edu_end: int, r: Random
    ) -> list[dict[str, Any]]:
        rnd = r.random
        rows: list[dict[str, Any]] = []
        if rnd() < 0.85:
            s = (
                add_months(edu_end, -int(rnd() * 30))
                if rnd() < 0.5
                else add_months(recruit, int(rnd() * 72))
            )
            s = min(s, add_months(self.as_of_key, -4))
            e = add_months(s, 2)
            lang = "en" if rnd() < 0.9 else ("fr", "zh", "ru", "ja", "ko")[int(rnd() * 5)]
            row: dict[str, Any] = {"from": ym_of(s), "to": ym_of(e)}
            row["institution"] = tx.LANGUAGE_CENTRES[int(rnd() * len(tx.LANGUAGE_CENTRES))]
            row["language_code"] = lang
            emi = e >> 5
            if emi < 2014 * 12 + 3:
                row["certificate_code"] = ("NN_A", "NN_B", "NN_C")[int(rnd() * 3)]
            elif emi < 2019 * 12 + 11 and rnd() < 0.4:
                row["certificate_code"] = ("NN_B", "NN_C")[int(rnd() * 2)]
            elif lang == "en" and rnd() < 0.15:
                if rnd() < 0.5:
                    row["certificate_code"] = "IELTS"
                    row["score"] = f"{(10 + int(rnd() * 7)) / 2:.2f}"
                else:
                    row["certificate_code"] = "TOEIC"
                    row["score"] = f"{450 + 5 * int(rnd() * 90)}.00"
            else:
                row["certificate_code"] = ("A2", "B1", "B1", "B2")[int(rnd() * 4)]
            rows.append(row)
        native = _ETHNIC_LANGUAGE.get(ident.ethnicity)
        if unit.province in NORTH_MOUNTAIN | HIGHLANDS | KHMER_DELTA and unit.level == "commune":
            if native is None and rnd() < 0.1:
                native = {"north_mountain": "hmn", "highlands": "rad", "khmer": "km"}.get(
                    region(unit.province)
                )
            if native and rnd() < 0.5:
                s = add_months(recruit, 6 + int(rnd() * 24))
                if add_months(s, 3) < self.as_of_key:
                    rows.append(
                        {
                            "from": ym_of(s),
                            "to": ym_of(add_months(s, 3)),
                            "institution": f"Trường Chính trị {self.loc[unit.province]}",
                            "language_code": native,
                            "certificate_code": "CC_TIENG_DTTS",
                        }
                    )
        rows.sort(key=lambda x: x["from"])
        return rows

    def _rewards(
        self, unit: UnitInfo, fam: Family, recruit: int, admission: int | None, r: Random
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rnd = r.random
        rec_year, rec_month = year_of(recruit), ((recruit >> 5) % 12) + 1
        first = rec_year if rec_month <= 6 else rec_year + 1
        last = self.as_of.year - 1
        first = max(first, last - 4)
        disc_year = None
        discipline: list[dict[str, Any]] = []
        if rnd() < 0.015 and last - first >= 2:
            disc_year = first + 1 + int(rnd() * (last - first - 1))
            s = key(disc_year, 1 + int(rnd() * 10), 1 + int(rnd() * 27))
            is_party = admission is not None and admission < s and rnd() < 0.4
            form = (
                ("DANG_KHIEN_TRACH" if rnd() < 0.7 else "DANG_CANH_CAO")
                if is_party
                else ("HC_KHIEN_TRACH" if rnd() < 0.7 else "HC_CANH_CAO")
            )
            row: dict[str, Any] = {"from": ym_of(s)}
            e = add_months(s, 12)
            if e < self.as_of_key:
                row["to"] = ym_of(e)
            row["discipline_form_code"] = form
            row["violation"] = tx.VIOLATIONS[int(rnd() * len(tx.VIOLATIONS))]
            row["deciding_authority"] = (
                f"Ủy ban Kiểm tra Đảng ủy {unit.agency_name}"
                if is_party
                else f"Thủ trưởng {unit.display}"
            )
            discipline.append(row)
        central = unit.level == "central"
        rows: list[dict[str, Any]] = []
        for year in range(first, last + 1):
            rating = "HTNV" if year == disc_year else _RATING.pick(rnd)
            if year <= 2019 and rating == "HTNV" and rnd() < 0.03:
                rating = "HTNV_HAN_CHE"
            row = {"year": year, "professional_rating_code": rating}
            if rating in ("HTXSNV", "HTTNV") and rnd() < 0.8:
                row["emulation_title_code"] = (
                    "CSTD_CO_SO" if rating == "HTXSNV" and rnd() < 0.35 else "LAO_DONG_TIEN_TIEN"
                )
            elif rnd() < 0.3:
                row["emulation_title_code"] = "KHONG_DAT"
            if rating in ("HTXSNV", "HTTNV"):
                x = rnd()
                if x < 0.12:
                    row["reward_form_codes"] = ["GIAY_KHEN"]
                elif x < 0.14:
                    row["reward_form_codes"] = [
                        "BANG_KHEN_BO_TRUONG" if central else "BANG_KHEN_CHU_TICH_UBND_TINH"
                    ]
                elif x < 0.1415:
                    row["reward_form_codes"] = ["BANG_KHEN_THU_TUONG"]
            rows.append(row)
        return rows, discipline

    def _family(
        self, ident: Identity, dob: dt.date, age_months: int, unit: UnitInfo, r: Random
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rnd = r.random
        year = dob.year
        as_year = self.as_of.year
        south = ident.home_new in SOUTH
        sur_pool = surname_pool(ident.ethnicity, south)
        home_text = self._ward_text(ident.home_ward[1], ident.home_new)
        res_text = self._ward_text(self._ward(unit.province, r)[1], unit.province)
        rows: list[dict[str, Any]] = []

        def person_row(
            code: str, sex: str, surname: str, born: int, relative_home: str
        ) -> dict[str, Any]:
            age = as_year - born
            row: dict[str, Any] = {
                "relationship_code": code,
                "full_name": self._name(sex, surname, r),
                "birth_year": born,
            }
            if code in _HOMETOWN_RELATIONS:
                row["hometown"] = relative_home
            if (age >= 80 and rnd() < 0.7) or (age >= 65 and rnd() < 0.25):
                row["occupation"] = (
                    f"Đã mất năm {min(as_year, born + 60 + int(rnd() * max(age - 60, 1)))}"
                )
                return row
            if age < 6:
                row["occupation"] = "Còn nhỏ"
            elif age < 18:
                row["occupation"] = "Học sinh"
                school = (
                    "Tiểu học"
                    if age < 11
                    else ("Trung học cơ sở" if age < 15 else "Trung học phổ thông")
                )
                row["work_or_study_unit"] = f"Trường {school} {short_name(ident.home_ward[1])}"
            elif age < 22 and rnd() < 0.7:
                row["occupation"] = "Sinh viên"
                row["work_or_study_unit"] = tx.UNIVERSITIES_GENERAL[
                    int(rnd() * len(tx.UNIVERSITIES_GENERAL))
                ]
            elif age >= 62:
                row["occupation"] = tx.OCCUPATIONS_PARENT_OLD[
                    int(rnd() * len(tx.OCCUPATIONS_PARENT_OLD))
                ]
                mem = tx.MEMBERSHIPS_OLD_M if sex == "M" else tx.MEMBERSHIPS_OLD_F
                if rnd() < 0.5:
                    row["sociopolitical_memberships"] = mem[int(rnd() * len(mem))]
            else:
                row["occupation"] = tx.OCCUPATIONS_ADULT[int(rnd() * len(tx.OCCUPATIONS_ADULT))]
                if rnd() < 0.2:
                    row["work_or_study_unit"] = tx.SPOUSE_UNITS[int(rnd() * len(tx.SPOUSE_UNITS))]
                if rnd() < 0.3:
                    row["sociopolitical_memberships"] = tx.MEMBERSHIPS_ADULT[
                        int(rnd() * len(tx.MEMBERSHIPS_ADULT))
                    ]
            if code in ("CHA", "ME"):
                row["residence"] = relative_home
            elif code in ("ANH", "CHI", "EM") and rnd() < 0.5:
                row["residence"] = res_text
            return row

        father_born = year - (24 + int(rnd() * 14))
        mother_born = max(year - (20 + int(rnd() * 14)), father_born - 2)
        mother_born = min(mother_born, year - 19)
        mother_sur = sur_pool.pick(rnd)
        mother_home = self._ward_text(self._ward(ident.home_new, r)[1], ident.home_new)
        rows.append(person_row("CHA", "M", ident.surname, father_born, home_text))
        rows.append(person_row("ME", "F", mother_sur, mother_born, mother_home))
        spouse_side: list[dict[str, Any]] = []
        age = age_months // 12
        if age >= 25 and rnd() < (0.9 if age >= 30 else 0.6):
            spouse_sex = "F" if ident.sex == "M" else "M"
            spouse_born = year + (int(rnd() * 7) if ident.sex == "M" else -int(rnd() * 7))
            spouse_born = min(spouse_born, as_year - 20)
            spouse_sur = sur_pool.pick(rnd)
            spouse_home = self._ward_text(self._ward(unit.province, r)[1], unit.province)
            spouse = person_row(
                "VO" if ident.sex == "M" else "CHONG",
                spouse_sex,
                spouse_sur,
                spouse_born,
                spouse_home,
            )
            rows.append(spouse)
            kids = 0 if rnd() < 0.08 else (1 if rnd() < 0.3 else (2 if rnd() < 0.85 else 3))
            born = year + 24 + int(rnd() * 7)
            for _ in range(kids):
                if born > as_year:
                    break
                kid_sur = ident.surname if ident.sex == "M" else spouse_sur
                rows.append(
                    person_row(
                        "CON",
                        "M" if rnd() < 0.52 else "F",
                        kid_sur,
                        born,
                        home_text if ident.sex == "M" else spouse_home,
                    )
                )
                born += 2 + int(rnd() * 5)
            side = "VO" if ident.sex == "M" else "CHONG"
            f_born = spouse_born - (24 + int(rnd() * 12))
            m_born = spouse_born - (20 + int(rnd() * 12))
            spouse_side.append(person_row(f"CHA_{side}", "M", spouse_sur, f_born, spouse_home))
            spouse_side.append(
                person_row(f"ME_{side}", "F", sur_pool.pick(rnd), m_born, spouse_home)
            )
            for _ in range(1 if rnd() < 0.3 else 0):
                sib_sex = "M" if rnd() < 0.5 else "F"
                off = 1 + int(rnd() * 8)
                older = rnd() < 0.5
                code = (
                    (f"ANH_{side}" if sib_sex == "M" else f"CHI_{side}") if older else f"EM_{side}"
                )
                sb = spouse_born - off if older else min(spouse_born + off, as_year - 1)
                spouse_side.append(person_row(code, sib_sex, spouse_sur, sb, spouse_home))
        n_sib = int(rnd() * (4 if year < 1980 else 3))
        for _ in range(n_sib):
            sib_sex = "M" if rnd() < 0.5 else "F"
            off = 1 + int(rnd() * 10)
            older = rnd() < 0.5
            born = year - off if older else min(year + off, as_year - 1)
            code = ("ANH" if sib_sex == "M" else "CHI") if older else "EM"
            rows.append(person_row(code, sib_sex, ident.surname, born, home_text))
        return rows, spouse_side

    def _salary_rows(self, salary: Salary) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        events = salary.events
        tables = self.tables
        legacy_lecturer = {"V.07.01.03": "15.111", "V.07.01.02": "15.110", "V.07.01.01": "15.109"}
        for i, ev in enumerate(events):
            group = tables.group_of[ev.rank]
            row: dict[str, Any] = {"from": ym_of(ev.key)}
            if i + 1 < len(events):
                to_mi = (events[i + 1].key >> 5) - 1
                row["to"] = ym(to_mi)
                rank = legacy_lecturer.get(ev.rank, ev.rank) if to_mi < 2015 * 12 else ev.rank
            else:
                rank = ev.rank
            row["rank_code"] = rank
            row["salary_step"] = ev.step
            row["salary_coefficient"] = tables.coef[(group, ev.step)]
            rows.append(row)
        return rows

    def _allowances(
        self,
        unit: UnitInfo,
        fam: Family,
        is_vc: bool,
        salary: Salary,
        recruit: int,
        appointed: int | None,
        allowance: str | None,
        position: str | None,
    ) -> tuple[list[dict[str, Any]], str, int]:
        rows: list[dict[str, Any]] = []
        parts: list[str] = []
        extra = 0
        if not is_vc:
            start = max(recruit, key(2012, 5, 1))
            rows.append(
                {
                    "from": ym_of(start),
                    "allowance_type_code": "CONG_VU",
                    "percent": 25,
                    "payment_method_code": "PHAN_TRAM",
                }
            )
            parts.append("Phụ cấp công vụ 25%")
            extra += 25
        if unit.profile in _TEACHER_ALLOWANCE and fam.education.startswith("teacher"):
            pct = _TEACHER_ALLOWANCE[unit.profile]
            rows.append(
                {
                    "from": ym_of(recruit),
                    "allowance_type_code": "UU_DAI_NGHE",
                    "percent": pct,
                    "payment_method_code": "PHAN_TRAM",
                }
            )
            parts.append(f"Phụ cấp ưu đãi nghề {pct}%")
            extra += pct
            years = months_between(recruit, self.as_of_key) // 12
            if years >= 5:
                rows.append(
                    {
                        "from": ym_of(add_months(recruit, 12 * years)),
                        "allowance_type_code": "THAM_NIEN_NGHE",
                        "percent": years,
                        "payment_method_code": "PHAN_TRAM",
                    }
                )
                parts.append(f"Phụ cấp thâm niên nhà giáo {years}%")
                extra += years
        elif unit.profile in ("hospital", "cdc", "health_station") and fam.education in (
            "doctor",
            "yhdp",
            "ysi",
        ):
            pct = 40 if fam.education != "ysi" else 30
            rows.append(
                {
                    "from": ym_of(recruit),
                    "allowance_type_code": "UU_DAI_NGHE",
                    "percent": pct,
                    "payment_method_code": "PHAN_TRAM",
                }
            )
            parts.append(f"Phụ cấp ưu đãi nghề {pct}%")
            extra += pct
        if allowance is not None and appointed is not None and position is not None:
            rows.append(
                {
                    "from": ym_of(appointed),
                    "allowance_type_code": "CHUC_VU",
                    "coefficient": allowance,
                    "payment_method_code": "HE_SO",
                }
            )
        if salary.pctnvk is not None and salary.pctnvk_key is not None:
            rows.append(
                {
                    "from": ym_of(salary.pctnvk_key),
                    "allowance_type_code": "THAM_NIEN_VUOT_KHUNG",
                    "percent": salary.pctnvk,
                    "payment_method_code": "PHAN_TRAM",
                }
            )
            extra += salary.pctnvk
        if unit.province in NORTH_MOUNTAIN and unit.level == "commune":
            rows.append(
                {
                    "from": ym_of(recruit),
                    "allowance_type_code": "KHU_VUC",
                    "coefficient": "0.50",
                    "payment_method_code": "HE_SO",
                }
            )
            parts.append("Phụ cấp khu vực 0,5")
        rows.sort(key=lambda x: x["from"])
        return rows, "; ".join(parts), extra

    def _household(
        self, salary: Salary, allowance: str | None, extra_pct: int, province: str, r: Random
    ) -> dict[str, Any]:
        rnd = r.random
        coef = float(salary.coefficient)
        monthly = BASE_PAY_VND * (
            coef * (1 + extra_pct / 100) + (float(allowance) if allowance else 0.0)
        )
        row: dict[str, Any] = {"salary_income_vnd": int(round(monthly * 12, -3))}
        row["other_income"] = tx.OTHER_INCOME[int(rnd() * len(tx.OTHER_INCOME))]
        x = rnd()
        city = province in BIG_CITIES
        if x < (0.35 if city else 0.1):
            row["own_housing_type_code"] = "CAN_HO_CHUNG_CU"
            row["own_housing_area_m2"] = f"{45 + int(rnd() * 80)}.{int(rnd() * 100):02d}"
            row["own_housing_certificate"] = "Đã có Giấy chứng nhận"
        elif x < 0.85:
            row["own_housing_type_code"] = "NHA_RIENG_LE" if rnd() < 0.75 else "NHA_CAP_4"
            row["own_housing_area_m2"] = f"{60 + int(rnd() * 180)}.00"
            row["own_housing_certificate"] = "Đã có Giấy chứng nhận"
            row["purchased_land_area_m2"] = f"{(40 if city else 80) + int(rnd() * 250)}.00"
            row["purchased_land_certificate"] = "Đã có Giấy chứng nhận"
        elif x < 0.88:
            row["allocated_housing_type_code"] = "NHA_O_CONG_VU"
            row["allocated_housing_area_m2"] = f"{30 + int(rnd() * 30)}.00"
        return row

    @staticmethod
    def _master_major(edu: str, major: str, focus: str | None, rnd: Any) -> str:
        if edu.startswith("teacher"):
            if focus is not None and rnd() < 0.6:
                return f"Lý luận và phương pháp dạy học bộ môn {focus}"
            return "Quản lý giáo dục" if rnd() < 0.7 else "Giáo dục học"
        if rnd() < 0.6:
            return major
        return tx.ADMIN_MAJORS[int(rnd() * len(tx.ADMIN_MAJORS))]

    def _duty(self, unit: UnitInfo, fam: Family, focus: str | None, major: str, r: Random) -> str:
        rnd = r.random
        edu = fam.education

        def pick(seq: tuple[str, ...]) -> str:
            return seq[int(rnd() * len(seq))]

        if edu == "teacher_thpt":
            return f"Giảng dạy môn {focus or pick(tx.SUBJECTS_THPT)} lớp {10 + int(rnd() * 3)}"
        if edu == "teacher_thcs":
            return f"Giảng dạy môn {focus or pick(tx.SUBJECTS_THCS)} lớp {6 + int(rnd() * 4)}"
        if edu == "teacher_th":
            return f"Giáo viên chủ nhiệm lớp {1 + int(rnd() * 5)}"
        if edu == "teacher_mn":
            return f"Chăm sóc, giáo dục trẻ lớp mẫu giáo {pick(('bé', 'nhỡ', 'lớn'))}"
        if edu == "lecturer":
            return f"Giảng dạy và nghiên cứu khoa học chuyên ngành {major}"
        if edu == "doctor":
            return f"Khám, chẩn đoán và điều trị người bệnh tại Khoa {focus or pick(tx.CLINICAL_DEPTS)}"
        if edu == "yhdp":
            return pick(tx.CDC_DUTIES)
        if edu == "ysi":
            return "Khám, chữa bệnh ban đầu và chăm sóc sức khỏe cộng đồng"
        if edu == "engineer":
            return pick(tx.DUTIES_ENGINEER)
        if edu == "tech":
            return pick(tx.DUTIES_TECH)
        if edu in ("archive", "archive_mid"):
            return pick(tx.DUTIES_ARCHIVE)
        if edu in ("finance", "finance_mid") and fam.id != "cc_general":
            return pick(tx.DUTIES_ACCOUNT)
        if edu == "clerk":
            return pick(tx.DUTIES_CLERK)
        if edu == "staff":
            return pick(tx.DUTIES_STAFF)
        if edu == "inspect":
            return pick(tx.DUTIES_INSPECT)
        if unit.profile == "finance":
            return pick(tx.DUTIES_FINANCE)
        if unit.profile == "commune_admin":
            return pick(tx.DUTIES_COMMUNE)
        if unit.level == "central":
            return pick(tx.DUTIES_CENTRAL)
        return pick(tx.DUTIES_PROVINCE)
