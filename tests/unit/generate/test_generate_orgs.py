"""The synthetic org tree is a well-formed ``orgtree.upsert`` body with the 2025 mergers."""

from __future__ import annotations

import re

import pytest

from hoso.catalog.admin_units import wards_2025, wards_legacy
from hoso.generate.orgs import MINISTRIES, OrgUnitDict, generate_orgs
from hoso.orgs.kinds import KINDS

CODE = re.compile(r"^[0-9A-Z]+(\.[0-9A-Z]+)*$")


def _active_roots(units: list[OrgUnitDict]) -> list[OrgUnitDict]:
    return [u for u in units if u["parent_code"] is None and u["valid_to"] is None]


def test_codes_are_unique_well_formed_and_nested(default_orgs: list[OrgUnitDict]) -> None:
    codes = [u["code"] for u in default_orgs]
    assert len(codes) == len(set(codes))
    seen: set[str] = set()
    for u in default_orgs:
        assert CODE.match(u["code"]) and len(u["code"]) <= 60, u["code"]
        assert u["kind"] in KINDS
        assert u["name"] and u["name"] == u["name"].strip()
        parent = u["parent_code"]
        if parent is not None:
            assert parent in seen, f"{u['code']} listed before its parent {parent}"
            assert u["code"].startswith(parent + ".") and "." not in u["code"][len(parent) + 1 :]
        seen.add(u["code"])


def test_at_least_ten_managing_agencies_by_default(default_orgs: list[OrgUnitDict]) -> None:
    roots = _active_roots(default_orgs)
    assert len(roots) == 12
    kinds = {u["kind"] for u in roots}
    assert {"ministry", "province"} <= kinds
    by_code = {u["code"]: u for u in roots}
    assert by_code["000.00.00.G09"]["name"] == "Bộ Nội vụ"
    assert by_code["000.00.00.G12"]["name"] == "Bộ Tài chính"
    for u in roots:
        if u["kind"] == "province":
            assert re.fullmatch(r"000\.00\.00\.H\d\d", u["code"])
            assert u["admin_unit"] == {"scheme": "2025", "code": u["code"][-2:]}


@pytest.mark.parametrize("agencies", [1, 3, 20, len(MINISTRIES) + 34])
def test_agencies_parameter(agencies: int) -> None:
    units = generate_orgs(5, agencies, communes_per_province=1)
    assert len(_active_roots(units)) == agencies


def test_too_many_agencies_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_orgs(1, len(MINISTRIES) + 35)


def test_mergers_have_existing_successors(default_orgs: list[OrgUnitDict]) -> None:
    codes = {u["code"]: u for u in default_orgs}
    ended = [u for u in default_orgs if u["valid_to"] is not None]
    assert any(u["valid_to"] == "2025-06-30" for u in ended)
    assert any(u["valid_to"] == "2025-02-28" for u in ended)
    for u in ended:
        assert u["successor_codes"], u["code"]
        for s in u["successor_codes"]:
            assert s in codes and codes[s]["valid_to"] is None, (u["code"], s)
    legacy_provinces = [u for u in ended if u["kind"] == "province"]
    assert legacy_provinces
    for u in legacy_provinces:
        assert u["admin_unit"]["scheme"] == "legacy"
        assert codes[u["successor_codes"][0]]["kind"] == "province"
    assert all(u["successor_codes"] == [] for u in default_orgs if u["valid_to"] is None)


def test_communes_use_the_province_communes(default_orgs: list[OrgUnitDict]) -> None:
    w25, wl = wards_2025(), wards_legacy()
    communes = [u for u in default_orgs if u["kind"] == "commune"]
    new = [u for u in communes if u["valid_to"] is None]
    assert len(new) >= 50
    for u in new:
        ward = u["admin_unit"]["code"]
        assert u["admin_unit"]["scheme"] == "2025"
        assert w25[ward].province_code == u["parent_code"][-2:]
        assert u["name"].startswith("Ủy ban nhân dân ")
    for u in communes:
        if u["valid_to"] is not None:
            assert u["admin_unit"]["scheme"] == "legacy" and u["admin_unit"]["code"] in wl


def test_staffing_quotas_add_up(default_orgs: list[OrgUnitDict]) -> None:
    children: dict[str, int] = {}
    for u in default_orgs:
        assert isinstance(u["staffing_quota"], int) and u["staffing_quota"] > 0, u["code"]
        if u["parent_code"]:
            children[u["parent_code"]] = children.get(u["parent_code"], 0) + u["staffing_quota"]
    for u in default_orgs:
        assert u["staffing_quota"] >= children.get(u["code"], 0)


def test_tree_has_schools_and_hospitals(default_orgs: list[OrgUnitDict]) -> None:
    psu = [u["name"] for u in default_orgs if u["kind"] == "public_service_unit"]
    for prefix in ("Trường Mầm non", "Trường Tiểu học", "Trường Trung học cơ sở",
                   "Trường Trung học phổ thông", "Bệnh viện", "Trung tâm Kiểm soát bệnh tật"):  # fmt: skip
        assert any(n.startswith(prefix) for n in psu), prefix


def test_deterministic_for_a_seed(default_orgs: list[OrgUnitDict]) -> None:
    assert generate_orgs(1) == default_orgs
    assert generate_orgs(2) != default_orgs


def test_accepted_by_the_orgtree_schema(default_orgs: list[OrgUnitDict]) -> None:
    from hoso.orgs.schemas import OrgTreeIn

    tree = OrgTreeIn.model_validate({"units": default_orgs})
    assert len(tree.units) == len(default_orgs)
