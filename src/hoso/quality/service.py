"""Quality runs: what to re-check, the engine, and the stored findings, scores and trend.

A **full** run checks every current record in scope. An **incremental** run re-checks the
records changed since the last completed run (data or status: ``person.updated_at``,
``person_version.status_changed_at``, at or after its watermark minus a margin for
transactions still open then), re-runs over every record the rules whose fingerprint
changed (their CSV row, a parameter, a code list they read, the as-of date for
time-dependent rules, the profile), and always re-runs the dataset rules (duplicates)
across every agency. Findings and scores of what was re-checked are replaced; the scores
of records whose duplicate findings changed in number are recomputed from the stored
findings. One transaction per run (the caller's), with an audit event; runs are serialised
by a lock held to the commit (:func:`_lock_runs`), so each builds on the stored state of the
one before: an incremental run adds its changes to the previous run's exact report sums
(:data:`Totals`). The snapshot is derived data and may run ahead of a transaction that
failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import polars as pl
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from hoso.audit import service as audit
from hoso.catalog.loader import Catalog, get_catalog
from hoso.config import Settings, get_settings
from hoso.db.ids import id_conditions
from hoso.errors import InvalidInput, Issue
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.people.models import Person, PersonVersion
from hoso.quality import engine
from hoso.quality.calendar import WorkingCalendar
from hoso.quality.engine import DIMENSIONS, NotEvaluated
from hoso.quality.models import QualityAgencyScore, QualityFinding, QualityRun, QualityScore
from hoso.quality.rules import APPROVAL, DATASET, ID, META, REGISTRY, Context, implementations
from hoso.quality.snapshot import (
    META_COLUMNS,
    Snapshot,
    db_keys,
    empty_frame,
    has_retired,
    load_frame,
    merge,
    stale_ids,
)
from hoso.quality.snapshot import live as live_frame

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ALL = "*"
PROFILES = ("core", "p109", "tt06", "nd27")

Progress = Callable[[str], None]


def today() -> dt.date:
    """Today in Asia/Ho_Chi_Minh (the default as-of date, §5)."""
    return dt.datetime.now(VN).date()


@dataclass
class RunSummary:
    """What a run did."""

    run_id: int
    kind: str
    profile: str
    as_of: dt.date
    records_checked: int
    records_rescored: int
    findings: int
    rules_rerun: list[str]
    not_evaluated: list[NotEvaluated]
    timings: dict[str, float] = field(default_factory=dict)


def _stopwatch(into: dict[str, float]) -> Callable[[str], None]:
    """``lap(name)`` records the seconds since the previous lap under ``name``."""
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        into[name] = round(now - clock, 3)
        clock = now

    return lap


# --- fingerprints --------------------------------------------------------------------------


def _codelist_digest(catalog: Catalog, list_id: str) -> str:
    codes = catalog.codelists.get(list_id)
    if codes is None:
        return "-"
    h = hashlib.sha256()
    for code in sorted(codes.codes.values(), key=lambda c: c.code):
        h.update(orjson.dumps([code.code, str(code.valid_from), str(code.valid_to), code.extra]))
    return h.hexdigest()[:16]


def _code_digest(code: CodeType) -> str:
    """A digest of a function's code that is the same in every process (nested code objects
    by their own digest, not their address)."""
    h = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            h.update(_code_digest(const).encode())
        elif isinstance(const, frozenset):  # set order follows the per-process string hash
            h.update(repr(sorted(map(repr, const))).encode())
        else:
            h.update(repr(const).encode())
    h.update(repr(code.co_names).encode())
    return h.hexdigest()[:16]


def fingerprints(
    catalog: Catalog, *, profile: str, as_of: dt.date, params: dict[str, str]
) -> dict[str, str]:
    """Per rule: a hash of everything its result depends on besides the record."""
    impls = implementations()
    out: dict[str, str] = {}
    for spec in catalog.rules:
        impl = impls.get(spec.id)
        lists = set(impl.codelists if impl else ())
        for leaf in catalog.leaves:
            if spec.id in leaf.rules or leaf.path in spec.fields:
                if leaf.codelist:
                    lists.add(leaf.codelist)
                lists.update((leaf.codelist_by_scheme or {}).values())
        parts = [
            spec.id,
            spec.params,
            spec.severity,
            spec.category,
            ";".join(sorted(spec.profiles)),
            ";".join(spec.fields),
            profile,
            orjson.dumps(
                {k: v for k, v in sorted(params.items()) if k.startswith(spec.id)}
            ).decode(),
            *(f"{name}:{_codelist_digest(catalog, name)}" for name in sorted(lists)),
        ]
        if impl is not None:
            parts.append(_code_digest(impl.fn.__code__))
            if impl.time_dependent:
                parts.append(as_of.isoformat())
        out[spec.id] = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return out


# --- helpers --------------------------------------------------------------------------------


def _invalid_profile(profile: str) -> InvalidInput:
    return InvalidInput(
        message_vi=f"Hồ sơ mẫu '{profile}' không tồn tại (core, p109, tt06, nd27)",
        message_en=f"Profile '{profile}' does not exist (core, p109, tt06, nd27)",
        issues=[
            Issue(
                field="profile",
                code="invalid_profile",
                message_vi="Hồ sơ mẫu không hợp lệ",
                message_en="Unknown profile",
                value=profile,
            )
        ],
    )


def agency_codes(session: Session, agency: str) -> list[str]:
    """The codes of ``agency``'s subtree (NotFound when it does not exist)."""
    path = orgs_service.scope_path(session, agency)
    return list(session.execute(orgs_service.codes_in_subtree_select(path)).scalars())


