"""The organisation tree: upsert, read, subtrees, scopes, successors and staffing quotas.

Every unit stores its materialised ``path`` (``/ROOT/.../CODE/``), so a subtree is one
prefix predicate on the indexed column (:func:`path_under`) and a scope check is a string
prefix test, which keeps national-scale trees (≈ 20,000 units) cheap. A principal's scope
is the subtree of its ``scope_code`` unit (``None`` = national).

Services never commit; every change is audited (``org:unit:create`` / ``org:unit:update``)
in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, func, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.db.base import utcnow
from hoso.errors import InvalidInput, Issue, NotFound, PermissionDenied
from hoso.orgs.models import OrgUnit
from hoso.orgs.schemas import OrgUnitIn

SUBJECT_TYPE = "org_unit"
PATH_MAX_LENGTH = 2000
_CHUNK = 500
_PATH_RE = re.compile(r"^/(?:[0-9A-Z.]+/)+$")

#: Fields of ``OrgUnitIn`` that, when left out of the input, keep the stored value.
_OPTIONAL_FIELDS = (
    "parent_code",
    "valid_from",
    "valid_to",
    "successor_codes",
    "admin_unit",
    "staffing_quota",
)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """How many units an upsert created, changed and found identical."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Number of units in the batch."""
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Staffing:
    """Staffing quota (biên chế) of a unit and of the units in force in its subtree."""

    code: str
    quota: int | None
    subtree_quota: int
    subtree_units: int
    units_without_quota: int


# --- the subtree predicate ----------------------------------------------------------------


class _PathUnder(FunctionElement[bool]):
    """``path`` starts with a prefix; compiled per backend so that the index serves it.

    PostgreSQL (and others): ``path LIKE 'prefix%'`` (a btree index with ``varchar_pattern_ops``
    or ``C`` collation serves it). SQLite: ``path GLOB 'prefix*'``, because SQLite's ``LIKE``
    is case-insensitive and only uses a ``NOCASE`` index, whereas ``GLOB`` uses the default
    ``BINARY`` index. Codes are ``[0-9A-Z.]``, so neither pattern needs escaping.
    """

    type = Boolean()
    inherit_cache = True
    name = "path_under"
    _is_implicitly_boolean = True  # a comparison: no "= 1" on backends without booleans


@compiles(_PathUnder)
def _compile_path_under(element: _PathUnder, compiler: SQLCompiler, **kw: Any) -> str:
    column, like_pattern, _glob_pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} LIKE {compiler.process(like_pattern, **kw)}"


@compiles(_PathUnder, "sqlite")
def _compile_path_under_sqlite(element: _PathUnder, compiler: SQLCompiler, **kw: Any) -> str:
    column, _like_pattern, glob_pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} GLOB {compiler.process(glob_pattern, **kw)}"


def path_under(
    column: InstrumentedAttribute[str] | ColumnElement[str], prefix: str
) -> ColumnElement[bool]:
    """Predicate "``column`` starts with the materialised path ``prefix``" (index-friendly)."""
    if not _PATH_RE.match(prefix):
        raise ValueError(f"not a materialised path: {prefix!r}")
    return _PathUnder(column, literal(prefix + "%"), literal(prefix + "*"))


def codes_in_subtree_select(path_prefix: str) -> Select[str]:
    """``SELECT code FROM org_unit WHERE path under path_prefix`` — for ``IN (...)`` filters."""
    return select(OrgUnit.code).where(path_under(OrgUnit.path, path_prefix))


def in_force(day: dt.date) -> ColumnElement[bool]:
    """Predicate: the unit is valid on ``day`` (open-ended dates count as valid)."""
    return (or_(OrgUnit.valid_from.is_(None), OrgUnit.valid_from <= day)) & (
        or_(OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= day)
    )


# --- lookups and scope --------------------------------------------------------------------


def _not_found(code: str) -> NotFound:
    return NotFound(
        message_vi=f"Không tìm thấy đơn vị '{code}'",
        message_en=f"Unit '{code}' not found",
    )


