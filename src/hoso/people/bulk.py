"""Bulk import and export of dossiers (JSON Lines and XLSX), resumable and idempotent.

Import runs one transaction per batch of lines. Each batch stores its good lines, its bad
lines (``import_issue``) and the run's checkpoint (``import_run.lines_done``) together, so a
process killed at any moment leaves a consistent database, and rerunning the same command
resumes after the last committed batch: the final state equals an uninterrupted run. A
file that was imported completely (same SHA-256, same scope) stores nothing new and says
so. The error file is written at the end from ``import_issue``, so every bad line appears
exactly once even across restarts.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.auth.principal import Principal
from hoso.db.base import utcnow
from hoso.db.engine import unit_of_work
from hoso.errors import InvalidInput, Issue
from hoso.people import service
from hoso.people import xlsx as xlsx_format
from hoso.people.checking import (
    Packed,
    Progress,
    Record,
    _init_worker,
    _jsonl_ranges,
    _unpack,
    _worker_check_range,
    check_records,
)
from hoso.people.models import IMPORT_ISSUE_TABLE, ImportIssue, ImportRun, Person
from hoso.people.validation import CheckedDossier


@dataclass
class ImportReport:
    """Counts of one import command."""

    file: str
    run_id: int | None = None
    lines: int = 0
    created: int = 0
    versioned: int = 0
    unchanged: int = 0
    rejected: int = 0
    resumed_from: int = 0
    already_imported: bool = False
    dry_run: bool = False
    error_file: str | None = None
    rejected_codes: dict[str, int] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        """New versions stored (new dossiers and new versions of existing ones)."""
        return self.created + self.versioned

    def summary(self) -> str:
        """The one-line summary printed by the CLI (Vietnamese / English)."""
        if self.already_imported:
            return (
                f"Tệp {self.file} đã được nhập đầy đủ trước đó (lần nhập #{self.run_id}); không có gì mới "
                f"được lưu / {self.file} was already imported completely (run #{self.run_id}); "
                f"nothing new stored"
            )
        verb_vi = "Kiểm tra thử" if self.dry_run else "Đã nhập"
        verb_en = "Dry run of" if self.dry_run else "Imported"
        resumed = (
            f" (tiếp tục từ dòng {self.resumed_from + 1} / resumed after line {self.resumed_from})"
            if self.resumed_from
            else ""
        )
        return (
            f"{verb_vi} {self.file}: {self.lines} dòng, {self.created} hồ sơ mới, "
            f"{self.versioned} phiên bản mới, {self.unchanged} không đổi, {self.rejected} bị từ chối"
            f"{resumed} / {verb_en} {self.file}: {self.lines} lines, {self.created} new dossiers, "
            f"{self.versioned} new versions, {self.unchanged} unchanged, {self.rejected} rejected"
        )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonl_records(path: Path, skip: int, progress: Progress | None) -> Iterator[Record]:
    done = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            done += len(raw)
            if line_no <= skip:
                continue
            if progress is not None and line_no % 500 == 0:
                progress(done)
            if not raw.strip():
                yield line_no, None, None
                continue
            yield line_no, None, raw  # parsed by check_records (possibly in a worker)
    if progress is not None:
        progress(done)


def _xlsx_records(path: Path, skip: int, progress: Progress | None) -> Iterator[Record]:
    for n, (row, sheet, record) in enumerate(xlsx_format.read_xlsx(path), start=1):
        if progress is not None and n % 200 == 0:
            progress(n)
        if n <= skip:
            continue
        yield row, sheet, record


def _error_line(row: dict[str, Any], is_xlsx: bool) -> bytes:
    out: dict[str, Any] = {("row" if is_xlsx else "line"): row["line"]}
    if is_xlsx:
        out["sheet"] = row["sheet"]
    out.update(
        personal_id=row["personal_id"],
        field=row["field"],
        value=row["value"],
        code=row["code"],
        message_vi=row["message_vi"],
        message_en=row["message_en"],
    )
    if len(row["details"]) > 1:
        out["errors"] = row["details"]
    return orjson.dumps(out) + b"\n"


def import_file(
    path: Path,
    *,
    principal: Principal,
    agency: str | None = None,
    dry_run: bool = False,
    errors_path: Path | None = None,
    batch_size: int = 1000,
    force: bool = False,
    progress: Progress | None = None,
    source: str = "import",
    workers: int | None = None,
) -> ImportReport:
    """Import a JSON Lines or XLSX file of dossiers. See the module docstring."""
    principal.require("person:write")
    # The libraries loaded so far (SQLAlchemy, pydantic, ...) are long-lived: keep the
    # garbage collector from re-scanning them during an allocation-heavy import.
    gc.freeze()
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    digest = file_sha256(path)
    report = ImportReport(
        file=path.name, dry_run=dry_run, error_file=str(errors_path) if errors_path else None
    )
    skip = 0
    with unit_of_work() as session:
        scope_path = service.principal_scope_path(session, principal)
        paths = service.org_paths(session)
        if agency is not None:
            agency_path = paths.get(agency)
            if agency_path is None or (
                scope_path is not None and not agency_path.startswith(scope_path)
            ):
                raise InvalidInput(
                    message_vi=f"Cơ quan '{agency}' không tồn tại hoặc nằm ngoài phạm vi",
                    message_en=f"Agency '{agency}' does not exist or is outside your scope",
                    issues=[
                        Issue(
                            "--agency",
                            "unknown_agency",
                            f"Không có cơ quan '{agency}'",
                            f"No agency '{agency}'",
                            agency,
                        )
                    ],
                )
            scope_path = agency_path
        run: ImportRun | None = None
        if not dry_run:
            runs = (
                session.execute(
                    select(ImportRun)
                    .where(
                        ImportRun.file_sha256 == digest,
                        ImportRun.scope_code.is_(agency)
                        if agency is None
                        else ImportRun.scope_code == agency,
                    )
                    .order_by(ImportRun.id.desc())
                )
                .scalars()
                .all()
            )
            done_run = next((r for r in runs if r.completed_at is not None), None)
            open_run = next((r for r in runs if r.completed_at is None), None)
            if done_run is not None and not force:
                report.already_imported = True
                report.run_id = done_run.id
                report.lines = done_run.lines_done
                report.unchanged = done_run.stored + done_run.unchanged
                report.rejected = done_run.rejected
                if errors_path is not None:
                    _write_errors(session, done_run.id, errors_path, is_xlsx)
                return report
            if open_run is not None:
                run = open_run
                skip = run.lines_done
                report.resumed_from = skip
                report.created, report.unchanged, report.rejected = (
                    run.stored,
                    run.unchanged,
                    run.rejected,
                )
            else:
                run = ImportRun(
                    file_sha256=digest,
                    file_name=path.name,
                    scope_code=agency,
                    actor=principal.username,
                    lines_done=0,
                    stored=0,
                    unchanged=0,
                    rejected=0,
                    started_at=utcnow(),
                )
                session.add(run)
                session.flush()
            report.run_id = run.id
    run_id = report.run_id
    records = (
        _xlsx_records(path, skip, progress) if is_xlsx else _jsonl_records(path, skip, progress)
    )
    if workers is None:
        workers = default_workers(path)
    if is_xlsx:
        workers = 0  # rows arrive as dicts from openpyxl; checking them here is cheaper
    dry_errors = errors_path.open("wb") if (dry_run and errors_path is not None) else None
    processed = skip

    writer = _Writer(
        lambda good, bad, upto: _store_batch(
            good, bad, upto, run_id, principal, report, dry_run, dry_errors, is_xlsx, source
        )
    )
    try:
        if workers > 0:
            # Checking (parse, validate, hash) runs in worker processes while the writer
            # thread stores earlier batches.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(paths, scope_path, is_xlsx, run_id),
            ) as pool:
                # Workers read their own byte ranges of the file: only offsets cross the pipe.
                pending: deque[tuple[Future[Packed], int]] = deque()
                for first, count, start, end in _jsonl_ranges(path, skip, batch_size, progress):
                    processed += count
                    job = pool.submit(_worker_check_range, str(path), first, start, end)
                    pending.append((job, processed))
                    while len(pending) > 2 * workers:
                        future, upto = pending.popleft()
                        writer.put(*_unpack(future.result()), upto)
                while pending:
                    future, upto = pending.popleft()
                    writer.put(*_unpack(future.result()), upto)
        else:
            # This thread checks batch N+1 while the writer thread stores batch N: the
            # database works (and the driver waits, without the GIL) during the checks.
            for batch in _batches(records, batch_size):
                processed += len(batch)
                good, bad = check_records(batch, paths, scope_path, is_xlsx, run_id)
                writer.put(good, bad, processed)
        writer.close()
    finally:
        writer.abort()
        if dry_errors is not None:
            dry_errors.close()
    report.lines = processed
    if not dry_run:
        with unit_of_work() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None and run_id is not None
            run.lines_done = processed
            run.completed_at = utcnow()
            session.flush()
            if errors_path is not None:
                _write_errors(session, run_id, errors_path, is_xlsx)
    return report


def default_workers(path: Path) -> int:
    """Checking processes for a file: none for small files (starting one costs ~1 s) or one
    core; two on two or three cores (measured best on 2 cores with bench/ingest.py: the
    checks are the costliest stage); up to four on bigger machines."""
    cores = os.cpu_count() or 1
    if cores < 2 or path.stat().st_size < 8_000_000:
        return 0
    return 2 if cores < 4 else min(4, cores - 1)


class _Writer:
    """Stores checked batches in order on one background thread (a bounded queue)."""

    def __init__(
        self, store: Callable[[list[tuple[CheckedDossier, str]], list[dict[str, Any]], int], None]
    ) -> None:
        self._store = store
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hoso-import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            try:
                self._store(*item)
            except BaseException as exc:  # re-raised in the main thread
                self._error = exc

    def put(
        self, good: list[tuple[CheckedDossier, str]], bad: list[dict[str, Any]], upto: int
    ) -> None:
        """Queue one batch (blocks while two are waiting); re-raise a writer failure."""
        if self._error is not None:
            raise self._error
        self._queue.put((good, bad, upto))

    def close(self) -> None:
        """Wait until every queued batch is stored; re-raise a writer failure."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop the thread after the batches already queued (used on errors)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _store_batch(
    good: list[tuple[CheckedDossier, str]],
    bad: list[dict[str, Any]],
    processed: int,
    run_id: int | None,
    principal: Principal,
    report: ImportReport,
    dry_run: bool,
    dry_errors: IO[bytes] | None,
    is_xlsx: bool,
    source: str,
) -> None:
    for row in bad:
        report.rejected_codes[row["code"]] = report.rejected_codes.get(row["code"], 0) + 1
    report.rejected += len(bad)
    if dry_run:
        with unit_of_work() as session:
            _dry_count(session, good, report)
        if dry_errors is not None:
            for row in bad:
                dry_errors.write(_error_line(row, is_xlsx))
        return
    with unit_of_work() as session:
        outcomes = (
            service.store_batch(
                session,
                good,
                principal=principal,
                source=source,
                note=f"import #{run_id}",
                audit_subject=("import_run", str(run_id)),
            )
            if good
            else []
        )
        for o in outcomes:
            if o.action == "created":
                report.created += 1
            elif o.action == "versioned":
                report.versioned += 1
            else:
                report.unchanged += 1
        if bad:
            session.execute(IMPORT_ISSUE_TABLE.insert(), bad)
        run = session.get(ImportRun, run_id)
        assert run is not None
        run.lines_done = processed
        run.stored = report.created + report.versioned
        run.unchanged = report.unchanged
        run.rejected = report.rejected


