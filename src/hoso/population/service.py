"""Verification runs against the population registry, and the stored results.

A run (``hoso population match``) walks the current dossiers of its scope in ``person.id``
order, one batch at a time, in three steps per batch:

1. :func:`select_batch` reads the batch (the registry-mastered fields of each current
   version) in a short read transaction, which is closed before anything else happens;
2. :func:`fetch_results` asks the registry, with **no transaction open**: a verification by
   personal ID, then a second one by the old CMND number (``legacy_id_no``) for the people
   the first did not find. The registry being down or slow therefore holds no lock and
   blocks nothing else in hoso;
3. :func:`apply_batch` compares each dossier with the registry's citizen
   (:func:`hoso.population.matching.compare`), replaces the person's ``population_match``
   row, advances the run's ``cursor``, ``done`` and ``counts`` and appends one audit event,
   all in one transaction.

:func:`run_job` drives a run: one transaction per batch; a worker thread reads the next
batch (its own short transaction) and asks the registry while the calling thread stores
the current one. (When every session shares one connection, as in the test harness, the
reads stay on the calling thread and only the HTTP overlaps.) A crash loses at most the batches in
flight; the next run of the same scope resumes after the last committed batch (the
cursor) and never repeats a finished one; a batch is applied only when it starts after
the cursor (checked under a row lock), so two runners cannot both store it either.

Reads of the results (:func:`iter_results`, :func:`count_results`) are scoped by the
principal and audited by their callers with :func:`audit_read`. :func:`registry_view`
and :func:`match_meta` give the quality engine the registry's values (SACH-009/010/011)
and the match status and time of every dossier (SONG-009).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
import polars as pl
from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hoso.audit import service as audit
from hoso.auth.principal import Principal
from hoso.db import engine as db_engine
from hoso.db.base import Base, utcnow
from hoso.db.engine import unit_of_work
from hoso.errors import InvalidInput, Issue, NotFound
from hoso.orgs import service as orgs_service
from hoso.people.models import Person, PersonVersion
from hoso.population import matching
from hoso.population.client import PopulationRegistry, RegistryRejected, RegistryUnavailable
from hoso.population.models import Decision, Outcome, PopulationMatch, PopulationRun

logger = logging.getLogger(__name__)

ALL = "*"
RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
MATCH_TABLE = Base.metadata.tables["population_match"]


def status_code(outcome: str, matched_by: str | None, differences: Sequence[Any] | int) -> str:
    """The ``population_match_status`` code of a result (the code list SACH-011 and SONG-009
    read): ``MATCHED`` / ``MISMATCH`` (something differs, or a conflict) for a person the
    registry knows under the dossier's personal ID; ``NOT_FOUND`` when it does not know that
    number — not found at all, a potential match, or found only through the old CMND number
    or probabilistically (the dossier's number is still not the registry's).
    ``differences``: the differences, or how many there are."""
    if matched_by != "personal_id" or outcome in (Outcome.NOT_FOUND, Outcome.POTENTIAL):
        return "NOT_FOUND"
    if outcome == Outcome.MATCHED and not differences:
        return "MATCHED"
    return "MISMATCH"


OUTCOME_VI = {
    Outcome.MATCHED: "Khớp",
    Outcome.POTENTIAL: "Có thể trùng khớp",
    Outcome.CONFLICT: "Mâu thuẫn",
    Outcome.NOT_FOUND: "Không tìm thấy",
}
"""Vietnamese labels of the outcomes."""

Progress = Callable[["JobReport"], None]
Fetched = tuple[list["Dossier"], "BatchResults", float]
"""A batch, the registry's answers for it, and the seconds its read took."""


# --- the fields compared ---------------------------------------------------------------------


@lru_cache
def mastered_fields() -> tuple[str, ...]:
    """The dossier fields a comparison reads: :data:`hoso.population.matching.MASTERED_FIELDS`
    (the catalogue's ``master: population_registry`` fields, the dossier's own
    ``record_id`` aside) with ``personal_id`` and ``legacy_id_no``."""
    codes = list(matching.MASTERED_FIELDS)
    for extra in ("personal_id", "legacy_id_no"):
        if extra not in codes:
            codes.append(extra)
    return tuple(codes)


