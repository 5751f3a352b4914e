"""Dossier services: read current, versions, as-of and diffs; create and update; batch store.

Every read and write is limited to the principal's organisation subtree here, in the
service layer: a dossier is visible when its managing agency, its employing unit or one of
its concurrent posts lies in the subtree. Dossiers outside the scope are reported as not
found, so that their existence does not leak. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.config import get_settings
from hoso.db.base import UTCDateTime, utcnow
from hoso.db.copy import NULL, copy_rows, json_field, text_field
from hoso.errors import Conflict, InvalidInput, Issue, NotFound
from hoso.orgs.models import OrgUnit
from hoso.people.canonical import canonical_bytes, fold
from hoso.people.checking import person_columns, prepare
from hoso.people.models import (
    PERSON_POST_TABLE,
    PERSON_TABLE,
    PERSON_VERSION_TABLE,
    Person,
    PersonPost,
    PersonVersion,
    VersionStatus,
)
from hoso.people.schemas import (
    Change,
    DiffRead,
    DossierRead,
    PersonPage,
    PersonSummary,
    PersonWrite,
    PostRead,
    VersionMeta,
)
from hoso.people.validation import CheckedDossier, check_orgs, get_validator

DRAFT = "DRAFT"
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


# --------------------------------------------------------------------------- scope


def _code_in_scope(code_column: Any, scope_path: Any) -> ColumnElement[bool]:
    return exists().where(OrgUnit.code == code_column, OrgUnit.path.like(scope_path + literal("%")))


def scope_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the person row is inside the principal's subtree."""
    if principal.scope_code is None:
        return true()
    scope_path = select(OrgUnit.path).where(OrgUnit.code == principal.scope_code).scalar_subquery()
    return or_(
        _code_in_scope(Person.managing_agency_code, scope_path),
        _code_in_scope(Person.employing_unit_code, scope_path),
        exists().where(
            PersonPost.person_id == Person.id,
            _code_in_scope(PersonPost.unit_code, scope_path),
        ),
    )


def org_paths(session: Session) -> dict[str, str]:
    """Every unit code with its materialised path (about 20,000 at national scale)."""
    return dict(session.execute(select(OrgUnit.code, OrgUnit.path)).all())


def principal_scope_path(session: Session, principal: Principal) -> str | None:
    """Path of the principal's unit (None = national scope)."""
    if principal.scope_code is None:
        return None
    path = session.execute(
        select(OrgUnit.path).where(OrgUnit.code == principal.scope_code)
    ).scalar()
    if path is None:
        raise NotFound(
            message_vi=f"Đơn vị phạm vi '{principal.scope_code}' không tồn tại",
            message_en=f"Scope unit '{principal.scope_code}' does not exist",
        )
    return path


def _not_found(personal_id: str) -> NotFound:
    return NotFound(
        message_vi=f"Không tìm thấy hồ sơ có số định danh {personal_id}",
        message_en=f"No dossier with personal ID {personal_id}",
    )


# --------------------------------------------------------------------------- reads


def _meta_fields(version: PersonVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status,
        "content_hash": version.content_hash,
        "previous_content_hash": version.previous_content_hash,
        "managing_agency": version.managing_agency_code,
        "employing_unit": version.employing_unit_code,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "source": version.source,
        "note": version.note,
    }


def _dossier(person: Person, version: PersonVersion) -> DossierRead:
    return DossierRead(
        personal_id=person.personal_id,
        current_version=person.current_version,
        data=version.data,
        **_meta_fields(version),
    )


def _meta(version: PersonVersion) -> VersionMeta:
    return VersionMeta(**_meta_fields(version))


def _person(session: Session, personal_id: str, principal: Principal) -> Person:
    principal.require("person:read")
    person = session.execute(
        select(Person).where(Person.personal_id == personal_id, scope_clause(principal))
    ).scalar()
    if person is None:
        raise _not_found(personal_id)
    return person


