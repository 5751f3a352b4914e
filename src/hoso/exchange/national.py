"""The national database's store of approved records: writes (batched) and audited reads."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.db.copy import bin_bytes, bin_int4, bin_text, bin_timestamptz, copy_binary
from hoso.errors import NotFound
from hoso.exchange.messages import RecordIn
from hoso.exchange.models import JwsHeader, NationalPerson, NationalRecord

_RECORD_COLUMNS = (
    "personal_id",
    "managing_agency_code",
    "version",
    "employing_unit_code",
    "content_hash",
    "previous_content_hash",
    "data",
    "approval",
    "approval_header",
    "approval_signature",
    "message_id",
    "stored_at",
)
_header_digests: dict[str, str] = {}


def split_approval(approval: dict[str, Any]) -> tuple[bytes, str | None, str | None, str | None]:
    """(approval JSON without its signature, header SHA-256, header, signature part).

    A signature that is not a detached compact JWS (never the case for a verified approval)
    stays in the JSON whole, and the other three are None.
    """
    token = approval.get("signature")
    parts = token.split(".") if isinstance(token, str) else ()
    if len(parts) != 3 or not parts[0] or parts[1] or not parts[2]:
        return orjson.dumps(approval), None, None, None
    header = parts[0]
    digest = _header_digests.get(header)
    if digest is None:
        digest = hashlib.sha256(header.encode("ascii")).hexdigest()
        if len(_header_digests) > 10_000:
            _header_digests.clear()
        _header_digests[header] = digest
    rest = {k: v for k, v in approval.items() if k != "signature"}
    return orjson.dumps(rest), digest, header, parts[2]


def _store_headers(session: Session, headers: dict[str, str]) -> None:
    if not headers:
        return
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    session.execute(
        dialect_insert(JwsHeader).on_conflict_do_nothing(index_elements=["sha256"]),
        [{"sha256": sha, "header": header} for sha, header in sorted(headers.items())],
    )


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert accepted versions: ``data`` is the canonical JSON bytes, ``approval`` the
    verified approval object. Binary COPY on PostgreSQL; the approvals' protected headers
    (certificate chains) go to ``jws_header`` once."""
    headers: dict[str, str] = {}
    split = []
    for r in rows:
        rest, digest, header, signature = split_approval(r["approval"])
        if digest is not None and header is not None:
            headers[digest] = header
        split.append((rest, digest, signature))
    _store_headers(session, headers)
    if session.connection().dialect.name == "postgresql":
        stamps: dict[dt.datetime, bytes] = {}
        copy_binary(
            session,
            "national_record",
            _RECORD_COLUMNS,
            (
                (
                    bin_text(r["personal_id"]),
                    bin_text(r["managing_agency_code"]),
                    bin_int4(r["version"]),
                    bin_text(r["employing_unit_code"]),
                    bin_text(r["content_hash"]),
                    bin_text(r["previous_content_hash"]),
                    bin_bytes(r["data"]),
                    bin_bytes(rest),
                    bin_text(digest),
                    bin_text(signature),
                    bin_text(r["message_id"]),
                    stamps.get(r["stored_at"])
                    or stamps.setdefault(r["stored_at"], bin_timestamptz(r["stored_at"])),
                )
                for r, (rest, digest, signature) in zip(rows, split, strict=True)
            ),
        )
        return
    session.execute(
        insert(NationalRecord),
        [
            {
                **r,
                "data": r["data"].decode(),
                "approval": rest.decode(),
                "approval_header": digest,
                "approval_signature": signature,
            }
            for r, (rest, digest, signature) in zip(rows, split, strict=True)
        ],
    )


def approval_of(session: Session, record: NationalRecord) -> dict[str, Any]:
    """A stored record's approval object, with its whole signature put back together."""
    approval: dict[str, Any] = orjson.loads(record.approval)
    if record.approval_header is not None:
        header = session.get(JwsHeader, record.approval_header)
        if header is None:
            raise RuntimeError(f"jws_header {record.approval_header} is missing")
        approval["signature"] = f"{header.header}..{record.approval_signature}"
    return approval


_PERSON_COLUMNS = (
    "personal_id",
    "managing_agency_code",
    "employing_unit_code",
    "version",
    "content_hash",
    "birth_name",
    "date_of_birth",
)
_UPSERT_PEOPLE = (
    f"INSERT INTO national_person ({', '.join(_PERSON_COLUMNS)}, updated_at) "
    "SELECT *, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::text[], "
    "%s::text[], %s::text[]) "
    "ON CONFLICT (personal_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_PERSON_COLUMNS[1:], "updated_at"))
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
        _upsert_people_pg(session, values, stamp)
        return
    from sqlalchemy.dialects.sqlite import insert as dialect_insert

    stmt = dialect_insert(NationalPerson)
    stmt = stmt.on_conflict_do_update(
        index_elements=["personal_id"],
        set_={c: stmt.excluded[c] for c in (*_PERSON_COLUMNS[1:], "updated_at")},
    )
    session.execute(stmt, values)


def _upsert_people_pg(
    session: Session, values: Sequence[dict[str, Any]], stamp: dt.datetime
) -> None:
    """One statement over arrays (no per-row parameters to bind on this side)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    columns = [[v[c] for v in values] for c in _PERSON_COLUMNS]
    with raw.cursor() as cur:
        cur.execute(_UPSERT_PEOPLE, (stamp, *columns))


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
        "data": rec.document,
        "approval": approval_of(session, rec),
    }
    if rec.previous_content_hash:
        out["previous_content_hash"] = rec.previous_content_hash
    if person is not None and person.retired:
        out["retired"] = {k: v for k, v in person.retired.items() if k != "approval"}
    return out