@dataclass(frozen=True, slots=True)
class Dossier:
    """The part of one current dossier a registry comparison reads (detached from the DB)."""

    person_id: int
    personal_id: str
    managing_agency_code: str
    version: int
    content_hash: str
    data: dict[str, Any]
    """The registry-mastered fields of the current version (absent fields left out)."""

    @property
    def legacy_id_no(self) -> str | None:
        """The old 9-digit (or 12-digit) CMND number, when the dossier has one."""
        value = self.data.get("legacy_id_no")
        number = str(value).strip() if value is not None else ""
        return number or None


@dataclass
class BatchResults:
    """The registry's answers for one batch: verify results by the number asked."""

    by_personal_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_legacy_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0
    """Verification calls made for the batch."""
    seconds: float = 0.0
    """Time the registry calls took."""


@dataclass
class JobReport:
    """What :func:`run_job` did (also handed to the progress callback after each batch)."""

    run_id: int
    agency: str | None
    total: int
    done: int
    resumed_from: int
    """``done`` when this process started (0 for a new run)."""
    batches: int = 0
    """Batches committed by this process."""
    counts: dict[str, int] = field(default_factory=dict)
    """Results by outcome over the whole run."""
    status: str = RUNNING
    seconds: float = 0.0
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent by step: ``select`` (reading batches), ``registry`` (the registry calls,
    overlapping the others), ``wait`` (waiting for the registry's answer), ``apply``
    (compare, store, audit, commit)."""

    def _add(self, step: str, seconds: float) -> None:
        self.timings[step] = round(self.timings.get(step, 0.0) + seconds, 3)

    def summary(self) -> str:
        """One line, Vietnamese (numbers as 1.234.567) / English."""
        counts = ", ".join(f"{OUTCOME_VI[o]} {vi_int(self.counts.get(o, 0))}" for o in Outcome.ALL)
        counts_en = ", ".join(f"{o} {self.counts.get(o, 0):,}" for o in Outcome.ALL)
        resumed_vi = (
            f" (tiếp tục sau {vi_int(self.resumed_from)} hồ sơ)" if self.resumed_from else ""
        )
        resumed_en = f" (resumed after {self.resumed_from:,})" if self.resumed_from else ""
        state_vi = {COMPLETED: "hoàn thành", FAILED: "dừng", RUNNING: "đang chạy"}[self.status]
        seconds_vi = f"{self.seconds:.1f}".replace(".", ",")
        return (
            f"Lần đối chiếu #{self.run_id} {state_vi}: {vi_int(self.done)}/{vi_int(self.total)} hồ sơ, "
            f"{counts}{resumed_vi}, {seconds_vi} giây / run #{self.run_id} {self.status}: "
            f"{self.done:,}/{self.total:,} dossiers, {counts_en}{resumed_en}, "
            f"{self.seconds:.1f} s"
        )


def vi_int(n: int) -> str:
    """An integer as Vietnamese writes it (``1.234.567``)."""
    return f"{n:,}".replace(",", ".")


# --- runs -------------------------------------------------------------------------------------


def _scope_path(session: Session, agency: str | None) -> str | None:
    if agency is None:
        return None
    try:
        return orgs_service.scope_path(session, agency)
    except NotFound:
        raise InvalidInput(
            message_vi=f"Cơ quan '{agency}' không tồn tại",
            message_en=f"Agency '{agency}' does not exist",
            issues=[
                Issue("--agency", "unknown_agency", f"Không có cơ quan '{agency}'",
                      f"No agency '{agency}'", agency)
            ],
        ) from None  # fmt: skip


def _in_scope(path: str | None) -> ColumnElement[bool]:
    if path is None:
        return true()
    return Person.managing_agency_code.in_(orgs_service.codes_in_subtree_select(path))


def _remaining(session: Session, path: str | None, after: int) -> int:
    stmt = select(func.count()).select_from(Person).where(Person.id > after, _in_scope(path))
    return int(session.execute(stmt).scalar_one())


def _scope_is(agency: str | None) -> ColumnElement[bool]:
    return (
        PopulationRun.agency_code.is_(None)
        if agency is None
        else PopulationRun.agency_code == agency
    )


def start_or_resume(
    session: Session,
    *,
    actor: str,
    agency: str | None = None,
    registry_url: str,
    restart: bool = False,
    principal: Principal | None = None,
) -> PopulationRun:
    """The run to work on: the latest unfinished run of the same scope, else a new one.

    ``restart`` closes an unfinished run as failed and starts over from the first dossier.
    ``principal`` (web or API callers) must hold ``population:run`` and have ``agency`` in
    its scope; the CLI operator passes none.
    """
    if principal is not None:
        principal.require("population:run")
        if agency is not None:
            orgs_service.require_in_scope(session, principal, agency)
    path = _scope_path(session, agency)
    latest = session.execute(
        select(PopulationRun)
        .where(_scope_is(agency))
        .order_by(PopulationRun.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if latest is not None and latest.status != COMPLETED and latest.finished_at is None:
        if not restart:
            latest.status = RUNNING
            latest.registry_url = registry_url
            latest.total = latest.done + _remaining(session, path, latest.cursor)
            audit.record(
                session, actor=actor, action="population:run:resume",
                subject_type="population_run", subject_id=str(latest.id),
                data={"agency": agency, "cursor": latest.cursor, "done": latest.done},
            )  # fmt: skip
            session.flush()
            return latest
        latest.status = FAILED
        latest.finished_at = utcnow()
        latest.errors = [*latest.errors, {"at": utcnow().isoformat(), "kind": "restarted",
                                          "detail": f"restarted by {actor}"}][-10:]  # fmt: skip
    run = PopulationRun(
        agency_code=agency,
        actor=actor,
        registry_url=registry_url,
        status=RUNNING,
        started_at=utcnow(),
        cursor=0,
        total=_remaining(session, path, 0),
        done=0,
        counts={},
        errors=[],
    )
    session.add(run)
    session.flush()
    audit.record(
        session, actor=actor, action="population:run:start", subject_type="population_run",
        subject_id=str(run.id), data={"agency": agency, "total": run.total, "restart": restart},
    )  # fmt: skip
    return run


def _mastered_json(session: Session) -> ColumnElement[Any]:
    """The mastered fields of ``person_version.data`` as one small JSON text per row, built
    by the database (the documents are ~7 KB; only ~20 scalars are needed)."""
    keys = ", ".join(f"'{k}'" for k in mastered_fields())  # catalogue codes: [a-z0-9_]
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            "(SELECT json_object_agg(e.key, e.value)::text FROM json_each(person_version.data)"
            f" AS e WHERE e.key IN ({keys}))"
        )
    else:
        sql = (
            "(SELECT json_group_object(e.key, e.value) FROM json_each(person_version.data)"
            f" AS e WHERE e.key IN ({keys}))"
        )
    return cast(literal_column(sql), Text)


def _batch_query(session: Session, path: str | None, after: int, limit: int) -> Select[Any]:
    return (
        select(
            Person.id,
            Person.personal_id,
            PersonVersion.managing_agency_code,
            PersonVersion.version,
            PersonVersion.content_hash,
            _mastered_json(session).label("mastered"),
        )
        .join(
            PersonVersion,
            and_(
                PersonVersion.person_id == Person.id,
                PersonVersion.version == Person.current_version,
            ),
        )
        .where(Person.id > after, _in_scope(path))
        .order_by(Person.id)
        .limit(limit)
    )


def select_batch(
    session: Session, run: PopulationRun, limit: int, *, after: int | None = None
) -> list[Dossier]:
    """The next ``limit`` current dossiers of the run's scope after ``after`` (default: the
    run's cursor), in ``person.id`` order."""
    path = _scope_path(session, run.agency_code)
    start = run.cursor if after is None else after
    out: list[Dossier] = []
    for pid, personal_id, agency, version, digest, mastered in session.execute(
        _batch_query(session, path, start, limit)
    ):
        data = {k: v for k, v in orjson.loads(mastered or "{}").items() if v is not None}
        data.setdefault("personal_id", personal_id)
        out.append(Dossier(pid, personal_id, agency, version, digest, data))
    return out


def fetch_results(registry: PopulationRegistry, people: Sequence[Dossier]) -> BatchResults:
    """Ask the registry about ``people`` (no database access: call it with no transaction
    open). By personal ID first; the people it does not find and whose dossier has an old
    CMND number are asked again by that number."""
    results = BatchResults()
    if not people:
        return results
    t0 = time.perf_counter()
    for result in registry.verify([p.personal_id for p in people]):
        results.by_personal_id[str(result["query"])] = result
    results.calls = 1
    legacy = [
        number
        for p in people
        if not results.by_personal_id.get(p.personal_id, {}).get("found")
        and (number := p.legacy_id_no) is not None
    ]
    legacy = list(dict.fromkeys(legacy))
    if legacy:
        for result in registry.verify(legacy):
            results.by_legacy_id[str(result["query"])] = result
        results.calls += 1
    results.seconds = time.perf_counter() - t0
    return results


# --- comparing and storing --------------------------------------------------------------------


def compare_one(dossier: Dossier, results: BatchResults) -> dict[str, Any]:
    """The stored comparison of one dossier with the registry's answers for its batch."""
    found = results.by_personal_id.get(dossier.personal_id)
    matched_by = "personal_id"
    if not (found and found.get("found")):
        legacy = dossier.legacy_id_no
        found = results.by_legacy_id.get(legacy) if legacy else None
        matched_by = "legacy_id_no"
    if not (found and found.get("found") and found.get("citizen")):
        return matching.compare(dossier.data, None, matched_by=None).as_columns()
    matched_by = found.get("matched_by") or matched_by
    return matching.compare(dossier.data, found["citizen"], matched_by=matched_by).as_columns()


_KEPT = ("decision", "decided_by", "decided_at", "decision_reason", "corrections_proposed")


def apply_batch(
    session: Session,
    run: PopulationRun,
    people: Sequence[Dossier],
    results: BatchResults,
    *,
    actor: str | None = None,
) -> dict[str, int]:
    """Compare and store one batch; advance the run; one audit event. Returns the batch's
    counts by outcome (empty when the batch was already applied: it does not start after
    the run's cursor).

    Each person's ``population_match`` row is replaced; a review decision is kept only when
    the compared version (``content_hash``) and the registry's person are unchanged. A
    probabilistic result (``matched_by`` ``probabilistic``: a potential match, or one
    decided or auto-accepted) of an unchanged dossier is kept when the personal ID is still
    not found: verifying by number again adds nothing to it (only ``matched_at`` and
    ``run_id`` move). An accepted probabilistic link (auto-accepted or confirmed by an
    officer) of a dossier that *changed* — typically by accepting the corrections it
    proposed — is kept too, compared again with the registry's values stored with it
    (:func:`_relinked`); its decision stays while the identity still agrees. A potential
    match of a changed dossier goes back to ``not_found`` for the next probabilistic pass. Lock ``run`` (``with_for_update``) before calling when several runners
    may share it.
    """
    if not people or people[0].person_id <= run.cursor:
        return {}
    now = utcnow()
    ids = [p.person_id for p in people]
    previous = {
        row["person_id"]: dict(row)
        for row in session.execute(
            select(MATCH_TABLE).where(MATCH_TABLE.c.person_id.in_(ids))
        ).mappings()
    }
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for person in people:
        result = compare_one(person, results)
        old = previous.get(person.person_id)
        unchanged = old is not None and old["content_hash"] == person.content_hash
        linked = (
            old is not None
            and result["outcome"] == Outcome.NOT_FOUND
            and old["matched_by"] == "probabilistic"
        )
        if linked and unchanged:
            assert old is not None
            row = {**old, "matched_at": now, "run_id": run.id}
        elif linked and old is not None and old["registry_personal_id"] is not None:
            row = _relinked(old, person, run, now)
        else:
            row = {
                "person_id": person.person_id,
                "personal_id": person.personal_id,
                "managing_agency_code": person.managing_agency_code,
                "version": person.version,
                "content_hash": person.content_hash,
                **result,
                "candidates": [],
                "matched_at": now,
                "run_id": run.id,
                "decision": Decision.PENDING,
                "decided_by": None,
                "decided_at": None,
                "decision_reason": None,
                "corrections_proposed": 0,
            }
            if (
                old is not None
                and unchanged
                and old["registry_personal_id"] == row["registry_personal_id"]
            ):
                row.update({k: old[k] for k in _KEPT})
        rows.append(row)
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    if previous:
        session.execute(delete(MATCH_TABLE).where(MATCH_TABLE.c.person_id.in_(list(previous))))
    _insert_matches(session, rows)
    total = dict(run.counts or {})
    for outcome, n in counts.items():
        total[outcome] = total.get(outcome, 0) + n
    run.counts = total
    run.done = run.done + len(people)
    run.cursor = people[-1].person_id
    audit.record(
        session,
        actor=actor or run.actor,
        action="population:match:batch",
        subject_type="population_run",
        subject_id=str(run.id),
        data={"first": ids[0], "last": ids[-1], "people": len(people), "counts": counts,
              "calls": results.calls},
    )  # fmt: skip
    session.flush()
    return counts


def _relinked(
    old: dict[str, Any], person: Dossier, run: PopulationRun, now: dt.datetime
) -> dict[str, Any]:
    """The accepted probabilistic link of a dossier that changed since: compared again with
    the registry's values stored with the link (the verification by number cannot fetch the
    linked citizen). The review decision stays when the dossier still agrees on identity
    (``matched``); otherwise the link becomes a conflict to review again."""
    citizen = {
        **(old["registry_values"] or {}),
        "personal_id": old["registry_personal_id"],
        "status": old["registry_status"] or "alive",
    }
    compared = matching.compare(
        person.data, citizen, matched_by="probabilistic", probability=old["probability"],
        accepted=True,
    ).as_columns()  # fmt: skip
    row = {
        **old,
        "managing_agency_code": person.managing_agency_code,
        "version": person.version,
        "content_hash": person.content_hash,
        **compared,
        "matched_at": now,
        "run_id": run.id,
    }
    if compared["outcome"] != Outcome.MATCHED:
        row.update(decision=Decision.PENDING, decided_by=None, decided_at=None,
                   decision_reason=None, corrections_proposed=0)  # fmt: skip
    return row


_JSON_COLUMNS = frozenset({"registry_values", "differences", "candidates"})


def _insert_matches(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert result rows: COPY on PostgreSQL (a tenth of the time of 1,000 INSERTs in a
    pipeline, measured with bench/match.py), a multi-row INSERT elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(MATCH_TABLE), rows)
        return
    columns = [c.name for c in MATCH_TABLE.columns]
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(
        f"COPY {MATCH_TABLE.name} ({', '.join(columns)}) FROM STDIN"
    ) as copy:  # fmt: skip
        for row in rows:
            copy.write_row(
                [
                    None if row[c] is None else orjson.dumps(row[c]).decode()
                    if c in _JSON_COLUMNS else row[c]
                    for c in columns
                ]
            )  # fmt: skip


def finish(
    session: Session, run: PopulationRun, *, actor: str | None = None,
    timings: dict[str, float] | None = None,
) -> PopulationRun:  # fmt: skip
    """Mark ``run`` completed (with an audit event; ``timings`` of the last process go
    into it)."""
    run.status = COMPLETED
    run.finished_at = utcnow()
    audit.record(
        session, actor=actor or run.actor, action="population:run:complete",
        subject_type="population_run", subject_id=str(run.id),
        data={"agency": run.agency_code, "done": run.done, "counts": run.counts,
              "timings": timings or {}},
    )  # fmt: skip
    session.flush()
    return run


def fail(
    session: Session, run: PopulationRun, *, kind: str, detail: str,
    errors: Sequence[dict[str, Any]] = (),
) -> PopulationRun:  # fmt: skip
    """Mark ``run`` failed (it stays resumable) and keep the last errors."""
    run.status = FAILED
    entry = {"at": utcnow().isoformat(), "kind": kind, "detail": detail[:500]}
    run.errors = [*(run.errors or []), *errors, entry][-10:]
    session.flush()
    return run


# --- the job ---------------------------------------------------------------------------------


def run_job(
    registry: PopulationRegistry,
    *,
    actor: str,
    registry_url: str,
    agency: str | None = None,
    batch_size: int = 1000,
    restart: bool = False,
    progress: Progress | None = None,
    registry_errors: Callable[[], Sequence[dict[str, Any]]] | None = None,
) -> JobReport:
    """Run (or resume) a verification run to its end: one transaction per batch.

    Raises :class:`~hoso.population.client.RegistryUnavailable` (or ``RegistryRejected``)
    when the registry stays unavailable, after marking the run failed; every batch
    committed before stays, and the next call resumes after them.
    """
    t0 = time.perf_counter()
    with unit_of_work() as session:
        run = start_or_resume(
            session, actor=actor, agency=agency, registry_url=registry_url, restart=restart
        )
        report = JobReport(
            run_id=run.id, agency=agency, total=run.total, done=run.done,
            resumed_from=run.done, counts=dict(run.counts or {}),
        )  # fmt: skip
        first = select_batch(session, run, batch_size)
    run_id = report.run_id

    def apply(people: list[Dossier], results: BatchResults) -> None:
        started = time.perf_counter()
        with unit_of_work() as session:
            run = session.get(PopulationRun, run_id, with_for_update=True)
            assert run is not None
            if apply_batch(session, run, people, results, actor=actor):
                report.batches += 1
            report.done, report.counts = run.done, dict(run.counts)
            report.total = max(report.total, run.done)
        report._add("apply", time.perf_counter() - started)

    # Reads of the next batch overlap the storing of the current one on the worker thread
    # too, unless every session shares one connection (the test harness): then the
    # database is used from this thread only.
    overlap = not isinstance(db_engine.get_sessionmaker().kw.get("bind"), Connection)

    def read(after: int) -> tuple[list[Dossier], float]:
        started = time.perf_counter()
        with unit_of_work() as session:
            current = session.get(PopulationRun, run_id)
            assert current is not None
            batch = select_batch(session, current, batch_size, after=after)
        return batch, time.perf_counter() - started

    def ask(people: list[Dossier], selected: float) -> Fetched:
        return people, fetch_results(registry, people), selected

    def read_and_ask(after: int) -> Fetched:
        return ask(*read(after))

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hoso-population-http")
    try:
        pending: Future[Fetched] | None = (
            pool.submit(ask, first, time.perf_counter() - t0) if first else None
        )
        while pending is not None:
            waited = time.perf_counter()
            people, results, selected = pending.result()  # no transaction is open here
            report._add("wait", time.perf_counter() - waited)
            report._add("select", selected)
            report._add("registry", results.seconds)
            if not people:
                break
            if overlap:
                pending = pool.submit(read_and_ask, people[-1].person_id)
            else:
                following, seconds = read(people[-1].person_id)
                pending = pool.submit(ask, following, seconds) if following else None
            apply(people, results)
            report.seconds = time.perf_counter() - t0
            if progress is not None:
                progress(report)
        with unit_of_work() as session:
            last = session.get(PopulationRun, run_id, with_for_update=True)
            assert last is not None
            finish(session, last, actor=actor, timings=report.timings)
            report.status = COMPLETED
    except (RegistryUnavailable, RegistryRejected) as exc:
        _mark_failed(run_id, exc.code, exc.message_en, registry_errors)
        report.status, report.error = FAILED, f"{exc.message_vi} / {exc.message_en}"
        raise
    except BaseException as exc:
        _mark_failed(run_id, "error", type(exc).__name__, registry_errors)
        report.status = FAILED
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        report.seconds = time.perf_counter() - t0
    return report


def _mark_failed(
    run_id: int, kind: str, detail: str,
    registry_errors: Callable[[], Sequence[dict[str, Any]]] | None,
) -> None:  # fmt: skip
    try:
        with unit_of_work() as session:
            run = session.get(PopulationRun, run_id)
            if run is not None and run.status != COMPLETED:
                fail(session, run, kind=kind, detail=detail,
                     errors=list(registry_errors()) if registry_errors else ())  # fmt: skip
    except Exception:  # the database may be what failed; the run stays resumable anyway
        logger.exception("could not mark the population run failed", extra={"run_id": run_id})


# --- reading results --------------------------------------------------------------------------


def _results_filter(
    session: Session, principal: Principal, agency: str | None, outcome: str | None
) -> list[ColumnElement[bool]]:
    principal.require("population:read")
    conditions: list[ColumnElement[bool]] = []
    prefix = orgs_service.principal_prefix(session, principal)
    if prefix is not None:
        conditions.append(
            PopulationMatch.managing_agency_code.in_(orgs_service.codes_in_subtree_select(prefix))
        )
    if agency is not None:
        path = _scope_path(session, agency)
        assert path is not None
        if prefix is not None and not path.startswith(prefix):
            orgs_service.require_in_scope(session, principal, agency)  # raises
        conditions.append(
            PopulationMatch.managing_agency_code.in_(orgs_service.codes_in_subtree_select(path))
        )
    if outcome is not None:
        if outcome not in Outcome.ALL:
            raise InvalidInput(
                message_vi=f"Kết quả '{outcome}' không hợp lệ ({', '.join(Outcome.ALL)})",
                message_en=f"Unknown outcome '{outcome}' ({', '.join(Outcome.ALL)})",
                issues=[Issue("outcome", "invalid_outcome", "Kết quả không hợp lệ",
                              "Unknown outcome", outcome)],
            )  # fmt: skip
        conditions.append(PopulationMatch.outcome == outcome)
    return conditions


def iter_results(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Current results in scope, by personal ID: ``{personal_id, name, agency, outcome,
    matched_by, registry_personal_id, registry_status, differences [{field, ours,
    registry, kind, note_vi, note_en}], probability, matched_at, decision}``."""
    stmt = (
        select(PopulationMatch, Person.birth_name)
        .outerjoin(Person, Person.id == PopulationMatch.person_id)
        .where(*_results_filter(session, principal, agency, outcome))
        .order_by(PopulationMatch.personal_id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    for m, name in session.execute(stmt.execution_options(yield_per=2000)):
        yield {
            "personal_id": m.personal_id,
            "name": name,
            "agency": m.managing_agency_code,
            "outcome": m.outcome,
            "matched_by": m.matched_by,
            "registry_personal_id": m.registry_personal_id,
            "registry_status": m.registry_status,
            "differences": m.differences or [],
            "probability": m.probability,
            "matched_at": m.matched_at,
            "decision": m.decision,
            "version": m.version,
        }


def count_results(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    outcome: str | None = None,
) -> int:
    """How many current results in scope (optionally of one outcome)."""
    stmt = (
        select(func.count())
        .select_from(PopulationMatch)
        .where(*_results_filter(session, principal, agency, outcome))
    )
    return int(session.execute(stmt).scalar_one())


def counts_by_outcome(
    session: Session, *, principal: Principal, agency: str | None = None
) -> dict[str, int]:
    """Current results in scope by outcome (every outcome present, 0 when none)."""
    stmt = (
        select(PopulationMatch.outcome, func.count())
        .where(*_results_filter(session, principal, agency, None))
        .group_by(PopulationMatch.outcome)
    )
    found = {o: int(n) for o, n in session.execute(stmt)}
    return {o: found.get(o, 0) for o in Outcome.ALL}


def audit_read(
    session: Session, *, actor: str, agency: str | None, count: int, what: str = "results"
) -> None:
    """Audit a read of registry results (they carry personal data of the registry)."""
    audit.record(
        session,
        actor=actor,
        action=f"population:{what}:read",
        subject_type="population_match",
        subject_id=agency or ALL,
        data={"agency": agency, "rows": count},
    )


def latest_run(session: Session, *, agency: str | None = None) -> PopulationRun | None:
    """The latest run of a scope (None = every agency)."""
    return session.execute(
        select(PopulationRun).where(_scope_is(agency)).order_by(PopulationRun.id.desc()).limit(1)
    ).scalar_one_or_none()


# --- for the quality engine -----------------------------------------------------------------------


def _copy_frame(session: Session, sql: str, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``sql`` as a frame, through ``COPY ... TO STDOUT`` as CSV (PostgreSQL)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    buf = io.BytesIO()
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as copy,
    ):
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    return pl.read_csv(buf, schema=schema)


def registry_view(session: Session) -> pl.DataFrame | None:
    """The registry's view of the people it knows, for SACH-009/010/011: one row per
    found person, keyed by the registry's ``personal_id`` (a person found by the old CMND
    number is listed under the registry's number, so a dossier with a wrong number stays
    "not in the registry"), the registry-mastered fields as text, and ``status``
    (alive/deceased). None when nothing was ever verified."""
    if session.execute(select(PopulationMatch.person_id).limit(1)).first() is None:
        return None
    fields = [f for f in mastered_fields() if f != "personal_id"]
    schema: dict[str, Any] = {c: pl.String for c in ["personal_id", *fields, "status"]}
    found = "FROM population_match WHERE registry_personal_id IS NOT NULL"
    if session.get_bind().dialect.name == "postgresql":
        # fields extracted by the database, rows copied out as CSV: a million in seconds
        columns = ", ".join(f"registry_values ->> '{f}' AS {f}" for f in fields)
        sql = (
            f"SELECT registry_personal_id AS personal_id, {columns},"
            f" registry_status AS status {found}"
        )
        frame = _copy_frame(session, sql, schema)
    else:
        columns = ", ".join(f"json_extract(registry_values, '$.{f}')" for f in fields)
        rows = session.execute(
            text(f"SELECT registry_personal_id, {columns}, registry_status {found}")
        ).all()
        frame = pl.DataFrame(
            [tuple(None if v is None else str(v) for v in r) for r in rows],
            schema=schema, orient="row",
        )  # fmt: skip
    return frame.unique(subset=["personal_id"], keep="first", maintain_order=True)


_STATUS_SQL = (
    "CASE WHEN matched_by IS NULL OR matched_by <> 'personal_id'"
    " OR outcome IN ('not_found', 'potential_match') THEN 'NOT_FOUND'"
    " WHEN outcome = 'matched' AND jsonb_array_length(differences) = 0 THEN 'MATCHED'"
    " ELSE 'MISMATCH' END"
)
""":func:`status_code` in SQL (PostgreSQL)."""


def match_meta(session: Session) -> pl.DataFrame:
    """Per verified dossier: ``_id`` (person id), ``_population_match_status`` (the
    ``population_match_status`` code of its result, see :func:`status_code`),
    ``_population_outcome`` (the outcome itself) and ``_population_matched_at`` (UTC).
    Dossiers never verified are absent (the engine fills ``NOT_CHECKED``)."""
    out_schema: dict[str, Any] = {
        "_id": pl.Int64,
        "_population_match_status": pl.String,
        "_population_outcome": pl.String,
        "_population_matched_at": pl.Datetime("us", "UTC"),
    }
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            f"SELECT person_id AS _id, {_STATUS_SQL} AS _population_match_status,"
            " outcome AS _population_outcome,"
            " (extract(epoch FROM matched_at) * 1000000)::bigint AS _us FROM population_match"
        )
        raw = _copy_frame(
            session, sql, {"_id": pl.Int64, "_population_match_status": pl.String,
                           "_population_outcome": pl.String, "_us": pl.Int64},
        )  # fmt: skip
        return raw.select(
            "_id", "_population_match_status", "_population_outcome",
            pl.from_epoch("_us", time_unit="us").dt.replace_time_zone("UTC")
            .alias("_population_matched_at"),
        )  # fmt: skip
    rows = session.execute(
        select(
            PopulationMatch.person_id,
            PopulationMatch.outcome,
            PopulationMatch.matched_by,
            func.json_array_length(PopulationMatch.differences),
            PopulationMatch.matched_at,
        )
    ).all()
    return pl.DataFrame(
        {
            "_id": [r[0] for r in rows],
            "_population_match_status": [status_code(r[1], r[2], r[3] or 0) for r in rows],
            "_population_outcome": [r[1] for r in rows],
            "_population_matched_at": [_utc(r[4]) for r in rows],
        },
        schema=out_schema,
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
