"""Numbered migrations, a single linear chain, and a migrated schema equal to the models."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from hoso.db import migrate, models
from hoso.db.engine import make_engine

FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9]+(?:_[a-z0-9]+)*\.py$")


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, models.Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_revision_files_are_numbered_and_form_one_linear_chain() -> None:
    files = migrate.revision_files()
    assert files, "no revision files"
    scripts = ScriptDirectory.from_config(migrate.make_config("sqlite://"))
    by_path = {script.path: script for script in scripts.walk_revisions()}
    assert len(by_path) == len(files)
    previous: str | None = None
    for number, path in enumerate(files, start=1):
        match = FILE_NAME.match(path.name)
        assert match, f"{path.name} is not named NNNN_slug.py"
        assert int(match[1]) == number, f"{path.name}: expected number {number:04d}"
        script = by_path[str(path)]
        assert script.revision == match[1], f"{path.name}: revision id {script.revision!r}"
        assert script.down_revision == previous, f"{path.name}: revises {script.down_revision!r}"
        previous = script.revision
    assert scripts.get_heads() == [previous] == [migrate.head()]


def test_next_revision_id_follows_the_last_file() -> None:
    last = int(migrate.revision_files()[-1].name[:4])
    assert migrate.next_revision_id() == f"{last + 1:04d}"


def test_upgrade_of_an_empty_database_matches_the_models(empty_db_url: str) -> None:
    assert migrate.current(empty_db_url) is None
    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head()
    assert _tables(empty_db_url) == set(models.Base.metadata.tables) | {"alembic_version"}
    assert _differences(empty_db_url) == []


def test_comparison_detects_a_schema_that_differs_from_the_models(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_person_name_search")
    finally:
        engine.dispose()
    diffs = _differences(empty_db_url)
    assert [d[0] for d in diffs if isinstance(d, tuple)] == ["add_index"]


def test_downgrade_to_base_and_upgrade_again(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    migrate.upgrade(empty_db_url)  # idempotent
    migrate.downgrade(empty_db_url, "base")
    assert migrate.current(empty_db_url) is None
    assert _tables(empty_db_url) == {"alembic_version"}
    migrate.upgrade(empty_db_url)
    assert _differences(empty_db_url) == []


def test_fresh_database_is_migrated_and_empty(fresh_db_url: str) -> None:
    assert migrate.current(fresh_db_url) == migrate.head()
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as connection:
            counts = {
                name: connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
                for name in models.Base.metadata.tables
            }
    finally:
        engine.dispose()
    assert set(counts.values()) == {0}


def test_0007_moves_stored_approvals_headers_out_and_back(empty_db_url: str) -> None:
    """Rows stored before 0007 keep their data text and get their approval back whole."""
    import orjson
    from sqlalchemy.orm import Session

    from hoso.exchange import national
    from hoso.exchange.models import NationalRecord

    migrate.upgrade(empty_db_url, "0006")
    header = "eyJhbGciOiJSUzI1NiIsIng1YyI6WyJNSUkiXX0"
    data = '{"birth_name":"NGUYỄN VĂN AN","personal_id":"001085012345"}'
    approvals = {
        1: {"approved_at": "2026-11-20T02:00:00Z", "signature": f"{header}..c2lnLTE"},
        2: {"approved_at": "2026-11-21T02:00:00Z", "signature": f"{header}..c2lnLTI"},
        3: {"approved_at": "2026-11-22T02:00:00Z"},
    }
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as connection:
            for version, approval in approvals.items():
                connection.exec_driver_sql(
                    "INSERT INTO national_record (personal_id, version, managing_agency_code, "
                    "content_hash, data, approval, message_id, stored_at) VALUES "
                    "('001085012345', %(v)s, '000.00.00.H41', 'sha256:x', %(d)s, %(a)s, 'm', "
                    "CURRENT_TIMESTAMP)"
                    if engine.dialect.name == "postgresql"
                    else "INSERT INTO national_record (personal_id, version, managing_agency_code, "
                    "content_hash, data, approval, message_id, stored_at) VALUES "
                    "('001085012345', :v, '000.00.00.H41', 'sha256:x', :d, :a, 'm', "
                    "CURRENT_TIMESTAMP)",
                    {"v": version, "d": data, "a": orjson.dumps(approval).decode()},
                )
        migrate.upgrade(empty_db_url)
        with Session(engine) as session:
            rows = {r.version: r for r in session.query(NationalRecord).all()}
            assert {v: national.approval_of(session, r) for v, r in rows.items()} == approvals
            assert {r.data for r in rows.values()} == {data}
            assert rows[1].approval_header == rows[2].approval_header is not None
            assert rows[3].approval_header is None
            assert session.execute(text("SELECT count(*) FROM jws_header")).scalar_one() == 1
        migrate.downgrade(empty_db_url, "0006")
        with engine.connect() as connection:
            back = {
                v: orjson.loads(a) if isinstance(a, str) else a
                for v, a in connection.exec_driver_sql(
                    "SELECT version, approval FROM national_record"
                ).all()
            }
        assert back == approvals
    finally:
        engine.dispose()
