"""``seed``: fill the simulator with citizens consistent with generated civil servants.

For ``hoso generate people --count N --seed S --defect-rate R`` the registry's view of the
civil servants is :func:`hoso.generate.people.generate_registry` (``N, S, defect_rate=R``),
also written by ``hoso generate people … --registry FILE --labels FILE``. :func:`seed`
either reads those two files (fast) or regenerates them into a temporary folder (slow:
the generator makes about 2,000 people a second), then, in one transaction:

1. empties the registry;
2. stores every civil servant's registry entry (``status`` alive), except for a share
   ``difference_rate`` of them that get one **deliberate difference**, cycling through
   :data:`KINDS`: a corrected birth date (a few days off, same year, so the personal ID
   still fits), a changed name (another middle name), a deceased person, an old 9-digit
   CMND number mapped to the personal ID (``legacy_id_no``), or a person missing from the
   registry. People with a defect label (the labels file) are left alone, so the dossier
   value of a difference is exactly the registry view's value;
3. adds ``others_factor`` × N other citizens: unique personal IDs ``PPP G YY RRRRRR`` valid
   per identifiers.md §1.1 (the legacy province of birth, the century/sex digit, the year)
   that collide neither with the civil servants' numbers nor with any number in the labels
   (the mistyped ones of SACH-011 stay unknown), Vietnamese names from
   :mod:`hoso.generate.names`, ages of a whole population, 2025 communes, code-list codes,
   some deceased, some with an old CMND number.

The ground truth of the differences goes to ``truth`` as JSON Lines ``{"personal_id",
"kind", "field", "dossier_value", "registry_value"}`` (``kind`` one of :data:`KINDS`). Old
CMND numbers are unique in the registry: when the generator gave two civil servants the
same random number, the later one's entry is stored without it and the truth lists it
too (kind ``legacy_id_no``, registry value ``null``).

Deterministic for the same arguments: the same files give the same registry and truth,
and regenerating gives what reading the generator's files gives. Memory stays bounded:
entries are streamed; what is kept is one 8-byte integer per civil servant (their
numbers, to keep the other citizens off them) and the set of old CMND numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import time
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine

from hoso.generate.context import SOUTH, geography
from hoso.generate.names import Pool, birth_name, given_name, middle_name, surname_pool, weighted
from hoso.generate.people import DEFAULT_AS_OF, iter_people
from hoso.generate.sections import region
from hoso.popsim import service
from hoso.popsim.load import vi_int
from hoso.popsim.models import ALIVE, DECEASED
from hoso.popsim.writer import CitizenWriter, Row, indexes_rebuilt, row_from_citizen, truncate

KINDS = ("date_of_birth", "birth_name", "deceased", "legacy_id_no", "missing")
"""Kinds of deliberate differences, in the order of the truth file's ``kind``."""

BATCH = 10_000
"""Rows per write."""

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``; stages ``generate``, ``civil_servants``, ``others``."""

_LINE = orjson.OPT_APPEND_NEWLINE

# Ethnicity shares of the whole population by region of the home town (rough census
# figures; ``hoso.generate.sections.region`` names the regions).
_ETHNICITY: dict[str, Pool[str]] = {
    "default": weighted("01:93|04:1.2|06:1|03:1|05:0.8|02:0.8|07:0.6|09:0.4|08:0.4|17:0.3"),
    "north_mountain": weighted("01:45|02:16|03:10|08:9|07:8|09:6|06:2|15:1|18:1|25:1|35:1"),
    "highlands": weighted("01:70|12:9|10:8|13:5|14:3|20:2|16:2|07:1"),
    "khmer": weighted("01:84|05:13|04:2|17:1"),
    "phu_tho": weighted("01:82|06:15|09:2|02:1"),
    "thanh_hoa": weighted("01:85|06:9|03:6"),
    "nghe_an": weighted("01:88|03:8|29:2|08:1|24:1"),
}
_RELIGION = weighted("00:84|01:8|02:6.5|03:0.5|05:0.5|08:0.5")
_RELIGION_KHMER = weighted("01:95|00:5")
#: Ages of the whole population: flat to 45, then thinning out to 100.
_AGES = Pool([(a, 1.0 if a <= 45 else max(0.03, 1.0 - (a - 45) * 0.018)) for a in range(101)])
_CARD_ERA = dt.date(2021, 1, 1)
"""Chip-based CCCD cards from 2021: the current card's issue date is not earlier."""


