"""The probabilistic pass: pending ``not_found`` results linked with a registry extract.

Dossiers of the cleaning world; GIANG's number is unknown to the registry, which lists him
under another number with the same identity; BINH is not in the registry at all (only
citizens born the same day under other names). Real Splink (DuckDB) on a small extract.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))

from test_cleaning_world import BINH, GIANG, add_people, add_tree  # type: ignore[import-not-found]

from hoso.audit.models import AuditEvent
from hoso.errors import InvalidInput
from hoso.people.models import Person
from hoso.population import linking
from hoso.population.models import Outcome, PopulationMatch

TRUE_NUMBER = "040080000099"
GIVEN = ["AN", "BÌNH", "CƯỜNG", "DŨNG", "HẢI", "HÙNG", "KHOA", "LONG", "MINH", "NAM", "PHÚC"]
SURNAMES = ["NGUYỄN", "TRẦN", "LÊ", "PHẠM", "VŨ", "HOÀNG", "PHAN", "ĐẶNG"]


def _not_found(session: Session, personal_id: str) -> int:
    person = session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()
    session.add(
        PopulationMatch(
            person_id=person.id,
            personal_id=personal_id,
            managing_agency_code=person.managing_agency_code,
            version=person.current_version,
            content_hash=person.current_content_hash,
            outcome=Outcome.NOT_FOUND,
            differences=[],
            candidates=[],
            matched_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        )
    )
    session.flush()
    return person.id


def _extract(path: Path) -> Path:
    rng = random.Random(7)
    citizens = [
        {
            "personal_id": TRUE_NUMBER,
            "birth_name": "ĐỖ VĂN GIANG",
            "date_of_birth": "1980-03-14",
            "sex": "M",
            "ethnicity_code": "01",
            "religion_code": "00",
            "hometown_ward_code": "16681",
            "hometown_unit_scheme": "2025",
            "hometown_province_code": "40",
            "status": "alive",
        }
    ]
    for i in range(300):
        dob = "1985-03-14" if i < 5 else f"19{rng.randint(60, 99)}-{rng.randint(1, 12):02d}-14"
        citizens.append(
            {
                "personal_id": f"0010{rng.randint(60, 99)}{i:06d}",
                "birth_name": f"{rng.choice(SURNAMES)} THỊ {rng.choice(GIVEN)}",
                "date_of_birth": dob,
                "sex": "F",
                "ethnicity_code": "01",
                "hometown_ward_code": "00004",
                "hometown_unit_scheme": "2025",
                "hometown_province_code": "01",
                "status": "alive",
            }
        )
    path.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in citizens))
    return path


def test_linking_matches_the_renumbered_person_and_leaves_the_absent_one(
    session: Session, tmp_path: Path
) -> None:
    add_tree(session)
    add_people(session)
    giang = _not_found(session, GIANG)
    binh = _not_found(session, BINH)
    report = linking.link_not_found(session, _extract(tmp_path / "dan-cu.jsonl"), actor="tester")
    assert (report.records, report.matched) == (2, 1)
    assert report.potential + report.not_found == 1

    found = session.get(PopulationMatch, giang)
    assert found is not None
    assert found.matched_by == "probabilistic"
    assert found.registry_personal_id == TRUE_NUMBER
    assert found.probability is not None and found.probability >= 0.999
    assert found.candidates[0]["personal_id"] == TRUE_NUMBER
    assert found.candidates[0]["citizen"]["birth_name"] == "ĐỖ VĂN GIANG"
    assert found.registry_values and found.registry_values["date_of_birth"] == "1980-03-14"

    # Other names (some share his birth date, GIANG his home town and sex): never accepted
    # automatically, at most a candidate for an officer (a tiny extract makes the prior
    # generous).
    absent = session.get(PopulationMatch, binh)
    assert absent is not None and absent.outcome in (Outcome.NOT_FOUND, Outcome.POTENTIAL)
    assert absent.registry_personal_id is None
    assert absent.matched_by == ("probabilistic" if absent.outcome == Outcome.POTENTIAL else None)
    assert all(c["probability"] < 0.999 for c in absent.candidates)

    events = session.execute(
        select(AuditEvent.data).where(AuditEvent.action == "population:link:complete")
    ).scalars()
    assert [e["matched"] for e in events] == [1]

    # A second pass finds nothing pending: the linked result is no longer not_found.
    again = linking.link_not_found(session, tmp_path / "dan-cu.jsonl", actor="tester")
    assert again.matched == 0 and again.records == (1 if report.not_found else 0)


def test_a_broken_extract_is_refused_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "hong.jsonl"
    bad.write_text('{"personal_id": "040080000099"}\n{not json\n', encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        linking.read_extract(bad)
    assert "hong.jsonl" in err.value.message_vi and "hong.jsonl" in err.value.message_en


def test_cli_links_and_reports(session: Session, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hoso.population.cli import app

    add_tree(session)
    add_people(session)
    giang = _not_found(session, GIANG)
    extract = _extract(tmp_path / "dan-cu.jsonl")
    result = CliRunner().invoke(app, ["link", "--registry", str(extract)])
    assert result.exit_code == 0, result.output
    assert "1 khớp" in result.output and "1 matched" in result.output
    row = session.get(PopulationMatch, giang)
    assert row is not None
    session.refresh(row)
    assert row.registry_personal_id == TRUE_NUMBER
    missing = CliRunner().invoke(app, ["link", "--registry", str(tmp_path / "none.jsonl")])
    assert missing.exit_code != 0
