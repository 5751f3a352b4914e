"""A small, independent reading of the data-level rules of ``quality-rules.csv``.

Test oracle for the generator, not the quality engine: it implements the rules a bulk line
can show (record rules with data only, the dataset rules SACH-001/002 and, given a registry
view, SACH-009/010/011) following quality-rules.md §5, and returns findings as
``(rule_id, field)`` pairs with the finding paths of §6. Rules that need record metadata
(``meta.*``) are out of scope.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from hoso.catalog.admin_units import districts_legacy, wards_2025, wards_legacy
from hoso.catalog.loader import Catalog, FieldDef
from hoso.generate.dates import retirement_date
from hoso.generate.people import Label

Finding = tuple[str, str]
Run = list[tuple[dict[str, Any], list[Label], dict[str, Any] | None]]
"""A generator run as (line, labels, registry entry) triples."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’-][^\W\d_]+)*$")
_TCVN3_SIGNS = set("§®¨©ª«¬µ¶·¸¹½¾¡¢£¤¥¦")
_VNI = re.compile(r"[aeiouyAEIOUY][ùøûõïäë]|[aeoAEO][âêô]|[ñÑ]")
_PHONE = re.compile(r"^0[1-9][0-9]{8,9}$")
_SI = re.compile(r"^[0-9]{10}$")
_HI = re.compile(r"^([A-Z]{2}[1-5][0-9]{2})?[0-9]{10}$")


def _parse(value: Any) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of a date, year-month or year value; None when malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, None, None)
    if not isinstance(value, str):
        return None
    if _DATE.match(value):
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            return None
        return (d.year, d.month, d.day)
    if _MONTH.match(value):
        return (int(value[:4]), int(value[5:7]), None)
    if re.fullmatch(r"\d{4}", value):
        return (int(value), None, None)
    return None


def _cmp(a: tuple[int, int | None, int | None], b: tuple[int, int | None, int | None]) -> int:
    """Compare at the coarser precision of the two values."""
    ka, kb = [a[0]], [b[0]]
    if a[1] is not None and b[1] is not None:
        ka.append(a[1])
        kb.append(b[1])
        if a[2] is not None and b[2] is not None:
            ka.append(a[2])
            kb.append(b[2])
    return (ka > kb) - (ka < kb)


def _ref_date(row: dict[str, Any]) -> dt.date | None:
    for col in ("to", "from", "year"):
        p = _parse(row.get(col))
        if p is not None:
            return dt.date(p[0], p[1] or 12, p[2] or 28) if col != "year" else dt.date(p[0], 12, 31)
    return None