def get_by_personal_id(session: Session, personal_id: str, *, principal: Principal) -> DossierRead:
    """The current version of a dossier (one query)."""
    principal.require("person:read")
    row = session.execute(
        select(Person, PersonVersion)
        .join(
            PersonVersion,
            and_(
                PersonVersion.person_id == Person.id,
                PersonVersion.version == Person.current_version,
            ),
        )
        .where(Person.personal_id == personal_id, scope_clause(principal))
    ).first()
    if row is None:
        raise _not_found(personal_id)
    return _dossier(row[0], row[1])


def get_version(
    session: Session, personal_id: str, version: int, *, principal: Principal
) -> DossierRead:
    """One version of a dossier."""
    person = _person(session, personal_id, principal)
    found = session.get(PersonVersion, (person.id, version))
    if found is None:
        raise NotFound(
            message_vi=f"Hồ sơ {personal_id} không có phiên bản {version}",
            message_en=f"Dossier {personal_id} has no version {version}",
        )
    return _dossier(person, found)


def get_as_of(
    session: Session, personal_id: str, day: dt.date, *, principal: Principal
) -> DossierRead:
    """The version that was current at the end of ``day`` (Vietnam time, UTC+7)."""
    person = _person(session, personal_id, principal)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)
    found = session.execute(
        select(PersonVersion)
        .where(PersonVersion.person_id == person.id, PersonVersion.created_at < end)
        .order_by(PersonVersion.version.desc())
        .limit(1)
    ).scalar()
    if found is None:
        raise NotFound(
            message_vi=f"Hồ sơ {personal_id} chưa tồn tại vào ngày {day:%d/%m/%Y}",
            message_en=f"Dossier {personal_id} did not exist on {day.isoformat()}",
        )
    return _dossier(person, found)


def list_versions(session: Session, personal_id: str, *, principal: Principal) -> list[VersionMeta]:
    """Metadata of every version, newest first."""
    person = _person(session, personal_id, principal)
    versions = session.execute(
        select(PersonVersion)
        .where(PersonVersion.person_id == person.id)
        .order_by(PersonVersion.version.desc())
    ).scalars()
    return [_meta(v) for v in versions]