@dataclass
class SeedReport:
    """What one seed did."""

    civil_servants: int = 0
    """Registry entries of generated civil servants read."""
    stored: int = 0
    """Civil servants stored (read minus the missing ones)."""
    others: int = 0
    """Other citizens stored."""
    differences: dict[str, int] = field(default_factory=dict)
    """Deliberate differences by kind."""
    legacy_duplicates: int = 0
    """Old CMND numbers dropped because an earlier civil servant had the same one."""
    citizens: int = 0
    """Citizens in the registry at the end."""
    truth_file: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """The one-line summary printed by the CLI (Vietnamese / English)."""
        diffs = ", ".join(f"{k} {v}" for k, v in sorted(self.differences.items())) or "0"
        return (
            f"CSDL dân cư mô phỏng có {vi_int(self.citizens)} công dân: {vi_int(self.stored)}"
            f" CBCCVC, {vi_int(self.others)} người khác; khác biệt cài sẵn: {diffs};"
            f" {vi_int(self.legacy_duplicates)} số CMND trùng bị bỏ ({self.seconds:.1f} giây)"
            f" / The simulated registry holds {self.citizens:,} citizens: {self.stored:,}"
            f" civil servants, {self.others:,} others; deliberate differences: {diffs};"
            f" {self.legacy_duplicates} duplicate CMND numbers dropped ({self.seconds:.1f} s)"
        )


def seed(
    engine: Engine,
    *,
    count: int | None = None,
    seed: int = 1,
    defect_rate: float = 0.0,
    registry_file: Path | None = None,
    labels_file: Path | None = None,
    others_factor: float = 3.0,
    difference_rate: float = 0.01,
    truth: Path | None = None,
    as_of: dt.date = DEFAULT_AS_OF,
    progress: Progress | None = None,
) -> SeedReport:
    """Replace the registry's citizens (see the module docstring) and return the counts.

    Without ``registry_file`` the civil servants are regenerated from ``count``, ``seed``,
    ``defect_rate`` and ``as_of`` (the arguments of ``hoso generate people``). With it,
    ``labels_file`` (``--labels`` of the same run) keeps differences off defective dossiers
    and the other citizens off their numbers; ``count`` and ``defect_rate`` are unused.
    """
    if not 0.0 <= difference_rate <= 1.0:
        raise ValueError("difference_rate must be between 0 and 1")
    if others_factor < 0:
        raise ValueError("others_factor must be >= 0")
    if registry_file is not None:
        return _seed(
            engine, registry_file, labels_file, seed, others_factor, difference_rate, truth,
            as_of, progress,
        )  # fmt: skip
    if count is None:
        raise ValueError("count is required without registry_file")
    with tempfile.TemporaryDirectory(prefix="hoso-popsim-") as tmp:
        registry, labels = generate_files(
            Path(tmp), count=count, seed=seed, defect_rate=defect_rate, as_of=as_of,
            progress=progress,
        )  # fmt: skip
        return _seed(
            engine, registry, labels, seed, others_factor, difference_rate, truth, as_of,
            progress,
        )  # fmt: skip


def generate_files(
    folder: Path,
    *,
    count: int,
    seed: int,
    defect_rate: float = 0.0,
    as_of: dt.date = DEFAULT_AS_OF,
    progress: Progress | None = None,
) -> tuple[Path, Path]:
    """Write the registry view and the defect labels of a generator run; return their paths.

    The same bytes as ``hoso generate people … --registry FILE --labels FILE``.
    """
    registry, labels = folder / "registry.jsonl", folder / "labels.jsonl"
    with registry.open("wb", buffering=1 << 20) as reg, labels.open("wb") as lab:
        done = 0
        for _, line_labels, entry in iter_people(count, seed, defect_rate=defect_rate, as_of=as_of):
            for label in line_labels:
                lab.write(orjson.dumps(label, option=_LINE))
            if entry is not None:
                reg.write(orjson.dumps(entry, option=_LINE))
            done += 1
            if progress is not None and done % 1000 == 0:
                progress("generate", 1000, count)
        if progress is not None and done % 1000:
            progress("generate", done % 1000, count)
    return registry, labels


