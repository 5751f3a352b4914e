"""The national database's store of approved records: writes (batched) and audited reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.db.copy import copy_rows, json_field, text_field
from hoso.errors import NotFound
from hoso.exchange.messages import RecordIn
from hoso.exchange.models import NationalPerson, NationalRecord

_RECORD_COLUMNS = (
    "personal_id",
    "managing_agency_code",
    "version",
    "employing_unit_code",
    "content_hash",
    "previous_content_hash",
    "data",
    "approval",
    "message_id",
    "stored_at",
)


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert accepted versions (``data``/``approval`` as JSON bytes): COPY on PostgreSQL."""
    if session.connection().dialect.name == "postgresql":
        copy_rows(
            session,
            "national_record",
            _RECORD_COLUMNS,
            (
                (
                    text_field(r["personal_id"]),
                    text_field(r["managing_agency_code"]),
                    str(r["version"]).encode(),
                    text_field(r["employing_unit_code"]),
                    text_field(r["content_hash"]),
                    text_field(r["previous_content_hash"]),
                    json_field(r["data"]),
                    json_field(r["approval"]),
                    text_field(r["message_id"]),
                    r["stored_at"].isoformat().encode(),
                )
                for r in rows
            ),
        )
        return
    session.execute(
        insert(NationalRecord),
        [
            {**r, "data": orjson.loads(r["data"]), "approval": orjson.loads(r["approval"])}
            for r in rows
        ],
    )


def upsert_people(session: Session, records: Sequence[RecordIn], stamp: dt.datetime) -> None:
    """Point each person's current record at the newest accepted version."""
    if not records:
        return
    values = [
        {
            "personal_id": r.personal_id,
            "managing_agency_code": r.managing_agency,
            "employing_unit_code": r.employing_unit,
            "version": r.version,
            "content_hash": r.content_hash,
            "birth_name": r.data.get("birth_name"),
            "date_of_birth": r.data.get("date_of_birth"),
            "updated_at": stamp,
        }
        for r in records
    ]
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    stmt = dialect_insert(NationalPerson)
    stmt = stmt.on_conflict_do_update(
        index_elements=["personal_id"],
        set_={
            c: stmt.excluded[c]
            for c in (
                "managing_agency_code",
                "employing_unit_code",
                "version",
                "content_hash",
                "birth_name",
                "date_of_birth",
                "updated_at",
            )
        },
    )
    session.execute(stmt, values)


def count(session: Session) -> tuple[int, int]:
    """(people, record versions) in the national store."""
    from sqlalchemy import func

    people = session.execute(select(func.count()).select_from(NationalPerson)).scalar_one()
    records = session.execute(select(func.count()).select_from(NationalRecord)).scalar_one()
    return int(people), int(records)


def get_record(
    session: Session,
    personal_id: str,
    *,
    requester: str,
    allowed: bool,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """A person's current approved record as a RecordVersion; the read is audited.

    ``allowed`` is the caller's decision that ``requester`` may read it (national roles, the
    managing agency or its parents); a refused read is audited too and answers NotFound.
    """
    person = session.get(NationalPerson, personal_id)
    rec = None
    if person is not None:
        rec = session.get(
            NationalRecord, (personal_id, person.managing_agency_code, person.version)
        )
    audit_service.record(
        session,
        actor=requester,
        action="national:record:read"
        if allowed and rec is not None
        else "national:record:read_refused",
        subject_type="person",
        subject_id=personal_id,
        data={"found": rec is not None, "allowed": allowed},
    )
    if rec is None or not allowed:
        raise NotFound(
            message_vi=f"Không có hồ sơ đã phê duyệt của '{personal_id}' mà bạn được xem",
            message_en=f"No approved record of '{personal_id}' that you may read",
        )
    out: dict[str, Any] = {
        "personal_id": rec.personal_id,
        "managing_agency": rec.managing_agency_code,
        "employing_unit": rec.employing_unit_code,
        "version": rec.version,
        "content_hash": rec.content_hash,
        "data": rec.data,
        "approval": rec.approval,
    }
    if rec.previous_content_hash:
        out["previous_content_hash"] = rec.previous_content_hash
    if person is not None and person.retired:
        out["retired"] = {k: v for k, v in person.retired.items() if k != "approval"}
    return out
