"""Defect injection: one known problem per chosen person, listed as a label.

With ``defect_rate`` R, each person is chosen with probability R; chosen people take the
categories of ``quality-rules.csv`` in turn (a shuffled cycle), so that every category shows
up as soon as a few dozen people are chosen. Within a category a rule that fits the person
is drawn (a person without a leadership post cannot get a stale appointment date). Each
defect yields one or more labels ``{"personal_id", "category", "rule_id", "field"}`` with the
finding path of quality-rules.md §6 (``work_history[2].to``), naming exactly the findings a
correct engine reports for the person on the generator's as-of date.

Defects keep the line **structurally valid**, because the importer refuses lines with a
wrong JSON type, an impossible date, an unknown field, a non-array table or a personal ID
that is not 12 digits, and it normalises text (NFC, trimmed) on the way in. So a defect is a
well-typed but doubtful value: an unknown or expired code, dates out of order, a missing
mandatory field, a coefficient off the scale, a lower-case birth name, and so on.

How each category is represented:

- ``invalid_format``: a 9-digit phone or social-insurance number, a malformed health card,
  an 8-digit CMND, a height in millimetres (DUNG-007/008); a partial date ``2001`` or
  ``2021-05`` in a date field (DUNG-006: the importer stores partial legacy dates); a phone
  in ``+84`` form or a social-insurance number with spaces (SACH-012).
- ``invalid_code``: an unknown ethnicity or blood group, a rating code expired at the row's
  year (DUNG-009), an unknown code of an open list (DUNG-010), a personal-ID prefix that is
  no legacy province (DUNG-004).
- ``personal_id_mismatch``: the century/sex digit or the year digits disagree with the date
  of birth or sex (DUNG-002/003).
- ``date_order``: from after to in a history row (DUNG-013), discharge before enlistment or
  reappointment before appointment (DUNG-014), a date before birth (DUNG-011), a date after
  the as-of date (DUNG-012), joining the agency before the first recruitment (DUNG-015).
- ``implausible_value``: an off-scale coefficient in the salary history (DUNG-020), PCTNVK
  below the last step (DUNG-021), 90 % salary (DUNG-022), a position allowance that is not
  the post's (DUNG-023), a child born too soon after the declarant (DUNG-028), full Party
  membership 30 months after admission (DUNG-018).
- ``missing_mandatory``: a mandatory scalar left out (DU-001), a conditional one (DU-002), a
  mandatory column of a row (DU-003), a missing full-membership date (DU-011).
- ``incomplete_table``: no household row (DU-004), no mother (DU-005), a spouse without the
  spouse's family (DU-006), no training row (DU-007), no salary history (DU-008), a closed
  last work row (DU-009), no rating for last year (DU-010).
- ``duplicate_person``: a second dossier with the same birth name, date of birth and home
  town under another personal ID (SACH-002); both people are labelled. SACH-001 (the same
  ID twice) is not produced: the personal ID is the storage key, so a second line with the
  same ID is an update of the first dossier, not a second record.
- ``legacy_encoding``: TCVN3 or VNI mojibake (SACH-003) or a zero-width space inside a word
  (SACH-004) in free text. NFD text is not used: the importer normalises it to NFC.
- ``obsolete_admin_unit``: an address kept in the legacy scheme (SACH-007); a legacy-only
  commune code labelled 2025 (SACH-008, which DUNG-009 reports as well; DUNG-030 is not
  expected because an unknown commune has no province to compare).
- ``name_format``: a birth name in title case (SACH-005), a double space in it or a digit in
  a relative's name (SACH-006).
- ``population_mismatch`` / ``not_in_population_registry`` (SACH-009/010/011) need the
  registry: :func:`hoso.generate.people.generate_registry` yields the registry's view of
  the same run, where the mismatched field keeps its true value and a SACH-011 person is
  listed under the true number (the dossier carries a mistyped one).
- ``stale_record``: a salary step increase overdue (SONG-007: the last step date more than
  one interval + 3 months back) or an appointment older than 5 years without
  reappointment (SONG-008); both are visible in the data. The metadata-only rules
  (SONG-001 … SONG-006, SONG-009, SONG-013) are not produced.
- ``retirement_overdue``: a person past the statutory retirement age still in service
  (SONG-010); the date of birth, the personal ID and the family's birth years move together.
- ``unsigned_record``: bulk lines carry no approval, so SONG-011 is a label only (field
  ``meta.approval``): a loader that approves imported dossiers (demo, benchmarks) must
  leave the labelled ones unapproved.
- ``inconsistent_value``: the open salary-history row differs from the current salary
  (DUNG-024, on ``salary_step`` and ``salary_coefficient``), a wrong career level (DUNG-025),
  a viên chức typed as công chức (DUNG-026), a man declaring a husband (DUNG-027), a PCTNVK
  date without a rate (DUNG-029), a commune of another province (DUNG-030), a record ID
  other than the personal ID (DUNG-005).
- ``duplicate_row``: a table row repeated (SACH-013, on the later copy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from random import Random
from typing import TYPE_CHECKING, Any

from hoso.catalog.loader import get_catalog
from hoso.generate.dates import add_months, iso, key_of, months_between, retirement_date, ym
from hoso.generate.encodings import tcvn3_safe, to_tcvn3, to_vni, vni_safe
from hoso.generate.names import birth_name, given_name

if TYPE_CHECKING:
    from hoso.generate.model import Identity, Label, Person
    from hoso.generate.people import Generator

Hit = list[tuple[str, str]]
"""(rule id, finding field) pairs produced by one defect."""
Injector = Callable[["DefectInjector", "Person"], Hit | None]

_LEGACY_PREFIX_GAPS = (
    "003", "005", "007", "009", "013", "016", "018", "021", "023", "028", "029", "032", "039",
    "041", "043", "047", "050", "053", "055", "057", "059", "061", "063", "065", "069", "071",
    "073", "076", "078", "081", "085", "088", "090",
)  # fmt: skip
_TEXT_SCALARS = (
    "main_assigned_duty",
    "first_recruiting_body",
    "work_strengths",
    "longest_held_job",
    "agency_assessment",
)
_TEXT_CELLS = (
    ("work_history", "unit"),
    ("professional_training", "institution"),
    ("family_own_side", "hometown"),
    ("family_own_side", "occupation"),
)
_SAFE_MANDATORY = (
    "photo", "phone", "social_insurance_no", "health_status_code", "family_background",
    "general_education_code", "main_assigned_duty", "first_recruiting_body", "job_position_code",
    "residence_address_line", "religion_code", "id_issue_date", "job_position_group_code",
    "ethnicity_code",
)  # fmt: skip
_YOUNG = frozenset({"Còn nhỏ", "Học sinh", "Sinh viên"})
_DUP_TABLES = (
    "professional_training", "it_training", "language_training", "management_training",
    "defence_training", "rewards_and_ratings", "family_own_side", "salary_history",
)  # fmt: skip


def _d(p: Person) -> dict[str, Any]:
    return p.data


class DefectInjector:
    """Decides who gets a defect and applies it; see the module docstring."""

    def __init__(self, gen: Generator, rng: Random, rate: float) -> None:
        self.gen = gen
        self.rng = rng
        self.rate = rate
        cat = get_catalog()
        self.category_of = {r.id: r.category for r in cat.rules}
        self.categories = sorted({r.category for r in cat.rules})
        missing = [c for c in self.categories if c not in INJECTORS]
        if missing:
            raise RuntimeError(f"no defect injector for categories {missing}")
        self._cycle: list[str] = []
        self._planned: str | None = None
        self._twin_of: tuple[str, Identity] | None = None
        self._recent: list[tuple[str, Identity]] = []
        self._truth: dict[str, Any] = {}
        self._registry_pid: str | None = None

    # -- planning --------------------------------------------------------------------------

    def _next_category(self) -> str:
        if not self._cycle:
            self._cycle = list(self.categories)
            self.rng.shuffle(self._cycle)
        return self._cycle.pop()

    def before(self, index: int) -> Identity | None:
        """Called before person ``index`` is built; returns an identity to copy (a twin)."""
        del index
        self._planned = None
        self._twin_of = None
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        category = self._next_category()
        if category == "duplicate_person":
            if not self._recent:
                category = self._next_category()
            else:
                j = int(self.rng.random() * len(self._recent))
                self._twin_of = self._recent.pop(j)
                self._planned = category
                return self._twin_of[1]
        self._planned = category
        return None

    # -- applying --------------------------------------------------------------------------

    def after(self, person: Person) -> tuple[list[Label], dict[str, Any] | None]:
        """Apply the planned defect to ``person``; return its labels and registry entry."""
        from hoso.generate.people import registry_entry

        self._truth = {}
        self._registry_pid = None
        labels: list[Label] = []
        planned = self._planned
        if planned is None:
            self._recent.append((person.line["personal_id"], person.identity))
            if len(self._recent) > 256:
                del self._recent[: len(self._recent) - 256]
            return labels, registry_entry(person.data)
        before = registry_entry(person.data)
        if planned == "duplicate_person" and self._twin_of is not None:
            pid = person.line["personal_id"]
            labels.append(self._label(pid, "SACH-002", "personal_id"))
            labels.append(self._label(self._twin_of[0], "SACH-002", "personal_id"))
        else:
            hits = self._apply(planned, person)
            pid = person.line["personal_id"]
            labels.extend(self._label(pid, rule, field) for rule, field in hits)
        registry = registry_entry(person.data)
        for k, v in before.items():
            registry.setdefault(k, v)
        registry.update(self._truth)
        if self._registry_pid is not None:
            registry["personal_id"] = self._registry_pid
        return labels, registry

    def _label(self, pid: str, rule: str, field: str) -> Label:
        return {
            "personal_id": pid,
            "category": self.category_of[rule],
            "rule_id": rule,
            "field": field,
        }

    def _apply(self, category: str, person: Person) -> Hit:
        tried: set[str] = set()
        while True:
            injectors = list(INJECTORS[category])
            self.rng.shuffle(injectors)
            for inj in injectors:
                hit = inj(self, person)
                if hit:
                    return hit
            tried.add(category)
            category = next(c for c in self._fallback_order() if c not in tried)

    def _fallback_order(self) -> list[str]:
        order = list(self.categories)
        self.rng.shuffle(order)
        order.remove("unsigned_record")
        return [*order, "unsigned_record"]

    # -- helpers for injectors -------------------------------------------------------------

    def pick(self, seq: list[Any] | tuple[Any, ...]) -> Any:
        """A random element of a non-empty sequence."""
        return seq[int(self.rng.random() * len(seq))]

    def set_pid(self, person: Person, pid: str) -> None:
        """Give the line a new personal ID (data and top level agree)."""
        person.line["personal_id"] = pid
        person.data["personal_id"] = pid
        person.data["record_id"] = pid

    def truth(self, field: str, value: Any) -> None:
        """Keep ``value`` as the registry's value of ``field`` (a population mismatch)."""
        self._truth[field] = value

    def keep_registry_id(self, pid: str) -> None:
        """List the person in the registry under ``pid`` (the dossier carries another)."""
        self._registry_pid = pid

    def rows(self, person: Person, table: str) -> list[dict[str, Any]]:
        """Rows of a table (an empty list when absent)."""
        rows = person.data.get(table)
        return rows if isinstance(rows, list) else []


