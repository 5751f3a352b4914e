"""Quality runs end to end on the database: import generated people, run, compare, re-run.

Everything goes through the real import, the real snapshot (DuckDB parsing the stored JSON)
and the real storage (COPY on PostgreSQL), in the test's rolled-back session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import polars as pl
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hoso.audit.models import AuditEvent
from hoso.auth.principal import operator
from hoso.cli import app
from hoso.config import get_settings
from hoso.generate.orgs import generate_orgs
from hoso.generate.people import DEFAULT_AS_OF, generate_people
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import bulk
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.quality import evaluate, service
from hoso.quality.models import QualityAgencyScore, QualityFinding, QualityRun, QualityScore
from hoso.quality.rules import ID

COUNT = 400
SEED = 5


@pytest.fixture
def quality_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private snapshot folder and no watermark margin (changes are seconds apart here)."""
    folder = tmp_path / "quality"
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(folder))
    monkeypatch.setenv("HOSO_QUALITY_MARGIN_SECONDS", "0")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture
def world(session: Session, tmp_path: Path, quality_dir: Path) -> dict[str, Any]:
    """The generated org tree and COUNT generated people (10 % with a labelled defect),
    imported; approved in SQL except the SONG-011-labelled, as the generator asks."""
    orgs = generate_orgs(seed=SEED)
    orgs_service.upsert_units(
        session, [OrgUnitIn.model_validate(u) for u in orgs], principal=operator()
    )
    lines: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for line, person_labels in generate_people(COUNT, SEED, orgs=orgs, defect_rate=0.1):
        lines.append(line)
        labels.extend(person_labels)
    src = tmp_path / "people.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    report = bulk.import_file(src, principal=operator(), batch_size=500, workers=0)
    assert report.rejected == 0
    unsigned = {lab["personal_id"] for lab in labels if lab["rule_id"] == "SONG-011"}
    moment = dt.datetime.combine(DEFAULT_AS_OF, dt.time(3), tzinfo=dt.UTC)
    signed_ids = select(Person.id).where(Person.personal_id.not_in(sorted(unsigned)))
    session.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id.in_(signed_ids))
        .values(
            approval={"approved_at": moment.isoformat().replace("+00:00", "Z")},
            approved_version=1,
            status="SYNCED",
            status_changed_at=moment,
        )
    )
    session.execute(update(Person).values(updated_at=moment, created_at=moment))
    session.flush()
    return {"lines": lines, "labels": labels, "unsigned": unsigned}


def _run(session: Session, **kw: Any) -> service.RunSummary:
    kw.setdefault("as_of", DEFAULT_AS_OF)
    return service.run(session, actor="tester", **kw)


def _db_findings(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(QualityFinding.person_id, QualityFinding.rule_id, QualityFinding.field)
    ).all()
    return pl.DataFrame(rows, schema={ID: pl.Int64, "rule_id": pl.String, "field": pl.String},
                        orient="row")  # fmt: skip


def _id_frame(session: Session) -> pl.DataFrame:
    rows = session.execute(select(Person.id, Person.personal_id)).all()
    return pl.DataFrame(rows, schema={ID: pl.Int64, "_personal_id": pl.String}, orient="row")


def test_full_run_stores_what_the_labels_say(session: Session, world: dict[str, Any]) -> None:
    summary = _run(session, full=True)
    assert summary.kind == "full"
    assert summary.records_checked == COUNT
    found = _db_findings(session)
    comparison = evaluate.compare(found, _id_frame(session), world["labels"],
                                  rules=[r for r in summary_rules(session)])  # fmt: skip
    for category, counts in comparison.by_category.items():
        if category in ("population_mismatch", "not_in_population_registry"):
            continue  # needs the registry view (not evaluated here)
        assert counts.recall >= 0.98, (category, counts, comparison.false_negatives)
        assert counts.precision >= 0.98, (category, counts, comparison.false_positives)
    # one score row per record, agency reports for every managing agency and for all
    assert session.execute(select(func.count()).select_from(QualityScore)).scalar() == COUNT
    agencies = {line["managing_agency"] for line in world["lines"]}
    reports = session.execute(
        select(QualityAgencyScore.agency_code).where(QualityAgencyScore.run_id == summary.run_id)
    ).scalars()
    assert set(reports) == agencies | {service.ALL}
    unsigned = session.execute(
        select(QualityScore.personal_id).where(QualityScore.passed.is_(False))
    ).scalars()
    assert world["unsigned"] <= set(unsigned)  # SONG-011 is an error: not passed
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "quality:run:complete")
    ).scalar_one()
    assert event.subject_id == str(summary.run_id)