def _out_of_scope(code: str, scope_code: str) -> PermissionDenied:
    return PermissionDenied(
        message_vi=f"Đơn vị '{code}' nằm ngoài phạm vi quản lý của bạn ('{scope_code}')",
        message_en=f"Unit '{code}' is outside your scope ('{scope_code}')",
        code="out_of_scope",
    )


def _by_code(session: Session, code: str) -> OrgUnit:
    unit = session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise _not_found(code)
    return unit


def scope_path(session: Session, code: str) -> str:
    """The materialised path of unit ``code``; NotFound when there is no such unit."""
    path = session.execute(select(OrgUnit.path).where(OrgUnit.code == code)).scalar_one_or_none()
    if path is None:
        raise _not_found(code)
    return path


def principal_prefix(session: Session, principal: Principal) -> str | None:
    """Path prefix of the principal's scope (None = national); PermissionDenied if it is gone."""
    if principal.scope_code is None:
        return None
    try:
        return scope_path(session, principal.scope_code)
    except NotFound:
        raise PermissionDenied(
            message_vi=f"Đơn vị phạm vi '{principal.scope_code}' không tồn tại",
            message_en=f"Scope unit '{principal.scope_code}' does not exist",
            code="out_of_scope",
        ) from None


def in_scope(session: Session, principal: Principal, code: str) -> bool:
    """True when unit ``code`` exists and lies in the principal's subtree."""
    wanted = {code} if principal.scope_code is None else {code, principal.scope_code}
    paths = dict(
        session.execute(select(OrgUnit.code, OrgUnit.path).where(OrgUnit.code.in_(wanted))).all()
    )
    if code not in paths:
        return False
    if principal.scope_code is None:
        return True
    scope = paths.get(principal.scope_code)
    return scope is not None and paths[code].startswith(scope)


def require_in_scope(session: Session, principal: Principal, code: str) -> None:
    """NotFound when unit ``code`` does not exist; PermissionDenied when outside the scope."""
    if in_scope(session, principal, code):
        return
    scope_path(session, code)  # raises NotFound when absent
    raise _out_of_scope(code, principal.scope_code or "")


def _check_unit_in_scope(session: Session, principal: Principal, unit: OrgUnit) -> None:
    prefix = principal_prefix(session, principal)
    if prefix is not None and not unit.path.startswith(prefix):
        raise _out_of_scope(unit.code, principal.scope_code or "")


# --- reading ------------------------------------------------------------------------------


def get(session: Session, code: str, *, principal: Principal) -> OrgUnit:
    """One unit by code (``org:read``, inside the principal's scope)."""
    principal.require("org:read")
    unit = _by_code(session, code)
    _check_unit_in_scope(session, principal, unit)
    return unit


def _list_select(
    session: Session,
    principal: Principal,
    *,
    parent_code: str | None,
    include_ended: bool,
    q: str | None,
) -> Select[OrgUnit]:
    principal.require("org:read")
    stmt = select(OrgUnit)
    prefix = principal_prefix(session, principal)
    if prefix is not None:
        stmt = stmt.where(path_under(OrgUnit.path, prefix))
    if parent_code is not None:
        stmt = stmt.where(OrgUnit.parent_code == parent_code)
    if not include_ended:
        today = dt.date.today()
        stmt = stmt.where(or_(OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= today))
    if q is not None and q.strip():
        term = q.strip()
        stmt = stmt.where(
            or_(
                OrgUnit.name.icontains(term, autoescape=True),
                OrgUnit.code.icontains(term, autoescape=True),
            )
        )
    return stmt