def _diff_values(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old:
                out.append(Change(path=sub, op="added", new=new[key]))
            elif key not in new:
                out.append(Change(path=sub, op="removed", old=old[key]))
            else:
                _diff_values(sub, old[key], new[key], out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            sub = f"{path}[{i}]"
            if i >= len(old):
                out.append(Change(path=sub, op="added", new=new[i]))
            elif i >= len(new):
                out.append(Change(path=sub, op="removed", old=old[i]))
            else:
                _diff_values(sub, old[i], new[i], out)
        return
    out.append(Change(path=path, op="changed", old=old, new=new))


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Field-level differences, at finding-style paths (``work_history[2].to``)."""
    out: list[Change] = []
    _diff_values("", old, new, out)
    return out


def diff(
    session: Session, personal_id: str, from_version: int, to_version: int, *, principal: Principal
) -> DiffRead:
    """Differences between two versions of a dossier."""
    old = get_version(session, personal_id, from_version, principal=principal)
    new = get_version(session, personal_id, to_version, principal=principal)
    return DiffRead(
        personal_id=personal_id,
        from_version=from_version,
        to_version=to_version,
        changes=diff_documents(old.data, new.data),
    )


def list_(
    session: Session,
    *,
    principal: Principal,
    q: str | None = None,
    agency: str | None = None,
    unit: str | None = None,
    sex: str | None = None,
    employee_type: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PersonPage:
    """A page of dossiers in scope, filtered; ``q`` matches a personal-ID prefix or the name
    without diacritics (prefix of the name or of any word)."""
    principal.require("person:read")
    conditions: list[ColumnElement[bool]] = [scope_clause(principal)]
    if q and q.strip():
        text = q.strip()
        if text.isdigit():
            conditions.append(Person.personal_id.like(text + "%"))
        else:
            key = fold(text)
            conditions.append(
                or_(Person.name_search.like(key + "%"), Person.name_search.like("% " + key + "%"))
            )
    if agency:
        conditions.append(Person.managing_agency_code == agency)
    if unit:
        unit_path = select(OrgUnit.path).where(OrgUnit.code == unit).scalar_subquery()
        conditions.append(_code_in_scope(Person.employing_unit_code, unit_path))
    if sex:
        conditions.append(Person.sex == sex)
    if employee_type:
        conditions.append(Person.employee_type_code == employee_type)
    if status:
        conditions.append(Person.employment_status_code == status)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    where = and_(*conditions)
    total = session.execute(select(func.count()).select_from(Person).where(where)).scalar_one()
    rows = session.execute(
        select(Person)
        .where(where)
        .order_by(Person.name_search, Person.personal_id)
        .limit(limit)
        .offset(offset)
    ).scalars()
    return PersonPage(
        items=[PersonSummary.model_validate(p) for p in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def list_posts(session: Session, personal_id: str, *, principal: Principal) -> list[PostRead]:
    """The primary post (employing unit) and every concurrent post."""
    person = _person(session, personal_id, principal)
    current = get_by_personal_id(session, personal_id, principal=principal)
    out = []
    if person.employing_unit_code:
        out.append(
            PostRead(
                unit_code=person.employing_unit_code,
                kind="primary",
                position_code=person.position_code,
                title=current.data.get("current_position_title"),
                start_date=None,
                end_date=None,
            )
        )
    posts = session.execute(
        select(PersonPost).where(PersonPost.person_id == person.id).order_by(PersonPost.id)
    ).scalars()
    out.extend(PostRead.model_validate(p) for p in posts)
    return out


# --------------------------------------------------------------------------- writes


@dataclass(slots=True)
class StoreOutcome:
    """What happened to one dossier of a batch."""

    personal_id: str
    action: str
    """``created`` (new dossier), ``versioned`` (new version), ``unchanged``."""
    version: int


def _document_bytes(checked: CheckedDossier) -> bytes:
    if checked.canonical is None:
        checked.canonical = canonical_bytes(checked.data, trusted=True)
    return checked.canonical


def _columns(checked: CheckedDossier) -> dict[str, Any]:
    return checked.columns if checked.columns is not None else person_columns(checked.data)


_VERSION_COLUMNS = (
    "person_id",
    "version",
    "status",
    "managing_agency_code",
    "employing_unit_code",
    "data",
    "content_hash",
    "previous_content_hash",
    "created_at",
    "created_by",
    "source",
    "note",
    "approval",
    "approved_version",
)
_SQLITE_VERSION_INSERT = text(
    f"INSERT INTO person_version ({', '.join(_VERSION_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _VERSION_COLUMNS)})"
).bindparams(bindparam("created_at", type_=UTCDateTime()))


def _copy_versions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert version rows: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if session.connection().dialect.name == "postgresql":
        copy_rows(
            session,
            "person_version",
            _VERSION_COLUMNS,
            (
                (
                    str(r["person_id"]).encode(),
                    str(r["version"]).encode(),
                    text_field(r["status"]),
                    text_field(r["managing_agency_code"]),
                    text_field(r["employing_unit_code"]),
                    json_field(r["data"]),
                    text_field(r["content_hash"]),
                    text_field(r["previous_content_hash"]),
                    r["created_at"].isoformat().encode(),
                    text_field(r["created_by"]),
                    text_field(r["source"]),
                    text_field(r["note"]),
                    json_field(None if r["approval"] is None else orjson.dumps(r["approval"])),
                    NULL if r["approved_version"] is None else str(r["approved_version"]).encode(),
                )
                for r in rows
            ),
        )
        return
    # ``data`` is already JSON text: bind it as a plain string, not through the JSON type.
    session.execute(
        _SQLITE_VERSION_INSERT,
        [
            {
                **r,
                "data": r["data"].decode(),
                "approval": None if r["approval"] is None else orjson.dumps(r["approval"]).decode(),
            }
            for r in rows
        ],
    )


def store_batch(
    session: Session,
    items: Sequence[tuple[CheckedDossier, str]],
    *,
    principal: Principal,
    source: str,
    note: str | None = None,
    audit_subject: tuple[str, str | None] | None = None,
) -> list[StoreOutcome]:
    """Store checked dossiers (with their content hashes) as new dossiers or new versions.

    A dossier whose hash equals its current version's hash is left unchanged. The same
    person may appear several times; each differing occurrence becomes the next version.
    Writes one audit event per new version, or, for a bulk import (``audit_subject``
    given), one event for the whole batch listing every stored version.
    """
    principal.require("person:write")
    if not items:
        return []
    now = utcnow()
    pids = list({c.personal_id for c, _ in items if c.personal_id})
    existing: dict[str, Person] = {}
    is_pg = session.connection().dialect.name == "postgresql"
    for chunk_start in range(0, len(pids), 1000):
        chunk = pids[chunk_start : chunk_start + 1000]
        # One array parameter on PostgreSQL instead of 1,000 (query building dominates).
        where = (
            Person.personal_id == any_(literal(chunk, ARRAY(String(12))))
            if is_pg
            else Person.personal_id.in_(chunk)
        )
        for person in session.execute(select(Person).where(where)).scalars():
            existing[person.personal_id] = person
    # State per personal_id as the batch is walked: (person or None, version, hash).
    state: dict[str, list[Any]] = {
        pid: [p, p.current_version, p.current_content_hash] for pid, p in existing.items()
    }
    # Export lines of approved versions carry a verified approval (checking.prepare): they are
    # stored approved, numbered on the person's approved versions, and queued for the
    # national node like any approval made here.
    approved_top: dict[str, int] = {}
    with_approval = [c.personal_id for c, _ in items if c.approval is not None]
    if with_approval:
        known = {existing[p].id: p for p in with_approval if p in existing}
        if known:
            for person_id, top in session.execute(
                select(PersonVersion.person_id, func.max(PersonVersion.approved_version))
                .where(PersonVersion.person_id.in_(list(known)))
                .group_by(PersonVersion.person_id)
            ).all():
                approved_top[known[person_id]] = top or 0
    approved_status = VersionStatus.APPROVED
    if with_approval and get_settings().node_role != "national":
        approved_status = VersionStatus.QUEUED
    last_status: dict[str, str] = {}
    new_people: dict[str, dict[str, Any]] = {}
    versions: list[dict[str, Any]] = []
    outcomes: list[StoreOutcome] = []
    posts_for: dict[str, list[dict[str, Any]]] = {}
    last_doc: dict[str, CheckedDossier] = {}
    for checked, digest in items:
        pid = checked.personal_id
        assert pid is not None and checked.managing_agency is not None
        st = state.get(pid)
        if st is not None and st[2] == digest:
            outcomes.append(StoreOutcome(pid, "unchanged", st[1]))
            continue
        if st is None:
            st = [None, 0, None]
            state[pid] = st
            new_people[pid] = {}
        version = st[1] + 1
        approved_version = None
        if checked.approval is not None:
            approved_version = approved_top.get(pid, 0) + 1
            approved_top[pid] = approved_version
        status = DRAFT if approved_version is None else approved_status
        last_status[pid] = status
        versions.append(
            {
                "personal_id": pid,
                "version": version,
                "status": status,
                "approved_version": approved_version,
                "managing_agency_code": checked.managing_agency,
                "employing_unit_code": checked.employing_unit,
                "data": _document_bytes(checked),
                "content_hash": digest,
                "previous_content_hash": st[2],
                "created_at": now,
                "created_by": principal.username,
                "source": source,
                "note": note,
                "approval": checked.approval,
            }
        )
        st[1] = version
        st[2] = digest
        last_doc[pid] = checked
        posts_for[pid] = checked.concurrent_posts
        outcomes.append(
            StoreOutcome(pid, "created" if st[0] is None and version == 1 else "versioned", version)
        )
    if not versions:
        return outcomes
    # New dossiers: one multi-row INSERT ... RETURNING.
    if new_people:
        rows = []
        for pid in new_people:
            doc = last_doc[pid]
            rows.append(
                {
                    "personal_id": pid,
                    "managing_agency_code": doc.managing_agency,
                    "employing_unit_code": doc.employing_unit,
                    "current_version": state[pid][1],
                    "current_content_hash": state[pid][2],
                    "status": last_status[pid],
                    "created_at": now,
                    "updated_at": now,
                    **_columns(doc),
                }
            )
        ids = _insert_people(session, rows)
    else:
        ids = {}
    updates = []
    for pid, st in state.items():
        person = st[0]
        if person is None:
            continue
        ids[pid] = person.id
        if st[1] != person.current_version:
            doc = last_doc[pid]
            updates.append(
                {
                    "id": person.id,
                    "managing_agency_code": doc.managing_agency,
                    "employing_unit_code": doc.employing_unit,
                    "current_version": st[1],
                    "current_content_hash": st[2],
                    "status": last_status[pid],
                    "updated_at": now,
                    **_columns(doc),
                }
            )
    if updates:
        session.execute(sql_update(Person), updates)
    queued = [
        (row["personal_id"], row["version"], None)
        for row in versions
        if row["status"] == VersionStatus.QUEUED
    ]
    for row in versions:
        row["person_id"] = ids[row.pop("personal_id")]
    _copy_versions(session, versions)
    if queued:
        from hoso.exchange import outbox

        outbox.enqueue_many(
            session, receiver=get_settings().national_node, kind="record", items=queued
        )
    # Open versions older than the new current one are superseded: the people who had
    # versions before, and new people given several versions in this batch.
    superseded = _supersede(
        session,
        [u["id"] for u in updates] + [ids[pid] for pid in new_people if state[pid][1] > 1],
        actor=principal.username,
        now=now,
        is_pg=is_pg,
    )
    superseded_by_pid: dict[str, list[int]] = {}
    if superseded:
        pid_of = {pk: pid for pid, pk in ids.items()}
        for person_id, version in superseded:
            superseded_by_pid.setdefault(pid_of[person_id], []).append(version)
    _replace_posts(
        session,
        {ids[pid]: posts for pid, posts in posts_for.items()},
        existing_ids={p.id for p in existing.values()},
    )
    changed = [(o.personal_id, o.version) for o in outcomes if o.action != "unchanged"]
    if audit_subject is not None:
        data: dict[str, Any] = {"source": source, "versions": changed}
        if superseded_by_pid:
            data["superseded"] = sorted(
                (pid, v) for pid, vs in superseded_by_pid.items() for v in vs
            )
        audit_service.record(
            session,
            actor=principal.username,
            action="person:version:import",
            subject_type=audit_subject[0],
            subject_id=audit_subject[1],
            data=data,
        )
    else:
        for pid, version in changed:
            event: dict[str, Any] = {"version": version, "source": source}
            # Listed on the event of the person's newest version, which superseded them.
            older = superseded_by_pid.pop(pid, None) if version == state[pid][1] else None
            if older:
                event["superseded"] = sorted(older)
            audit_service.record(
                session,
                actor=principal.username,
                action="person:version:create",
                subject_type="person",
                subject_id=pid,
                data=event,
            )
    session.expire_all()
    return outcomes


def _supersede(
    session: Session, person_ids: list[int], *, actor: str, now: dt.datetime, is_pg: bool
) -> list[tuple[int, int]]:
    """Mark open versions older than each person's current version SUPERSEDED.

    One UPDATE per 1,000 people (an array parameter on PostgreSQL); returns the
    ``(person_id, version)`` pairs it changed.
    """
    out: list[tuple[int, int]] = []
    table = PERSON_VERSION_TABLE
    current = (
        select(PERSON_TABLE.c.current_version)
        .where(PERSON_TABLE.c.id == table.c.person_id)
        .scalar_subquery()
    )
    for start in range(0, len(person_ids), 1000):
        chunk = person_ids[start : start + 1000]
        which = (
            table.c.person_id == any_(literal(chunk, ARRAY(BigInteger)))
            if is_pg
            else table.c.person_id.in_(chunk)
        )
        rows = session.execute(
            sql_update(table)
            .where(which, table.c.status.in_(VersionStatus.OPEN), table.c.version < current)
            .values(status=VersionStatus.SUPERSEDED, status_changed_at=now, status_changed_by=actor)
            .returning(table.c.person_id, table.c.version)
        )
        out.extend((pk, version) for pk, version in rows)
    return out


_PERSON_COPY_COLUMNS = (
    "id",
    "personal_id",
    "managing_agency_code",
    "employing_unit_code",
    "current_version",
    "current_content_hash",
    "status",
    "birth_name",
    "name_search",
    "date_of_birth",
    "sex",
    "employee_type_code",
    "rank_code",
    "position_code",
    "employment_status_code",
    "created_at",
    "updated_at",
)


def _insert_people(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new person rows; return their ids. COPY with pre-allocated ids on PostgreSQL."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        result = session.execute(
            PERSON_TABLE.insert().returning(
                PERSON_TABLE.c.id, PERSON_TABLE.c.personal_id, sort_by_parameter_order=True
            ),
            rows,
        )
        return {pid: pk for pk, pid in result}
    ids = (
        session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": len(rows)},
        )
        .scalars()
        .all()
    )
    raw = conn.connection.driver_connection
    assert raw is not None
    out: dict[str, int] = {}
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY person ({', '.join(_PERSON_COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for pk, row in zip(ids, rows, strict=True):
            row["id"] = pk
            out[row["personal_id"]] = pk
            copy.write_row(tuple(row[c] for c in _PERSON_COPY_COLUMNS))
    return out


def _replace_posts(
    session: Session, posts: dict[int, list[dict[str, Any]]], *, existing_ids: set[int]
) -> None:
    """Replace the concurrent posts of the given people (new people have none to delete)."""
    stale = [pid for pid in posts if pid in existing_ids]
    for start in range(0, len(stale), 1000):
        chunk = stale[start : start + 1000]
        session.execute(PERSON_POST_TABLE.delete().where(PersonPost.person_id.in_(chunk)))
    rows = [
        {
            "person_id": pid,
            "unit_code": p["unit_code"],
            "kind": "concurrent",
            "position_code": p.get("position_code"),
            "title": p.get("title"),
            "start_date": dt.date.fromisoformat(p["start_date"]) if p.get("start_date") else None,
            "end_date": dt.date.fromisoformat(p["end_date"]) if p.get("end_date") else None,
        }
        for pid, items in posts.items()
        for p in items
    ]
    if rows:
        session.execute(PERSON_POST_TABLE.insert(), rows)


def check_write(
    session: Session, person_in: PersonWrite | dict[str, Any], *, principal: Principal
) -> tuple[CheckedDossier, str]:
    """Validate one dossier for writing (catalogue, organisations, scope); raise InvalidInput."""
    raw = (
        person_in.model_dump(exclude_none=True) if isinstance(person_in, PersonWrite) else person_in
    )
    checked = get_validator().check_line(raw)
    if checked.ok:
        codes = {c for c in (checked.managing_agency, checked.employing_unit) if c}
        codes |= {p["unit_code"] for p in checked.concurrent_posts}
        paths = dict(
            session.execute(select(OrgUnit.code, OrgUnit.path).where(OrgUnit.code.in_(codes))).all()
        )
        check_orgs(checked, paths, principal_scope_path(session, principal))
    digest = prepare(checked)
    if digest is None:
        raise InvalidInput(
            message_vi="Hồ sơ có lỗi cấu trúc, chưa được lưu",
            message_en="The dossier has structural errors and was not stored",
            issues=checked.issues,
        )
    return checked, digest


def create(
    session: Session, person_in: PersonWrite, *, principal: Principal, source: str = "api"
) -> DossierRead:
    """Create a new dossier (version 1). Conflict when the person already has one."""
    principal.require("person:write")
    checked, digest = check_write(session, person_in, principal=principal)
    assert checked.personal_id is not None
    if session.execute(select(Person.id).where(Person.personal_id == checked.personal_id)).first():
        raise Conflict(
            code="person_exists",
            message_vi=f"Đã có hồ sơ với số định danh {checked.personal_id}; hãy cập nhật hồ sơ đó",
            message_en=f"A dossier with personal ID {checked.personal_id} already exists; update it",
        )
    store_batch(session, [(checked, digest)], principal=principal, source=source)
    return get_by_personal_id(session, checked.personal_id, principal=principal)


def update(
    session: Session,
    personal_id: str,
    person_in: PersonWrite,
    *,
    principal: Principal,
    expected_version: int | None = None,
    source: str = "api",
) -> DossierRead:
    """Replace a dossier's document, making a new version (none when nothing changed)."""
    principal.require("person:write")
    person = _person(session, personal_id, principal)
    if expected_version is not None and expected_version != person.current_version:
        raise Conflict(
            code="version_conflict",
            message_vi=(
                f"Hồ sơ {personal_id} đã được cập nhật (phiên bản hiện tại "
                f"{person.current_version}, bạn đang sửa phiên bản {expected_version})"
            ),
            message_en=(
                f"Dossier {personal_id} has changed (current version {person.current_version}, "
                f"you edited version {expected_version})"
            ),
        )
    raw = person_in.model_dump(exclude_none=True)
    raw.setdefault("personal_id", personal_id)
    if raw["personal_id"] != personal_id:
        raise InvalidInput(
            issues=[
                Issue(
                    field="personal_id",
                    code="mismatch",
                    message_vi=f"Số định danh trong nội dung ({raw['personal_id']}) khác với địa chỉ ({personal_id})",
                    message_en=f"Personal ID in the body ({raw['personal_id']}) differs from the URL ({personal_id})",
                    value=raw["personal_id"],
                )
            ]
        )
    raw.setdefault("managing_agency", person.managing_agency_code)
    if person_in.concurrent_posts is None:
        # Not given: the concurrent posts stay as they are ([] removes them).
        raw["concurrent_posts"] = _concurrent_posts(session, person.id)
    checked, digest = check_write(session, raw, principal=principal)
    store_batch(session, [(checked, digest)], principal=principal, source=source)
    return get_by_personal_id(session, personal_id, principal=principal)


def _concurrent_posts(session: Session, person_id: int) -> list[dict[str, Any]]:
    """A person's stored concurrent posts in the shape of a write."""
    rows = session.execute(
        select(PersonPost)
        .where(PersonPost.person_id == person_id, PersonPost.kind == "concurrent")
        .order_by(PersonPost.id)
    ).scalars()
    out: list[dict[str, Any]] = []
    for post in rows:
        item: dict[str, Any] = {"unit_code": post.unit_code}
        for key, value in (
            ("position_code", post.position_code),
            ("title", post.title),
            ("start_date", post.start_date.isoformat() if post.start_date else None),
            ("end_date", post.end_date.isoformat() if post.end_date else None),
        ):
            if value is not None:
                item[key] = value
        out.append(item)
    return out


def iter_current(
    session: Session, *, principal: Principal, agency: str | None = None, batch: int = 1000
) -> Iterable[tuple[Person, PersonVersion, list[PersonPost]]]:
    """Stream current versions in scope, ordered by personal ID (bounded memory)."""
    principal.require("person:read")
    conditions: list[ColumnElement[bool]] = [scope_clause(principal)]
    if agency:
        agency_path = select(OrgUnit.path).where(OrgUnit.code == agency).scalar_subquery()
        conditions.append(_code_in_scope(Person.managing_agency_code, agency_path))
    last = ""
    while True:
        rows = session.execute(
            select(Person, PersonVersion)
            .join(
                PersonVersion,
                and_(
                    PersonVersion.person_id == Person.id,
                    PersonVersion.version == Person.current_version,
                ),
            )
            .where(Person.personal_id > last, *conditions)
            .order_by(Person.personal_id)
            .limit(batch)
        ).all()
        if not rows:
            return
        ids = [p.id for p, _ in rows]
        posts: dict[int, list[PersonPost]] = {}
        for post in session.execute(
            select(PersonPost).where(PersonPost.person_id.in_(ids)).order_by(PersonPost.id)
        ).scalars():
            posts.setdefault(post.person_id, []).append(post)
        for person, version in rows:
            yield person, version, posts.get(person.id, [])
        last = rows[-1][0].personal_id
        session.expunge_all()