def _dry_count(
    session: Session, good: list[tuple[CheckedDossier, str]], report: ImportReport
) -> None:
    pids = list({c.personal_id for c, _ in good if c.personal_id})
    current = (
        dict(
            session.execute(
                select(Person.personal_id, Person.current_content_hash).where(
                    Person.personal_id.in_(pids)
                )
            ).all()
        )
        if pids
        else {}
    )
    for checked, digest in good:
        assert checked.personal_id is not None
        known = current.get(checked.personal_id)
        if known == digest:
            report.unchanged += 1
        elif known is None:
            report.created += 1
            current[checked.personal_id] = digest
        else:
            report.versioned += 1
            current[checked.personal_id] = digest


def _write_errors(session: Session, run_id: int, errors_path: Path, is_xlsx: bool) -> None:
    with errors_path.open("wb") as fh:
        last = 0
        while True:
            rows = (
                session.execute(
                    select(ImportIssue)
                    .where(ImportIssue.run_id == run_id, ImportIssue.id > last)
                    .order_by(ImportIssue.id)
                    .limit(2000)
                )
                .scalars()
                .all()
            )
            if not rows:
                break
            for r in rows:
                fh.write(
                    _error_line(
                        {
                            "line": r.line,
                            "sheet": r.sheet,
                            "personal_id": r.personal_id,
                            "field": r.field,
                            "value": r.value,
                            "code": r.code,
                            "message_vi": r.message_vi,
                            "message_en": r.message_en,
                            "details": r.details,
                        },
                        is_xlsx,
                    )
                )
            last = rows[-1].id
            session.expunge_all()


# --------------------------------------------------------------------------- export


def export_records(
    session: Session, *, principal: Principal, agency: str | None = None
) -> Iterator[dict[str, Any]]:
    """Current versions in scope as bulk records, ordered by personal ID."""
    for person, version, posts in service.iter_current(session, principal=principal, agency=agency):
        record: dict[str, Any] = {
            "personal_id": person.personal_id,
            "managing_agency": version.managing_agency_code,
            "employing_unit": version.employing_unit_code,
            "data": version.data,
            "content_hash": version.content_hash,
        }
        if posts:
            record["concurrent_posts"] = [
                {
                    k: v
                    for k, v in {
                        "unit_code": p.unit_code,
                        "position_code": p.position_code,
                        "title": p.title,
                        "start_date": p.start_date.isoformat() if p.start_date else None,
                        "end_date": p.end_date.isoformat() if p.end_date else None,
                    }.items()
                    if v is not None
                }
                for p in posts
            ]
        if record["employing_unit"] is None:
            del record["employing_unit"]
        yield record


def export_jsonl(records: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    """Write records as JSON Lines with sorted keys (byte-stable across backends)."""
    count = 0
    for record in records:
        out.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
        count += 1
    return count