def list_(
    session: Session,
    *,
    principal: Principal,
    parent_code: str | None = None,
    include_ended: bool = True,
    q: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[OrgUnit]:
    """Units in the principal's scope, in path order, optionally filtered and paged.

    ``parent_code`` keeps the children of one unit; ``include_ended=False`` drops units whose
    ``valid_to`` has passed; ``q`` matches part of the name or code (case-insensitive).
    """
    stmt = _list_select(
        session, principal, parent_code=parent_code, include_ended=include_ended, q=q
    ).order_by(OrgUnit.path, OrgUnit.code)
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def count(
    session: Session,
    *,
    principal: Principal,
    parent_code: str | None = None,
    include_ended: bool = True,
    q: str | None = None,
) -> int:
    """How many units :func:`list_` would return without paging."""
    inner = _list_select(
        session, principal, parent_code=parent_code, include_ended=include_ended, q=q
    ).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def subtree(session: Session, code: str) -> list[OrgUnit]:
    """Unit ``code`` and every unit below it, parents before children (NotFound if absent).

    No scope check here: callers check the principal with :func:`require_in_scope`.
    """
    prefix = scope_path(session, code)
    units = session.execute(select(OrgUnit).where(path_under(OrgUnit.path, prefix))).scalars()
    return sorted(units, key=lambda u: u.path)


def successors(session: Session, code: str) -> list[OrgUnit]:
    """The units that took over unit ``code``, transitively, nearest first (NotFound if absent).

    A successor that itself ended leads on to its own successors (a unit merged in 2025 into
    one that was merged again). Codes that name no stored unit are skipped.
    """
    start = _by_code(session, code)
    seen = {code}
    found: list[OrgUnit] = []
    frontier = list(start.successor_codes or [])
    while frontier:
        fresh = [c for c in dict.fromkeys(frontier) if c not in seen]
        rows = {u.code: u for u in _load(session, fresh)}
        frontier = []
        for c in fresh:
            seen.add(c)
            unit = rows.get(c)
            if unit is not None:
                found.append(unit)
                frontier.extend(unit.successor_codes or [])
    return found


def staffing(session: Session, code: str, *, as_of: dt.date | None = None) -> Staffing:
    """Quota of unit ``code`` and the sum over the units of its subtree in force on ``as_of``.

    Ended units are left out of the sum so that a merged unit's quota is not counted twice
    (once on the ended unit, once on its successor). ``as_of`` defaults to today.
    """
    unit = _by_code(session, code)
    day = as_of or dt.date.today()
    total, units, with_quota = session.execute(
        select(
            func.coalesce(func.sum(OrgUnit.staffing_quota), 0),
            func.count(),
            func.count(OrgUnit.staffing_quota),
        ).where(path_under(OrgUnit.path, unit.path), in_force(day))
    ).one()
    return Staffing(
        code=unit.code,
        quota=unit.staffing_quota,
        subtree_quota=int(total or 0),
        subtree_units=int(units),
        units_without_quota=int(units) - int(with_quota),
    )


def to_exchange(unit: OrgUnit) -> dict[str, Any]:
    """The exchange ``OrgUnit`` form of a stored unit (with ``staffing_quota``)."""
    admin = (
        {"scheme": unit.admin_unit_scheme, "code": unit.admin_unit_code}
        if unit.admin_unit_scheme and unit.admin_unit_code
        else None
    )
    return {
        "code": unit.code,
        "name": unit.name,
        "parent_code": unit.parent_code,
        "kind": unit.kind,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "successor_codes": list(unit.successor_codes or []),
        "admin_unit": admin,
        "staffing_quota": unit.staffing_quota,
    }


def export(session: Session, *, principal: Principal) -> dict[str, Any]:
    """The ``orgtree.upsert`` body of the principal's scope, parents before children.

    Feeding it back to :func:`upsert_units` changes nothing. A scoped export keeps the
    ``parent_code`` of its top unit, which lies outside the export.
    """
    principal.require("org:read")
    prefix = principal_prefix(session, principal)
    stmt = select(OrgUnit)
    if prefix is not None:
        stmt = stmt.where(path_under(OrgUnit.path, prefix))
    units = sorted(session.execute(stmt).scalars(), key=lambda u: u.path)
    return {"units": [to_exchange(u) for u in units]}


# --- writing ------------------------------------------------------------------------------


def _load(session: Session, codes: Iterable[str]) -> list[OrgUnit]:
    wanted = list(dict.fromkeys(codes))
    out: list[OrgUnit] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        out.extend(session.execute(select(OrgUnit).where(OrgUnit.code.in_(chunk))).scalars())
    return out


def _load_with_ancestors(session: Session, codes: Iterable[str]) -> dict[str, OrgUnit]:
    stored = {u.code: u for u in _load(session, codes)}
    ancestors = {c for u in stored.values() for c in u.path.strip("/").split("/")}
    missing = ancestors - stored.keys()
    if missing:
        stored.update((u.code, u) for u in _load(session, sorted(missing)))
    return stored


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _wanted_values(unit_in: OrgUnitIn, current: OrgUnit | None) -> dict[str, Any]:
    """Column values the input asks for; left-out optional fields keep the stored value."""
    given = unit_in.model_fields_set
    admin = unit_in.admin_unit
    wanted: dict[str, Any] = {
        "name": unit_in.name,
        "kind": unit_in.kind,
        "parent_code": unit_in.parent_code,
        "valid_from": unit_in.valid_from,
        "valid_to": unit_in.valid_to,
        "successor_codes": list(unit_in.successor_codes),
        "admin_unit_scheme": admin.scheme if admin else None,
        "admin_unit_code": admin.code if admin else None,
        "staffing_quota": unit_in.staffing_quota,
    }
    if current is not None:
        for name in _OPTIONAL_FIELDS:
            if name in given:
                continue
            if name == "admin_unit":
                wanted["admin_unit_scheme"] = current.admin_unit_scheme
                wanted["admin_unit_code"] = current.admin_unit_code
            else:
                wanted[name] = getattr(current, name)
    return wanted


def _issue(index: int, field: str, code: str, vi: str, en: str, value: Any) -> Issue:
    path = f"units[{index}].{field}"
    return Issue(
        field=path,
        code=code,
        message_vi=f"{path}: {vi}",
        message_en=f"{path}: {en}",
        value=value,
    )


def _issue_order(issue: Issue) -> tuple[int, str]:
    match = re.match(r"units\[(-?\d+)\]", issue.field)
    return (int(match.group(1)) if match else -1, issue.field)


class _TreeResolver:
    """Computes the new path of every unit touched by a batch; reports gaps and cycles."""

    def __init__(
        self,
        batch: dict[str, tuple[int, OrgUnitIn]],
        stored: dict[str, OrgUnit],
    ) -> None:
        self.batch = batch
        self.stored = stored
        self.paths: dict[str, str] = {}
        self.failed: set[str] = set()
        self.issues: list[Issue] = []

    def parent_of(self, code: str) -> str | None:
        if code in self.batch:
            unit_in = self.batch[code][1]
            if "parent_code" in unit_in.model_fields_set or code not in self.stored:
                return unit_in.parent_code
        return self.stored[code].parent_code

    def resolve(self, code: str) -> None:
        chain: list[str] = []
        on_chain: set[str] = set()
        cur: str | None = code
        while cur is not None and cur not in self.paths:
            if cur in self.failed:
                self.failed.update(chain)
                return
            if cur in on_chain:
                self._cycle(chain[chain.index(cur) :])
                self.failed.update(chain)
                return
            if cur not in self.batch and cur not in self.stored:
                self._missing_parent(chain[-1] if chain else code, cur)
                self.failed.update(chain)
                return
            chain.append(cur)
            on_chain.add(cur)
            cur = self.parent_of(cur)
        base = self.paths[cur] if cur is not None else "/"
        for c in reversed(chain):
            base = f"{base}{c}/"
            self.paths[c] = base
            if len(base) > PATH_MAX_LENGTH and c in self.batch:
                self.failed.add(c)
                self.issues.append(
                    _issue(
                        self.batch[c][0],
                        "parent_code",
                        "tree_too_deep",
                        f"Cây quá sâu: đường dẫn của '{c}' dài hơn {PATH_MAX_LENGTH} ký tự",
                        f"Tree too deep: the path of '{c}' is longer than {PATH_MAX_LENGTH}",
                        self.parent_of(c),
                    )
                )

    def _missing_parent(self, child: str, parent: str) -> None:
        index = self.batch[child][0] if child in self.batch else -1
        self.issues.append(
            _issue(
                index,
                "parent_code",
                "unknown_parent",
                f"Đơn vị cha '{parent}' của '{child}' không có trong cơ sở dữ liệu "
                "cũng như trong lô",
                f"Parent unit '{parent}' of '{child}' is neither stored nor in the batch",
                parent,
            )
        )

    def _cycle(self, members: list[str]) -> None:
        in_batch = [c for c in members if c in self.batch]
        first = min(in_batch, key=lambda c: self.batch[c][0]) if in_batch else members[0]
        index = self.batch[first][0] if first in self.batch else -1
        start = members.index(first)
        loop = [*members[start:], *members[:start], first]
        # ``members`` runs child → parent, so the loop reads as "X under Y under …".
        shown = " → ".join(loop)
        self.issues.append(
            _issue(
                index,
                "parent_code",
                "parent_cycle",
                f"Đơn vị cha '{self.parent_of(first)}' tạo thành vòng lặp: {shown}",
                f"Parent unit '{self.parent_of(first)}' makes a cycle: {shown}",
                self.parent_of(first),
            )
        )


def upsert_units(
    session: Session, units: Sequence[OrgUnitIn], *, principal: Principal
) -> UpsertResult:
    """Create or update units (the ``orgtree.upsert`` body), idempotently.

    - Needs ``org:write``; every unit (its old and its new place) must lie in the principal's
      scope, otherwise PermissionDenied naming the code.
    - Parents may come later in the batch; a parent must be stored or in the batch, the tree
      must stay acyclic, and successor codes must be stored or in the batch. All such
      problems are collected and raised as one InvalidInput whose issues name the field
      (``units[3].parent_code``) and the value.
    - A changed parent moves the unit and its whole subtree (paths are rewritten with one
      prefix UPDATE per moved unit).
    - Optional fields left out of a unit keep their stored values; a unit identical to the
      stored one is counted ``unchanged`` and writes no audit event.
    """
    principal.require("org:write")
    if not units:
        return UpsertResult()

    batch: dict[str, tuple[int, OrgUnitIn]] = {}
    issues: list[Issue] = []
    for index, unit_in in enumerate(units):
        if unit_in.code in batch:
            first = batch[unit_in.code][0]
            issues.append(
                _issue(
                    index,
                    "code",
                    "duplicate_code",
                    f"Mã đơn vị '{unit_in.code}' đã xuất hiện ở units[{first}]",
                    f"Unit code '{unit_in.code}' already appears at units[{first}]",
                    unit_in.code,
                )
            )
        else:
            batch[unit_in.code] = (index, unit_in)
    if issues:
        raise InvalidInput(issues=issues)

    wanted_codes: set[str] = set(batch)
    for _, unit_in in batch.values():
        if unit_in.parent_code:
            wanted_codes.add(unit_in.parent_code)
        wanted_codes.update(unit_in.successor_codes)
    stored = _load_with_ancestors(session, sorted(wanted_codes))

    resolver = _TreeResolver(batch, stored)
    for code in batch:
        resolver.resolve(code)
    issues = list(resolver.issues)

    for code, (index, unit_in) in batch.items():
        for j, successor in enumerate(unit_in.successor_codes):
            if successor not in batch and successor not in stored:
                issues.append(
                    _issue(
                        index,
                        f"successor_codes[{j}]",
                        "unknown_successor",
                        f"Đơn vị kế thừa '{successor}' của '{code}' không có trong cơ sở dữ "
                        "liệu cũng như trong lô",
                        f"Successor unit '{successor}' of '{code}' is neither stored nor in "
                        "the batch",
                        successor,
                    )
                )
    if issues:
        issues.sort(key=_issue_order)
        raise InvalidInput(
            message_vi="Cây tổ chức không hợp lệ",
            message_en="Invalid organisation tree",
            issues=issues,
        )

    prefix = principal_prefix(session, principal)
    if prefix is not None:
        for code in batch:
            old = stored[code].path if code in stored else None
            if not resolver.paths[code].startswith(prefix) or (
                old is not None and not old.startswith(prefix)
            ):
                raise _out_of_scope(code, principal.scope_code or "")

    # Work out every change against the stored values before touching anything.
    creates: list[OrgUnit] = []
    updates: list[tuple[OrgUnit, dict[str, Any], dict[str, list[Any]]]] = []
    unchanged = 0
    for code, (_, unit_in) in batch.items():
        current = stored.get(code)
        wanted = _wanted_values(unit_in, current)
        wanted["path"] = resolver.paths[code]
        if current is None:
            creates.append(OrgUnit(code=code, extra={}, **wanted))
            continue
        # ``path`` is derived: a unit that only moves along with a moved ancestor is
        # unchanged (the ancestor's event counts the rows its move rewrote).
        changes = {
            name: [_json(getattr(current, name)), _json(value)]
            for name, value in wanted.items()
            if name != "path" and getattr(current, name) != value
        }
        if changes:
            updates.append((current, wanted, changes))
        else:
            unchanged += 1

    moved = _move_subtrees(session, stored, resolver.paths)

    for unit in creates:
        session.add(unit)
    for current, wanted, _changes in updates:
        for name, value in wanted.items():
            setattr(current, name, value)
    session.flush()

    events: list[audit_service.EventIn] = []
    for unit in creates:
        data = to_exchange(unit)
        data["path"] = unit.path
        events.append(
            audit_service.EventIn(
                action="org:unit:create", subject_type=SUBJECT_TYPE, subject_id=unit.code, data=data
            )
        )
    for current, _wanted, changes in updates:
        change_data: dict[str, Any] = {"changes": changes}
        if current.code in moved:
            change_data["subtree_moved"] = moved[current.code]
        events.append(
            audit_service.EventIn(
                action="org:unit:update",
                subject_type=SUBJECT_TYPE,
                subject_id=current.code,
                data=change_data,
            )
        )
    audit_service.record_many(session, events, actor=principal.username)
    return UpsertResult(created=len(creates), updated=len(updates), unchanged=unchanged)


def _move_subtrees(
    session: Session, stored: dict[str, OrgUnit], new_paths: dict[str, str]
) -> dict[str, int]:
    """Rewrite the paths of moved subtrees in the database; return code → rows rewritten.

    Only the top of each moved subtree needs an UPDATE: a moved unit whose nearest moved
    ancestor carries it along unchanged is skipped. Deepest first, so that a unit moved
    within a subtree that moves too is placed before its old ancestor's prefix is rewritten
    (new paths never start with the old path of a moved unit, since codes are unique).
    """
    moves = {
        code: (unit.path, new_paths[code])
        for code, unit in stored.items()
        if code in new_paths and new_paths[code] != unit.path
    }
    if not moves:
        return {}
    by_old = {old: code for code, (old, _new) in moves.items()}
    tops: list[tuple[str, str, str]] = []
    for code, (old, new) in moves.items():
        carried = False
        parts = old.strip("/").split("/")
        for depth in range(len(parts) - 1, 0, -1):
            ancestor_old = "/" + "/".join(parts[:depth]) + "/"
            ancestor = by_old.get(ancestor_old)
            if ancestor is not None:
                ancestor_new = moves[ancestor][1]
                carried = new == ancestor_new + old[len(ancestor_old) :]
                break
        if not carried:
            tops.append((code, old, new))
    tops.sort(key=lambda t: -t[1].count("/"))
    now = utcnow()
    rewritten: dict[str, int] = {}
    for code, old, new in tops:
        result = session.execute(
            update(OrgUnit)
            .where(path_under(OrgUnit.path, old))
            .values(path=literal(new) + func.substr(OrgUnit.path, len(old) + 1), updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        rewritten[code] = int(getattr(result, "rowcount", 0) or 0)
    return rewritten