# --- the civil servants -------------------------------------------------------------------


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def _entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ValueError(
                    f"Dòng {number} của '{path}' không phải JSON ({exc})"
                    f" / line {number} of '{path}' is not JSON ({exc})"
                ) from exc
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), str)
                for k in ("personal_id", "birth_name", "date_of_birth", "sex")
            ):
                raise ValueError(
                    f"Dòng {number} của '{path}' thiếu personal_id, birth_name, date_of_birth"
                    f" hoặc sex / line {number} of '{path}' lacks personal_id, birth_name,"
                    " date_of_birth or sex"
                )
            yield number, entry


def _labelled(path: Path | None, taken: array[int]) -> set[str]:
    """Personal IDs named by a defect label (also added to ``taken``)."""
    pids: set[str] = set()
    if path is None:
        return pids
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                pid = orjson.loads(raw).get("personal_id")
                if isinstance(pid, str) and pid not in pids:
                    pids.add(pid)
                    if pid.isascii() and pid.isdigit():
                        taken.append(int(pid))
    return pids


def _truth(pid: str, kind: str, field_: str, dossier: Any, registry: Any) -> dict[str, Any]:
    return {
        "personal_id": pid,
        "kind": kind,
        "field": field_,
        "dossier_value": dossier,
        "registry_value": registry,
    }


def _difference(
    kind: str, citizen: dict[str, Any], rng: Random, legacy_seen: set[str]
) -> dict[str, Any]:
    """Apply one deliberate difference to ``citizen``; return its truth record."""
    pid = citizen["personal_id"]
    if kind == "date_of_birth":
        try:
            old = dt.date.fromisoformat(citizen["date_of_birth"])
        except ValueError:
            kind = "deceased"  # a partial date (a generator defect): nothing to correct
        else:
            delta = dt.timedelta(days=rng.randint(1, 20) * rng.choice((-1, 1)))
            new = old + delta if (old + delta).year == old.year else old - delta
            citizen["date_of_birth"] = new.isoformat()
            return _truth(pid, kind, "date_of_birth", old.isoformat(), new.isoformat())
    if kind == "birth_name":
        old_name: str = citizen["birth_name"]
        words = old_name.split()
        new_name = old_name
        for _ in range(50):
            middle = middle_name(citizen.get("sex", "M"), rng.random).upper()
            head, tail = (words[0], words[-1]) if len(words) >= 2 else (old_name, "")
            new_name = unicodedata.normalize("NFC", " ".join(p for p in (head, middle, tail) if p))
            if new_name != old_name:
                break
        citizen["birth_name"] = new_name
        return _truth(pid, kind, "birth_name", old_name, new_name)
    if kind == "deceased":
        citizen["status"] = DECEASED
        return _truth(pid, kind, "status", ALIVE, DECEASED)
    if kind == "legacy_id_no":
        old_no = citizen.get("legacy_id_no")
        while True:
            number = f"{rng.randrange(1_000_000_000):09d}"
            if number not in legacy_seen and number != old_no:
                break
        citizen["legacy_id_no"] = number
        return _truth(pid, kind, "legacy_id_no", old_no, number)
    return _truth(pid, "missing", "personal_id", pid, None)


@contextmanager
def _filling(conn: Connection) -> Iterator[None]:
    truncate(conn)
    with indexes_rebuilt(conn):
        yield