def summary_rules(session: Session) -> list[str]:
    """The rules the last run evaluated."""
    run = session.execute(select(QualityRun).order_by(QualityRun.id.desc())).scalars().first()
    assert run is not None
    return list(run.rules_run)


def test_incremental_run_rechecks_only_what_changed(
    session: Session, world: dict[str, Any]
) -> None:
    first = _run(session, full=True)
    before = _db_findings(session)
    # change one person: a date of birth after the as-of date (DUNG-012 and more)
    line = world["lines"][7]
    pid = line["personal_id"]
    doc = dict(line)
    doc["data"] = {**line["data"], "id_issue_date": "2027-01-05"}
    people_service.update(session, pid, PersonWrite.model_validate(doc), principal=operator())
    session.flush()
    second = _run(session)
    assert second.kind == "incremental"
    assert second.records_checked == 1
    assert second.rules_rerun == []
    after = _db_findings(session)
    person_id = session.execute(select(Person.id).where(Person.personal_id == pid)).scalar_one()
    new = after.filter(pl.col(ID) == person_id)
    assert (
        new.filter((pl.col("rule_id") == "DUNG-012") & (pl.col("field") == "id_issue_date")).height
        == 1
    )
    # everyone else's findings are untouched
    others = lambda f: f.filter(pl.col(ID) != person_id).sort(ID, "rule_id", "field")  # noqa: E731
    assert others(after).equals(others(before))
    assert first.run_id < second.run_id
    trend = service.trend(session, None)
    assert [t.run_id for t in trend] == [first.run_id, second.run_id]


