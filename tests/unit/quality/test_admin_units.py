"""Conversion of legacy administrative units to the 2025 units, and the address lookups.

Expected values come from public knowledge (the 2025 resolutions on the arrangement of
commune-level units, NQ 1656/NQ-UBTVQH15 for Hà Nội, NQ 202/2025/QH15 for the provinces)
and from the code lists, looked up by *name* in the catalogue's lists, never from the code
under test.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import polars as pl
import pytest

from hoso.catalog import admin_units as catalog_units
from hoso.catalog import loader
from hoso.quality import admin_units as au


def legacy_code(ward: str, district: str, province: str) -> str:
    """The legacy commune code of a commune named ``ward`` in ``district`` of ``province``."""
    districts = catalog_units.districts_legacy()
    found = [
        w.code
        for w in catalog_units.wards_legacy().values()
        if w.name == ward
        and w.province_code == province
        and districts[w.district_code or ""].name == district
    ]
    assert len(found) == 1, (ward, district, found)
    return found[0]


def new_code(ward: str, province: str) -> str:
    """The 2025 code of the commune named ``ward`` in the 2025 province ``province``."""
    found = [
        w.code
        for w in catalog_units.wards_2025().values()
        if w.name == ward and w.province_code == province
    ]
    assert len(found) == 1, (ward, found)
    return found[0]


def district_code(name: str, province: str) -> str:
    """The legacy district code of the district named ``name`` in ``province``."""
    found = [
        d.code
        for d in catalog_units.districts_legacy().values()
        if d.name == name and d.province_code == province
    ]
    assert len(found) == 1, (name, found)
    return found[0]


def is_nfc(text: str) -> bool:
    return unicodedata.normalize("NFC", text) == text


# Phường Hoàn Kiếm, Phường Cửa Nam and Phường Ba Đình (NQ 1656/NQ-UBTVQH15): communes that
# went wholly into one new ward.
WHOLLY_MERGED = [
    ("Phường Hàng Bạc", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Bồ", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Buồm", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Đào", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Gai", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Mã", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Lý Thái Tổ", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
    ("Phường Hàng Bài", "Quận Hoàn Kiếm", "Phường Cửa Nam"),
    ("Phường Phan Chu Trinh", "Quận Hoàn Kiếm", "Phường Cửa Nam"),
    ("Phường Trần Hưng Đạo", "Quận Hoàn Kiếm", "Phường Cửa Nam"),
    ("Phường Quán Thánh", "Quận Ba Đình", "Phường Ba Đình"),
    ("Phường Trúc Bạch", "Quận Ba Đình", "Phường Ba Đình"),
]


@pytest.mark.parametrize(("ward", "district", "new_ward"), WHOLLY_MERGED)
def test_communes_merged_wholly_convert_exactly(ward: str, district: str, new_ward: str) -> None:
    result = au.convert_address("legacy", legacy_code(ward, district, "01"), None, "01")
    assert result.status == "exact"
    assert result.ward_code == new_code(new_ward, "01")
    assert result.province_code == "01"
    assert result.scheme == "2025"
    assert [c.ward_name for c in result.candidates] == [new_ward]
    # Names cross-check: the new ward carries the name of the old district its parts came from
    # (Phường Hoàn Kiếm, Phường Ba Đình) or of one of its parts (Phường Cửa Nam, below).
    assert new_ward.removeprefix("Phường ") in (district.removeprefix("Quận "), "Cửa Nam")


def test_new_cua_nam_ward_keeps_the_name_and_code_of_a_part() -> None:
    # Phường Cửa Nam (2025) took part of the legacy Phường Cửa Nam; its code 00082 is the code
    # of the legacy Phường Trần Hưng Đạo, one of the communes it was formed from.
    old_cua_nam = au.convert_address(
        "legacy", legacy_code("Phường Cửa Nam", "Quận Hoàn Kiếm", "01"), None, "01"
    )
    assert "Phường Cửa Nam" in {c.ward_name for c in old_cua_nam.candidates}
    tran_hung_dao = legacy_code("Phường Trần Hưng Đạo", "Quận Hoàn Kiếm", "01")
    assert new_code("Phường Cửa Nam", "01") == tran_hung_dao


def test_merged_commune_explanation_is_bilingual_vietnamese_first() -> None:
    result = au.convert_address(
        "legacy", legacy_code("Phường Hàng Bạc", "Quận Hoàn Kiếm", "01"), None, "01"
    )
    vi, en = result.explanation.split(" / ")
    assert vi == result.explanation_vi and en == result.explanation_en
    assert vi.startswith("Phường Hàng Bạc (quận Hoàn Kiếm, thành phố Hà Nội)")
    assert "nay thuộc phường Hoàn Kiếm, thành phố Hà Nội" in vi
    assert en.startswith("Phường Hàng Bạc (Quận Hoàn Kiếm, Thành phố Hà Nội)")
    assert "is now part of Phường Hoàn Kiếm, Thành phố Hà Nội" in en
    assert is_nfc(result.explanation)


def test_commune_of_a_merged_province_goes_to_the_new_province() -> None:
    # Long An (legacy 80) merged into Tây Ninh, which took code 80 (NQ 202/2025/QH15):
    # Phường 1 of Tân An is now in Phường Long An, Tỉnh Tây Ninh.
    result = au.convert_address(
        "legacy", legacy_code("Phường 1", "Thành phố Tân An", "80"), None, "80"
    )
    assert result.status == "exact"
    assert result.ward_code == new_code("Phường Long An", "80")
    assert result.province_code == "80"
    # A numbered ward keeps its capital inside the sentence; a named unit type does not.
    assert result.explanation_vi.startswith("Phường 1 (thành phố Tân An, tỉnh Long An)")
    assert result.explanation_vi.endswith("phường Long An, tỉnh Tây Ninh")


def test_numbered_units_keep_their_capital_inside_the_sentence() -> None:
    # Phường Bến Nghé (Quận 1) went wholly into Phường Sài Gòn (TP Hồ Chí Minh, 2025).
    result = au.convert_address(
        "legacy", legacy_code("Phường Bến Nghé", "Quận 1", "79"), None, "79"
    )
    assert result.status == "exact"
    assert result.ward_code == new_code("Phường Sài Gòn", "79")
    assert result.explanation_vi == (
        "Phường Bến Nghé (Quận 1, thành phố Hồ Chí Minh) nay thuộc phường Sài Gòn, "
        "thành phố Hồ Chí Minh"
    )


@pytest.mark.parametrize(
    ("ward", "parts_of"),
    [
        # Both new wards took a part of Hàng Trống and of Tràng Tiền (NQ 1656/NQ-UBTVQH15).
        ("Phường Hàng Trống", {"Phường Hoàn Kiếm", "Phường Cửa Nam"}),
        ("Phường Tràng Tiền", {"Phường Hoàn Kiếm", "Phường Cửa Nam"}),
        # The legacy Cửa Nam was shared by Cửa Nam, Hoàn Kiếm, Ba Đình and Văn Miếu - QTG.
        ("Phường Cửa Nam", {"Phường Cửa Nam", "Phường Hoàn Kiếm", "Phường Ba Đình"}),
    ],
)
def test_split_commune_is_ambiguous_with_every_successor(ward: str, parts_of: set[str]) -> None:
    code = legacy_code(ward, "Quận Hoàn Kiếm", "01")
    result = au.convert_address("legacy", code, None, "01", legacy_text="số 5 phố Hàng Trống")
    assert result.status == "ambiguous"
    assert result.ward_code is None
    assert result.province_code == "01"
    names = {c.ward_name for c in result.candidates}
    assert parts_of <= names
    assert len(result.candidates) == len(names) >= 2
    assert {c.province_code for c in result.candidates} == {"01"}
    assert sum(c.library_default for c in result.candidates) == 1
    assert "cần người duyệt chọn" in result.explanation_vi
    assert "a reviewer must choose" in result.explanation_en
    # The legacy wording is kept for the reviewer and said to be unused for now.
    assert "'số 5 phố Hàng Trống'" in result.explanation_vi
    assert "not yet used" in result.explanation_en
    for candidate in result.candidates:
        assert f"({candidate.ward_code})" in result.explanation_vi


def test_ambiguous_without_legacy_text_says_nothing_about_it() -> None:
    code = legacy_code("Phường Hàng Trống", "Quận Hoàn Kiếm", "01")
    result = au.convert_address("legacy", code, None, "01")
    assert result.status == "ambiguous"
    assert "địa danh cũ" not in result.explanation_vi


def test_every_legacy_commune_gets_a_status() -> None:
    wards_2025 = catalog_units.wards_2025()
    statuses: Counter[str] = Counter()
    for code, ward in catalog_units.wards_legacy().items():
        result = au.convert_address("legacy", code, ward.district_code, ward.province_code)
        statuses[result.status] += 1
        assert result.status in ("exact", "ambiguous"), (code, result)
        # The province from the spec's code list, independent of the library's ward data.
        expected_province = (
            loader.get_catalog()
            .codelists["province_legacy"]
            .codes[ward.province_code]
            .extra["merged_into_2025_code"]
        )
        assert result.province_code == expected_province, code
        assert {c.province_code for c in result.candidates} == {expected_province}, code
        assert all(c.ward_code in wards_2025 for c in result.candidates), code
        if result.status == "exact":
            assert len(result.candidates) == 1
            assert result.ward_code == result.candidates[0].ward_code
        else:
            assert result.ward_code is None
            assert len({c.ward_code for c in result.candidates}) == len(result.candidates) >= 2
            assert sum(c.library_default for c in result.candidates) == 1
        assert result.explanation_vi.startswith(ward.name), code
        assert "(lưu ý" not in result.explanation_vi, code
        assert is_nfc(result.explanation)
    assert sum(statuses.values()) == len(catalog_units.wards_legacy())
    stats = au.conversion_stats()
    assert (stats.exact, stats.ambiguous, stats.not_found) == (
        statuses["exact"],
        statuses["ambiguous"],
        statuses["not_found"],
    )
    assert stats.legacy_wards == len(catalog_units.wards_legacy())
    assert sum(n for _, n in stats.candidate_counts) == stats.ambiguous


def test_a_2025_code_reused_from_a_legacy_commune_is_one_of_its_successors() -> None:
    # A 2025 unit keeps the code of one of the legacy units it was formed from
    # (codelists/README.md): the legacy commune with that code must convert into it.
    legacy = catalog_units.wards_legacy()
    reused = [code for code in catalog_units.wards_2025() if code in legacy]
    assert len(reused) > 3000
    wrong = [
        code
        for code in reused
        if code
        not in {c.ward_code for c in au.convert_address("legacy", code, None, None).candidates}
    ]
    assert wrong == []


def test_every_2025_commune_has_a_predecessor_and_round_trips() -> None:
    wards_2025 = catalog_units.wards_2025()
    frame = au.conversion_frame()
    reached = set(frame["candidate_ward_codes"].explode().to_list())
    islands = {
        au.convert_address("legacy", None, d.code, d.province_code).ward_code
        for d in catalog_units.districts_legacy().values()
        if not any(w.district_code == d.code for w in catalog_units.wards_legacy().values())
    }
    assert reached <= set(wards_2025)
    assert reached | (islands - {None}) == set(wards_2025)
    for code, ward in wards_2025.items():
        again = au.convert_address("2025", code, None, ward.province_code)
        assert (again.status, again.ward_code, again.province_code) == (
            "already_2025",
            code,
            ward.province_code,
        )


def test_names_of_new_communes_mostly_come_from_their_predecessors() -> None:
    # Most new communes are named after one of the communes or districts they were formed
    # from; a shifted key-to-code mapping would break this for nearly all of them.
    legacy = catalog_units.wards_legacy()
    districts = catalog_units.districts_legacy()
    wards_2025 = catalog_units.wards_2025()

    def short(name: str) -> str:
        for unit_type in (
            "Thành phố ",
            "Thị trấn ",
            "Thị xã ",
            "Phường ",
            "Huyện ",
            "Quận ",
            "Xã ",
        ):
            if name.startswith(unit_type):
                return name[len(unit_type) :]
        return name

    names: dict[str, set[str]] = {}
    for row in au.conversion_frame().iter_rows(named=True):
        old = legacy[row["legacy_ward_code"]]
        for code in row["candidate_ward_codes"]:
            names.setdefault(code, set()).update(
                {short(old.name), short(districts[old.district_code or ""].name)}
            )
    named_after = sum(short(wards_2025[c].name) in n for c, n in names.items())
    assert named_after / len(wards_2025) > 0.7


def test_island_districts_without_communes_became_special_zones() -> None:
    # Côn Đảo (Bà Rịa - Vũng Tàu) is now Đặc khu Côn Đảo of Thành phố Hồ Chí Minh;
    # Lý Sơn (Quảng Ngãi) Đặc khu Lý Sơn; Bạch Long Vĩ (Hải Phòng) Đặc khu Bạch Long Vĩ.
    for district, old_province, zone, new_province in [
        ("Huyện Côn Đảo", "77", "Đặc khu Côn Đảo", "79"),
        ("Huyện Lý Sơn", "51", "Đặc khu Lý Sơn", "51"),
        ("Huyện Bạch Long Vĩ", "31", "Đặc khu Bạch Long Vĩ", "31"),
    ]:
        code = district_code(district, old_province)
        result = au.convert_address("legacy", None, code, old_province)
        assert result.status == "exact", district
        assert result.ward_code == new_code(zone, new_province)
        assert result.province_code == new_province
        assert f"đặc khu {zone.removeprefix('Đặc khu ')}" in result.explanation_vi


def test_legacy_address_without_commune_converts_the_province_only() -> None:
    result = au.convert_address("legacy", None, None, "82", legacy_text="Mỹ Tho, Tiền Giang")
    # Tiền Giang (82) merged into Đồng Tháp, which took code 82.
    assert (result.status, result.ward_code, result.province_code) == ("exact", None, "82")
    assert "Tỉnh Tiền Giang nay thuộc tỉnh Đồng Tháp" in result.explanation_vi
    hoan_kiem = district_code("Quận Hoàn Kiếm", "01")
    district_only = au.convert_address("legacy", None, hoan_kiem, "01")
    assert (district_only.ward_code, district_only.province_code) == (None, "01")
    assert "cấp huyện không còn" in district_only.explanation_vi
    # A legacy district of one province declared under another province.
    mismatch = au.convert_address("legacy", None, hoan_kiem, "79")
    assert mismatch.status == "not_found"


def test_declared_codes_that_disagree_with_the_commune_are_noted() -> None:
    code = legacy_code("Phường Hàng Bạc", "Quận Hoàn Kiếm", "01")
    ba_dinh = district_code("Quận Ba Đình", "01")
    result = au.convert_address("legacy", code, ba_dinh, "02")
    assert result.status == "exact"
    assert "mã tỉnh đã khai '02'" in result.explanation_vi
    assert f"mã huyện đã khai '{ba_dinh}'" in result.explanation_vi
    assert "the declared province code '02'" in result.explanation_en


def test_not_found_and_wrong_scheme() -> None:
    unknown = au.convert_address("legacy", "99999", None, "01")
    assert (unknown.status, unknown.ward_code, unknown.province_code) == ("not_found", None, "01")
    assert unknown.candidates == ()
    assert "'99999'" in unknown.explanation_vi and "'99999'" in unknown.explanation_en

    # A special zone exists only in the 2025 list: declared legacy, it points at the scheme.
    con_dao = new_code("Đặc khu Côn Đảo", "79")
    assert con_dao not in catalog_units.wards_legacy()
    mislabelled = au.convert_address("legacy", con_dao, None, None)
    assert mislabelled.status == "not_found"
    assert "kiểm tra lại hệ mã" in mislabelled.explanation_vi

    # A dissolved commune declared as 2025 (SACH-008): not found, with its legacy reading.
    hang_bac = legacy_code("Phường Hàng Bạc", "Quận Hoàn Kiếm", "01")
    as_2025 = au.convert_address("2025", hang_bac, None, "01")
    assert as_2025.status == "not_found"
    assert "Phường Hàng Bạc" in as_2025.explanation_vi

    assert au.convert_address(None, "00070", None, "01").status == "not_found"
    bogus = au.convert_address("1990", "00070", None, "01")
    assert bogus.status == "not_found" and "'1990'" in bogus.explanation_vi
    assert au.convert_address("legacy", None, None, None).status == "not_found"
    assert au.convert_address("legacy", " ", "", None).status == "not_found"
    old_province = au.convert_address("2025", None, None, "02")
    assert old_province.status == "not_found" and "Hà Giang" in old_province.explanation_vi


def test_already_2025_notes_a_district_code() -> None:
    hoan_kiem = new_code("Phường Hoàn Kiếm", "01")
    result = au.convert_address("2025", hoan_kiem, "002", "01")
    assert (result.status, result.ward_code, result.province_code) == (
        "already_2025",
        hoan_kiem,
        "01",
    )
    assert "không có cấp huyện" in result.explanation_vi
    province_only = au.convert_address("2025", None, None, "82")
    assert (province_only.status, province_only.ward_code) == ("already_2025", None)


def test_every_explanation_is_nfc_even_from_decomposed_input() -> None:
    code = legacy_code("Phường Hàng Trống", "Quận Hoàn Kiếm", "01")
    decomposed = unicodedata.normalize("NFD", "phố Hàng Trống")
    result = au.convert_address("legacy", code, None, "01", legacy_text=decomposed)
    assert is_nfc(result.explanation)
    assert "'phố Hàng Trống'" in result.explanation_vi


def test_legacy_province_to_2025_agrees_with_the_2025_formed_from_column() -> None:
    formed_from = {
        old: new
        for new, entry in loader.get_catalog().codelists["province_2025"].codes.items()
        for old in entry.extra["formed_from_legacy_codes"].split(";")
    }
    assert len(formed_from) == 63
    for old, new in formed_from.items():
        assert au.legacy_province_to_2025(old) == new, old
    # Public knowledge (NQ 202/2025/QH15): codes reused by different provinces.
    assert au.legacy_province_to_2025("82") == "82"  # Tiền Giang -> Đồng Tháp
    assert au.legacy_province_to_2025("87") == "82"  # Đồng Tháp -> Đồng Tháp
    assert au.legacy_province_to_2025("10") == "15"  # Lào Cai -> Lào Cai (code of Yên Bái)
    assert au.legacy_province_to_2025("77") == "79"  # Bà Rịa - Vũng Tàu -> TP Hồ Chí Minh
    assert au.legacy_province_to_2025("01") == "01"
    assert au.legacy_province_to_2025("03") is None
    assert au.legacy_province_to_2025("") is None
    assert au.province_merge_map() == formed_from


def test_ward_in_province_uses_the_declared_scheme() -> None:
    # Xã Lũng Cú (Đồng Văn, Hà Giang 02) keeps code 00715 in Tuyên Quang (08) from 2025.
    lung_cu = legacy_code("Xã Lũng Cú", "Huyện Đồng Văn", "02")
    assert new_code("Xã Lũng Cú", "08") == lung_cu
    assert au.ward_in_province("legacy", lung_cu, "02") is True
    assert au.ward_in_province("legacy", lung_cu, "08") is False
    assert au.ward_in_province("2025", lung_cu, "08") is True
    assert au.ward_in_province("2025", lung_cu, "02") is False
    hang_bac = legacy_code("Phường Hàng Bạc", "Quận Hoàn Kiếm", "01")
    assert au.ward_in_province("2025", hang_bac, "01") is None
    assert au.ward_in_province("legacy", "99999", "01") is None
    assert au.ward_in_province("1990", lung_cu, "02") is None


def test_legacy_only_2025_label() -> None:
    hang_bac = legacy_code("Phường Hàng Bạc", "Quận Hoàn Kiếm", "01")
    hang_trong = legacy_code("Phường Hàng Trống", "Quận Hoàn Kiếm", "01")
    assert au.legacy_only_2025_label(hang_bac) is True  # dissolved into Phường Hoàn Kiếm
    # Phường Hoàn Kiếm (2025) kept the code of the legacy Phường Hàng Trống: a valid 2025 code.
    assert new_code("Phường Hoàn Kiếm", "01") == hang_trong
    assert au.legacy_only_2025_label(hang_trong) is False
    assert au.legacy_only_2025_label(new_code("Đặc khu Côn Đảo", "79")) is False
    assert au.legacy_only_2025_label("99999") is False
    assert au.legacy_only_2025_label("02", level="province") is True  # Hà Giang
    assert au.legacy_only_2025_label("82", level="province") is False
    expected = set(catalog_units.wards_legacy()) - set(catalog_units.wards_2025())
    assert au.legacy_only_codes("ward") == expected
    assert len(au.legacy_only_codes("province")) == 63 - 34


def test_ward_province_frames_match_the_lists() -> None:
    for scheme, wards in (
        ("2025", catalog_units.wards_2025()),
        ("legacy", catalog_units.wards_legacy()),
    ):
        frame = au.ward_province_frame(scheme)
        assert frame.schema == pl.Schema({"ward_code": pl.String, "province_code": pl.String})
        assert dict(zip(frame["ward_code"], frame["province_code"], strict=True)) == {
            code: w.province_code for code, w in wards.items()
        }
    with pytest.raises(ValueError, match="scheme"):
        au.ward_province_frame("1990")


def test_dung_030_as_a_join_agrees_with_ward_in_province() -> None:
    lung_cu = legacy_code("Xã Lũng Cú", "Huyện Đồng Văn", "02")
    addresses = pl.DataFrame({"ward": [lung_cu, lung_cu, "99999"], "province": ["08", "02", "01"]})
    joined = addresses.join(
        au.ward_province_frame("2025"), left_on="ward", right_on="ward_code", how="left"
    ).with_columns(
        ok=pl.when(pl.col("province_code").is_null())
        .then(None)
        .otherwise(pl.col("province_code") == pl.col("province"))
    )
    expected = [au.ward_in_province("2025", w, p) for w, p in addresses.iter_rows()]
    assert joined["ok"].to_list() == expected == [True, False, None]


def test_conversion_frame_join_gives_the_same_status_as_convert_address() -> None:
    frame = au.conversion_frame()
    assert frame["legacy_ward_code"].is_unique().all()
    assert frame.height == len(catalog_units.wards_legacy())
    legacy_codes = [*catalog_units.wards_legacy(), "99999"]
    people = pl.DataFrame({"hometown_ward_code": legacy_codes})
    joined = people.join(
        frame, left_on="hometown_ward_code", right_on="legacy_ward_code", how="left"
    ).with_columns(pl.col("status").fill_null("not_found"))
    assert joined.height == people.height  # one row per commune: the join never multiplies
    for row in joined.iter_rows(named=True):
        result = au.convert_address("legacy", row["hometown_ward_code"], None, None)
        assert row["status"] == result.status
        assert row["new_ward_code"] == result.ward_code
        assert row["new_province_code"] == result.province_code
        assert row["candidate_ward_codes"] == (
            [c.ward_code for c in result.candidates] if result.candidates else None
        )
        assert row["n_candidates"] == (len(result.candidates) or None)


def test_library_data_agrees_with_the_code_lists() -> None:
    stats = au.conversion_stats()
    assert stats.not_found == 0
    assert stats.island_districts == 5
    assert au.consistency_problems() == ()