def _empty(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _months(a: dt.date, b: dt.date) -> int:
    m = (b.year - a.year) * 12 + b.month - a.month
    return m - 1 if b.day < a.day else m


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


class RuleCheck:
    """Runs the data-level rules on dossiers for a fixed as-of date and profile nd27."""

    def __init__(self, cat: Catalog, as_of: dt.date) -> None:
        self.cat = cat
        self.as_of = as_of
        self.w25 = wards_2025()
        self.wl = wards_legacy()
        self.dl = districts_legacy()
        self.prefixes = {
            e.extra["personal_id_prefix"] for e in cat.codelist("province_legacy").codes.values()
        }
        self.rules_of: dict[str, set[str]] = {leaf.path: set(leaf.rules) for leaf in cat.leaves}

    # -- helpers ---------------------------------------------------------------------------

    def _leaves(
        self, data: dict[str, Any]
    ) -> Iterable[tuple[str, FieldDef, Any, dict[str, Any] | None]]:
        """(finding path, leaf, value, row) for every present value."""
        for f in self.cat.fields:
            value = data.get(f.code)
            if _empty(value):
                continue
            if f.is_table:
                if not isinstance(value, list):
                    continue
                for i, row in enumerate(value):
                    for col in f.columns:
                        cell = row.get(col.code)
                        if not _empty(cell):
                            yield f"{f.code}[{i}].{col.code}", col, cell, row
            else:
                yield f.code, f, value, None

    def _code_ok(
        self,
        leaf: FieldDef,
        code: str,
        day: dt.date,
        data: dict[str, Any],
        row: dict[str, Any] | None,
    ) -> str | None:
        """None when fine, else the rule id (DUNG-009 or DUNG-010)."""
        list_id = leaf.codelist
        if leaf.codelist_by_scheme and leaf.scheme_field:
            scheme = (row or data).get(leaf.scheme_field)
            list_id = leaf.codelist_by_scheme.get(str(scheme), list_id)
        if list_id in ("ward_2025", "ward_legacy", "district_legacy"):
            known = {"ward_2025": self.w25, "ward_legacy": self.wl, "district_legacy": self.dl}[
                list_id
            ]
            return None if code in known else "DUNG-009"
        if list_id not in self.cat.codelists:
            return None
        cl = self.cat.codelists[list_id]
        entry = cl.codes.get(code)
        if entry is None:
            return "DUNG-009" if cl.closed else "DUNG-010"
        if list_id in ("province_2025", "province_legacy", "admin_unit_scheme"):
            return None
        if not entry.valid_on(day):
            return "DUNG-009"
        return None

    # -- the rules -------------------------------------------------------------------------

    def record(self, data: dict[str, Any]) -> set[Finding]:
        out: set[Finding] = set()
        cat = self.cat
        as_of = self.as_of
        pid = data.get("personal_id")
        dob_p = _parse(data.get("date_of_birth"))
        dob = dt.date.fromisoformat(data["date_of_birth"]) if dob_p and dob_p[2] else None
        sex = data.get("sex")
        # DUNG-001 … DUNG-005
        for f in ("personal_id", "record_id"):
            if f in data and not re.fullmatch(r"[0-9]{12}", str(data[f])):
                out.add(("DUNG-001", f))
        if isinstance(pid, str) and re.fullmatch(r"[0-9]{12}", pid) and dob:
            g = int(pid[3])
            if (
                1900 + 100 * (g // 2) != dob.year // 100 * 100
                or ("M" if g % 2 == 0 else "F") != sex
            ):
                out.add(("DUNG-002", "personal_id"))
            if pid[4:6] != f"{dob.year % 100:02d}":
                out.add(("DUNG-003", "personal_id"))
            if pid[:3] not in self.prefixes:
                out.add(("DUNG-004", "personal_id"))
        if data.get("record_id") not in (None, pid):
            out.add(("DUNG-005", "record_id"))
        # Type-driven rules on every leaf.
        for path, leaf, value, row in self._leaves(data):
            rules = set(leaf.rules)
            if leaf.type in ("date", "year_month", "year"):
                p = _parse(value)
                ok = p is not None and (
                    (leaf.type == "date" and p[2] is not None)
                    or (leaf.type == "year_month" and p[1] is not None and p[2] is None)
                    or (leaf.type == "year" and isinstance(value, int))
                )
                if not ok and "DUNG-006" in rules:
                    out.add(("DUNG-006", path))
                if (
                    p is not None
                    and dob_p
                    and "DUNG-011" in rules
                    and path != "date_of_birth"
                    and _cmp(p, dob_p) < 0
                ):
                    out.add(("DUNG-011", path))
                if (
                    p is not None
                    and "DUNG-012" in rules
                    and _cmp(p, (as_of.year, as_of.month, as_of.day)) > 0
                ):
                    out.add(("DUNG-012", path))
            if leaf.type in ("string", "text") and isinstance(value, str):
                if len(value) > (leaf.effective_max_length or 10**9) and "DUNG-007" in rules:
                    out.add(("DUNG-007", path))
                if leaf.pattern and "DUNG-007" in rules and not re.search(leaf.pattern, value):
                    out.add(("DUNG-007", path))
                if value != value.strip() and "SACH-012" in rules:
                    out.add(("SACH-012", path))
                tcvn3 = any(
                    c in _TCVN3_SIGNS
                    and ((i and value[i - 1].isalpha()) or value[i + 1 : i + 2].isalpha())
                    for i, c in enumerate(value)
                )
                if "SACH-003" in rules and (tcvn3 or _VNI.search(value)):
                    out.add(("SACH-003", path))
                if "SACH-004" in rules and (
                    not unicodedata.is_normalized("NFC", value)
                    or any(unicodedata.category(c) in ("Cc", "Cf") for c in value)
                ):
                    out.add(("SACH-004", path))
            out_of_range = isinstance(value, int) and (
                (leaf.min is not None and value < leaf.min)
                or (leaf.max is not None and value > leaf.max)
            )
            if leaf.type in ("integer", "year") and "DUNG-007" in rules and out_of_range:
                out.add(("DUNG-007", path))
            if leaf.type == "decimal" and "DUNG-007" in rules:
                if not isinstance(value, str) or not re.fullmatch(
                    rf"-?\d+\.\d{{{leaf.scale}}}", value
                ):
                    out.add(("DUNG-007", path))
                else:
                    v = float(value)
                    if (leaf.min is not None and v < leaf.min) or (
                        leaf.max is not None and v > leaf.max
                    ):
                        out.add(("DUNG-007", path))
            if leaf.type == "code" and leaf.codelist:
                day = as_of if row is None else (_ref_date(row) or as_of)
                codes = value if leaf.multiple else [value]
                for j, code in enumerate(codes):
                    rule = self._code_ok(leaf, str(code), day, data, row)
                    if rule and rule in rules:
                        out.add((rule, f"{path}[{j}]" if leaf.multiple else path))
        # DUNG-008 and SACH-012 on identifiers.
        for f, pattern in (
            ("phone", _PHONE),
            ("social_insurance_no", _SI),
            ("health_insurance_no", _HI),
        ):
            value = data.get(f)
            if not isinstance(value, str):
                continue
            norm = re.sub(r"[ .\-]", "", value)
            if f == "phone" and norm.startswith("+84"):
                norm = "0" + norm[3:]
            if norm != value:
                out.add(("SACH-012", f))
            if not pattern.match(norm):
                out.add(("DUNG-008", f))
        # DUNG-013
        for t in cat.tables:
            for i, row in enumerate(data.get(t.code) or []):
                a, b = _parse(row.get("from")), _parse(row.get("to"))
                if a and b and _cmp(a, b) > 0:
                    out.add(("DUNG-013", f"{t.code}[{i}].to"))
        # DUNG-014, DUNG-015
        for rule, pairs in (
            ("DUNG-014", (("party_admission_date", "party_official_date"), ("enlistment_date", "discharge_date"),
                          ("position_appointment_date", "position_reappointment_date"))),
            ("DUNG-015", (("first_recruitment_date", "current_agency_join_date"),
                          ("first_recruitment_date", "rank_appointment_date"),
                          ("rank_appointment_date", "salary_effective_date"))),
        ):  # fmt: skip
            for a_f, b_f in pairs:
                a, b = _parse(data.get(a_f)), _parse(data.get(b_f))
                if a and b and _cmp(a, b) > 0:
                    out.add((rule, b_f))
        active_codes = {
            c
            for c, e in cat.codelist("employment_status").codes.items()
            if e.extra.get("active") == "true"
        }
        active = (
            data.get("employment_status_code") in active_codes
            or "employment_status_code" not in data
        )
        if dob:
            rec = data.get("first_recruitment_date")
            if isinstance(rec, str) and _DATE.match(rec):
                age = _months(dob, dt.date.fromisoformat(rec)) / 12
                if age < 18 or age > 65:
                    out.add(("DUNG-016", "first_recruitment_date"))
            age_now = _months(dob, as_of) / 12
            if active and (age_now < 18 or age_now > 70):
                out.add(("DUNG-017", "date_of_birth"))
            adm = data.get("party_admission_date")
            if (
                isinstance(adm, str)
                and _DATE.match(adm)
                and dt.date.fromisoformat(adm) < _add_years(dob, 18)
            ):
                out.add(("DUNG-018", "party_admission_date"))
            if active and sex in ("M", "F") and retirement_date(dob, sex) < as_of:
                out.add(("SONG-010", "date_of_birth"))
        adm, off = data.get("party_admission_date"), data.get("party_official_date")
        if isinstance(adm, str) and isinstance(off, str) and _DATE.match(adm) and _DATE.match(off):
            m = _months(dt.date.fromisoformat(adm), dt.date.fromisoformat(off))
            if m < 12 or m > 24:
                out.add(("DUNG-018", "party_official_date"))
        # Salary rules.
        ranks = cat.codelist("rank").codes
        groups = cat.codelist("salary_group").codes

        def salary_check(rank: Any, step: Any, coef: Any, step_path: str, coef_path: str) -> None:
            entry = ranks.get(rank) if isinstance(rank, str) else None
            if entry is None or not isinstance(step, int):
                return
            group = entry.extra["salary_group"]
            if step > int(groups[group].extra["steps"]):
                out.add(("DUNG-019", step_path))
                return
            scale = cat.salary_scale.get((group, step))
            if (
                isinstance(coef, str)
                and scale is not None
                and abs(float(coef) - float(scale)) > 0.005
            ):
                out.add(("DUNG-020", coef_path))

        salary_check(
            data.get("rank_code"),
            data.get("salary_step"),
            data.get("salary_coefficient"),
            "salary_step",
            "salary_coefficient",
        )
        history = data.get("salary_history") or []
        for i, row in enumerate(history):
            salary_check(row.get("rank_code"), row.get("salary_step"), row.get("salary_coefficient"),
                         f"salary_history[{i}].salary_step", f"salary_history[{i}].salary_coefficient")  # fmt: skip
        rank_entry = ranks.get(data.get("rank_code", ""))
        group = rank_entry.extra["salary_group"] if rank_entry else None
        pct = data.get("beyond_scale_seniority_percent")
        step = data.get("salary_step")
        if (
            group
            and isinstance(pct, int)
            and isinstance(step, int)
            and (step < int(groups[group].extra["steps"]) or pct < 5)
        ):
            out.add(("DUNG-021", "beyond_scale_seniority_percent"))
        if "salary_percent" in data and data["salary_percent"] not in (85, 100):
            out.add(("DUNG-022", "salary_percent"))
        pos = data.get("current_position_code")
        allowance = data.get("position_allowance_coefficient")
        if isinstance(allowance, str):
            entry = cat.codelist("position").codes.get(pos or "")
            known = (
                [entry.extra.get(k) for k in ("allowance_coefficient", "allowance_coefficient_alt")]
                if entry
                else []
            )
            known = [k for k in known if k]
            v = float(allowance)
            if (known and all(abs(v - float(k)) > 0.005 for k in known)) or not 0.10 <= v <= 1.30:
                out.add(("DUNG-023", "position_allowance_coefficient"))
        open_rows = [r for r in history if _empty(r.get("to"))]
        if open_rows:
            latest = open_rows[-1]
            for f in ("rank_code", "salary_step", "salary_coefficient"):
                if f in data and f in latest and data[f] != latest[f]:
                    out.add(("DUNG-024", f))
        level = data.get("career_level")
        if (
            data.get("employee_type_code") == "VC"
            and level
            and group
            and group not in ("A2.2", "A3.2")
        ):
            lvl = cat.codelist("career_level").codes.get(level)
            if lvl and lvl.extra["salary_group"] != group:
                out.add(("DUNG-025", "career_level"))
        if (
            rank_entry
            and data.get("employee_type_code")
            and rank_entry.extra["employee_type"] != data["employee_type_code"]
        ):
            out.add(("DUNG-026", "employee_type_code"))
        rel = cat.codelist("relationship").codes
        for t, side in (("family_own_side", "own"), ("family_spouse_side", "spouse")):
            for i, row in enumerate(data.get(t) or []):
                e = rel.get(row.get("relationship_code", ""))
                if e is None:
                    continue
                code = e.code
                bad = e.extra["side"] != side
                bad |= sex == "M" and (code == "CHONG" or code.endswith("_CHONG"))
                bad |= sex == "F" and (code == "VO" or code.endswith("_VO"))
                if bad:
                    out.add(("DUNG-027", f"{t}[{i}].relationship_code"))
                if t == "family_own_side" and dob and isinstance(row.get("birth_year"), int):
                    if e.extra["kind"] == "parent" and row["birth_year"] > dob.year - 12:
                        out.add(("DUNG-028", f"{t}[{i}].birth_year"))
                    if e.extra["kind"] == "child" and row["birth_year"] < dob.year + 12:
                        out.add(("DUNG-028", f"{t}[{i}].birth_year"))
        for dep, pre in (
            ("party_official_date", "party_admission_date"), ("party_position_code", "party_admission_date"),
            ("concurrent_party_position_codes", "party_admission_date"), ("discharge_date", "enlistment_date"),
            ("highest_military_rank_code", "enlistment_date"), ("position_appointment_date", "current_position_code"),
            ("position_reappointment_date", "position_appointment_date"),
            ("beyond_scale_seniority_date", "beyond_scale_seniority_percent"),
            ("beyond_scale_seniority_percent", "beyond_scale_seniority_date"),
        ):  # fmt: skip
            if not _empty(data.get(dep)) and _empty(data.get(pre)):
                out.add(("DUNG-029", dep))
        for prefix in ("hometown", "birth_place", "residence"):
            scheme = data.get(f"{prefix}_unit_scheme")
            ward, province = data.get(f"{prefix}_ward_code"), data.get(f"{prefix}_province_code")
            if _empty(scheme) and (ward or province):
                out.add(("DUNG-030", f"{prefix}_unit_scheme"))
                continue
            units = self.w25 if scheme == "2025" else self.wl
            if ward and province and ward in units and units[ward].province_code != province:
                out.add(("DUNG-030", f"{prefix}_ward_code"))
            if (
                prefix == "hometown"
                and scheme == "2025"
                and data.get("hometown_district_legacy_code")
            ):
                out.add(("DUNG-030", "hometown_district_legacy_code"))
            if scheme == "legacy":
                out.add(("SACH-007", f"{prefix}_unit_scheme"))
            if scheme == "2025" and ward and ward not in self.w25 and ward in self.wl:
                out.add(("SACH-008", f"{prefix}_ward_code"))
        # Completeness.
        for f in cat.fields:
            if "nd27" not in f.profiles:
                continue
            if not f.is_table:
                if f.required == "always" and _empty(data.get(f.code)):
                    out.add(("DU-001", f.code))
                if (
                    f.required == "conditional"
                    and f.required_when
                    and _empty(data.get(f.code))
                    and self._holds(f.required_when, data)
                ):
                    out.add(("DU-002", f.code))
                continue
            rows = data.get(f.code) or []
            for i, row in enumerate(rows):
                for col in f.columns:
                    if (
                        col.required == "always"
                        and "nd27" in col.profiles
                        and _empty(row.get(col.code))
                    ):
                        out.add(("DU-003", f"{f.code}[{i}].{col.code}"))
            if f.min_rows and len(rows) < f.min_rows:
                out.add(("DU-004", f.code))
            for cond in f.must_contain:
                if not any(row.get(cond["column"]) in cond["any_of"] for row in rows):
                    out.add(("DU-005", f.code))
        own = data.get("family_own_side") or []
        spouse_side = data.get("family_spouse_side") or []
        has_spouse = any(r.get("relationship_code") in ("VO", "CHONG") for r in own)
        spouse_parents = any(
            rel.get(r.get("relationship_code", ""))
            and rel[r["relationship_code"]].extra["kind"] == "parent"
            for r in spouse_side
        )
        if (spouse_side and not has_spouse) or (has_spouse and not spouse_parents):
            out.add(("DU-006", "family_own_side"))
        plevel = cat.codelist("professional_level").codes.get(
            data.get("highest_professional_level_code", "")
        )
        if (
            plevel
            and int(plevel.extra["level_order"]) >= 2
            and not data.get("professional_training")
        ):
            out.add(("DU-007", "professional_training"))
        if data.get("rank_code") and data.get("salary_step") and not history:
            out.add(("DU-008", "salary_history"))
        work = data.get("work_history") or []
        rec = data.get("first_recruitment_date")
        if work:
            as_m = as_of.year * 12 + as_of.month - 1

            def mi(v: str) -> int:
                return int(v[:4]) * 12 + int(v[5:7]) - 1

            opened = any(_empty(r.get("to")) for r in work)
            last_to = max((mi(r["to"]) for r in work if not _empty(r.get("to"))), default=None)
            gap = False
            spans = sorted(
                (mi(r["from"]), mi(r["to"]) if not _empty(r.get("to")) else as_m)
                for r in work
                if r.get("from")
            )
            rec_m = mi(rec) if isinstance(rec, str) and len(rec) >= 7 else None
            for (_, end), (start, _) in itertools.pairwise(spans):
                if rec_m is not None and end >= rec_m and start - end - 1 > 6:
                    gap = True
            if (not opened and (last_to is None or last_to < as_m)) or gap:
                out.add(("DU-009", "work_history"))
        if isinstance(rec, str) and _DATE.match(rec) and (as_of.month, as_of.day) >= (3, 1):
            prev = as_of.year - 1
            if dt.date.fromisoformat(rec) <= dt.date(prev, 1, 1):
                rows = data.get("rewards_and_ratings") or []
                if not any(
                    r.get("year") == prev and r.get("professional_rating_code") for r in rows
                ):
                    out.add(("DU-010", "rewards_and_ratings"))
        adm = data.get("party_admission_date")
        if (
            isinstance(adm, str)
            and _DATE.match(adm)
            and _empty(data.get("party_official_date"))
            and _months(dt.date.fromisoformat(adm), as_of) > 18
        ):
            out.add(("DU-011", "party_official_date"))
        # Names.
        name = data.get("birth_name")
        if isinstance(name, str):
            if name != name.upper():
                out.add(("SACH-005", "birth_name"))
            if not _NAME.match(unicodedata.normalize("NFC", name)) or len(name.split()) < 2:
                out.add(("SACH-006", "birth_name"))
        for t in ("family_own_side", "family_spouse_side"):
            for i, row in enumerate(data.get(t) or []):
                n = row.get("full_name")
                if isinstance(n, str) and not _NAME.match(unicodedata.normalize("NFC", n)):
                    out.add(("SACH-006", f"{t}[{i}].full_name"))
        # Duplicate rows.
        for t in cat.tables:
            seen: set[str] = set()
            for i, row in enumerate(data.get(t.code) or []):
                k = repr(sorted(row.items()))
                if k in seen:
                    out.add(("SACH-013", f"{t.code}[{i}]"))
                seen.add(k)
        # Timeliness visible in the data.
        step, eff = data.get("salary_step"), data.get("salary_effective_date")
        if (
            group
            and isinstance(step, int)
            and isinstance(eff, str)
            and _DATE.match(eff)
            and step < int(groups[group].extra["steps"])
        ):
            interval = int(groups[group].extra["step_interval_months"])
            if _months(dt.date.fromisoformat(eff), as_of) > interval + 3:
                out.add(("SONG-007", "salary_effective_date"))
        app = data.get("position_appointment_date")
        if (
            pos
            and isinstance(app, str)
            and _DATE.match(app)
            and _empty(data.get("position_reappointment_date"))
        ) and _months(dt.date.fromisoformat(app), as_of) > 60:
            out.add(("SONG-008", "position_appointment_date"))
        return out

    def _holds(self, cond: dict[str, Any], data: dict[str, Any]) -> bool:
        if "any_present" in cond:
            return any(not _empty(data.get(f)) for f in cond["any_present"])
        value = data.get(cond["field"])
        if _empty(value):
            return False
        if cond.get("present"):
            return True
        if "in" in cond:
            return value in cond["in"]
        if "not_in" in cond:
            return value not in cond["not_in"]
        return False

    @staticmethod
    def duplicates(
        records: list[dict[str, Any]], merged_into: dict[str, str]
    ) -> dict[str, set[Finding]]:
        """SACH-001 and SACH-002 across records, by personal ID."""
        out: dict[str, set[Finding]] = {}
        by_pid: dict[str, int] = {}
        by_key: dict[tuple[str, str, str], set[str]] = {}
        for data in records:
            pid = data["personal_id"]
            by_pid[pid] = by_pid.get(pid, 0) + 1
            province = data.get("hometown_province_code", "")
            if data.get("hometown_unit_scheme") == "legacy":
                province = merged_into.get(province, province)
            name = " ".join(
                unicodedata.normalize("NFC", data.get("birth_name", "")).upper().split()
            )
            by_key.setdefault((name, data.get("date_of_birth", ""), province), set()).add(pid)
        for pid, n in by_pid.items():
            if n > 1:
                out.setdefault(pid, set()).add(("SACH-001", "personal_id"))
        for pids in by_key.values():
            if len(pids) > 1:
                for pid in pids:
                    out.setdefault(pid, set()).add(("SACH-002", "personal_id"))
        return out

    @staticmethod
    def registry(data: dict[str, Any], entry: dict[str, Any] | None) -> set[Finding]:
        """SACH-009/010/011 against the registry's entry for the dossier's personal ID."""
        if entry is None:
            return {("SACH-011", "personal_id")}
        out: set[Finding] = set()

        def norm(v: Any) -> Any:
            return (
                " ".join(unicodedata.normalize("NFC", v).upper().split())
                if isinstance(v, str)
                else v
            )

        for f in ("birth_name", "date_of_birth", "sex"):
            if f in data and f in entry and norm(data[f]) != norm(entry[f]):
                out.add(("SACH-009", f))
        for f, v in entry.items():
            if f in ("personal_id", "birth_name", "date_of_birth", "sex"):
                continue
            if f in data and norm(data[f]) != norm(v):
                out.add(("SACH-010", f))
        return out