def test_changed_parameter_reruns_that_rule_for_everyone(
    session: Session, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(session, full=True)
    monkeypatch.setenv("HOSO_QUALITY_PARAMS", '{"DUNG-017.max_age": "40"}')
    get_settings.cache_clear()
    again = _run(session)
    assert "DUNG-017" in again.rules_rerun
    assert again.records_checked == COUNT
    over_40 = session.execute(
        select(func.count()).select_from(QualityFinding).where(QualityFinding.rule_id == "DUNG-017")
    ).scalar()
    assert over_40 and over_40 > COUNT // 4  # most civil servants are over 40
    run = session.get(QualityRun, again.run_id)
    assert run is not None and run.params["params"] == {"DUNG-017.max_age": "40"}


def test_new_as_of_reruns_time_dependent_rules(session: Session, world: dict[str, Any]) -> None:
    _run(session, full=True)
    later = _run(session, as_of=DEFAULT_AS_OF + dt.timedelta(days=400))
    assert "DUNG-012" in later.rules_rerun and "SONG-010" in later.rules_rerun
    assert "DUNG-001" not in later.rules_rerun  # the personal-ID format does not age


def test_duplicate_partner_is_rescored(session: Session, world: dict[str, Any]) -> None:
    _run(session, full=True)
    twin_labels = [lab for lab in world["labels"] if lab["rule_id"] == "SACH-002"]
    assert twin_labels, "the generator made no SACH-002 twins at this size"
    stored = set(
        session.execute(
            select(QualityFinding.personal_id).where(QualityFinding.rule_id == "SACH-002")
        ).scalars()
    )
    assert {lab["personal_id"] for lab in twin_labels} <= stored
    # break one twin's key: both lose the finding, and the other's score recovers
    pid = twin_labels[0]["personal_id"]
    line = next(x for x in world["lines"] if x["personal_id"] == pid)
    doc = dict(line)
    doc["data"] = {**line["data"], "date_of_birth": _shift_day(line["data"]["date_of_birth"])}
    people_service.update(session, pid, PersonWrite.model_validate(doc), principal=operator())
    session.flush()
    _run(session)
    left = set(
        session.execute(
            select(QualityFinding.personal_id).where(QualityFinding.rule_id == "SACH-002")
        ).scalars()
    )
    assert pid not in left


def _shift_day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return (day.replace(day=1) if day.day > 1 else day.replace(day=2)).isoformat()


def test_failed_run_stores_nothing(
    session: Session, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(session, full=True)
    before = _db_findings(session).sort(ID, "rule_id", "field")
    runs = session.execute(select(func.count()).select_from(QualityRun)).scalar()

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_write_scores", boom)
    nested = session.begin_nested()
    with pytest.raises(RuntimeError):
        _run(session, full=True)
    nested.rollback()
    assert session.execute(select(func.count()).select_from(QualityRun)).scalar() == runs
    assert _db_findings(session).sort(ID, "rule_id", "field").equals(before)
    monkeypatch.undo()
    get_settings.cache_clear()


def test_cli_outputs(session: Session, world: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["quality", "run", "--full", "--as-of", DEFAULT_AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "toàn bộ" in result.output
    out = tmp_path / "f.jsonl"
    result = runner.invoke(app, ["quality", "findings", "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    total = session.execute(select(func.count()).select_from(QualityFinding)).scalar()
    assert len(rows) == total and total
    keys = [(r["personal_id"], r["rule_id"], r["field"]) for r in rows]
    assert keys == sorted(keys)
    assert set(rows[0]) >= {"personal_id", "rule_id", "dimension", "category", "severity",
                            "field", "value", "expected", "related", "message"}  # fmt: skip
    book = tmp_path / "f.xlsx"
    result = runner.invoke(app, ["quality", "findings", "--format", "xlsx", "--out", str(book)])
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(book, read_only=True)  # read-only keeps the file open
    try:
        sheet = list(workbook["Phát hiện"].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert str(sheet[0][0]).startswith("Số định danh")
    assert len(sheet) == total + 1
    result = runner.invoke(app, ["quality", "scores"])
    assert result.exit_code == 0, result.output
    assert "Tất cả" in result.output
    bad = runner.invoke(app, ["quality", "run", "--profile", "p200"])
    assert bad.exit_code == 1
    assert "p200" in bad.output


def _title_case_name(session: Session, world: dict[str, Any]) -> str:
    """Give one clean person a title-case birth name (a SACH-005 finding); their ID."""
    flagged = set(session.execute(select(QualityFinding.personal_id)).scalars())
    line = next(x for x in world["lines"] if x["personal_id"] not in flagged)
    doc = dict(line)
    doc["data"] = {**line["data"], "birth_name": line["data"]["birth_name"].title()}
    people_service.update(
        session, line["personal_id"], PersonWrite.model_validate(doc), principal=operator()
    )
    session.flush()
    return str(line["personal_id"])


def _rules_of(session: Session, personal_id: str) -> set[str]:
    return set(
        session.execute(
            select(QualityFinding.rule_id).where(QualityFinding.personal_id == personal_id)
        ).scalars()
    )


def test_incremental_run_skips_records_the_last_run_saw_as_they_are(
    session: Session, world: dict[str, Any]
) -> None:
    _run(session, full=True)
    pid = _title_case_name(session, world)
    first = _run(session)
    assert first.kind == "incremental" and first.records_checked == 1
    assert "SACH-005" in _rules_of(session, pid)
    # Nothing changed since: the change is inside the margin window of the next run, but the
    # previous run synced the snapshot and checked the record as it is now.
    second = _run(session)
    assert second.kind == "incremental" and second.records_checked == 0
    assert "SACH-005" in _rules_of(session, pid)


def test_incremental_run_after_a_failed_run_rechecks_what_it_synced(
    session: Session, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(session, full=True)
    pid = _title_case_name(session, world)

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_write_scores", boom)
    nested = session.begin_nested()
    with pytest.raises(RuntimeError):
        _run(session)  # syncs the snapshot (the changed row), then fails: nothing stored
    nested.rollback()
    monkeypatch.undo()
    assert "SACH-005" not in _rules_of(session, pid)
    again = _run(session)
    assert again.kind == "incremental" and again.records_checked >= 1
    assert "SACH-005" in _rules_of(session, pid)


def _score_table(session: Session) -> pl.DataFrame:
    columns = [c for c in QualityScore.__table__.columns if c.name not in ("run_id", "checked_at")]
    rows = session.execute(select(*columns).order_by(QualityScore.person_id)).all()
    return pl.DataFrame(
        [tuple(orjson.dumps(v).decode() if isinstance(v, dict) else v for v in r) for r in rows],
        schema=[c.name for c in columns],
        orient="row",
    )


def test_full_run_rewrites_only_the_scores_that_changed(
    session: Session, world: dict[str, Any]
) -> None:
    first = _run(session, full=True)
    assert first.timings["scores_written"] == COUNT  # an empty table: everything written
    again = _run(session, full=True)
    assert again.records_checked == COUNT and again.timings["scores_written"] == 0
    run_ids = set(session.execute(select(QualityScore.run_id)).scalars())
    assert run_ids == {first.run_id}  # untouched rows keep the run that wrote them

    pid = _title_case_name(session, world)
    third = _run(session, full=True)
    assert third.timings["scores_written"] == 1
    rewritten = session.execute(
        select(QualityScore.personal_id).where(QualityScore.run_id == third.run_id)
    ).scalars()
    assert list(rewritten) == [pid]
    kept = _score_table(session)
    # the same table as a run that writes every row afresh
    session.execute(QualityScore.__table__.delete())
    fresh = _run(session, full=True)
    assert fresh.timings["scores_written"] == COUNT
    assert _score_table(session).equals(kept)
    assert kept.filter(pl.col("personal_id") == pid)["sach"].item() < 100.0


def _findings_by_person(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(
            QualityFinding.personal_id,
            QualityFinding.rule_id,
            QualityFinding.field,
            QualityFinding.value,
        )
    ).all()
    return pl.DataFrame(
        rows, schema=["personal_id", "rule_id", "field", "value"], orient="row"
    ).sort(pl.all())


UNIT_FIELDS = ("managing_agency_code", "employing_unit_code")


def test_full_run_over_a_snapshot_with_deltas_equals_one_from_scratch(
    session: Session, world: dict[str, Any], quality_dir: Path
) -> None:
    _run(session, full=True)
    pid = _title_case_name(session, world)
    # and move them to another agency: their superseded row (the old agency) must not make
    # them a duplicate of themselves (SACH-001) in the full run over base + delta
    line = next(x for x in world["lines"] if x["personal_id"] == pid)
    other = next(x for x in world["lines"] if x["managing_agency"] != line["managing_agency"])
    dossier = people_service.get_by_personal_id(session, pid, principal=operator())
    doc = {**line, "managing_agency": other["managing_agency"],
           "employing_unit": other["employing_unit"],
           "data": {**dossier.data, **{k: other["data"][k] for k in UNIT_FIELDS
                                       if k in other["data"]}}}  # fmt: skip
    people_service.update(session, pid, PersonWrite.model_validate(doc), principal=operator())
    session.flush()
    assert _run(session).records_checked == 1  # writes a delta part
    manifest = orjson.loads((quality_dir / "manifest.json").read_bytes())
    assert len(manifest["parts"]) == 2
    over_delta = _run(session, full=True)
    assert over_delta.records_checked == COUNT
    findings, scores = _findings_by_person(session), _score_table(session)
    assert "SACH-005" in _rules_of(session, pid)
    assert session.execute(select(func.min(QualityFinding.person_id))).scalar_one() > 0
    # the same results from a snapshot built afresh
    for part in quality_dir.iterdir():
        part.unlink()
    fresh = _run(session, full=True)
    assert fresh.records_checked == COUNT
    assert _findings_by_person(session).equals(findings)
    assert _score_table(session).equals(scores)


def test_full_runs_compact_the_snapshot_and_incremental_runs_do_not(
    session: Session, world: dict[str, Any], quality_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoso.quality.snapshot import Snapshot

    monkeypatch.setattr(Snapshot, "MAX_DELTAS", 2)
    monkeypatch.setattr(Snapshot, "COMPACT_SHARE", 2 / COUNT)

    def parts() -> int:
        return len(orjson.loads((quality_dir / "manifest.json").read_bytes())["parts"])

    _run(session, full=True)
    changed = []
    for _ in range(3):
        changed.append(_title_case_name(session, world))
        assert _run(session).records_checked == 1
    # past MAX_DELTAS an incremental run merges the deltas, never the base
    assert parts() == 2
    full = _run(session, full=True)
    assert full.records_checked == COUNT and parts() == 1
    for pid in changed:
        assert "SACH-005" in _rules_of(session, pid)
    # the compacted snapshot holds every record once, as it is now
    snap = Snapshot(quality_dir).load()
    assert snap is not None and snap[ID].n_unique() == snap.height == COUNT
    result = CliRunner().invoke(app, ["quality", "compact"])
    assert result.exit_code == 0, result.output
    assert "không cần gộp" in result.output and parts() == 1


def test_a_run_ends_after_its_snapshot_part_is_written(
    session: Session, world: dict[str, Any], quality_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An incremental run writes its delta part on a thread while it checks the records.
    import time as time_mod

    from hoso.quality.snapshot import Snapshot

    _run(session, full=True)
    original = Snapshot.add

    def slow_add(self: Snapshot, frame: pl.DataFrame, synced_at: dt.datetime) -> None:
        time_mod.sleep(0.5)
        original(self, frame, synced_at)

    monkeypatch.setattr(Snapshot, "add", slow_add)
    _title_case_name(session, world)
    summary = _run(session)
    assert summary.records_checked == 1
    # the part is there when the run returns, with the run's watermark
    manifest = orjson.loads((quality_dir / "manifest.json").read_bytes())
    run_row = session.get(QualityRun, summary.run_id)
    assert run_row is not None and len(manifest["parts"]) == 2
    watermark = run_row.watermark
    if watermark.tzinfo is None:  # SQLite gives naive UTC
        watermark = watermark.replace(tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(manifest["synced_at"]) == watermark

    def failing_add(self: Snapshot, frame: pl.DataFrame, synced_at: dt.datetime) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Snapshot, "add", failing_add)
    _title_case_name(session, world)
    with pytest.raises(OSError, match="disk full"):
        _run(session)


def test_a_status_change_reloads_metadata_only(
    session: Session, world: dict[str, Any], quality_dir: Path
) -> None:
    from hoso.quality.snapshot import Snapshot, load_frame

    _run(session, full=True)
    pid = sorted(world["unsigned"])[0]
    assert "SONG-011" in _rules_of(session, pid)
    person = _person_row(session, pid)
    now = dt.datetime.now(dt.UTC)
    session.execute(
        update(PersonVersion)
        .where(
            PersonVersion.person_id == person.id, PersonVersion.version == person.current_version
        )
        .values(
            approval={"approved_at": now.isoformat().replace("+00:00", "Z")},
            approved_version=person.current_version,
            status="SYNCED",
            status_changed_at=now,
        )
    )
    session.flush()
    edited = _title_case_name(session, world)  # and one whose content changed: parsed again
    summary = _run(session)
    assert summary.kind == "incremental" and summary.records_checked == 2
    assert summary.timings["snapshot_metadata_only"] == 1  # the data was not parsed again
    assert "SONG-011" not in _rules_of(session, pid)  # the new approval was seen
    assert "SACH-005" in _rules_of(session, edited)
    # the snapshot's row is the database's row, data and metadata
    row = Snapshot(quality_dir).rows([person.id])
    fresh = load_frame(session, person_ids=[person.id])
    assert row is not None and row.select(fresh.columns).equals(fresh)


def _person_row(session: Session, personal_id: str) -> Person:
    return session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()


@pytest.mark.parametrize("output", ["arrow", "parquet"])
def test_load_frame_equals_the_frame_built_in_python(
    session: Session, world: dict[str, Any], output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's typed read of the exported lines gives the frame that ``frame_from_documents``
    builds from the same rows in Python, column by column (400 dossiers, 10 % with defects,
    a few edited so that drafts and approved versions differ), through either of DuckDB's
    outputs (Arrow for small loads, Parquet for large ones), and for a list of ids; on
    PostgreSQL the rows come in parts (ranges of ids, slices of the list) exported while
    the previous part parses."""
    from hoso.quality import snapshot
    from hoso.quality.snapshot import (
        META_COLUMNS,
        current_rows_query,
        frame_from_documents,
        load_frame,
    )

    monkeypatch.setattr(snapshot, "SMALL_LOAD", 10**9 if output == "arrow" else 0)
    monkeypatch.setattr(snapshot, "EXPORT_PART", 10)  # a list of ids read in several parts

    _title_case_name(session, world)
    pairs = []
    for row in session.execute(current_rows_query()).all():
        *meta_values, data = row
        meta = dict(zip(META_COLUMNS, meta_values, strict=True))
        if meta["_approved_at"] is not None:
            meta["_approved_at"] = dt.datetime.fromisoformat(
                meta["_approved_at"].replace("Z", "+00:00")
            )
        for key in ("_created_at", "_updated_at", "_changed_at", "_synced_at", "_approved_at"):
            if meta[key] is not None and meta[key].tzinfo is None:
                meta[key] = meta[key].replace(tzinfo=dt.UTC)
        pairs.append((meta, orjson.loads(data) if isinstance(data, str) else data))
    reference = frame_from_documents(pairs).sort(ID)
    loaded = load_frame(session).sort(ID)
    assert loaded.height == COUNT
    assert loaded.schema == reference.schema
    for name in loaded.columns:
        assert loaded[name].equals(reference[name]), name
    metadata = load_frame(session, metadata_only=True).sort(ID)
    assert metadata.select(META_COLUMNS).equals(loaded.select(META_COLUMNS))
    some = loaded[ID].gather_every(7).to_list()
    by_id = load_frame(session, person_ids=some).sort(ID)
    assert by_id[ID].to_list() == some
    assert by_id.equals(loaded.filter(pl.col(ID).is_in(some)))


def _finding_rows(session: Session) -> list[tuple[Any, ...]]:
    return sorted(
        session.execute(
            select(
                QualityFinding.person_id,
                QualityFinding.rule_id,
                QualityFinding.field,
                QualityFinding.value,
                QualityFinding.related,
            )
        ).all(),
        key=repr,
    )


def _score_rows(session: Session) -> list[tuple[Any, ...]]:
    """Every stored score row without the run that wrote it."""
    columns = [
        c
        for c in QualityScore.__table__.columns
        if c.name not in ("run_id", "checked_at", "digest")
    ]
    rows = session.execute(select(*columns).order_by(QualityScore.person_id)).all()
    return [tuple(row) for row in rows]


def _reports(session: Session, run_id: int) -> dict[str, Any]:
    rows = session.execute(
        select(QualityAgencyScore.agency_code, QualityAgencyScore.report).where(
            QualityAgencyScore.run_id == run_id
        )
    ).all()
    return {code: report for code, report in rows}


def test_incremental_duplicates_equal_a_full_run(session: Session, world: dict[str, Any]) -> None:
    """An incremental run re-checks only the duplicate groups its changes touch; what it
    stores must be what a full run stores: a pair that a change breaks up loses its
    findings, and an unchanged record that a change makes a twin of gains one."""
    _run(session, full=True)
    flagged = set(session.execute(select(QualityFinding.personal_id)).scalars())
    twin = next(lab for lab in world["labels"] if lab["rule_id"] == "SACH-002")
    line = next(x for x in world["lines"] if x["personal_id"] == twin["personal_id"])
    doc = dict(line)
    doc["data"] = {**line["data"], "date_of_birth": _shift_day(line["data"]["date_of_birth"])}
    people_service.update(session, doc["personal_id"], PersonWrite.model_validate(doc),
                          principal=operator())  # fmt: skip
    clean = [x for x in world["lines"] if x["personal_id"] not in flagged]
    original, copy_ = clean[0], clean[1]
    keys = ("birth_name", "date_of_birth", "hometown_province_code", "hometown_unit_scheme")
    doc = dict(copy_)
    doc["data"] = {**copy_["data"], **{k: original["data"].get(k) for k in keys}}
    doc["data"] = {k: v for k, v in doc["data"].items() if v is not None}
    people_service.update(session, doc["personal_id"], PersonWrite.model_validate(doc),
                          principal=operator())  # fmt: skip
    session.flush()
    incremental = _run(session)
    assert incremental.kind == "incremental"
    after_incremental = _finding_rows(session)
    sach_002 = {
        pid
        for (pid,) in session.execute(
            select(QualityFinding.personal_id).where(QualityFinding.rule_id == "SACH-002")
        ).all()
    }
    assert {original["personal_id"], copy_["personal_id"]} <= sach_002  # the unchanged one too
    assert twin["personal_id"] not in sach_002
    scores_incremental = _score_rows(session)
    reports_incremental = _reports(session, incremental.run_id)
    full = _run(session, full=True)
    assert _finding_rows(session) == after_incremental
    assert _score_rows(session) == scores_incremental  # the unchanged partners rescored too
    # the incremental run added its changes to the previous run's sums: the same reports
    assert _reports(session, full.run_id) == reports_incremental


def test_a_second_run_waits_for_the_first_to_commit(fresh_db_url: str) -> None:
    """The run lock: while one run's transaction is open, another cannot take the lock (it
    would build its incremental sums on a state about to change); once the first commits,
    it can."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import sessionmaker

    from hoso.db.engine import make_engine

    engine = make_engine(fresh_db_url)
    try:
        first = sessionmaker(engine)()
        second = sessionmaker(engine)()
        service._lock_runs(first)
        if engine.dialect.name == "postgresql":
            second.execute(text("SET lock_timeout = '200ms'"))
        else:
            second.execute(text("PRAGMA busy_timeout = 200"))
        with pytest.raises(OperationalError):
            service._lock_runs(second)
        second.rollback()
        first.commit()
        service._lock_runs(second)  # free now
        second.rollback()
        first.close()
        second.close()
    finally:
        engine.dispose()
