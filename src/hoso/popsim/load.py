"""``load``: citizens from JSON Lines (a registry extract from elsewhere), validated, upserted.

One JSON object per line with the registry fields (``personal_id``, ``birth_name``,
``date_of_birth``, ``sex``, ``ethnicity_code``, ``religion_code``, ``hometown_ward_code``,
``hometown_unit_scheme``, ``residence_ward_code``, ``residence_unit_scheme``, ``status``
``alive``/``deceased``, optional ``legacy_id_no`` and the other registry-mastered fields of
the catalogue; see :mod:`hoso.popsim.fields`). Each line is validated on its own: a bad
line is reported (line number, field, value, why, in Vietnamese and English) and skipped,
the good ones are stored.

The file is streamed in batches (memory does not grow with the file) and each batch is one
transaction; citizens are upserted by personal ID, so rerunning a load (or loading a newer
extract over an older one) is safe. Within a batch the last line of a personal ID wins.
An old CMND number (``legacy_id_no``) belongs to one citizen: a line giving a number that
another citizen already holds is rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, select

from hoso.errors import Issue
from hoso.popsim import service
from hoso.popsim.fields import validate_citizen
from hoso.popsim.models import CITIZEN
from hoso.popsim.writer import CitizenWriter, Row, row_from_citizen

MAX_KEPT_ERRORS = 1000
"""Line errors kept in the report (all of them go to the error file when one is given)."""


@dataclass(frozen=True, slots=True)
class LineError:
    """A problem of one line of the file."""

    line: int
    issue: Issue

    @property
    def message(self) -> str:
        """``Dòng N, trường 'f' (giá trị …): … / Line N, field 'f' (value …): …``."""
        i = self.issue
        if i.field:
            value = orjson.dumps(i.value).decode()
            return (
                f"Dòng {self.line}, trường '{i.field}' (giá trị {value}): {i.message_vi}"
                f" / Line {self.line}, field '{i.field}' (value {value}): {i.message_en}"
            )
        return f"Dòng {self.line}: {i.message_vi} / Line {self.line}: {i.message_en}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form written to the error file."""
        return {"line": self.line, **self.issue.as_dict(), "message": self.message}


@dataclass
class LoadReport:
    """What one load did."""

    file: str
    lines: int = 0
    """Non-empty lines read."""
    stored: int = 0
    """Citizens written (new or updated)."""
    rejected: int = 0
    """Lines refused (see ``errors``)."""
    errors: list[LineError] = field(default_factory=list)
    """The first :data:`MAX_KEPT_ERRORS` line errors."""
    citizens: int = 0
    """Citizens in the registry after the load."""
    seconds: float = 0.0

    def summary(self) -> str:
        """The one-line summary printed by the CLI (Vietnamese / English)."""
        return (
            f"Đã nạp '{self.file}': {vi_int(self.lines)} dòng, lưu {vi_int(self.stored)} công"
            f" dân, từ chối {vi_int(self.rejected)} dòng; CSDL có {vi_int(self.citizens)} công"
            f" dân ({self.seconds:.1f} giây) / Loaded '{self.file}': {self.lines:,} lines,"
            f" {self.stored:,} citizens stored, {self.rejected:,} lines rejected; the registry"
            f" holds {self.citizens:,} citizens ({self.seconds:.1f} s)"
        )


def vi_int(n: int) -> str:
    """``1234567`` → ``1.234.567`` (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def _issue(field_: str, code: str, vi: str, en: str, value: Any) -> Issue:
    return Issue(field=field_, code=code, message_vi=vi, message_en=en, value=value)


class _Loader:
    def __init__(self, conn: Connection, report: LoadReport, errors_out: IO[bytes] | None) -> None:
        self.conn = conn
        self.report = report
        self.errors_out = errors_out
        self.rejected_lines: set[int] = set()

    def error(self, line: int, issue: Issue) -> None:
        err = LineError(line, issue)
        if len(self.report.errors) < MAX_KEPT_ERRORS:
            self.report.errors.append(err)
        if self.errors_out is not None:
            self.errors_out.write(orjson.dumps(err.as_dict(), option=orjson.OPT_APPEND_NEWLINE))
        if line not in self.rejected_lines:
            self.rejected_lines.add(line)
            self.report.rejected += 1

    def flush(self, batch: list[tuple[int, dict[str, str]]]) -> None:
        """Store one batch of valid citizens in one transaction."""
        latest: dict[str, tuple[int, dict[str, str]]] = {}
        for line, doc in batch:
            latest.pop(doc["personal_id"], None)  # re-insert: keeps line order of winners
            latest[doc["personal_id"]] = (line, doc)
        with self.conn.begin():
            self._store(latest)

    def _store(self, latest: dict[str, tuple[int, dict[str, str]]]) -> None:
        legacy = sorted({d["legacy_id_no"] for _, d in latest.values() if "legacy_id_no" in d})
        owners: dict[str, str] = {}
        for start in range(0, len(legacy), 10_000):  # SQLite allows 32,766 parameters
            stmt = select(CITIZEN.c.legacy_id_no, CITIZEN.c.personal_id).where(
                CITIZEN.c.legacy_id_no.in_(legacy[start : start + 10_000])
            )
            owners.update((lg, pid) for lg, pid in self.conn.execute(stmt))
        rows: list[Row] = []
        for pid, (line, doc) in latest.items():
            number = doc.get("legacy_id_no")
            if number is not None:
                owner = owners.setdefault(number, pid)
                if owner != pid:
                    self.error(
                        line,
                        _issue(
                            "legacy_id_no",
                            "legacy_id_taken",
                            f"Số CMND cũ này đã gắn với công dân {owner}",
                            f"This old ID card number already belongs to citizen {owner}",
                            number,
                        ),
                    )
                    continue
            rows.append(row_from_citizen(doc))
        CitizenWriter(self.conn, upsert=True).write(rows)
        self.report.stored += len(rows)


def load(
    engine: Engine,
    path: Path,
    *,
    batch_size: int = 5000,
    errors_file: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Load the citizens of JSON Lines file ``path`` (see the module docstring).

    ``progress`` is called with the number of bytes read since its previous call;
    ``errors_file`` receives every line error as JSON Lines.
    """
    started = time.perf_counter()
    report = LoadReport(file=str(path))
    with (
        path.open("rb") as fh,
        errors_file.open("wb") if errors_file is not None else nullcontext() as errors_out,
        engine.connect() as conn,
    ):
        loader = _Loader(conn, report, errors_out)
        batch: list[tuple[int, dict[str, str]]] = []
        pending = 0
        for number, raw in enumerate(fh, start=1):
            pending += len(raw)
            text = raw.strip()
            if not text:
                continue
            report.lines += 1
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                loader.error(
                    number,
                    _issue(
                        "",
                        "invalid_json",
                        f"Không đọc được JSON ({exc})",
                        f"Not valid JSON ({exc})",
                        None,
                    ),
                )
                continue
            doc, issues = validate_citizen(obj)
            if doc is None:
                for issue in issues:
                    loader.error(number, issue)
                continue
            batch.append((number, doc))
            if len(batch) >= batch_size:
                loader.flush(batch)
                batch = []
                if progress is not None:
                    progress(pending)
                    pending = 0
        if batch:
            loader.flush(batch)
        if progress is not None and pending:
            progress(pending)
        report.citizens = service.count(conn)
        conn.rollback()
    report.seconds = time.perf_counter() - started
    return report
