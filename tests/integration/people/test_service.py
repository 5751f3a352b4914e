"""Dossier service on a real database: versions, history, scope and audit."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest_people import dossier_line  # type: ignore[import-not-found]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.auth.principal import Principal, operator
from hoso.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hoso.people import service
from hoso.people.canonical import content_hash
from hoso.people.models import PersonVersion
from hoso.people.schemas import PersonWrite

NGHE_AN_HR = Principal(username="hr41", role="hr_officer", scope_code="000.00.00.H41")
HA_TINH_HR = Principal(username="hr40", role="hr_officer", scope_code="000.00.00.H40")


def write(**kw: object) -> PersonWrite:
    return PersonWrite.model_validate(dossier_line(**kw))  # type: ignore[arg-type]


def test_create_read_and_hash(orgs: Session) -> None:
    created = service.create(orgs, write(), principal=NGHE_AN_HR)
    assert created.version == 1 and created.previous_content_hash is None
    assert created.content_hash == content_hash(created.data)
    got = service.get_by_personal_id(orgs, "040085000001", principal=NGHE_AN_HR)
    assert got.data == created.data
    assert got.created_by == "hr41"


def test_update_makes_versions_chained_and_diffable(orgs: Session) -> None:
    v1 = service.create(orgs, write(), principal=NGHE_AN_HR)
    v2 = service.update(
        orgs,
        "040085000001",
        write(salary_step=5, salary_coefficient="3.66"),
        principal=NGHE_AN_HR,
        expected_version=1,
    )
    assert v2.version == 2 and v2.previous_content_hash == v1.content_hash
    same = service.update(
        orgs, "040085000001", write(salary_step=5, salary_coefficient="3.66"), principal=NGHE_AN_HR
    )
    assert same.version == 2  # identical data: no new version
    versions = service.list_versions(orgs, "040085000001", principal=NGHE_AN_HR)
    assert [v.version for v in versions] == [2, 1]
    old = service.get_version(orgs, "040085000001", 1, principal=NGHE_AN_HR)
    assert old.data["salary_step"] == 4
    d = service.diff(orgs, "040085000001", 1, 2, principal=NGHE_AN_HR)
    assert {(c.path, c.op, c.old, c.new) for c in d.changes} == {
        ("salary_step", "changed", 4, 5),
        ("salary_coefficient", "changed", "3.33", "3.66"),
    }


def test_table_diff_uses_row_paths(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    line = dossier_line()
    line["data"]["work_history"][1]["to"] = "2020-06"
    line["data"]["work_history"].append(
        {"from": "2020-07", "unit": "Sở Y tế", "title": "Phó Giám đốc"}
    )
    service.update(orgs, "040085000001", PersonWrite.model_validate(line), principal=NGHE_AN_HR)
    changes = service.diff(orgs, "040085000001", 1, 2, principal=NGHE_AN_HR).changes
    assert {c.path for c in changes} == {"work_history[1].to", "work_history[2]"}


def test_stale_expected_version_conflicts(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    service.update(orgs, "040085000001", write(salary_step=5), principal=NGHE_AN_HR)
    with pytest.raises(Conflict) as info:
        service.update(
            orgs, "040085000001", write(salary_step=6), principal=NGHE_AN_HR, expected_version=1
        )
    assert info.value.code == "version_conflict"


def test_create_twice_conflicts(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    with pytest.raises(Conflict):
        service.create(orgs, write(), principal=NGHE_AN_HR)


def test_as_of_date(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    v = orgs.execute(select(PersonVersion)).scalar_one()
    v.created_at = dt.datetime(2026, 1, 10, 3, 0, tzinfo=dt.UTC)
    orgs.flush()
    service.update(orgs, "040085000001", write(salary_step=5), principal=NGHE_AN_HR)
    assert (
        service.get_as_of(orgs, "040085000001", dt.date(2026, 1, 10), principal=NGHE_AN_HR).version
        == 1
    )
    assert (
        service.get_as_of(
            orgs, "040085000001", dt.date.today() + dt.timedelta(days=1), principal=NGHE_AN_HR
        ).version
        == 2
    )
    with pytest.raises(NotFound):
        service.get_as_of(orgs, "040085000001", dt.date(2025, 12, 31), principal=NGHE_AN_HR)


def test_scope_hides_other_provinces(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    with pytest.raises(NotFound):
        service.get_by_personal_id(orgs, "040085000001", principal=HA_TINH_HR)
    assert service.list_(orgs, principal=HA_TINH_HR).total == 0
    assert service.list_(orgs, principal=NGHE_AN_HR).total == 1
    with pytest.raises(InvalidInput) as info:
        service.create(orgs, write(pid="040085000002"), principal=HA_TINH_HR)
    assert [(i.field, i.code) for i in info.value.issues] == [("managing_agency", "out_of_scope")]


def test_concurrent_post_gives_visibility(orgs: Session) -> None:
    line = dossier_line()
    line["concurrent_posts"] = [{"unit_code": "000.00.00.H40.S05", "title": "Kiêm nhiệm"}]
    service.create(orgs, PersonWrite.model_validate(line), principal=operator())
    assert service.get_by_personal_id(orgs, "040085000001", principal=HA_TINH_HR).version == 1
    posts = service.list_posts(orgs, "040085000001", principal=HA_TINH_HR)
    assert [(p.unit_code, p.kind) for p in posts] == [
        ("000.00.00.H41.S05", "primary"),
        ("000.00.00.H40.S05", "concurrent"),
    ]


def test_update_keeps_concurrent_posts_unless_given(orgs: Session) -> None:
    line = dossier_line()
    line["concurrent_posts"] = [{"unit_code": "000.00.00.H40.S05", "title": "Kiêm nhiệm"}]
    service.create(orgs, PersonWrite.model_validate(line), principal=operator())
    edited = {**line, "data": {**line["data"], "phone": "0912345678"}}
    del edited["concurrent_posts"]
    service.update(orgs, "040085000001", PersonWrite.model_validate(edited), principal=operator())
    posts = service.list_posts(orgs, "040085000001", principal=operator())
    assert [(p.unit_code, p.kind, p.title) for p in posts] == [
        ("000.00.00.H41.S05", "primary", None),
        ("000.00.00.H40.S05", "concurrent", "Kiêm nhiệm"),
    ]
    edited["concurrent_posts"] = []
    edited["data"]["phone"] = "0912345679"
    service.update(orgs, "040085000001", PersonWrite.model_validate(edited), principal=operator())
    posts = service.list_posts(orgs, "040085000001", principal=operator())
    assert [p.kind for p in posts] == ["primary"]


def test_roles_are_enforced(orgs: Session) -> None:
    analyst = Principal(username="a", role="national_analyst", scope_code=None)
    with pytest.raises(PermissionDenied):
        service.create(orgs, write(), principal=analyst)


def test_structural_error_stores_nothing(orgs: Session) -> None:
    with pytest.raises(InvalidInput) as info:
        service.create(orgs, write(date_of_birth="1985-02-30"), principal=NGHE_AN_HR)
    assert info.value.issues[0].field == "date_of_birth"
    assert orgs.execute(select(func.count()).select_from(PersonVersion)).scalar_one() == 0


def test_every_change_is_audited_in_the_chain(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    service.update(orgs, "040085000001", write(salary_step=5), principal=NGHE_AN_HR)
    events = (
        orgs.execute(
            select(AuditEvent)
            .where(AuditEvent.action == "person:version:create")
            .order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert [(e.subject_id, e.data["version"]) for e in events] == [
        ("040085000001", 1),
        ("040085000001", 2),
    ]
    assert audit_service.verify_chain(orgs) == (True, None)
    events[0].data = {"version": 99}
    orgs.flush()
    ok, broken = audit_service.verify_chain(orgs)
    assert not ok and broken == events[0].id


def test_search_without_diacritics(orgs: Session) -> None:
    service.create(orgs, write(), principal=NGHE_AN_HR)
    service.create(
        orgs, write(pid="040185000002", birth_name="TRẦN THỊ HƯƠNG", sex="F"), principal=NGHE_AN_HR
    )
    assert [p.personal_id for p in service.list_(orgs, principal=NGHE_AN_HR, q="huong").items] == [
        "040185000002"
    ]
    assert service.list_(orgs, principal=NGHE_AN_HR, q="nguyen van").total == 1
    assert service.list_(orgs, principal=NGHE_AN_HR, q="0401").total == 1
    assert service.list_(orgs, principal=NGHE_AN_HR, sex="F").total == 1