# --- invalid_format -----------------------------------------------------------------------


def _f_phone_short(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "phone" not in d:
        return None
    d["phone"] = d["phone"][:-1]
    return [("DUNG-008", "phone")]


def _f_social_short(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "social_insurance_no" not in d:
        return None
    d["social_insurance_no"] = d["social_insurance_no"][:9]
    return [("DUNG-008", "social_insurance_no")]


def _f_health_card(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "health_insurance_no" not in d:
        return None
    d["health_insurance_no"] = "HC4" + d["health_insurance_no"][-10:-2]
    return [("DUNG-008", "health_insurance_no")]


def _f_legacy_id(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "legacy_id_no" not in d:
        return None
    d["legacy_id_no"] = d["legacy_id_no"][:8]
    return [("DUNG-007", "legacy_id_no")]


def _f_height_mm(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "height_cm" not in d:
        return None
    d["height_cm"] = d["height_cm"] * 10
    return [("DUNG-007", "height_cm")]


def _f_partial_date(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "first_sociopolitical_org_join_date" in d and inj.rng.random() < 0.5:
        d["first_sociopolitical_org_join_date"] = d["first_sociopolitical_org_join_date"][:4]
        return [("DUNG-006", "first_sociopolitical_org_join_date")]
    if "id_issue_date" not in d:
        return None
    d["id_issue_date"] = d["id_issue_date"][:7]
    return [("DUNG-006", "id_issue_date")]


def _f_phone_plus84(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "phone" not in d:
        return None
    d["phone"] = "+84" + d["phone"][1:]
    return [("SACH-012", "phone")]


def _f_social_spaces(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    s = d.get("social_insurance_no")
    if not s:
        return None
    d["social_insurance_no"] = f"{s[:2]} {s[2:6]} {s[6:]}"
    return [("SACH-012", "social_insurance_no")]


# --- invalid_code -------------------------------------------------------------------------


def _c_ethnicity(inj: DefectInjector, p: Person) -> Hit | None:
    _d(p)["ethnicity_code"] = inj.pick(("55", "56", "60", "99"))
    return [("DUNG-009", "ethnicity_code")]


def _c_blood(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "blood_group_code" not in d:
        return None
    d["blood_group_code"] = inj.pick(("C", "AO", "RH"))
    return [("DUNG-009", "blood_group_code")]


def _c_expired_rating(inj: DefectInjector, p: Person) -> Hit | None:
    last = inj.gen.as_of.year - 2
    idx = [i for i, r in enumerate(inj.rows(p, "rewards_and_ratings")) if 2020 <= r["year"] <= last]
    if not idx:
        return None
    i = inj.pick(idx)
    _d(p)["rewards_and_ratings"][i]["professional_rating_code"] = "HTNV_HAN_CHE"
    return [("DUNG-009", f"rewards_and_ratings[{i}].professional_rating_code")]


def _c_health_unknown(inj: DefectInjector, p: Person) -> Hit | None:
    _d(p)["health_status_code"] = inj.pick(("LOAI_VI", "LOAI_0", "BINH_THUONG"))
    return [("DUNG-010", "health_status_code")]


def _c_training_mode(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "professional_training")
    if not rows:
        return None
    i = int(inj.rng.random() * len(rows))
    rows[i]["training_mode_code"] = inj.pick(("TRUC_TUYEN", "NGAN_HAN", "BOI_DUONG"))
    return [("DUNG-010", f"professional_training[{i}].training_mode_code")]


def _c_prefix(inj: DefectInjector, p: Person) -> Hit | None:
    head = inj.pick(_LEGACY_PREFIX_GAPS) + p.head[3:]
    inj.set_pid(p, inj.gen.ids.reserved(head))
    return [("DUNG-004", "personal_id")]


# --- personal_id_mismatch -----------------------------------------------------------------


def _m_sex_digit(inj: DefectInjector, p: Person) -> Hit | None:
    g = int(p.head[3]) ^ 1
    inj.set_pid(p, inj.gen.ids.reserved(f"{p.head[:3]}{g}{p.head[4:]}"))
    return [("DUNG-002", "personal_id")]


def _m_century_digit(inj: DefectInjector, p: Person) -> Hit | None:
    g = int(p.head[3]) + 2
    inj.set_pid(p, inj.gen.ids.reserved(f"{p.head[:3]}{g}{p.head[4:]}"))
    return [("DUNG-002", "personal_id")]


def _m_year_digits(inj: DefectInjector, p: Person) -> Hit | None:
    yy = int(p.head[4:6])
    yy = yy + 1 if yy < 99 else yy - 1
    inj.set_pid(p, inj.gen.ids.reserved(f"{p.head[:4]}{yy:02d}"))
    return [("DUNG-003", "personal_id")]


# --- date_order ---------------------------------------------------------------------------


def _o_swap_row(inj: DefectInjector, p: Person) -> Hit | None:
    cands = []
    for table in ("professional_training", "political_theory_training", "salary_history"):
        for i, row in enumerate(inj.rows(p, table)):
            if "to" in row and row["from"] < row["to"]:
                cands.append((table, i))
    if not cands:
        return None
    table, i = inj.pick(cands)
    row = _d(p)[table][i]
    row["from"], row["to"] = row["to"], row["from"]
    return [("DUNG-013", f"{table}[{i}].to")]


def _o_discharge(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "enlistment_date" not in d or "discharge_date" not in d:
        return None
    d["discharge_date"] = iso(add_months(key_of(dt.date.fromisoformat(d["enlistment_date"])), -12))
    return [("DUNG-014", "discharge_date")]


def _o_reappointment(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "position_reappointment_date" not in d:
        return None
    appointed = key_of(dt.date.fromisoformat(d["position_appointment_date"]))
    d["position_reappointment_date"] = iso(add_months(appointed, -24))
    return [("DUNG-014", "position_reappointment_date")]


def _o_future_confirmation(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "declarant_confirmation_date" not in d:
        return None
    later = inj.gen.as_of + dt.timedelta(days=15 + int(inj.rng.random() * 180))
    d["declarant_confirmation_date"] = later.isoformat()
    return [("DUNG-012", "declarant_confirmation_date")]


def _o_before_birth(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "first_sociopolitical_org_join_date" not in d:
        return None
    dob = key_of(p.identity.dob)
    d["first_sociopolitical_org_join_date"] = iso(
        add_months(dob, -(12 + int(inj.rng.random() * 36)))
    )
    return [("DUNG-011", "first_sociopolitical_org_join_date")]


def _o_join_before_recruitment(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    recruit = key_of(dt.date.fromisoformat(d["first_recruitment_date"]))
    d["current_agency_join_date"] = iso(add_months(recruit, -(3 + int(inj.rng.random() * 10))))
    return [("DUNG-015", "current_agency_join_date")]


# --- implausible_value --------------------------------------------------------------------


def _i_off_scale_row(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "salary_history")
    idx = [i for i, r in enumerate(rows) if "to" in r]
    if not idx:
        return None
    i = inj.pick(idx)
    coef = round(float(rows[i]["salary_coefficient"]) * 100) + inj.pick((3, 4, -3, -4))
    rows[i]["salary_coefficient"] = f"{coef // 100}.{coef % 100:02d}"
    return [("DUNG-020", f"salary_history[{i}].salary_coefficient")]


def _i_salary_percent(inj: DefectInjector, p: Person) -> Hit | None:
    _d(p)["salary_percent"] = inj.pick((70, 80, 90, 95))
    return [("DUNG-022", "salary_percent")]


def _i_early_pctnvk(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "beyond_scale_seniority_percent" in d or "beyond_scale_seniority_date" in d:
        return None
    if p.salary.step >= inj.gen.tables.steps[p.salary.group]:
        return None
    d["beyond_scale_seniority_percent"] = 5
    d["beyond_scale_seniority_date"] = d["salary_effective_date"]
    return [("DUNG-021", "beyond_scale_seniority_percent")]


def _i_position_allowance(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    code = d.get("current_position_code")
    if "position_allowance_coefficient" not in d or code is None:
        return None
    entry = get_catalog().codelist("position").get(code)
    known = (
        [entry.extra.get(k, "") for k in ("allowance_coefficient", "allowance_coefficient_alt")]
        if entry
        else []
    )
    known = [k for k in known if k]
    if not known:
        d["position_allowance_coefficient"] = "0.05"
    else:
        base = round(float(known[0]) * 100)
        for delta in (15, -15, 25, -25, 5, -5):
            value = base + delta
            text = f"{value // 100}.{value % 100:02d}"
            if 10 <= value <= 130 and text not in known:
                d["position_allowance_coefficient"] = text
                break
        else:
            return None
    return [("DUNG-023", "position_allowance_coefficient")]


def _i_child_too_young(inj: DefectInjector, p: Person) -> Hit | None:
    year = p.identity.dob.year
    rows = inj.rows(p, "family_own_side")
    kids = [i for i, r in enumerate(rows) if r["relationship_code"] == "CON"]
    if kids:
        i = inj.pick(kids)
        rows[i]["birth_year"] = min(year + 5 + int(inj.rng.random() * 5), inj.gen.as_of.year)
    else:
        i = next(i for i, r in enumerate(rows) if r["relationship_code"] == "CHA")
        rows[i]["birth_year"] = year - 5 - int(inj.rng.random() * 5)
    return [("DUNG-028", f"family_own_side[{i}].birth_year")]


def _i_long_probation(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "party_official_date" not in d:
        return None
    admitted = key_of(dt.date.fromisoformat(d["party_admission_date"]))
    official = add_months(admitted, 30)
    if official > inj.gen.as_of_key:
        return None
    d["party_official_date"] = iso(official)
    return [("DUNG-018", "party_official_date")]


# --- missing_mandatory --------------------------------------------------------------------


def _mm_scalar(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    field = inj.pick([f for f in _SAFE_MANDATORY if f in d])
    del d[field]
    return [("DU-001", field)]


def _mm_conditional(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    cands = ["declarant_confirmation_date"]
    if (
        d.get("highest_professional_level_code") not in (None, "CHUA_QUA_DAO_TAO")
        and "highest_professional_major" in d
    ):
        cands.append("highest_professional_major")
    if "enlistment_date" in d and "discharge_date" in d:
        cands.append("discharge_date")
    if d.get("employee_type_code") == "VC" and "career_level" in d:
        cands.append("career_level")
    if "first_sociopolitical_org_join_date" in d and "first_sociopolitical_org_code" in d:
        cands.append("first_sociopolitical_org_code")
    if "current_position_code" in d and "position_reappointment_date" not in d:
        cands.append("position_appointment_date")
    field = inj.pick(cands)
    d.pop(field, None)
    return [("DU-002", field)]


def _mm_column(inj: DefectInjector, p: Person) -> Hit | None:
    cands: list[tuple[str, int, str]] = []
    for table, cols in (
        ("work_history", ("title", "unit")),
        ("professional_training", ("institution", "major")),
        ("family_own_side", ("full_name", "birth_year")),
    ):
        for i, row in enumerate(inj.rows(p, table)):
            cands.extend((table, i, c) for c in cols if c in row)
    if not cands:
        return None
    table, i, col = inj.pick(cands)
    del _d(p)[table][i][col]
    return [("DU-003", f"{table}[{i}].{col}")]


def _mm_party_official(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "party_official_date" not in d:
        return None
    admitted = key_of(dt.date.fromisoformat(d["party_admission_date"]))
    if months_between(admitted, inj.gen.as_of_key) <= 19:
        return None
    del d["party_official_date"]
    return [("DU-011", "party_official_date")]


# --- incomplete_table ---------------------------------------------------------------------


def _t_household(inj: DefectInjector, p: Person) -> Hit | None:
    _d(p).pop("household_income_assets", None)
    return [("DU-004", "household_income_assets")]


def _t_mother(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "family_own_side")
    if len(rows) < 3:
        return None
    _d(p)["family_own_side"] = [r for r in rows if r["relationship_code"] != "ME"]
    return [("DU-005", "family_own_side")]


def _t_spouse_family(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "family_spouse_side" not in d:
        return None
    del d["family_spouse_side"]
    return [("DU-006", "family_own_side")]


def _t_training(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    order = get_catalog().codelist("professional_level").codes
    level = order.get(d.get("highest_professional_level_code", ""))
    if (
        level is None
        or int(level.extra.get("level_order", "0")) < 2
        or "professional_training" not in d
    ):
        return None
    del d["professional_training"]
    return [("DU-007", "professional_training")]


def _t_salary(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "salary_history" not in d:
        return None
    del d["salary_history"]
    return [("DU-008", "salary_history")]


def _t_closed_work(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "work_history")
    if not rows or "to" in rows[-1]:
        return None
    as_of_mi = inj.gen.as_of_mi
    start = rows[-1]["from"]
    start_mi = int(start[:4]) * 12 + int(start[5:7]) - 1
    if start_mi > as_of_mi - 2:
        return None
    end = max(start_mi, as_of_mi - 1 - int(inj.rng.random() * 10))
    rows[-1]["to"] = ym(end)
    return [("DU-009", "work_history")]


def _t_last_rating(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    last = inj.gen.as_of.year - 1
    if d["first_recruitment_date"] > f"{last}-01-01":
        return None
    rows = inj.rows(p, "rewards_and_ratings")
    kept = [r for r in rows if r["year"] != last]
    if len(kept) == len(rows):
        return None
    if kept:
        d["rewards_and_ratings"] = kept
    else:
        del d["rewards_and_ratings"]
    return [("DU-010", "rewards_and_ratings")]


# --- legacy_encoding ----------------------------------------------------------------------


def _text_targets(
    inj: DefectInjector, p: Person, ok: Callable[[str], bool]
) -> list[tuple[str, int, str]]:
    d = _d(p)
    out = [(f, -1, "") for f in _TEXT_SCALARS if isinstance(d.get(f), str) and ok(d[f])]
    for table, col in _TEXT_CELLS:
        for i, row in enumerate(inj.rows(p, table)):
            value = row.get(col)
            if isinstance(value, str) and ok(value):
                out.append((table, i, col))
    return out


def _rewrite(
    inj: DefectInjector, p: Person, ok: Callable[[str], bool], fn: Callable[[str], str]
) -> str | None:
    targets = _text_targets(inj, p, ok)
    if not targets:
        return None
    field: str
    i: int
    col: str
    field, i, col = inj.pick(targets)
    d = _d(p)
    if i < 0:
        d[field] = fn(d[field])
        return field
    d[field][i][col] = fn(d[field][i][col])
    return f"{field}[{i}].{col}"


def _e_tcvn3(inj: DefectInjector, p: Person) -> Hit | None:
    path = _rewrite(inj, p, tcvn3_safe, to_tcvn3)
    return [("SACH-003", path)] if path else None


def _e_vni(inj: DefectInjector, p: Person) -> Hit | None:
    path = _rewrite(inj, p, vni_safe, to_vni)
    return [("SACH-003", path)] if path else None


def _zero_width(text: str) -> str:
    for i in range(1, len(text) - 1):
        if text[i - 1].isalpha() and text[i].isalpha():
            return f"{text[:i]}\u200b{text[i:]}"
    return text


def _e_zero_width(inj: DefectInjector, p: Person) -> Hit | None:
    path = _rewrite(inj, p, lambda s: _zero_width(s) != s, _zero_width)
    return [("SACH-004", path)] if path else None


# --- obsolete_admin_unit ------------------------------------------------------------------


def _legacy_ward(
    inj: DefectInjector, province: str
) -> tuple[str, tuple[str, str, str, str]] | None:
    geo = inj.gen.geo
    olds = [c for c in geo.formed_from.get(province, ()) if geo.legacy_wards.get(c)]
    if not olds:
        return None
    old = inj.pick(olds)
    return old, inj.pick(geo.legacy_wards[old])


def _a_legacy_address(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    which = inj.pick(("residence", "hometown", "birth_place"))
    got = _legacy_ward(inj, d[f"{which}_province_code"])
    if got is None:
        return None
    old, (ward, name, district, dname) = got
    d[f"{which}_ward_code"] = ward
    d[f"{which}_province_code"] = old
    d[f"{which}_unit_scheme"] = "legacy"
    if which == "hometown":
        d["hometown_district_legacy_code"] = district
        legacy_label = inj.gen.geo.legacy_labels[old]
        from hoso.generate.orgs import locality, lower_type

        d["hometown_legacy_text"] = f"{name}, {lower_type(dname)}, {locality(legacy_label)}"
    return [("SACH-007", f"{which}_unit_scheme")]


def _a_obsolete_ward(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    rows = inj.gen.geo.legacy_only.get(d["residence_province_code"], ())
    if not rows:
        return None
    d["residence_ward_code"] = inj.pick(rows)[0]
    return [("SACH-008", "residence_ward_code"), ("DUNG-009", "residence_ward_code")]


# --- name_format --------------------------------------------------------------------------


def _n_title_case(inj: DefectInjector, p: Person) -> Hit | None:
    ident = p.identity
    _d(p)["birth_name"] = f"{ident.surname} {ident.middle} {ident.given}"
    return [("SACH-005", "birth_name")]


def _n_double_space(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    words = d["birth_name"].split(" ")
    i = 1 + int(inj.rng.random() * (len(words) - 1))
    d["birth_name"] = " ".join(words[:i]) + "  " + " ".join(words[i:])
    return [("SACH-006", "birth_name")]


def _n_relative_digit(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "family_own_side")
    idx = [i for i, r in enumerate(rows) if "full_name" in r]
    if not idx:
        return None
    i = inj.pick(idx)
    rows[i]["full_name"] = f"{rows[i]['full_name']} {inj.pick(('1', '2', '3'))}"
    return [("SACH-006", f"family_own_side[{i}].full_name")]


# --- population_mismatch / not_in_population_registry -------------------------------------


def _q_birth_name(inj: DefectInjector, p: Person) -> Hit | None:
    from hoso.generate.people import SeenKeys

    d = _d(p)
    ident = p.identity
    old = d["birth_name"]
    for _ in range(20):
        given = given_name(ident.sex, inj.rng.random)
        new = birth_name(ident.surname, ident.middle, given)
        h = SeenKeys.key(new, d["date_of_birth"], ident.home_new)
        if new != old and not inj.gen.seen.seen(h):
            inj.gen.seen.add(h)
            d["birth_name"] = new
            inj.truth("birth_name", old)
            return [("SACH-009", "birth_name")]
    return None


def _q_date_of_birth(inj: DefectInjector, p: Person) -> Hit | None:
    from hoso.generate.people import SeenKeys

    d = _d(p)
    dob = p.identity.dob
    for delta in (1, -1, 2, -2, 3, -3):
        new = dob + dt.timedelta(days=delta)
        h = SeenKeys.key(d["birth_name"], new.isoformat(), p.identity.home_new)
        if new.month == dob.month and not inj.gen.seen.seen(h):
            inj.gen.seen.add(h)
            d["date_of_birth"] = new.isoformat()
            inj.truth("date_of_birth", dob.isoformat())
            return [("SACH-009", "date_of_birth")]
    return None


def _q_ethnicity(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    old = d["ethnicity_code"]
    d["ethnicity_code"] = "02" if old == "01" else "01"
    inj.truth("ethnicity_code", old)
    return [("SACH-010", "ethnicity_code")]


def _q_religion(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    old = d["religion_code"]
    d["religion_code"] = "01" if old == "00" else "00"
    inj.truth("religion_code", old)
    return [("SACH-010", "religion_code")]


def _q_issue_date(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    old = d["id_issue_date"]
    k = key_of(dt.date.fromisoformat(old))
    new = add_months(k, -(2 + int(inj.rng.random() * 20)))
    if new < add_months(key_of(p.identity.dob), 14 * 12 + 2):
        return None
    d["id_issue_date"] = iso(new)
    inj.truth("id_issue_date", old)
    return [("SACH-010", "id_issue_date")]


def _r_mistyped_id(inj: DefectInjector, p: Person) -> Hit | None:
    true_pid = p.line["personal_id"]
    inj.set_pid(p, inj.gen.ids.reserved(p.head))
    inj.keep_registry_id(true_pid)
    return [("SACH-011", "personal_id")]


# --- stale_record -------------------------------------------------------------------------


def _s_salary_overdue(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    tables = inj.gen.tables
    if p.salary.step >= tables.steps[p.salary.group] or "salary_effective_date" not in d:
        return None
    interval = tables.interval[p.salary.group]
    new = add_months(inj.gen.as_of_key, -(interval + 5 + int(inj.rng.random() * 18)))
    if new < key_of(dt.date.fromisoformat(d["rank_appointment_date"])):
        return None
    d["salary_effective_date"] = iso(new)
    return [("SONG-007", "salary_effective_date")]


def _s_appointment_overdue(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "current_position_code" not in d or "position_appointment_date" not in d:
        return None
    new = add_months(inj.gen.as_of_key, -(62 + int(inj.rng.random() * 40)))
    recruit = key_of(dt.date.fromisoformat(d["first_recruitment_date"]))
    if new < add_months(recruit, 48):
        return None
    d["position_appointment_date"] = iso(new)
    d.pop("position_reappointment_date", None)
    return [("SONG-008", "position_appointment_date")]


# --- retirement_overdue -------------------------------------------------------------------


def _x_past_retirement(inj: DefectInjector, p: Person) -> Hit | None:
    from hoso.generate.people import SeenKeys, century_sex_digit

    d = _d(p)
    ident = p.identity
    dob = ident.dob
    as_of = inj.gen.as_of
    for years in range(1, 46):
        try:
            new = dob.replace(year=dob.year - years)
        except ValueError:
            new = dob.replace(year=dob.year - years, day=28)
        limit = as_of - dt.timedelta(days=45)
        age = (as_of - new).days / 365.25
        if retirement_date(new, ident.sex) < limit and age < 68:
            break
    else:
        return None
    h = SeenKeys.key(d["birth_name"], new.isoformat(), ident.home_new)
    if inj.gen.seen.seen(h):
        return None
    inj.gen.seen.add(h)
    d["date_of_birth"] = new.isoformat()
    for table in ("family_own_side", "family_spouse_side"):
        for row in inj.rows(p, table):
            if "birth_year" in row:
                row["birth_year"] -= years
                if row.get("occupation") in _YOUNG and as_of.year - row["birth_year"] >= 23:
                    row["occupation"] = inj.pick(("Công nhân", "Nông dân", "Kinh doanh tự do"))
                    row.pop("work_or_study_unit", None)
    head = f"{p.head[:3]}{century_sex_digit(new.year, ident.sex)}{new.year % 100:02d}"
    p.head = head
    inj.set_pid(p, inj.gen.ids.reserved(head))
    return [("SONG-010", "date_of_birth")]


# --- unsigned_record ----------------------------------------------------------------------


def _u_unsigned(inj: DefectInjector, p: Person) -> Hit | None:
    return [("SONG-011", "meta.approval")]


# --- inconsistent_value -------------------------------------------------------------------


def _v_salary_row(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "salary_history")
    if not rows or "to" in rows[-1] or rows[-1]["salary_step"] < 2:
        return None
    row = rows[-1]
    if row["rank_code"] != p.salary.rank:
        return None
    step = row["salary_step"] - 1
    row["salary_step"] = step
    row["salary_coefficient"] = inj.gen.tables.coef[(p.salary.group, step)]
    return [("DUNG-024", "salary_step"), ("DUNG-024", "salary_coefficient")]


def _v_career_level(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if d.get("employee_type_code") != "VC" or "career_level" not in d:
        return None
    if p.salary.group in ("A2.2", "A3.2"):
        return None
    level = int(d["career_level"])
    d["career_level"] = str(level + 1 if level < 5 else level - 1)
    return [("DUNG-025", "career_level")]


def _v_employee_type(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if d.get("employee_type_code") != "VC" or d.get("employment_status_code") == "TAP_SU":
        return None
    d["employee_type_code"] = "CC"
    return [("DUNG-026", "employee_type_code")]


def _v_spouse_sex(inj: DefectInjector, p: Person) -> Hit | None:
    rows = inj.rows(p, "family_own_side")
    for i, row in enumerate(rows):
        if row["relationship_code"] in ("VO", "CHONG"):
            row["relationship_code"] = "CHONG" if row["relationship_code"] == "VO" else "VO"
            return [("DUNG-027", f"family_own_side[{i}].relationship_code")]
    return None


def _v_pctnvk_date(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    if "beyond_scale_seniority_percent" in d or "beyond_scale_seniority_date" in d:
        return None
    d["beyond_scale_seniority_date"] = d["salary_effective_date"]
    return [("DUNG-029", "beyond_scale_seniority_date")]


def _v_ward_province(inj: DefectInjector, p: Person) -> Hit | None:
    d = _d(p)
    geo = inj.gen.geo
    own = d["residence_province_code"]
    other = inj.pick([c for c in geo.wards if c != own and geo.wards[c]])
    d["residence_ward_code"] = inj.pick(geo.wards[other])[0]
    return [("DUNG-030", "residence_ward_code")]


def _v_record_id(inj: DefectInjector, p: Person) -> Hit | None:
    _d(p)["record_id"] = inj.gen.ids.reserved(p.head)
    return [("DUNG-005", "record_id")]


# --- duplicate_row ------------------------------------------------------------------------


def _w_duplicate_row(inj: DefectInjector, p: Person) -> Hit | None:
    cands = []
    for table in _DUP_TABLES:
        for i, row in enumerate(inj.rows(p, table)):
            if table == "family_own_side" and row["relationship_code"] not in (
                "CON",
                "ANH",
                "CHI",
                "EM",
            ):
                continue
            if table == "salary_history" and "to" not in row:
                continue
            cands.append((table, i))
    if not cands:
        return None
    table, i = inj.pick(cands)
    rows = _d(p)[table]
    rows.insert(i + 1, dict(rows[i]))
    return [("SACH-013", f"{table}[{i + 1}]")]


def _twin_placeholder(inj: DefectInjector, p: Person) -> Hit | None:
    """duplicate_person is handled in :meth:`DefectInjector.before` (the twin is built then)."""
    return None


INJECTORS: dict[str, tuple[Injector, ...]] = {
    "invalid_format": (
        _f_phone_short, _f_social_short, _f_health_card, _f_legacy_id, _f_height_mm, _f_partial_date,
        _f_phone_plus84, _f_social_spaces,
    ),
    "invalid_code": (_c_ethnicity, _c_blood, _c_expired_rating, _c_health_unknown, _c_training_mode, _c_prefix),
    "personal_id_mismatch": (_m_sex_digit, _m_century_digit, _m_year_digits),
    "date_order": (
        _o_swap_row, _o_discharge, _o_reappointment, _o_future_confirmation, _o_before_birth,
        _o_join_before_recruitment,
    ),
    "implausible_value": (
        _i_off_scale_row, _i_salary_percent, _i_early_pctnvk, _i_position_allowance,
        _i_child_too_young, _i_long_probation,
    ),
    "missing_mandatory": (_mm_scalar, _mm_conditional, _mm_column, _mm_party_official),
    "incomplete_table": (
        _t_household, _t_mother, _t_spouse_family, _t_training, _t_salary, _t_closed_work, _t_last_rating,
    ),
    "duplicate_person": (_twin_placeholder,),
    "legacy_encoding": (_e_tcvn3, _e_vni, _e_zero_width),
    "obsolete_admin_unit": (_a_legacy_address, _a_obsolete_ward),
    "name_format": (_n_title_case, _n_double_space, _n_relative_digit),
    "population_mismatch": (_q_birth_name, _q_date_of_birth, _q_ethnicity, _q_religion, _q_issue_date),
    "not_in_population_registry": (_r_mistyped_id,),
    "stale_record": (_s_salary_overdue, _s_appointment_overdue),
    "retirement_overdue": (_x_past_retirement,),
    "unsigned_record": (_u_unsigned,),
    "inconsistent_value": (
        _v_salary_row, _v_career_level, _v_employee_type, _v_spouse_sex, _v_pctnvk_date,
        _v_ward_province, _v_record_id,
    ),
    "duplicate_row": (_w_duplicate_row,),
}  # fmt: skip
"""Injectors by category; each returns the (rule, field) pairs it produced, or None."""