def _seed(
    engine: Engine,
    registry_file: Path,
    labels_file: Path | None,
    seed: int,
    others_factor: float,
    difference_rate: float,
    truth: Path | None,
    as_of: dt.date,
    progress: Progress | None,
) -> SeedReport:
    started = time.perf_counter()
    report = SeedReport(truth_file=str(truth) if truth is not None else None)
    taken: array[int] = array("q")
    labelled = _labelled(labels_file, taken)
    total = _count_lines(registry_file)
    rng = Random(f"hoso-popsim-differences:{seed}")
    cycle: list[str] = []
    legacy_seen: set[str] = set()
    part = truth.with_name(truth.name + ".part") if truth is not None else None
    with ExitStack() as stack:
        out: IO[bytes] | None = (
            stack.enter_context(part.open("wb", buffering=1 << 20)) if part is not None else None
        )
        with engine.begin() as conn, _filling(conn):
            writer = CitizenWriter(conn, upsert=False)
            batch: list[Row] = []
            for _, entry in _entries(registry_file):
                report.civil_servants += 1
                pid = entry["personal_id"]
                if pid.isascii() and pid.isdigit():
                    taken.append(int(pid))
                citizen = dict(entry)
                citizen.setdefault("status", ALIVE)
                records: list[dict[str, Any]] = []
                if rng.random() < difference_rate and pid not in labelled:
                    if not cycle:
                        cycle = list(KINDS)
                        rng.shuffle(cycle)
                    record = _difference(cycle.pop(), citizen, rng, legacy_seen)
                    records.append(record)
                    kind = record["kind"]
                    report.differences[kind] = report.differences.get(kind, 0) + 1
                missing = bool(records) and records[0]["kind"] == "missing"
                number = citizen.get("legacy_id_no")
                if number is not None:
                    if number not in legacy_seen:
                        legacy_seen.add(number)  # also a missing person's: others avoid it
                    elif not missing:
                        del citizen["legacy_id_no"]
                        records.append(_truth(pid, "legacy_id_no", "legacy_id_no", number, None))
                        report.legacy_duplicates += 1
                if not missing:
                    batch.append(row_from_citizen(citizen))
                    report.stored += 1
                if out is not None:
                    for record in records:
                        out.write(orjson.dumps(record, option=_LINE))
                if len(batch) >= BATCH:
                    writer.write(batch)
                    batch = []
                if progress is not None and report.civil_servants % 1000 == 0:
                    progress("civil_servants", 1000, total)
            writer.write(batch)
            if progress is not None and report.civil_servants % 1000:
                progress("civil_servants", report.civil_servants % 1000, total)

            others_total = round(others_factor * report.civil_servants)
            sorted_taken = array("q", sorted(taken))
            del taken
            gen = OtherCitizens(seed, as_of=as_of, taken=sorted_taken, legacy_taken=legacy_seen)
            left = others_total
            while left > 0:
                n = min(BATCH, left)
                writer.write(gen.rows(n))
                left -= n
                report.others += n
                if progress is not None:
                    progress("others", n, others_total)
        with engine.connect() as conn:
            report.citizens = service.count(conn)
    if part is not None and truth is not None:
        os.replace(part, truth)
    report.seconds = time.perf_counter() - started
    return report


# --- other citizens -----------------------------------------------------------------------


