"""The probabilistic pass of a verification: dossiers the registry did not find by number.

After ``hoso population match`` (verification by personal ID, then by the old CMND), the
results still ``not_found`` are linked with Splink (:mod:`hoso.population.probabilistic`)
against a registry extract — citizens in the ``hoso population load`` JSON Lines format or
a Parquet file, as the registry hands them over in bulk (searching the registry's HTTP API
once per dossier would take hours at national scale). For each dossier:

- a candidate holding at least ``HOSO_POPULATION_AUTO_ACCEPT`` of the odds is accepted: the
  result is compared with that citizen (:func:`matching.compare` with ``accepted=True``) and
  stored with ``matched_by = "probabilistic"``;
- candidates at or above ``HOSO_POPULATION_REVIEW_THRESHOLD`` make a ``potential_match`` for
  an officer to confirm or reject (``/dan-cu/duyet``);
- otherwise the result stays ``not_found``.

One transaction for the whole pass (the caller commits), one audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.config import Settings, get_settings
from hoso.errors import InvalidInput, Issue
from hoso.orgs.models import OrgUnit
from hoso.people.models import Person, PersonVersion
from hoso.population import matching, probabilistic
from hoso.population.models import Decision, Outcome, PopulationMatch


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What a probabilistic pass did."""

    records: int
    """Dossiers linked (results ``not_found`` and pending in scope)."""
    matched: int
    potential: int
    not_found: int


def read_extract(path: Path) -> pl.DataFrame:
    """Citizens of a registry extract: Parquet, or JSON Lines (the ``load`` format)."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    try:
        rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            message_vi=f"Tệp dữ liệu dân cư '{path.name}' không phải JSON Lines hợp lệ",
            message_en=f"The registry extract '{path.name}' is not valid JSON Lines",
            issues=[
                Issue(
                    field="registry",
                    code="invalid_json",
                    message_vi="Dòng JSON không đọc được",
                    message_en="An unreadable JSON line",
                    value=str(exc),
                )
            ],
        ) from exc
    frame = pl.DataFrame(rows, infer_schema_length=None)
    if "personal_id" not in frame.columns:
        raise InvalidInput(
            message_vi="Tệp dữ liệu dân cư thiếu cột 'personal_id'",
            message_en="The registry extract has no 'personal_id' column",
        )
    return frame


def _unmatched(
    session: Session, agency: str | None
) -> list[tuple[PopulationMatch, dict[str, Any]]]:
    query = (
        select(PopulationMatch, PersonVersion.data)
        .join(Person, Person.id == PopulationMatch.person_id)
        .join(
            PersonVersion,
            (PersonVersion.person_id == Person.id)
            & (PersonVersion.version == Person.current_version),
        )
        .where(
            PopulationMatch.outcome == Outcome.NOT_FOUND,
            PopulationMatch.decision == Decision.PENDING,
        )
        .order_by(PopulationMatch.person_id)
    )
    if agency is not None:
        unit = session.get(OrgUnit, agency)
        if unit is None:
            raise InvalidInput(
                message_vi=f"Không có đơn vị '{agency}'",
                message_en=f"No unit '{agency}'",
            )
        query = query.join(OrgUnit, OrgUnit.code == PopulationMatch.managing_agency_code).where(
            OrgUnit.path.startswith(unit.path)
        )
    return [(row, dict(data)) for row, data in session.execute(query).all()]


def link_not_found(
    session: Session,
    registry: pl.DataFrame | Path,
    *,
    actor: str,
    agency: str | None = None,
    backend: probabilistic.Backend = "duckdb",
    settings: Settings | None = None,
) -> LinkReport:
    """Link the pending ``not_found`` results of the scope with the registry extract."""
    settings = settings or get_settings()
    citizens = read_extract(registry) if isinstance(registry, Path) else registry
    pending = _unmatched(session, agency)
    if not pending:
        return LinkReport(records=0, matched=0, potential=0, not_found=0)
    records = pl.DataFrame(
        [
            {
                "record_key": str(row.person_id),
                **{f: data.get(f) for f in probabilistic.INPUT_FIELDS},
            }
            for row, data in pending
        ],
        schema={"record_key": pl.String, **{f: pl.String for f in probabilistic.INPUT_FIELDS}},
    )
    candidates = probabilistic.link(
        records, citizens, backend=backend, threshold=settings.population_review_threshold
    )
    decisions = probabilistic.best(
        candidates,
        auto_accept=settings.population_auto_accept,
        review=settings.population_review_threshold,
        records=records["record_key"],
    )
    wanted = set(decisions["personal_id"].drop_nulls().to_list())
    for entry in decisions["candidates"].to_list():
        wanted.update(str(c["personal_id"]) for c in entry or [])
    by_id = {
        str(c["personal_id"]): {k: v for k, v in c.items() if v is not None}
        for c in citizens.filter(
            pl.col("personal_id").cast(pl.String).is_in(sorted(wanted))
        ).to_dicts()
    }
    now = dt.datetime.now(dt.UTC)
    counts = {Outcome.MATCHED: 0, Outcome.POTENTIAL: 0, Outcome.NOT_FOUND: 0}
    rows = {str(row.person_id): (row, data) for row, data in pending}
    for decision in decisions.iter_rows(named=True):
        row, data = rows[decision["record_key"]]
        shown = [
            {
                "personal_id": str(c["personal_id"]),
                "probability": c["probability"],
                "comparison": c["comparison"],
                "citizen": by_id.get(str(c["personal_id"]), {}),
            }
            for c in decision["candidates"] or []
        ]
        if decision["outcome"] == Outcome.MATCHED:
            citizen = by_id[str(decision["personal_id"])]
            result = matching.compare(
                data,
                citizen,
                matched_by="probabilistic",
                probability=decision["probability"],
                accepted=True,
            )
            for column, value in result.as_columns().items():
                setattr(row, column, value)
            row.candidates = shown
            counts[Outcome.MATCHED] += 1
        elif decision["outcome"] == Outcome.POTENTIAL:
            row.outcome = Outcome.POTENTIAL
            # "probabilistic" also tells the next verification by number to keep the row
            # (service.apply_batch) while the dossier's number is still not found.
            row.matched_by = "probabilistic"
            row.probability = decision["probability"]
            row.candidates = shown
            counts[Outcome.POTENTIAL] += 1
        else:
            counts[Outcome.NOT_FOUND] += 1
            continue
        row.matched_at = now
    session.flush()
    report = LinkReport(
        records=len(pending),
        matched=counts[Outcome.MATCHED],
        potential=counts[Outcome.POTENTIAL],
        not_found=counts[Outcome.NOT_FOUND],
    )
    audit_service.record(
        session,
        actor=actor,
        action="population:link:complete",
        subject_type="population_match",
        subject_id=agency or "*",
        data={
            "agency": agency,
            "records": report.records,
            "matched": report.matched,
            "potential_match": report.potential,
            "not_found": report.not_found,
            "registry_citizens": citizens.height,
            "backend": backend,
        },
    )
    return report