def last_run(session: Session, profile: str) -> QualityRun | None:
    """The latest completed run of ``profile`` over every agency (the watermark: a run
    scoped to one agency leaves the others' changes to the next whole run)."""
    return session.execute(
        select(QualityRun)
        .where(
            QualityRun.profile == profile,
            QualityRun.finished_at.is_not(None),
            QualityRun.agency_code.is_(None),
        )
        .order_by(QualityRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def changed_person_ids(session: Session, since: dt.datetime) -> set[int]:
    """Persons whose data, version status or registry result changed at or after ``since``."""
    return _changed_ids(session, since) | _rematched_ids(session, since)


def _rematched_ids(session: Session, since: dt.datetime) -> set[int]:
    """Persons whose population-registry result was stored at or after ``since``."""
    from hoso.population.models import PopulationMatch

    return set(
        session.execute(
            select(PopulationMatch.person_id).where(PopulationMatch.matched_at >= since)
        ).scalars()
    )


# --- the population registry's results (issue 5) ------------------------------------------------

#: ``population_match.outcome`` → the ``population_match_status`` code the rules read.
#: A dossier found only by its old CMND, or only probabilistically, has a personal ID the
#: registry does not know (SACH-011).
_MATCH_STATUS = {"matched": "MATCHED", "conflict": "MISMATCH", "not_found": "NOT_FOUND",
                 "potential_match": "NOT_FOUND"}  # fmt: skip


def population_inputs(
    session: Session, person_ids: Sequence[int] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The registry's view and the match metadata from ``population_match``, or None.

    Returns ``(registry, meta)``: ``registry`` has one row per person found by their own
    personal ID (``personal_id``, the registry's values of the mastered fields, ``status``);
    ``meta`` has ``_id``, ``_population_match_status`` (a ``population_match_status`` code:
    MATCHED, or MISMATCH when some field differs, NOT_FOUND) and ``_population_matched_at``
    for every person with a result. None when no person was ever matched (the registry
    rules are then "not evaluated").
    """
    from hoso.population.models import PopulationMatch

    if session.execute(select(PopulationMatch.person_id).limit(1)).first() is None:
        return None
    query = select(
        PopulationMatch.person_id,
        PopulationMatch.personal_id,
        PopulationMatch.outcome,
        PopulationMatch.matched_by,
        PopulationMatch.registry_status,
        PopulationMatch.registry_values,
        PopulationMatch.differences,
        PopulationMatch.matched_at,
    )
    rows: list[Any] = []
    if person_ids is None:
        rows = list(session.execute(query))
    else:
        for cond in id_conditions(session, PopulationMatch.person_id, person_ids):
            rows.extend(session.execute(query.where(cond)))
    entries: list[dict[str, Any]] = []
    ids: list[int] = []
    statuses: list[str] = []
    times: list[dt.datetime] = []
    for row in rows:
        status = _MATCH_STATUS.get(row.outcome, "NOT_FOUND")
        if status == "MATCHED" and row.differences:
            status = "MISMATCH"
        if row.matched_by == "personal_id" and row.registry_values:
            entries.append(
                {
                    **row.registry_values,
                    "personal_id": row.personal_id,
                    "status": row.registry_status,
                }
            )
        elif status != "NOT_FOUND":
            status = "NOT_FOUND"
        ids.append(row.person_id)
        statuses.append(status)
        moment = row.matched_at
        times.append(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    registry = (
        pl.DataFrame(entries, infer_schema_length=None)
        if entries
        else pl.DataFrame(schema={"personal_id": pl.String, "status": pl.String})
    )
    meta = pl.DataFrame(
        {ID: ids, "_population_match_status": statuses, "_population_matched_at": times},
        schema={
            ID: pl.Int64,
            "_population_match_status": pl.String,
            "_population_matched_at": pl.Datetime("us", "UTC"),
        },
    )
    return registry, meta


def _registry_rules_pending(session: Session, previous: QualityRun | None) -> bool:
    """Registry results exist but the previous run could not evaluate the registry rules."""
    from hoso.population.models import PopulationMatch

    if previous is None:
        return False
    skipped = {ne.get("rule_id") for ne in previous.not_evaluated or []}
    needing = {rid for rid, impl in implementations().items() if REGISTRY in impl.needs}
    if not skipped & needing:
        return False
    return session.execute(select(PopulationMatch.person_id).limit(1)).first() is not None


def _with_match_meta(frame: pl.DataFrame, meta: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the match metadata columns (null where a person was never matched)."""
    frame = frame.drop(
        [c for c in ("_population_match_status", "_population_matched_at") if c in frame.columns]
    )
    # Join on the id column alone and add the result's columns: a join of the whole frame
    # would copy every column of a million dossiers.
    joined = frame.select(ID).join(meta, on=ID, how="left", maintain_order="left")
    return frame.with_columns(joined.drop(ID))


def _delete_findings(
    session: Session,
    *,
    person_ids: Sequence[int] | None = None,
    rules: Iterable[str] | None = None,
    agencies: Sequence[str] | None = None,
) -> None:
    # No synchronisation with the session: it holds no findings (the ORM would otherwise
    # evaluate or fetch the deleted rows).
    stmt = delete(QualityFinding).execution_options(synchronize_session=False)
    if rules is not None:
        stmt = stmt.where(QualityFinding.rule_id.in_(sorted(set(rules))))
    if agencies is not None:
        stmt = stmt.where(QualityFinding.managing_agency_code.in_(list(agencies)))
    if person_ids is None:
        session.execute(stmt)
        return
    for cond in id_conditions(session, QualityFinding.person_id, person_ids):
        session.execute(stmt.where(cond))


def _delete_scores() -> Any:
    """``DELETE FROM quality_score`` without synchronising the session (it holds none)."""
    return delete(QualityScore).execution_options(synchronize_session=False)


def _clear(session: Session, model: Any) -> None:
    """Empty a table in the run's transaction (TRUNCATE on PostgreSQL: a full run replaces
    every row, and deleting a million rows one by one costs seconds)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"TRUNCATE {model.__tablename__}"))
    else:
        session.execute(delete(model))


@contextmanager
def _secondary_indexes_rebuilt(session: Session, model: Any) -> Iterator[None]:
    """On PostgreSQL, drop ``model``'s secondary indexes for a bulk load into the emptied
    table and build them again after it (one sort instead of a million insertions; the
    TRUNCATE already holds the table's exclusive lock until the commit)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    conn = session.connection()
    indexes = list(model.__table__.indexes)
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)


def _write_frame(session: Session, table: Any, frame: pl.DataFrame) -> None:
    """Insert ``frame`` (columns named as the table's) — COPY on PostgreSQL."""
    if frame.height == 0:
        return
    if session.get_bind().dialect.name == "postgresql":
        buf = io.BytesIO()
        frame.write_csv(buf, null_value="", quote_style="non_numeric")
        raw = session.connection().connection.driver_connection
        assert raw is not None
        columns = ", ".join(frame.columns)
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT csv, HEADER true)") as cp,
        ):
            view = buf.getbuffer()
            for i in range(0, len(view), 1 << 20):
                cp.write(view[i : i + (1 << 20)])
        return
    rows = frame.to_dicts()
    for i in range(0, len(rows), 5000):
        session.execute(insert(table), rows[i : i + 5000])


# --- the run ---------------------------------------------------------------------------------

SMALL_FRAME = 100_000
"""Below this many records, the rules run on Polars' in-memory engine: a rule's many small
queries then cost about half as much to plan and start as on the streaming engine (10,000
records: record rules 0.69 s against 0.94 summed over the rules, one thread)."""


@contextmanager
def _small_frame_engine(rows: int) -> Iterator[None]:
    """Polars' in-memory engine for the queries of a run over few records."""
    if rows >= SMALL_FRAME:
        yield
        return
    with pl.Config(engine_affinity="in-memory"):
        yield


def run(
    session: Session,
    *,
    actor: str,
    profile: str | None = None,
    as_of: dt.date | None = None,
    agency: str | None = None,
    full: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Check what needs checking and store findings, scores and the agencies' reports."""
    settings = settings or get_settings()
    catalog = get_catalog()
    profile = profile or settings.quality_profile
    if profile not in PROFILES:
        raise _invalid_profile(profile)
    as_of = as_of or today()
    note = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    lap = _stopwatch(timings)

    scope_codes = agency_codes(session, agency) if agency else None
    calendar = (
        WorkingCalendar.from_csv(settings.quality_holidays_file)
        if settings.quality_holidays_file
        else None
    )
    params = dict(settings.quality_params)
    prints = fingerprints(catalog, profile=profile, as_of=as_of, params=params)
    _lock_runs(session)
    previous = last_run(session, profile)
    latest_id = session.execute(select(func.max(QualityRun.id))).scalar()
    started = dt.datetime.now(dt.UTC)
    # A run scoped to one agency re-checks that whole subtree (it does not move the
    # watermark of the runs over every agency).
    kind = "full" if full or previous is None or agency else "incremental"
    affected: set[str] = set()
    if kind == "incremental":
        assert previous is not None
        old = previous.fingerprints or {}
        affected = {
            rule_id
            for rule_id, fp in prints.items()
            if old.get(rule_id) != fp and catalog.rule_by_id[rule_id].scope == "record"
        }
        if affected:
            # A changed rule, parameter, code list or as-of date touches every record:
            # re-check them all (with every rule, so that the stored findings and the
            # ratio counts of the scores stay complete).
            kind = "full"
    if kind == "incremental" and _registry_rules_pending(session, previous):
        kind = "full"  # registry results arrived: the registry rules now apply to everyone
    light = kind == "incremental"
    snapshot = Snapshot(settings.quality_dir)

    writes: list[Future[None]] = []
    with snapshot.locked():
        note("đồng bộ ảnh chụp dữ liệu / syncing the snapshot")
        prior_sync = snapshot.synced_at() if snapshot.matches(database_identity(session)) else None
        population, delta = sync_snapshot(
            session,
            snapshot,
            started=started,
            verify=not light,
            settings=settings,
            laps=timings,
            columns=POPULATION_COLUMNS if light else None,
            writes=writes,
        )
        if population.n_chunks() > 16:
            population = population.rechunk()
        lap("snapshot")

    retired = has_retired(population)
    # What the dataset rules compare (every current record): without retired rows, and only
    # the columns they read when rows must be dropped (a copy of ten small columns).
    everyone = (
        population.select(ID, *POPULATION_COLUMNS).filter(pl.col(ID) > 0) if retired else population
    )
    scope = (
        population
        if scope_codes is None
        else population.filter(pl.col("_agency").is_in(scope_codes))
    )
    inputs = {META, APPROVAL}
    if population.height > 1:
        inputs.add(DATASET)

    if light:
        assert previous is not None
        since = previous.watermark - dt.timedelta(seconds=settings.quality_margin_seconds)
        if prior_sync is not None and abs(prior_sync - previous.watermark) < _SAME_INSTANT:
            # The previous run (which completed) synced the snapshot last: a record whose
            # keys still match was checked by it as it is now. Re-check what the sync
            # reloaded and the records whose registry result changed.
            changed = sorted(set(delta[ID].to_list()) | _rematched_ids(session, since))
        else:  # a failed run synced since: re-check everything changed since the last run
            changed = sorted(changed_person_ids(session, since))
        frame = delta.filter(pl.col(ID).is_in(changed))
        missing = sorted(set(changed) - set(frame[ID].to_list()))
        if missing:
            # Changed in the margin window but already in the snapshot as they are now (the
            # last run loaded them), or changed before the snapshot's own watermark (a run
            # that failed after syncing): the snapshot's rows are current.
            with snapshot.locked():  # after the delta being written (it may merge parts)
                extra = snapshot.rows(missing)
            if extra is not None and extra.height:
                frame = pl.concat([frame, extra.select(frame.columns)], how="vertical")
            unknown = sorted(set(missing) - set(frame[ID].to_list()))
            if unknown:
                more = load_frame(session, person_ids=unknown, workdir=settings.quality_dir)
                frame = pl.concat([frame, more], how="vertical")
    else:
        frame = scope
    matches = population_inputs(session, None if not light else frame[ID].to_list())
    registry: pl.DataFrame | None = None
    if matches is not None:
        registry, match_meta = matches
        frame = _with_match_meta(frame, match_meta)
        inputs.add(REGISTRY)
    lap("select")

    note(f"kiểm tra {frame.height:,} hồ sơ / checking {frame.height:,} records")
    ctx = Context(
        frame=frame, as_of=as_of, profile=profile, catalog=catalog, params=params,
        population=population, calendar=calendar, registry=registry,
    )  # fmt: skip
    dataset_rules = {r.id for r in catalog.rules if r.scope == "dataset"}
    old_dataset = session.execute(
        select(QualityFinding.person_id, QualityFinding.rule_id).where(
            QualityFinding.rule_id.in_(dataset_rules)
        )
    ).all()
    old_dataset_ids = {pid for pid, _ in old_dataset}
    if light:
        # Duplicates that can differ from the stored ones: the groups of the re-checked
        # records (new keys; every member flagged, whole_groups) and the records flagged
        # before (a group a change left). The rest of the population keeps its findings.
        touched = {i for i in frame[ID].to_list() if i > 0} | old_dataset_ids
        dframe = everyone.filter(
            pl.col(ID).is_in(pl.Series(sorted(touched), dtype=pl.Int64).implode())
        )
        dataset_ids: set[int] | None = touched
    else:
        dataset_ids = None
        dframe = everyone
    dctx = Context(
        frame=dframe, as_of=as_of, profile=profile, catalog=catalog, params=params,
        population=everyone, calendar=calendar, whole_groups=light,
    )  # fmt: skip
    # The dataset rules (duplicates over every agency) read nothing the record rules write:
    # they run beside them, so that one's single-threaded steps fill the other's gaps.
    with (
        _small_frame_engine(frame.height),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-dataset") as pool,
    ):
        pending = pool.submit(engine.check, dctx, inputs=inputs, scope="dataset")
        record_result = engine.check(ctx, inputs=inputs, scope="record")
        lap("rules_record")
        dataset_result = pending.result()
    if retired:
        # Rows a delta superseded were checked along (cheaper than copying the base part
        # without them); their findings and counts go here.
        record_result.findings = record_result.findings.filter(pl.col(ID) > 0)
        record_result.checked = record_result.checked.filter(pl.col(ID) > 0)
        frame = frame.select(ID).filter(pl.col(ID) > 0)
    if dataset_ids is not None:
        dataset_ids |= set(dataset_result.findings[ID].to_list())
    lap("rules_dataset")

    run_row = QualityRun(
        kind=kind,
        profile=profile,
        as_of=as_of,
        agency_code=agency,
        actor=actor,
        started_at=started,
        watermark=started,
        rules_run=sorted(set(record_result.rules_run) | set(dataset_result.rules_run)),
        not_evaluated=[
            ne.as_dict() for ne in record_result.not_evaluated + dataset_result.not_evaluated
        ],
        fingerprints=prints,
        params={"params": params, "weights": engine.weights_of(settings.quality_weights)},
    )
    session.add(run_row)
    session.flush()

    meta = everyone.select(
        ID, pl.col("_personal_id").alias("personal_id"),
        pl.col("_agency").alias("managing_agency_code"),
        pl.col("_version").alias("version"), pl.col("_hash").alias("content_hash"),
    )  # fmt: skip
    rules = engine.rule_frame(catalog).drop("scoring")

    def stored(found: pl.DataFrame) -> pl.DataFrame:
        return (
            found.join(meta, on=ID, how="inner")
            .join(rules, on="rule_id", how="left")
            .select(
                pl.col(ID).alias("person_id"),
                "personal_id",
                "managing_agency_code",
                "rule_id",
                "dimension",
                "category",
                "severity",
                "field",
                "value",
                "expected",
                "related",
                pl.lit(run_row.id).alias("run_id"),
            )
        )

    # Which records get new scores: everything re-checked, plus the records whose
    # duplicate findings appear, disappear or change in number (a score counts a rule's
    # findings, not their values).
    rechecked = set(frame[ID].to_list())
    found = dataset_result.findings
    before = Counter(
        (pid, rule_id) for pid, rule_id in old_dataset if dataset_ids is None or pid in dataset_ids
    )
    after = Counter(zip(found[ID].to_list(), found["rule_id"].to_list(), strict=True))
    dataset_changed = {pid for pid, _ in (before - after) + (after - before)}

    note("lưu kết quả / storing findings")
    if kind == "full" and scope_codes is None:
        _clear(session, QualityFinding)
    else:
        record_rules = {r.id for r in catalog.rules if r.scope == "record"}
        if light:
            _delete_findings(session, person_ids=sorted(rechecked), rules=record_rules)
        else:
            _delete_findings(session, rules=record_rules, agencies=scope_codes)
        _delete_findings(
            session,
            rules=dataset_rules,
            person_ids=sorted(dataset_ids) if dataset_ids is not None else None,
        )
    new_findings = [record_result.findings, dataset_result.findings]
    stored_findings = stored(pl.concat(new_findings, how="vertical"))
    _write_frame(session, QualityFinding.__table__, stored_findings)
    lap("store_findings")

    evaluated = set(run_row.rules_run)
    rescore = rechecked | dataset_changed
    checked_new = record_result.checked
    scores = _scores(
        session,
        rescore=rescore,
        full_in_memory=kind == "full" and scope_codes is None,
        findings=stored_findings,
        checked_new=checked_new,
        catalog=catalog,
        evaluated=evaluated,
        settings=settings,
    )
    scores = scores.join(meta, on=ID, how="inner")
    lap("scores_compute")
    checked_json = _checked_json(session, scores[ID], checked_new)
    lap("scores_checked")
    score_rows = scores.join(checked_json, on=ID, how="left").select(
        pl.col(ID).alias("person_id"), "personal_id", "managing_agency_code", "version",
        "content_hash", *[pl.col(d).round(1) for d in DIMENSIONS], pl.col("overall").round(1),
        "passed", "complete", "errors", "warnings",
        pl.col("checked").fill_null("{}"), pl.lit(run_row.id).alias("run_id"),
        pl.lit(started).alias("checked_at"),
    )  # fmt: skip
    score_rows = score_rows.with_columns(score_digest().alias("digest"))
    lap("scores_digest")
    replaced: list[Any] = []  # the score rows an incremental run replaces, as they were
    if kind == "full" and scope_codes is None:
        stored_digests = _stored_digests(session)
        lap("scores_stored")
        changed_rows = score_rows.join(stored_digests, on=["person_id", "digest"], how="anti")
        gone = stored_digests.join(score_rows.select("person_id"), on="person_id", how="anti")
        timings["scores_written"] = changed_rows.height
        if changed_rows.height + gone.height > SCORE_REWRITE_FRACTION * max(
            stored_digests.height, 1
        ):
            _clear(session, QualityScore)
            with _secondary_indexes_rebuilt(session, QualityScore):
                lap("scores_clear")
                _write_scores(session, score_rows)
        else:
            # Unchanged rows stay as they are (their scores are current as of this run).
            stale = pl.concat([changed_rows["person_id"], gone["person_id"]]).to_list()
            for cond in id_conditions(session, QualityScore.person_id, stale):
                session.execute(_delete_scores().where(cond))
            lap("scores_clear")
            _write_scores(session, changed_rows)
    else:
        for cond in id_conditions(session, QualityScore.person_id, score_rows["person_id"]):
            replaced.extend(
                session.execute(_delete_scores().where(cond).returning(*_TOTALS_RETURNING))
            )
        lap("scores_clear")
        _write_scores(session, score_rows)
    lap("store_scores")

    # The reports' sums: of every row when this run scored everyone; else the previous
    # run's plus this run's changes, when that run is the last one and recorded them (the
    # run lock keeps another run from writing in between); else summed by the database.
    totals: dict[str, Totals] | None = None
    if kind == "full" and scope_codes is None:
        totals = frame_totals(score_rows)
    elif light and previous is not None and previous.id == latest_id:
        prior = _previous_totals(session, previous)
        if prior is not None:
            old_rows = pl.DataFrame(replaced, schema=_TOTALS_SCHEMA, orient="row")
            totals = _apply_totals(prior, frame_totals(old_rows), frame_totals(score_rows))
    reports = agency_reports(
        session, profile=profile, as_of=as_of, not_evaluated=run_row.not_evaluated, totals=totals
    )
    for report in reports:
        session.add(
            QualityAgencyScore(
                run_id=run_row.id,
                agency_code=report["agency"] or ALL,
                profile=profile,
                as_of=as_of,
                records=report["records"],
                records_passed=report["records_passed"],
                complete_records=report["complete_records"],
                **{d: report["scores"][d] for d in (*DIMENSIONS, "overall")},
                report=report,
            )
        )
    lap("reports")
    for write in writes:
        write.result()  # the snapshot's new part, written meanwhile (a failure fails the run)
    lap("snapshot_written")

    run_row.finished_at = dt.datetime.now(dt.UTC)
    run_row.records_checked = len(rechecked)
    run_row.records_rescored = scores.height
    run_row.findings = stored_findings.height
    run_row.timings = timings
    audit.record(
        session,
        actor=actor,
        action="quality:run:complete",
        subject_type="quality_run",
        subject_id=str(run_row.id),
        data={
            "kind": kind,
            "profile": profile,
            "as_of": as_of.isoformat(),
            "agency": agency,
            "records_checked": run_row.records_checked,
            "findings": run_row.findings,
            "rules_rerun": sorted(affected),
        },
    )
    session.flush()
    return RunSummary(
        run_id=run_row.id,
        kind=kind,
        profile=profile,
        as_of=as_of,
        records_checked=run_row.records_checked,
        records_rescored=run_row.records_rescored,
        findings=run_row.findings,
        rules_rerun=sorted(affected),
        not_evaluated=record_result.not_evaluated + dataset_result.not_evaluated,
        timings=timings,
    )


POPULATION_COLUMNS = (
    "_personal_id", "_agency", "_version", "_hash", "personal_id", "employment_status_code",
    "birth_name", "date_of_birth", "hometown_province_code", "hometown_unit_scheme",
)  # fmt: skip
"""What an incremental run reads of every record: the metadata of the stored rows and the
keys of the duplicate rules (SACH-001/002); a test checks the rules need no more."""


def database_identity(session: Session) -> str:
    """A hash naming the database (URL without the password)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def sync_snapshot(
    session: Session,
    snapshot: Snapshot,
    *,
    started: dt.datetime,
    verify: bool,
    settings: Settings,
    laps: dict[str, float] | None = None,
    columns: Sequence[str] | None = None,
    writes: list[Future[None]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bring the snapshot up to date with the database: ``(every current record, the
    records changed since the snapshot's watermark)``; ``columns`` limits the first to
    those columns (an incremental run needs only the keys of the duplicate rules).
    ``writes``: a new delta part is written on a thread whose future goes there (the
    caller waits for it before it ends).

    Loads what changed since the snapshot's watermark; with ``verify`` (full runs) also
    compares every record's keys with the database and reloads what differs, so a restored
    backup or a failed run cannot leave stale rows behind."""
    lap = _stopwatch(laps if laps is not None else {})
    snapshot.source = database_identity(session)
    margin = dt.timedelta(seconds=settings.quality_margin_seconds)
    synced_at = snapshot.synced_at()
    if synced_at is None or not snapshot.matches(snapshot.source):
        population = load_frame(session, workdir=settings.quality_dir)
        snapshot.replace(population, started)
        lap("snapshot_build")
        return _columns(population, columns), population
    if columns is not None:  # and the keys stale_ids compares
        columns = list(dict.fromkeys([*columns, *_KEY_COLUMNS]))
    # A full run reads every column: the base part is not copied (superseded rows are
    # retired, see snapshot.merge); the caller drops them with snapshot.live.
    retire = columns is None
    loaded = snapshot.load(columns, retire=retire)
    assert loaded is not None
    lap("snapshot_load")
    if verify:
        # Every record's keys against the database: what changed (in the margin window or
        # behind the snapshot's back, e.g. a restored backup) is reloaded, nothing else.
        keys = db_keys(session)
    else:
        keys = db_keys(session, sorted(_changed_ids(session, synced_at - margin)))
    if verify:
        reload, gone = stale_ids(loaded, keys)
    else:  # only the changed records' keys were read: compare those rows alone
        reload, _ = stale_ids(loaded.filter(pl.col(ID).is_in(keys[ID].implode())), keys)
        gone = []
    lap("snapshot_verify")
    fresh = _reloaded(session, snapshot, loaded, keys, reload, settings, laps)
    lap("snapshot_delta")
    population = loaded
    if fresh is not None:
        population = merge(population, _columns(fresh, columns), retire=retire)
    if gone:
        population = population.filter(~pl.col(ID).is_in(gone))
        full = snapshot.load()
        assert full is not None
        if fresh is not None:
            full = merge(full, fresh)
        snapshot.replace(full.filter(~pl.col(ID).is_in(gone)), started)
    elif retire and snapshot.delta_share() >= Snapshot.COMPACT_SHARE:
        # A full run holds every column: it merges the parts into one base (one copy and
        # one write of the base), so that incremental runs never pay for it.
        snapshot.replace(live_frame(population), started)
    elif writes is not None:
        writes.append(_write_later(snapshot, fresh, started))
    else:
        snapshot.add(fresh if fresh is not None else empty_frame(), started)
    lap("snapshot_write")
    return population, fresh if fresh is not None else empty_frame()


def _write_later(
    snapshot: Snapshot, fresh: pl.DataFrame | None, started: dt.datetime
) -> Future[None]:
    """Add ``fresh`` to the snapshot on a thread, which takes the snapshot's lock itself (so
    it writes once the run has let go of it): the run checks the records meanwhile."""

    def write() -> None:
        with snapshot.locked():
            snapshot.add(fresh if fresh is not None else empty_frame(), started)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-snapshot")
    try:
        return pool.submit(write)
    finally:
        pool.shutdown(wait=False)  # the write goes on; the run waits for it before it ends


def _reloaded(
    session: Session,
    snapshot: Snapshot,
    loaded: pl.DataFrame,
    keys: pl.DataFrame,
    reload: list[int],
    settings: Settings,
    laps: dict[str, float] | None,
) -> pl.DataFrame | None:
    """The current rows of ``reload``. A record whose version and content hash are those of
    the snapshot (its status or times changed: an approval, a sync) keeps its data columns
    and gets fresh metadata only; the others are read and parsed again."""
    if not reload:
        return None
    snap = loaded.select(ID, pl.col("_version").alias("_sv"), pl.col("_hash").alias("_sh"))
    same_content = (
        keys.filter(pl.col(ID).is_in(pl.Series(reload, dtype=pl.Int64).implode()))
        .join(snap.filter(pl.col(ID) > 0), on=ID, how="inner")
        .filter((pl.col("_version") == pl.col("_sv")) & (pl.col("_hash") == pl.col("_sh")))[ID]
        .to_list()
    )
    parts: list[pl.DataFrame] = []
    kept = snapshot.rows(same_content) if same_content else None
    if kept is not None and kept.height:
        meta = load_frame(
            session, person_ids=kept[ID].to_list(), workdir=settings.quality_dir,
            metadata_only=True,
        ).select(META_COLUMNS)  # fmt: skip
        refreshed = kept.drop([c for c in META_COLUMNS if c != ID]).join(meta, on=ID, how="inner")
        parts.append(refreshed.select(kept.columns))
    done = set(parts[0][ID].to_list()) if parts else set()
    if laps is not None:
        laps["snapshot_metadata_only"] = len(done)
    rest = [i for i in reload if i not in done]
    if rest:
        parts.append(load_frame(session, person_ids=rest, workdir=settings.quality_dir))
    if len(parts) == 2:
        parts[1] = parts[1].select(parts[0].columns)
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


_SAME_INSTANT = dt.timedelta(milliseconds=1)

_KEY_COLUMNS = ("_version", "_hash", "_status", "_changed_at", "_updated_at")


def _changed_ids(session: Session, since: dt.datetime) -> set[int]:
    """Persons whose data or version status changed at or after ``since`` (two index range
    scans; an OR of both conditions in one query would scan every person)."""
    ids = set(session.execute(select(Person.id).where(Person.updated_at >= since)).scalars())
    ids.update(
        session.execute(
            select(PersonVersion.person_id).where(PersonVersion.status_changed_at >= since)
        ).scalars()
    )
    return ids


def _columns(frame: pl.DataFrame, columns: Sequence[str] | None) -> pl.DataFrame:
    return frame if columns is None else frame.select(list(dict.fromkeys([ID, *columns])))


def _checked_json(session: Session, ids: pl.Series, checked_new: pl.DataFrame) -> pl.DataFrame:
    """``checked`` JSON per record: this run's ratio counts over the stored ones."""
    if checked_new.height:
        pair = pl.format('"{}":{}', pl.col("rule_id"), pl.col("checked"))
        new = (
            checked_new.sort(ID, "rule_id")
            .group_by(ID)
            .agg(pair.str.join(","))
            .select(ID, pl.concat_str(pl.lit("{"), pl.col("rule_id"), pl.lit("}")).alias("checked"))
        )
    else:
        new = pl.DataFrame(schema={ID: pl.Int64, "checked": pl.String})
    missing = ids.filter(~ids.is_in(new[ID].implode())).sort().to_list()
    if missing:
        old_rows: list[tuple[int, str]] = []
        for cond in id_conditions(session, QualityScore.person_id, missing):
            for pid, checked in session.execute(
                select(QualityScore.person_id, QualityScore.checked).where(cond)
            ):
                old_rows.append((pid, orjson.dumps(checked or {}).decode()))
        if old_rows:
            new = pl.concat(
                [
                    new,
                    pl.DataFrame(
                        old_rows, schema={ID: pl.Int64, "checked": pl.String}, orient="row"
                    ),
                ]
            )
    return new


def _scores(
    session: Session,
    *,
    rescore: set[int],
    full_in_memory: bool,
    findings: pl.DataFrame,
    checked_new: pl.DataFrame,
    catalog: Catalog,
    evaluated: set[str],
    settings: Settings,
) -> pl.DataFrame:
    ids = pl.Series(ID, sorted(rescore), dtype=pl.Int64)
    if full_in_memory:
        all_findings = findings.select(pl.col("person_id").alias(ID), "rule_id")
        checked = checked_new
    else:
        rows: list[tuple[int, str]] = []
        for cond in id_conditions(session, QualityFinding.person_id, ids.to_list()):
            rows.extend(
                session.execute(
                    select(QualityFinding.person_id, QualityFinding.rule_id).where(cond)
                ).all()
            )
        all_findings = pl.DataFrame(rows, schema={ID: pl.Int64, "rule_id": pl.String}, orient="row")
        checked = _stored_checked(session, ids, checked_new)
    return engine.score_records(
        ids,
        all_findings,
        checked,
        catalog=catalog,
        evaluated=evaluated,
        dimension_weights=settings.quality_weights,
    )


def _stored_checked(session: Session, ids: pl.Series, checked_new: pl.DataFrame) -> pl.DataFrame:
    have = set(checked_new[ID].to_list())
    missing = [i for i in ids.to_list() if i not in have]
    rows: list[tuple[int, str, int]] = []
    for cond in id_conditions(session, QualityScore.person_id, missing):
        for pid, checked in session.execute(
            select(QualityScore.person_id, QualityScore.checked).where(cond)
        ):
            rows.extend((pid, rule_id, int(n)) for rule_id, n in (checked or {}).items())
    old = pl.DataFrame(
        rows, schema={ID: pl.Int64, "rule_id": pl.String, "checked": pl.Int64}, orient="row"
    )
    return pl.concat([checked_new, old], how="vertical")


SCORE_REWRITE_FRACTION = 0.2
"""A full run rewrites the whole score table (TRUNCATE, COPY, index rebuilt) when more than
this share of the rows changed, else deletes and inserts only the changed rows."""

SCORE_DIGEST_COLUMNS = (
    "personal_id", "managing_agency_code", "version", "content_hash", *DIMENSIONS, "overall",
    "passed", "complete", "errors", "warnings", "checked",
)  # fmt: skip


def score_digest() -> pl.Expr:
    """A signed 64-bit hash of a score row's :data:`SCORE_DIGEST_COLUMNS`. Polars' hash is
    stable within one Polars release only: after an upgrade the first full run finds every
    digest changed and rewrites the table once, which is correct, only slower."""
    return pl.struct(SCORE_DIGEST_COLUMNS).hash(seed=0).reinterpret(signed=True)


def _stored_digests(session: Session) -> pl.DataFrame:
    """``person_id`` and ``digest`` of every stored score row (COPY on PostgreSQL)."""
    schema = {"person_id": pl.Int64, "digest": pl.Int64}
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        assert raw is not None
        buf = io.BytesIO()
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY (SELECT person_id, digest FROM quality_score) TO STDOUT (FORMAT csv)"
            ) as cp,
        ):
            for chunk in cp:
                buf.write(chunk)
        if buf.tell() == 0:
            return pl.DataFrame(schema=schema)
        buf.seek(0)
        return pl.read_csv(buf, has_header=False, new_columns=list(schema), schema=schema)
    rows = session.execute(select(QualityScore.person_id, QualityScore.digest)).all()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _write_scores(session: Session, rows: pl.DataFrame) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _write_frame(session, QualityScore.__table__, rows)
        return
    dicts = rows.with_columns(
        pl.col("checked").map_elements(orjson.loads, return_dtype=pl.Object)
    ).to_dicts()
    for i in range(0, len(dicts), 5000):
        session.execute(insert(QualityScore), dicts[i : i + 5000])


# --- reports -----------------------------------------------------------------------------------


SCORE_COLUMNS = (*DIMENSIONS, "overall")

_TOTALS_RETURNING = (
    QualityScore.managing_agency_code,
    QualityScore.passed,
    QualityScore.complete,
    *[getattr(QualityScore, c) for c in SCORE_COLUMNS],
)
_TOTALS_SCHEMA = {
    "managing_agency_code": pl.String,
    "passed": pl.Boolean,
    "complete": pl.Boolean,
    **dict.fromkeys(SCORE_COLUMNS, pl.Float64),
}

RUN_LOCK = 0x686F736F_71726E  # "hoso" "qrn"
"""The PostgreSQL advisory lock that serialises quality runs (held to the commit)."""


def _lock_runs(session: Session) -> None:
    """Wait for any other quality run to commit or roll back, and keep the next one waiting
    until this one does: each run starts from the stored state of the one before (the
    incremental scores and report totals build on it). On SQLite a write takes the
    database's write lock, which is held to the commit as well."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RUN_LOCK})
    else:
        session.execute(delete(QualityRun).where(QualityRun.id < 0))


Totals = dict[str, Any]
"""One agency's exact sums over its score rows: ``records``, ``passed``, ``complete`` and
``tenths`` (per score column, the sum of the stored one-decimal scores times ten, an
integer). The means of the reports come from them, so that a report built by adding an
incremental run's changes to the previous totals equals one summed from every row."""


def score_totals(session: Session, agencies: Sequence[str] | None = None) -> dict[str, Totals]:
    """:data:`Totals` per managing agency, summed by the database over every score row."""
    as_int = QualityScore.errors.type
    stmt = select(
        QualityScore.managing_agency_code,
        func.count(),
        func.sum(func.cast(QualityScore.passed, type_=as_int)),
        func.sum(func.cast(QualityScore.complete, type_=as_int)),
        *[func.sum(func.round(getattr(QualityScore, c) * 10)) for c in SCORE_COLUMNS],
    ).group_by(QualityScore.managing_agency_code)
    if agencies is not None:
        stmt = stmt.where(QualityScore.managing_agency_code.in_(list(agencies)))
    out: dict[str, Totals] = {}
    for code, n, passed, complete, *tenths in session.execute(stmt):
        out[code] = {
            "records": int(n),
            "passed": int(passed or 0),
            "complete": int(complete or 0),
            "tenths": {c: round(float(t or 0)) for c, t in zip(SCORE_COLUMNS, tenths, strict=True)},
        }
    return out


def frame_totals(rows: pl.DataFrame) -> dict[str, Totals]:
    """:data:`Totals` per managing agency of score rows in memory (``managing_agency_code``,
    ``passed``, ``complete`` and the score columns, as stored: one decimal)."""
    if rows.height == 0:
        return {}
    sums = rows.group_by("managing_agency_code").agg(
        pl.len().alias("records"),
        pl.col("passed").cast(pl.Int64).sum(),
        pl.col("complete").cast(pl.Int64).sum(),
        *[(pl.col(c) * 10).round(0).cast(pl.Int64).sum() for c in SCORE_COLUMNS],
    )
    return {
        row["managing_agency_code"]: {
            "records": row["records"],
            "passed": row["passed"],
            "complete": row["complete"],
            "tenths": {c: row[c] for c in SCORE_COLUMNS},
        }
        for row in sums.iter_rows(named=True)
    }


def _apply_totals(
    base: dict[str, Totals], minus: dict[str, Totals], plus: dict[str, Totals]
) -> dict[str, Totals]:
    """``base − minus + plus`` per agency (agencies left without records dropped)."""
    out: dict[str, Totals] = {}
    for code in set(base) | set(minus) | set(plus):
        parts = [(base.get(code), 1), (minus.get(code), -1), (plus.get(code), 1)]
        total = _sum_totals((part, sign) for part, sign in parts if part is not None)
        if total["records"]:
            out[code] = total
    return out


def _sum_totals(parts: Iterable[tuple[Totals, int]]) -> Totals:
    """The sum of :data:`Totals`, each counted ``sign`` times (1 or −1)."""
    total: Totals = {
        "records": 0,
        "passed": 0,
        "complete": 0,
        "tenths": dict.fromkeys(SCORE_COLUMNS, 0),
    }
    for part, sign in parts:
        for key in ("records", "passed", "complete"):
            total[key] += sign * int(part[key])
        for c in SCORE_COLUMNS:
            total["tenths"][c] += sign * int(part["tenths"][c])
    return total


def _previous_totals(session: Session, run: QualityRun) -> dict[str, Totals] | None:
    """The totals per agency that ``run``'s reports recorded (None for a run from before
    they did)."""
    reports = session.execute(
        select(QualityAgencyScore.agency_code, QualityAgencyScore.report).where(
            QualityAgencyScore.run_id == run.id
        )
    ).all()
    out: dict[str, Totals] = {}
    for code, report in reports:
        if code == ALL:
            continue
        totals = (report or {}).get("totals")
        if totals is None:
            return None
        out[code] = totals
    return out


def agency_reports(
    session: Session,
    *,
    profile: str,
    as_of: dt.date,
    not_evaluated: list[dict[str, Any]],
    agencies: Sequence[str] | None = None,
    totals: dict[str, Totals] | None = None,
) -> list[dict[str, Any]]:
    """The §7 report of every managing agency with scored records, and of all of them
    (``totals``: the score sums per agency when the caller has them, else the database's)."""
    per_agency = score_totals(session, agencies) if totals is None else totals
    if agencies is not None:
        per_agency = {k: v for k, v in per_agency.items() if k in set(agencies)}
    counts = select(
        QualityFinding.managing_agency_code,
        QualityFinding.category,
        QualityFinding.rule_id,
        QualityFinding.severity,
        func.count(),
    ).group_by(
        QualityFinding.managing_agency_code,
        QualityFinding.category,
        QualityFinding.rule_id,
        QualityFinding.severity,
    )
    if agencies is not None:
        counts = counts.where(QualityFinding.managing_agency_code.in_(list(agencies)))
    by_cat: dict[str, dict[str, dict[str, int]]] = {}
    by_rule: dict[str, dict[str, dict[str, int]]] = {}
    for code, category, rule_id, severity, n in session.execute(counts):
        for key in (code, ALL):
            cat = by_cat.setdefault(key, {}).setdefault(category, {})
            cat[severity] = cat.get(severity, 0) + int(n)
            rule = by_rule.setdefault(key, {}).setdefault(rule_id, {})
            rule[severity] = rule.get(severity, 0) + int(n)

    def report(code: str | None, total: Totals) -> dict[str, Any]:
        n = int(total["records"])
        key = code or ALL

        def mean(name: str) -> float:
            return round(total["tenths"][name] / n / 10, 1) if n else 100.0

        return {
            "agency": code,
            "profile": profile,
            "as_of": as_of.isoformat(),
            "records": n,
            "records_passed": int(total["passed"]),
            "complete_records": round(100.0 * int(total["complete"]) / n, 1) if n else 100.0,
            "scores": {d: mean(d) for d in SCORE_COLUMNS},
            "findings_by_category": dict(sorted(by_cat.get(key, {}).items())),
            "findings_by_rule": dict(sorted(by_rule.get(key, {}).items())),
            "not_evaluated": not_evaluated,
            "totals": total,
        }

    out = [report(code, total) for code, total in sorted(per_agency.items())]
    out.append(report(None, _sum_totals((t, 1) for t in per_agency.values())))
    return out


def subtree_report(session: Session, agency: str, run: QualityRun) -> dict[str, Any]:
    """The §7 report of ``agency``'s subtree, from the current scores."""
    codes = agency_codes(session, agency)
    reports = agency_reports(
        session,
        profile=run.profile,
        as_of=run.as_of,
        not_evaluated=run.not_evaluated,
        agencies=codes,
    )
    total = reports[-1]
    total["agency"] = agency
    return total


def trend(session: Session, agency: str | None, *, limit: int = 12) -> list[QualityAgencyScore]:
    """The agency's (or everyone's, ``None``) scores over the last runs, oldest first."""
    rows = list(
        session.execute(
            select(QualityAgencyScore)
            .where(QualityAgencyScore.agency_code == (agency or ALL))
            .order_by(QualityAgencyScore.run_id.desc())
            .limit(limit)
        ).scalars()
    )
    return rows[::-1]


def unit_exists(session: Session, code: str) -> bool:
    """True when an org unit ``code`` exists."""
    return session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first() is not None


# --- reading findings and scores -----------------------------------------------------------


def _rule_message(catalog: Catalog, rule_id: str) -> str:
    spec = catalog.rule_by_id.get(rule_id)
    return f"{spec.description_vi} / {spec.description_en}" if spec else rule_id


def _json_value(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def iter_findings(
    session: Session,
    *,
    agency: str | None = None,
    rule_id: str | None = None,
    severity: str | None = None,
    personal_id: str | None = None,
    limit: int | None = None,
    with_names: bool = False,
) -> Iterable[dict[str, Any]]:
    """Current findings in the §6 format, sorted by personal_id, rule id, field
    (``with_names``: plus ``birth_name``, for the agency's work sheet)."""
    catalog = get_catalog()
    stmt = (
        select(QualityFinding, Person.birth_name)
        .outerjoin(Person, Person.id == QualityFinding.person_id)
        .order_by(QualityFinding.personal_id, QualityFinding.rule_id, QualityFinding.field)
    )
    if agency is not None:
        stmt = stmt.where(QualityFinding.managing_agency_code.in_(agency_codes(session, agency)))
    if rule_id is not None:
        stmt = stmt.where(QualityFinding.rule_id == rule_id)
    if severity is not None:
        stmt = stmt.where(QualityFinding.severity == severity)
    if personal_id is not None:
        stmt = stmt.where(QualityFinding.personal_id == personal_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    for f, name in session.execute(stmt.execution_options(yield_per=5000)):
        out = {
            "personal_id": f.personal_id,
            "managing_agency_code": f.managing_agency_code,
            "rule_id": f.rule_id,
            "dimension": f.dimension,
            "category": f.category,
            "severity": f.severity,
            "field": f.field,
            "value": _json_value(f.value),
            "expected": _json_value(f.expected),
            "related": f.related,
            "message": _rule_message(catalog, f.rule_id),
        }
        if with_names:
            out["birth_name"] = name
        yield out


def count_findings(session: Session, *, agency: str | None = None) -> int:
    """How many current findings (in ``agency``'s subtree)."""
    stmt = select(func.count()).select_from(QualityFinding)
    if agency is not None:
        stmt = stmt.where(QualityFinding.managing_agency_code.in_(agency_codes(session, agency)))
    return int(session.execute(stmt).scalar_one())


def record_scores(
    session: Session, *, agency: str | None = None, limit: int = 50, worst_first: bool = True
) -> list[QualityScore]:
    """Current per-record scores (worst first by default)."""
    stmt = select(QualityScore)
    if agency is not None:
        stmt = stmt.where(QualityScore.managing_agency_code.in_(agency_codes(session, agency)))
    order = QualityScore.overall.asc() if worst_first else QualityScore.overall.desc()
    stmt = stmt.order_by(order, QualityScore.personal_id).limit(limit)
    return list(session.execute(stmt).scalars())


def latest_agency_scores(
    session: Session, *, agency: str | None = None
) -> list[QualityAgencyScore]:
    """Each managing agency's row of the latest run (in ``agency``'s subtree)."""
    latest = session.execute(select(func.max(QualityAgencyScore.run_id))).scalar()
    if latest is None:
        return []
    stmt = select(QualityAgencyScore).where(QualityAgencyScore.run_id == latest)
    if agency is not None:
        stmt = stmt.where(QualityAgencyScore.agency_code.in_(agency_codes(session, agency)))
    return list(session.execute(stmt.order_by(QualityAgencyScore.agency_code)).scalars())


def audit_read(session: Session, *, actor: str, what: str, agency: str | None, count: int) -> None:
    """Audit a read of personal data (findings name people and their values)."""
    audit.record(
        session,
        actor=actor,
        action=f"quality:{what}:read",
        subject_type="quality_finding",
        subject_id=agency or ALL,
        data={"agency": agency, "rows": count},
    )