def _coprime(h: int, modulus: int) -> int:
    """A multiplier coprime with ``modulus`` (a power of 10) derived from ``h`` (ends in 1/3/7/9)."""
    return (h % (modulus // 10)) * 10 + (1, 3, 7, 9)[(h >> 40) % 4]


class OtherCitizens:
    """Citizens who are not civil servants: a whole population's ages, places and names.

    Personal IDs are unique without remembering them: within a head ``PPP G YY`` the random
    part is an affine permutation ``(a * k + b) mod 10**6`` of a counter; a number that a
    civil servant (``taken``, sorted) holds is skipped. Old CMND numbers are an affine
    permutation of 10**9 too, skipping the civil servants' ones (``legacy_taken``).
    """

    def __init__(
        self,
        seed: int,
        *,
        as_of: dt.date = DEFAULT_AS_OF,
        taken: array[int] | None = None,
        legacy_taken: set[str] | None = None,
    ) -> None:
        self.seed = seed
        self.rng = Random(f"hoso-popsim-others:{seed}")
        self.as_of = as_of
        self.as_of_ordinal = as_of.toordinal()
        self.taken = taken if taken is not None else array("q")
        self.legacy_taken = legacy_taken if legacy_taken is not None else set()
        geo = geography()
        self.birth = geo.birth_pool
        self.prefix = {c: int(p) for c, p in geo.prefix.items()}
        self.merged = geo.merged_into
        self.wards = {new: tuple(code for code, _ in rows) for new, rows in geo.wards.items()}
        self.residence = Pool(
            [
                (new, len(rows) * (3 if new in ("01", "79") else 1))
                for new, rows in geo.wards.items()
                if rows
            ]
        )
        self.heads: dict[int, list[int]] = {}
        h = self._hash("legacy")
        self.legacy_state = [_coprime(h, 1_000_000_000), (h >> 8) % 1_000_000_000, 0]

    def _hash(self, what: str) -> int:
        digest = hashlib.blake2b(f"hoso-popsim:{self.seed}:{what}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big")

    def _taken(self, number: int) -> bool:
        i = bisect_left(self.taken, number)
        return i < len(self.taken) and self.taken[i] == number

    def personal_id(self, head: int) -> str:
        """A fresh personal ID with this 6-digit head (``PPP G YY`` as an integer)."""
        state = self.heads.get(head)
        if state is None:
            h = self._hash(f"head:{head}")
            state = self.heads[head] = [_coprime(h, 1_000_000), (h >> 8) % 1_000_000, 0]
        while True:
            k = state[2]
            if k >= 1_000_000:
                raise RuntimeError(f"too many personal IDs with head {head:06d}")
            state[2] = k + 1
            number = head * 1_000_000 + (state[0] * k + state[1]) % 1_000_000
            if not self._taken(number):
                return f"{number:012d}"

    def legacy_id(self) -> str:
        """A fresh 9-digit old CMND number no civil servant holds."""
        state = self.legacy_state
        while True:
            k = state[2]
            state[2] = k + 1
            number = f"{(state[0] * k + state[1]) % 1_000_000_000:09d}"
            if number not in self.legacy_taken:
                return number

    def rows(self, n: int) -> list[Row]:
        """The next ``n`` citizens as rows."""
        return [self.row() for _ in range(n)]

    def row(self) -> Row:
        """The next citizen as a row (``COLUMNS`` order)."""
        rnd = self.rng.random
        sex = "F" if rnd() < 0.502 else "M"
        age = _AGES.pick(rnd)
        year = self.as_of.year - age
        start = dt.date(year, 1, 1).toordinal()
        end = min(dt.date(year, 12, 31).toordinal(), self.as_of_ordinal)
        day = start + int(rnd() * (end - start + 1))
        dob = dt.date.fromordinal(day)
        born = self.birth.pick(rnd)
        home = born if rnd() < 0.85 else self.birth.pick(rnd)
        home_new = self.merged[home]
        wards = self.wards[home_new]
        home_ward = wards[int(rnd() * len(wards))]
        res_new = home_new if rnd() < 0.75 else self.residence.pick(rnd)
        res_wards = self.wards[res_new]
        res_ward = res_wards[int(rnd() * len(res_wards))]
        birth_new = self.merged[born]
        birth_wards = self.wards[birth_new]
        birth_ward = birth_wards[int(rnd() * len(birth_wards))]
        eth = _ETHNICITY[region(home_new)].pick(rnd)
        rel = (_RELIGION_KHMER if eth == "05" else _RELIGION).pick(rnd)
        name = birth_name(
            surname_pool(eth, home_new in SOUTH).pick(rnd),
            middle_name(sex, rnd),
            given_name(sex, rnd),
        )
        dead = rnd() < (0.4 if age >= 85 else 0.1 if age >= 70 else 0.003)
        g = 2 * (year // 100 - 19) + (1 if sex == "F" else 0)
        pid = self.personal_id(self.prefix[born] * 1000 + g * 100 + year % 100)
        legacy = self.legacy_id() if year <= 1997 and rnd() < 0.5 else None
        extra: dict[str, str] = {
            "birth_place_ward_code": birth_ward,
            "birth_place_province_code": birth_new,
            "birth_place_unit_scheme": "2025",
            "hometown_province_code": home_new,
            "residence_province_code": res_new,
        }
        if age >= 14:
            lo = max(day + 14 * 365 + 4, _CARD_ERA.toordinal())
            if lo <= self.as_of_ordinal:
                issued = lo + int(rnd() * (self.as_of_ordinal - lo + 1))
                extra["id_issue_date"] = dt.date.fromordinal(issued).isoformat()
        return (
            pid,
            name,
            name,
            dob.isoformat(),
            sex,
            eth,
            rel,
            home_ward,
            "2025",
            res_ward,
            "2025",
            DECEASED if dead else ALIVE,
            legacy,
            orjson.dumps(extra).decode(),
        )
