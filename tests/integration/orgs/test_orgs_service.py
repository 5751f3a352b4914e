"""The org tree service on a real database: upsert rules, paths, scope, successors, export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from orgs_factories import H40, H41, TREE, tree_units
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.auth.models import User
from hoso.auth.principal import Principal, operator
from hoso.errors import InvalidInput, NotFound, PermissionDenied
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.orgs.schemas import OrgUnitIn

HR_H41 = Principal(username="hr.nghean", role="hr_officer", scope_code=H41)
ADMIN_H41 = Principal(username="admin.nghean", role="agency_admin", scope_code=H41)


def audit_count(session: Session, action: str | None = None) -> int:
    stmt = select(func.count()).select_from(AuditEvent)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return int(session.execute(stmt).scalar_one())


def path_of(session: Session, code: str) -> str:
    return orgs_service.scope_path(session, code)


def units(*rows: dict[str, Any]) -> list[OrgUnitIn]:
    return [OrgUnitIn.model_validate(r) for r in rows]


def test_import_is_idempotent_and_audits_only_changes(session: Session) -> None:
    first = orgs_service.upsert_units(session, tree_units(), principal=operator())
    assert (first.created, first.updated, first.unchanged) == (len(TREE), 0, 0)
    assert audit_count(session, "org:unit:create") == len(TREE)
    events = audit_count(session)

    second = orgs_service.upsert_units(session, tree_units(), principal=operator())
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(TREE))
    assert audit_count(session) == events
    assert audit_service.verify_chain(session) == (True, None)


def test_children_may_come_before_their_parents(tree: Session) -> None:
    assert path_of(tree, f"{H41}.S05.P01") == f"/VN/{H41}/{H41}.S05/{H41}.S05.P01/"
    assert path_of(tree, "VN") == "/VN/"
    unit = orgs_service.get(tree, f"{H41}.S05.P01", principal=operator())
    assert unit.staffing_quota == 10
    assert unit.parent_code == f"{H41}.S05"


def test_unknown_parent_is_refused_with_the_field_path(tree: Session) -> None:
    batch = units(
        {"code": "A1", "name": "A1", "parent_code": "VN", "kind": "other"},
        {"code": "A2", "name": "A2", "parent_code": "A1", "kind": "other"},
        {"code": "A3", "name": "A3", "parent_code": "A2", "kind": "other"},
        {"code": "A4", "name": "A4", "parent_code": "NOWHERE", "kind": "other"},
    )
    with pytest.raises(InvalidInput) as info:
        orgs_service.upsert_units(tree, batch, principal=operator())
    (issue,) = info.value.issues
    assert issue.field == "units[3].parent_code"
    assert issue.value == "NOWHERE"
    assert issue.code == "unknown_parent"
    assert "NOWHERE" in issue.message_vi and "NOWHERE" in issue.message_en
    assert "Đơn vị cha" in issue.message_vi
    assert tree.execute(select(OrgUnit).where(OrgUnit.code == "A1")).first() is None


def test_a_cycle_within_the_batch_is_refused(session: Session) -> None:
    batch = units(
        {"code": "R", "name": "R", "kind": "other"},
        {"code": "A", "name": "A", "parent_code": "B", "kind": "other"},
        {"code": "B", "name": "B", "parent_code": "C", "kind": "other"},
        {"code": "C", "name": "C", "parent_code": "A", "kind": "other"},
        {"code": "D", "name": "D", "parent_code": "C", "kind": "other"},
    )
    with pytest.raises(InvalidInput) as info:
        orgs_service.upsert_units(session, batch, principal=operator())
    (issue,) = info.value.issues
    assert issue.field == "units[1].parent_code"
    assert issue.code == "parent_cycle"
    assert "A → B → C → A" in issue.message_en
    assert "vòng lặp" in issue.message_vi
    assert audit_count(session) == 0


def test_moving_a_unit_under_its_own_descendant_is_refused(tree: Session) -> None:
    batch = units(
        {
            "code": H41,
            "name": "UBND tỉnh Nghệ An",
            "parent_code": f"{H41}.S05.P01",
            "kind": "province",
        }
    )
    with pytest.raises(InvalidInput) as info:
        orgs_service.upsert_units(tree, batch, principal=operator())
    assert [i.code for i in info.value.issues] == ["parent_cycle"]
    assert info.value.issues[0].field == "units[0].parent_code"
    assert path_of(tree, H41) == f"/VN/{H41}/"


def test_duplicate_codes_and_unknown_successors_are_refused(session: Session) -> None:
    batch = units(
        {"code": "R", "name": "R", "kind": "other"},
        {"code": "R", "name": "R again", "kind": "other"},
    )
    with pytest.raises(InvalidInput) as info:
        orgs_service.upsert_units(session, batch, principal=operator())
    assert [(i.field, i.code) for i in info.value.issues] == [("units[1].code", "duplicate_code")]

    batch = units(
        {"code": "R", "name": "R", "kind": "other", "successor_codes": ["S", "GONE"]},
        {"code": "S", "name": "S", "kind": "other"},
    )
    with pytest.raises(InvalidInput) as info:
        orgs_service.upsert_units(session, batch, principal=operator())
    (issue,) = info.value.issues
    assert (issue.field, issue.value) == ("units[0].successor_codes[1]", "GONE")


def test_changing_a_parent_moves_the_whole_subtree(tree: Session) -> None:
    # Sở Nội vụ Nghệ An moves under Hà Tĩnh; its division follows without being named.
    moved = units(
        {"code": f"{H41}.S05", "name": "Sở Nội vụ", "parent_code": H40, "kind": "department"}
    )
    result = orgs_service.upsert_units(tree, moved, principal=operator())
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert path_of(tree, f"{H41}.S05") == f"/VN/{H40}/{H41}.S05/"
    assert path_of(tree, f"{H41}.S05.P01") == f"/VN/{H40}/{H41}.S05/{H41}.S05.P01/"
    assert {u.code for u in orgs_service.subtree(tree, H40)} == {
        H40,
        f"{H40}.S05",
        f"{H41}.S05",
        f"{H41}.S05.P01",
    }
    event = tree.execute(
        select(AuditEvent).where(AuditEvent.action == "org:unit:update")
    ).scalar_one()
    assert event.subject_id == f"{H41}.S05"
    assert event.data["changes"]["parent_code"] == [H41, H40]
    assert event.data["changes"]["name"] == ["Sở Nội vụ tỉnh Nghệ An", "Sở Nội vụ"]
    assert event.data["subtree_moved"] == 2
    # Left-out optional fields kept their values.
    assert orgs_service.get(tree, f"{H41}.S05", principal=operator()).staffing_quota == 30


def test_nested_moves_in_one_batch_end_consistent(tree: Session) -> None:
    # H41 moves under G09 and, in the same batch, its division moves directly under H41.
    batch = units(
        {"code": f"{H41}.S05.P01", "name": "Phòng", "parent_code": H41, "kind": "division"},
        {
            "code": H41,
            "name": "UBND tỉnh Nghệ An",
            "parent_code": "000.00.00.G09",
            "kind": "province",
        },
    )
    orgs_service.upsert_units(tree, batch, principal=operator())
    for unit in tree.execute(select(OrgUnit)).scalars():
        tree.refresh(unit)
        parent_path = "/" if unit.parent_code is None else path_of(tree, unit.parent_code)
        assert unit.path == f"{parent_path}{unit.code}/", unit.code
    assert path_of(tree, f"{H41}.S05.P01") == f"/VN/000.00.00.G09/{H41}/{H41}.S05.P01/"


def test_left_out_fields_keep_stored_values_but_explicit_nulls_clear(tree: Session) -> None:
    same = units({"code": H41, "name": "UBND tỉnh Nghệ An", "kind": "province"})
    assert orgs_service.upsert_units(tree, same, principal=operator()).unchanged == 1
    cleared = units(
        {"code": H41, "name": "UBND tỉnh Nghệ An", "kind": "province", "staffing_quota": None}
    )
    assert orgs_service.upsert_units(tree, cleared, principal=operator()).updated == 1
    assert orgs_service.get(tree, H41, principal=operator()).staffing_quota is None
    assert orgs_service.get(tree, H41, principal=operator()).parent_code == "VN"


def test_write_needs_org_write_and_stays_inside_the_scope(tree: Session) -> None:
    inside = units(
        {"code": f"{H41}.S09", "name": "Sở Tài chính", "parent_code": H41, "kind": "department"}
    )
    with pytest.raises(PermissionDenied):
        orgs_service.upsert_units(tree, inside, principal=HR_H41)
    assert orgs_service.upsert_units(tree, inside, principal=ADMIN_H41).created == 1

    other_province = units(
        {
            "code": f"{H40}.S09",
            "name": "Sở Tài chính Hà Tĩnh",
            "parent_code": H40,
            "kind": "department",
        }
    )
    with pytest.raises(PermissionDenied) as info:
        orgs_service.upsert_units(tree, other_province, principal=ADMIN_H41)
    assert info.value.code == "out_of_scope"
    assert f"{H40}.S09" in info.value.message_vi and f"{H40}.S09" in info.value.message_en

    pull_in = units(
        {"code": f"{H40}.S05", "name": "Sở Nội vụ", "parent_code": H41, "kind": "department"}
    )
    with pytest.raises(PermissionDenied):
        orgs_service.upsert_units(tree, pull_in, principal=ADMIN_H41)
    push_out = units(
        {"code": f"{H41}.S07", "name": "Sở Y tế", "parent_code": H40, "kind": "department"}
    )
    with pytest.raises(PermissionDenied):
        orgs_service.upsert_units(tree, push_out, principal=ADMIN_H41)
    assert path_of(tree, f"{H40}.S05") == f"/VN/{H40}/{H40}.S05/"
    assert path_of(tree, f"{H41}.S07") == f"/VN/{H41}/{H41}.S07/"


def test_a_provincial_officer_sees_only_the_province(tree: Session) -> None:
    seen = {u.code for u in orgs_service.list_(tree, principal=HR_H41)}
    assert seen == {H41, f"{H41}.S05", f"{H41}.S05.P01", f"{H41}.S07"}
    assert orgs_service.count(tree, principal=HR_H41) == 4
    assert orgs_service.get(tree, f"{H41}.S07", principal=HR_H41).code == f"{H41}.S07"
    with pytest.raises(PermissionDenied):
        orgs_service.get(tree, f"{H40}.S05", principal=HR_H41)
    with pytest.raises(PermissionDenied):
        orgs_service.get(tree, "VN", principal=HR_H41)
    assert orgs_service.in_scope(tree, HR_H41, f"{H41}.S05.P01")
    assert not orgs_service.in_scope(tree, HR_H41, H40)
    assert not orgs_service.in_scope(tree, HR_H41, "NOWHERE")
    assert orgs_service.in_scope(tree, operator(), H40)
    with pytest.raises(PermissionDenied) as info:
        orgs_service.require_in_scope(tree, HR_H41, H40)
    assert H40 in info.value.message_vi
    with pytest.raises(NotFound):
        orgs_service.require_in_scope(tree, HR_H41, "NOWHERE")
    export = orgs_service.export(tree, principal=HR_H41)
    assert export["units"][0]["code"] == H41
    assert len(export["units"]) == 4


def test_a_user_bound_to_the_root_sees_everything(tree: Session) -> None:
    root_analyst = Principal(username="analyst", role="national_analyst", scope_code="VN")
    assert orgs_service.count(tree, principal=root_analyst) == len(TREE)
    assert orgs_service.count(tree, principal=operator()) == len(TREE)


def test_list_filters_by_parent_name_and_validity(tree: Session) -> None:
    children = orgs_service.list_(tree, principal=operator(), parent_code=H41)
    assert [u.code for u in children] == [f"{H41}.S05", f"{H41}.S07"]
    found = orgs_service.list_(tree, principal=operator(), q="nội vụ")
    assert {u.code for u in found} == {f"{H41}.S05", f"{H40}.S05", "000.00.00.G09"}
    assert {u.code for u in orgs_service.list_(tree, principal=operator(), q="H44")} == {
        "000.00.00.H44"
    }
    current = orgs_service.list_(tree, principal=operator(), include_ended=False)
    assert "000.00.00.H44" not in {u.code for u in current}
    assert len(current) == len(TREE) - 1
    page = orgs_service.list_(tree, principal=operator(), limit=3, offset=2)
    everything = orgs_service.list_(tree, principal=operator())
    assert [u.code for u in page] == [u.code for u in everything[2:5]]
    assert orgs_service.list_(tree, principal=operator(), q="100%") == []


def test_successors_are_followed_transitively(tree: Session) -> None:
    later = units(
        {
            "code": "000.00.00.H45",
            "name": "UBND tỉnh Quảng Trị",
            "parent_code": "VN",
            "kind": "province",
            "valid_from": "2025-07-01",
            "valid_to": "2030-12-31",
            "successor_codes": ["000.00.00.H46"],
        },
        {
            "code": "000.00.00.H46",
            "name": "Tỉnh mới",
            "parent_code": "VN",
            "kind": "province",
            "valid_from": "2031-01-01",
            "successor_codes": ["000.00.00.H44"],
        },
    )
    orgs_service.upsert_units(tree, later, principal=operator())
    chain = orgs_service.successors(tree, "000.00.00.H44")
    assert [u.code for u in chain] == ["000.00.00.H45", "000.00.00.H46"]  # the loop back is cut
    assert orgs_service.successors(tree, H41) == []
    with pytest.raises(NotFound):
        orgs_service.successors(tree, "NOWHERE")


def test_staffing_sums_the_units_in_force(tree: Session) -> None:
    s = orgs_service.staffing(tree, H41)
    assert (s.quota, s.subtree_quota, s.subtree_units, s.units_without_quota) == (100, 190, 4, 0)
    national = orgs_service.staffing(tree, "VN", as_of=dt.date(2026, 1, 1))
    # Quảng Bình ended in 2025 and does not count; VN and G09 have no quota.
    assert national.subtree_quota == 100 + 30 + 10 + 50 + 80 + 20 + 150
    assert national.units_without_quota == 2
    before_merger = orgs_service.staffing(tree, "VN", as_of=dt.date(2025, 1, 1))
    assert before_merger.subtree_quota == 100 + 30 + 10 + 50 + 80 + 20 + 90


def test_export_then_import_round_trips(tree: Session) -> None:
    body = orgs_service.export(tree, principal=operator())
    codes = [u["code"] for u in body["units"]]
    assert len(codes) == len(TREE)
    position = {c: i for i, c in enumerate(codes)}
    for u in body["units"]:
        if u["parent_code"] is not None:
            assert position[u["parent_code"]] < position[u["code"]], u["code"]
    by_code = {u["code"]: u for u in body["units"]}
    assert by_code["000.00.00.H44"] == {
        "code": "000.00.00.H44",
        "name": "UBND tỉnh Quảng Bình",
        "parent_code": "VN",
        "kind": "province",
        "valid_from": None,
        "valid_to": "2025-06-30",
        "successor_codes": ["000.00.00.H45"],
        "admin_unit": {"scheme": "legacy", "code": "44"},
        "staffing_quota": 90,
    }
    again = orgs_service.upsert_units(tree, units(*body["units"]), principal=operator())
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(TREE))


def test_round_trip_into_an_empty_database(tree: Session) -> None:
    body = orgs_service.export(tree, principal=operator())
    # Empty the tree inside this test's transaction, then load the export back.
    tree.execute(OrgUnit.__table__.delete())
    result = orgs_service.upsert_units(tree, units(*body["units"]), principal=operator())
    assert result.created == len(TREE)
    assert orgs_service.export(tree, principal=operator()) == body


def test_subtree_select_serves_in_filters_and_uses_the_index(tree: Session, backend: str) -> None:
    tree.add(
        User(
            username="u1",
            full_name="A",
            password_hash="x",
            role="hr_officer",
            org_unit_code=f"{H41}.S05.P01",
        )
    )
    tree.add(
        User(
            username="u2",
            full_name="B",
            password_hash="x",
            role="hr_officer",
            org_unit_code=f"{H40}.S05",
        )
    )
    tree.flush()
    prefix = path_of(tree, H41)
    names = (
        tree.execute(
            select(User.username).where(
                User.org_unit_code.in_(orgs_service.codes_in_subtree_select(prefix))
            )
        )
        .scalars()
        .all()
    )
    assert names == ["u1"]
    if backend == "sqlite":
        plan = tree.execute(
            text("EXPLAIN QUERY PLAN SELECT code FROM org_unit WHERE path GLOB :p"),
            {"p": prefix + "*"},
        ).all()
        assert "ix_org_unit_path" in " ".join(str(r) for r in plan)
    else:
        compiled = str(orgs_service.codes_in_subtree_select(prefix).compile(tree.get_bind()))
        assert " LIKE " in compiled


def test_scope_path_of_an_unknown_unit_is_not_found(tree: Session) -> None:
    with pytest.raises(NotFound) as info:
        orgs_service.scope_path(tree, "NOWHERE")
    assert "NOWHERE" in info.value.message_vi and "NOWHERE" in info.value.message_en
    gone = Principal(username="x", role="hr_officer", scope_code="NOWHERE")
    with pytest.raises(PermissionDenied):
        orgs_service.list_(tree, principal=gone)


def test_importing_the_whole_tree_with_one_province_moved(tree: Session) -> None:
    rows = [dict(r) for r in TREE]
    for row in rows:
        if row["code"] == H41:
            row["parent_code"] = "000.00.00.G09"
    result = orgs_service.upsert_units(tree, units(*rows), principal=operator())
    assert (result.created, result.updated, result.unchanged) == (0, 1, len(TREE) - 1)
    (event,) = tree.execute(
        select(AuditEvent).where(AuditEvent.action == "org:unit:update")
    ).scalars()
    assert event.subject_id == H41
    assert event.data["changes"] == {"parent_code": ["VN", "000.00.00.G09"]}
    assert event.data["subtree_moved"] == 4  # H41 and its three units, in one UPDATE
    for unit in tree.execute(select(OrgUnit)).scalars():
        tree.refresh(unit)
        parent_path = "/" if unit.parent_code is None else path_of(tree, unit.parent_code)
        assert unit.path == f"{parent_path}{unit.code}/", unit.code
    again = orgs_service.upsert_units(tree, units(*rows), principal=operator())
    assert again.unchanged == len(TREE)
