"""The registry results of issue 5 feed the quality rules SACH-009/010/011 and SONG-009.

Dossiers of the cleaning world (``test_cleaning_world``), ``population_match`` rows written
as a matching run stores them, then real quality runs: a registry value that differs is a
finding with the registry's value as ``expected``; an ID the registry did not know is
SACH-011; a person never matched gets SONG-009 but not SACH-011.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_cleaning_world import (  # type: ignore[import-not-found]
    AS_OF,
    BINH,
    DUNG,
    EM,
    GIANG,
    add_people,
    add_tree,
    findings_of,
    quality_dir,
)

from hoso.people.models import Person, PersonVersion
from hoso.population.models import PopulationMatch
from hoso.quality import service
from hoso.quality.models import QualityFinding, QualityRun

__all__ = ["quality_dir"]  # fixture used by name

MATCHED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _match(session: Session, personal_id: str, **values: Any) -> None:
    person = session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()
    data = session.execute(
        select(PersonVersion.data).where(
            PersonVersion.person_id == person.id, PersonVersion.version == person.current_version
        )
    ).scalar_one()
    registry = {k: data[k] for k in ("birth_name", "date_of_birth", "sex", "ethnicity_code")}
    registry.update(values.pop("registry", {}))
    row = {
        "person_id": person.id,
        "personal_id": personal_id,
        "managing_agency_code": person.managing_agency_code,
        "version": person.current_version,
        "content_hash": person.current_content_hash,
        "outcome": "matched",
        "matched_by": "personal_id",
        "registry_personal_id": personal_id,
        "registry_status": "alive",
        "registry_values": registry,
        "differences": [],
        "candidates": [],
        "matched_at": MATCHED_AT,
    }
    row.update(values)
    session.add(PopulationMatch(**row))
    session.flush()


def test_registry_results_drive_the_registry_rules(session: Session, quality_dir: Path) -> None:
    add_tree(session)
    add_people(session)
    first = service.run(session, actor="tester", as_of=AS_OF, full=True)
    run_row = session.get(QualityRun, first.run_id)
    assert run_row is not None
    skipped = {ne["rule_id"] for ne in run_row.not_evaluated}
    assert {"SACH-009", "SACH-010", "SACH-011"} <= skipped  # no results yet

    # BINH: the registry has another ethnicity (SACH-010) and another birth date (SACH-009).
    _match(
        session,
        BINH,
        registry={"ethnicity_code": "02", "date_of_birth": "1985-03-15"},
        differences=[{"field": "ethnicity_code", "ours": "01", "registry": "02"}],
    )
    # DUNG: not in the registry; EM: found only by an old CMND (the ID itself is unknown).
    _match(session, DUNG, outcome="not_found", matched_by=None, registry_values=None)
    _match(session, EM, outcome="conflict", matched_by="legacy_id_no", registry_personal_id="1")
    # GIANG: matched, nothing differs. CHAU: never matched.
    _match(session, GIANG)

    second = service.run(session, actor="tester", as_of=AS_OF)
    run_row = session.get(QualityRun, second.run_id)
    assert run_row is not None
    assert run_row.kind == "full"  # the registry rules were pending: every record re-checked
    assert not {"SACH-009", "SACH-010", "SACH-011"} & {
        ne["rule_id"] for ne in run_row.not_evaluated
    }

    binh = findings_of(session, BINH)
    assert ("SACH-010", "ethnicity_code") in binh
    assert ("SACH-009", "date_of_birth") in binh
    expected = session.execute(
        select(QualityFinding.expected).where(
            QualityFinding.personal_id == BINH, QualityFinding.rule_id == "SACH-010"
        )
    ).scalar_one()
    assert orjson.loads(expected) == "02"
    assert ("SACH-011", "personal_id") in findings_of(session, DUNG)
    assert ("SACH-011", "personal_id") in findings_of(session, EM)
    giang = {r for r, _ in findings_of(session, GIANG)}
    assert not giang & {"SACH-009", "SACH-010", "SACH-011", "SONG-009"}
    chau = findings_of(session, "040190000002")
    assert ("SONG-009", "meta.population_matched_at") in chau
    assert not {r for r, _ in chau} & {"SACH-009", "SACH-010", "SACH-011"}


def test_a_new_result_is_rechecked_by_an_incremental_run(
    session: Session, quality_dir: Path
) -> None:
    add_tree(session)
    add_people(session)
    _match(session, GIANG)
    service.run(session, actor="tester", as_of=AS_OF, full=True)
    assert not {r for r, _ in findings_of(session, GIANG)} & {"SACH-010"}

    person_id = session.execute(select(Person.id).where(Person.personal_id == GIANG)).scalar_one()
    row = session.get(PopulationMatch, person_id)
    assert row is not None
    row.registry_values = {**(row.registry_values or {}), "ethnicity_code": "05"}
    row.matched_at = dt.datetime.now(dt.UTC)
    session.flush()
    summary = service.run(session, actor="tester", as_of=AS_OF)
    run_row = session.get(QualityRun, summary.run_id)
    assert run_row is not None and run_row.kind == "incremental"
    assert ("SACH-010", "ethnicity_code") in findings_of(session, GIANG)
