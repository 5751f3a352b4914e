"""A realistic synthetic organisation tree: ministries and provinces with their units.

:func:`generate_orgs` returns ``OrgUnit`` dicts (the exchange ``orgtree.upsert`` shape plus
``staffing_quota``), parents before children:

- **ministries** (Bộ Nội vụ, Bộ Tài chính, Bộ Y tế, Bộ Giáo dục và Đào tạo, …) with their
  office, departments (Vụ), agencies (Cục) with divisions (Phòng), inspectorate and public
  service units (hospitals, universities, institutes);
- **provinces** of the 2025 scheme (UBND tỉnh/thành phố) with the office, the Sở (Nội vụ, Tài
  chính, Giáo dục và Đào tạo, Y tế, …) and their divisions, upper-secondary schools, hospitals
  and disease-control centres, and a sample of the province's **communes** (UBND xã/phường/đặc
  khu from ``wards_2025()``) with their offices, schools and health stations;
- the **2025 mergers**: ministries and Sở merged on 1/3/2025 (``valid_to`` 2025-02-28), the
  legacy provinces, districts and communes that ended on 30/6/2025, each with
  ``successor_codes`` naming the units that took over.

Codes are ``[0-9A-Z]+(\\.[0-9A-Z]+)*``; a child's code is its parent's code + ``.`` + a suffix.
**All agency codes here are synthetic configuration**, not the official QĐ 20/2020 directory:
only ``000.00.00.G09`` (Bộ Nội vụ) and ``000.00.00.G12`` (Bộ Tài chính) follow codes seen in
use (identifiers.md §3, [C-r]); the post-1/7/2025 province H-codes are unknown, so a province is
``000.00.00.H<province_2025 code>`` and an ended legacy province ``000.00.00.H<legacy code>``
(the legacy codes that ended are never 2025 codes, so the two never clash).

``staffing_quota`` (biên chế) is the number of posts allotted to the unit **including its
sub-units**: each unit's quota is its own staff plus the quotas of its children.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hoso.catalog.admin_units import AdminUnit, districts_legacy, wards_2025, wards_legacy
from hoso.catalog.loader import get_catalog

OrgUnitDict = dict[str, Any]
"""One ``OrgUnit`` of the exchange spec plus ``staffing_quota``."""

MERGER_DATE_CENTRAL = "2025-02-28"
"""Last day of the ministries and Sở merged on 1/3/2025 (NQ 176/2025/QH15)."""
MERGER_DATE_LOCAL = "2025-06-30"
"""Last day of the legacy provinces, districts and communes (NQ 202/2025/QH15)."""
NEW_LOCAL_FROM = "2025-07-01"
NEW_CENTRAL_FROM = "2025-03-01"

# Own staff ranges (posts of the unit itself, without its children) by unit role.
_QUOTA: dict[str, tuple[int, int]] = {
    "root": (0, 0),
    "office": (30, 60),
    "vu": (18, 40),
    "cuc": (15, 35),
    "inspectorate": (20, 40),
    "division": (6, 18),
    "so": (12, 25),
    "commune": (8, 14),
    "commune_division": (6, 12),
    "school_mn": (18, 35),
    "school_th": (25, 45),
    "school_thcs": (30, 55),
    "school_thpt": (55, 110),
    "college": (90, 180),
    "university": (350, 900),
    "hospital_central": (900, 2500),
    "hospital": (250, 800),
    "hospital_small": (120, 280),
    "cdc": (70, 140),
    "health_centre": (90, 200),
    "health_station": (5, 12),
    "institute": (60, 160),
    "psu": (20, 60),
    "district": (40, 90),
    "legacy_commune": (15, 25),
}


@dataclass
class _Unit:
    code: str
    name: str
    kind: str
    role: str
    parent: _Unit | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    successors: list[str] = field(default_factory=list)
    admin_unit: dict[str, str] | None = None
    children: list[_Unit] = field(default_factory=list)
    total: int = 0
    short: str = ""

    def add(
        self,
        suffix: str,
        name: str,
        kind: str,
        role: str,
        *,
        valid_from: str | None = None,
        valid_to: str | None = None,
        successors: list[str] | None = None,
        admin_unit: dict[str, str] | None = None,
    ) -> _Unit:
        child = _Unit(
            code=f"{self.code}.{suffix}",
            name=name,
            kind=kind,
            role=role,
            parent=self,
            valid_from=valid_from,
            valid_to=valid_to,
            successors=successors or [],
            admin_unit=admin_unit,
        )
        self.children.append(child)
        return child


# --- ministries ---------------------------------------------------------------------------
# (suffix, name, role, divisions) for Vụ / Văn phòng / Thanh tra / Cục;
# (suffix, name, role) for public service units.

_Dept = tuple[str, str, str, tuple[str, ...]]
_Psu = tuple[str, str, str]


@dataclass(frozen=True)
class _MinistrySpec:
    code: str
    name: str
    kind: str
    depts: tuple[_Dept, ...]
    psus: tuple[_Psu, ...]
    valid_from: str | None = None


def _std_depts(*extra: _Dept) -> tuple[_Dept, ...]:
    return (
        ("VP", "Văn phòng Bộ", "office", ("Phòng Hành chính - Lưu trữ", "Phòng Tổng hợp")),
        ("V01", "Vụ Tổ chức cán bộ", "vu", ()),
        *extra,
        ("TTR", "Thanh tra Bộ", "inspectorate", ()),
    )


_TWO_DIVS = ("Phòng Tổng hợp", "Phòng Nghiệp vụ")

# Codes are SYNTHETIC configuration (see the module docstring); G09 and G12 follow codes
# seen in use [C-r]. The post-2025 directory is not public.
MINISTRIES: tuple[_MinistrySpec, ...] = (
    _MinistrySpec(
        "000.00.00.G09",
        "Bộ Nội vụ",
        "ministry",
        _std_depts(
            ("V02", "Vụ Công chức - Viên chức", "vu", ()),
            ("V03", "Vụ Tổ chức - Biên chế", "vu", ()),
            ("V04", "Vụ Chính quyền địa phương", "vu", ()),
            ("V05", "Vụ Tiền lương", "vu", ()),
            (
                "C01",
                "Cục Việc làm",
                "cuc",
                ("Phòng Chính sách việc làm", "Phòng Thị trường lao động"),
            ),
            (
                "C02",
                "Cục Văn thư và Lưu trữ nhà nước",
                "cuc",
                ("Phòng Nghiệp vụ văn thư", "Phòng Quản lý lưu trữ"),
            ),
        ),
        (
            ("DV01", "Học viện Hành chính và Quản trị công", "university"),
            ("DV02", "Trung tâm Thông tin", "psu"),
            ("DV03", "Tạp chí Tổ chức nhà nước và Lao động", "psu"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G12",
        "Bộ Tài chính",
        "ministry",
        _std_depts(
            ("V02", "Vụ Ngân sách nhà nước", "vu", ()),
            ("V03", "Vụ Đầu tư", "vu", ()),
            (
                "C01",
                "Cục Thuế",
                "cuc",
                ("Phòng Quản lý thuế doanh nghiệp", "Phòng Kê khai và Kế toán thuế"),
            ),
            ("C02", "Kho bạc Nhà nước", "cuc", ("Phòng Kế toán nhà nước", "Phòng Thanh toán")),
            ("C03", "Cục Hải quan", "cuc", ("Phòng Giám sát quản lý", "Phòng Thuế xuất nhập khẩu")),
        ),
        (
            ("DV01", "Học viện Tài chính", "university"),
            ("DV02", "Trường Bồi dưỡng cán bộ tài chính", "college"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G16",
        "Bộ Y tế",
        "ministry",
        _std_depts(
            ("V02", "Vụ Kế hoạch - Tài chính", "vu", ()),
            (
                "C01",
                "Cục Quản lý Khám, chữa bệnh",
                "cuc",
                ("Phòng Nghiệp vụ", "Phòng Quản lý chất lượng"),
            ),
            (
                "C02",
                "Cục Phòng bệnh",
                "cuc",
                ("Phòng Kiểm soát bệnh truyền nhiễm", "Phòng Tiêm chủng"),
            ),
        ),
        (
            ("BV01", "Bệnh viện Bạch Mai", "hospital_central"),
            ("BV02", "Bệnh viện Chợ Rẫy", "hospital_central"),
            ("BV03", "Bệnh viện K", "hospital_central"),
            ("BV04", "Bệnh viện Nhi Trung ương", "hospital_central"),
            ("DV01", "Trường Đại học Y Hà Nội", "university"),
            ("DV02", "Viện Vệ sinh dịch tễ Trung ương", "cdc"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G07",
        "Bộ Giáo dục và Đào tạo",
        "ministry",
        _std_depts(
            ("V02", "Vụ Giáo dục Phổ thông", "vu", ()),
            ("V03", "Vụ Giáo dục Mầm non", "vu", ()),
            ("C01", "Cục Nhà giáo và Cán bộ quản lý giáo dục", "cuc", _TWO_DIVS),
            (
                "C02",
                "Cục Quản lý chất lượng",
                "cuc",
                ("Phòng Khảo thí", "Phòng Kiểm định chất lượng"),
            ),
        ),
        (
            ("DV01", "Trường Đại học Sư phạm Hà Nội", "university"),
            ("DV02", "Trường Đại học Sư phạm Thành phố Hồ Chí Minh", "university"),
            ("DV03", "Viện Khoa học Giáo dục Việt Nam", "institute"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G14",
        "Bộ Tư pháp",
        "ministry",
        _std_depts(
            ("V02", "Vụ Pháp luật hình sự - hành chính", "vu", ()),
            ("C01", "Cục Hộ tịch, quốc tịch, chứng thực", "cuc", _TWO_DIVS),
            ("C02", "Cục Quản lý thi hành án dân sự", "cuc", _TWO_DIVS),
        ),
        (
            ("DV01", "Trường Đại học Luật Hà Nội", "university"),
            ("DV02", "Học viện Tư pháp", "college"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G15",
        "Bộ Xây dựng",
        "ministry",
        _std_depts(
            ("V02", "Vụ Quy hoạch - Kiến trúc", "vu", ()),
            ("C01", "Cục Đường bộ Việt Nam", "cuc", _TWO_DIVS),
            ("C02", "Cục Hàng hải và Đường thủy Việt Nam", "cuc", _TWO_DIVS),
        ),
        (
            ("DV01", "Trường Đại học Kiến trúc Hà Nội", "university"),
            ("DV02", "Viện Kinh tế xây dựng", "institute"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G13",
        "Bộ Nông nghiệp và Môi trường",
        "ministry",
        _std_depts(
            ("V02", "Vụ Kế hoạch - Tài chính", "vu", ()),
            ("C01", "Cục Trồng trọt và Bảo vệ thực vật", "cuc", _TWO_DIVS),
            ("C02", "Cục Quản lý đất đai", "cuc", _TWO_DIVS),
        ),
        (
            ("DV01", "Trường Đại học Tài nguyên và Môi trường Hà Nội", "university"),
            ("DV02", "Viện Khoa học Khí tượng Thủy văn và Biến đổi khí hậu", "institute"),
        ),
        valid_from=NEW_CENTRAL_FROM,
    ),
    _MinistrySpec(
        "000.00.00.G06",
        "Bộ Khoa học và Công nghệ",
        "ministry",
        _std_depts(
            ("V02", "Vụ Kế hoạch - Tài chính", "vu", ()),
            ("C01", "Cục Sở hữu trí tuệ", "cuc", _TWO_DIVS),
            ("C02", "Cục Bưu điện Trung ương", "cuc", _TWO_DIVS),
        ),
        (
            ("DV01", "Học viện Công nghệ Bưu chính Viễn thông", "university"),
            ("DV02", "Viện Chiến lược và Chính sách khoa học và công nghệ", "institute"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G05",
        "Bộ Công Thương",
        "ministry",
        _std_depts(
            ("V02", "Vụ Thị trường trong nước", "vu", ()),
            ("C01", "Cục Điện lực", "cuc", _TWO_DIVS),
            ("C02", "Cục Xuất nhập khẩu", "cuc", _TWO_DIVS),
        ),
        (("DV01", "Trường Đại học Công nghiệp Hà Nội", "university"),),
    ),
    _MinistrySpec(
        "000.00.00.G17",
        "Bộ Văn hóa, Thể thao và Du lịch",
        "ministry",
        _std_depts(
            ("V02", "Vụ Kế hoạch, Tài chính", "vu", ()),
            ("C01", "Cục Di sản văn hóa", "cuc", _TWO_DIVS),
            ("C02", "Cục Du lịch Quốc gia Việt Nam", "cuc", _TWO_DIVS),
        ),
        (
            ("DV01", "Trường Đại học Văn hóa Hà Nội", "university"),
            ("DV02", "Bảo tàng Lịch sử quốc gia", "psu"),
        ),
    ),
    _MinistrySpec(
        "000.00.00.G08",
        "Bộ Ngoại giao",
        "ministry",
        _std_depts(
            ("V02", "Vụ Chính sách đối ngoại", "vu", ()),
            ("C01", "Cục Lãnh sự", "cuc", _TWO_DIVS),
            ("C02", "Cục Lễ tân Nhà nước", "cuc", _TWO_DIVS),
        ),
        (("DV01", "Học viện Ngoại giao", "university"),),
    ),
    _MinistrySpec(
        "000.00.00.G18",
        "Bộ Dân tộc và Tôn giáo",
        "ministry",
        _std_depts(
            ("V02", "Vụ Chính sách dân tộc", "vu", ()),
            ("C01", "Ban Tôn giáo Chính phủ", "cuc", _TWO_DIVS),
        ),
        (("DV01", "Học viện Dân tộc", "college"),),
        valid_from=NEW_CENTRAL_FROM,
    ),
    _MinistrySpec(
        "000.00.00.G20",
        "Thanh tra Chính phủ",
        "central_agency",
        (
            ("VP", "Văn phòng Thanh tra Chính phủ", "office", _TWO_DIVS),
            ("V01", "Vụ Tổ chức cán bộ", "vu", ()),
            (
                "C01",
                "Cục Giải quyết khiếu nại, tố cáo và thanh tra khu vực I",
                "inspectorate",
                _TWO_DIVS,
            ),
        ),
        (("DV01", "Trường Cán bộ thanh tra", "college"),),
    ),
    _MinistrySpec(
        "000.00.00.G02",
        "Văn phòng Chính phủ",
        "central_agency",
        (
            ("V01", "Vụ Tổ chức cán bộ", "vu", ()),
            ("V02", "Vụ Tổng hợp", "vu", ()),
            ("C01", "Cục Kiểm soát thủ tục hành chính", "cuc", _TWO_DIVS),
            ("C02", "Cục Quản trị - Tài vụ", "cuc", _TWO_DIVS),
        ),
        (),
    ),
)

# Ministries merged on 1/3/2025: (synthetic code, name, successor codes).
LEGACY_MINISTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("000.00.00.G10", "Bộ Kế hoạch và Đầu tư", ("000.00.00.G12",)),
    (
        "000.00.00.G11",
        "Bộ Lao động - Thương binh và Xã hội",
        ("000.00.00.G09", "000.00.00.G16", "000.00.00.G07"),
    ),
    ("000.00.00.G19", "Bộ Thông tin và Truyền thông", ("000.00.00.G06",)),
    ("000.00.00.G21", "Bộ Tài nguyên và Môi trường", ("000.00.00.G13",)),
    ("000.00.00.G22", "Bộ Nông nghiệp và Phát triển nông thôn", ("000.00.00.G13",)),
    ("000.00.00.G23", "Bộ Giao thông vận tải", ("000.00.00.G15",)),
    ("000.00.00.G24", "Ủy ban Dân tộc", ("000.00.00.G18",)),
)

# --- provinces ----------------------------------------------------------------------------

#: Provinces taken first (a mix of unchanged and merged ones); the rest follow in seed order.
PREFERRED_PROVINCES = ("40", "01", "79", "33", "48", "37", "92", "15", "46", "52")

# Sở of a province after 1/3/2025: (suffix, name, divisions, valid_from).
_SO: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    (
        "S01",
        "Sở Nội vụ",
        (
            "Văn phòng Sở",
            "Phòng Tổ chức, biên chế và tổ chức phi chính phủ",
            "Phòng Công chức, viên chức",
            "Phòng Lao động, việc làm và bảo hiểm xã hội",
        ),
        None,
    ),
    (
        "S02",
        "Sở Tài chính",
        (
            "Văn phòng Sở",
            "Phòng Quản lý ngân sách",
            "Phòng Tài chính đầu tư",
            "Phòng Quản lý giá và công sản",
        ),
        None,
    ),
    (
        "S03",
        "Sở Giáo dục và Đào tạo",
        ("Văn phòng Sở", "Phòng Giáo dục phổ thông", "Phòng Tổ chức cán bộ"),
        None,
    ),
    ("S04", "Sở Y tế", ("Văn phòng Sở", "Phòng Nghiệp vụ Y", "Phòng Kế hoạch - Tài chính"), None),
    ("S05", "Sở Tư pháp", ("Văn phòng Sở", "Phòng Hành chính tư pháp"), None),
    ("S06", "Sở Xây dựng", ("Văn phòng Sở", "Phòng Quản lý giao thông"), NEW_CENTRAL_FROM),
    (
        "S07",
        "Sở Nông nghiệp và Môi trường",
        ("Văn phòng Sở", "Phòng Quản lý đất đai"),
        NEW_CENTRAL_FROM,
    ),
    ("S08", "Sở Khoa học và Công nghệ", ("Văn phòng Sở", "Phòng Chuyển đổi số"), NEW_CENTRAL_FROM),
    ("S09", "Sở Văn hóa, Thể thao và Du lịch", ("Văn phòng Sở", "Phòng Quản lý văn hóa"), None),
    ("S10", "Sở Công Thương", ("Văn phòng Sở", "Phòng Quản lý thương mại"), None),
)
# Sở merged on 1/3/2025: (suffix, name, successor suffixes).
_LEGACY_SO: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("S11", "Sở Kế hoạch và Đầu tư", ("S02",)),
    ("S12", "Sở Lao động - Thương binh và Xã hội", ("S01", "S04")),
    ("S13", "Sở Thông tin và Truyền thông", ("S08",)),
    ("S14", "Sở Tài nguyên và Môi trường", ("S07",)),
    ("S15", "Sở Nông nghiệp và Phát triển nông thôn", ("S07",)),
    ("S16", "Sở Giao thông vận tải", ("S06",)),
)

_THPT_NAMES = (
    "Phan Bội Châu",
    "Lê Quý Đôn",
    "Nguyễn Du",
    "Trần Phú",
    "Chu Văn An",
    "Lương Thế Vinh",
    "Nguyễn Trãi",
    "Hùng Vương",
    "Lê Hồng Phong",
    "Quang Trung",
    "Huỳnh Thúc Kháng",
    "Nguyễn Huệ",
    "Ngô Quyền",
    "Lý Thường Kiệt",
    "Trần Hưng Đạo",
    "Phan Chu Trinh",
    "Nguyễn Bỉnh Khiêm",
    "Lê Lợi",
    "Nguyễn Đình Chiểu",
    "Hoàng Hoa Thám",
    "Võ Thị Sáu",
    "Nguyễn Văn Cừ",
    "Lê Thánh Tông",
    "Trần Quốc Tuấn",
    "Đinh Tiên Hoàng",
    "Bà Triệu",
)


def _province_labels() -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    cat = get_catalog()
    new = {c: e.label_vi for c, e in cat.codelist("province_2025").codes.items()}
    legacy = {c: e.label_vi for c, e in cat.codelist("province_legacy").codes.items()}
    formed = {
        c: e.extra["formed_from_legacy_codes"].split(";")
        for c, e in cat.codelist("province_2025").codes.items()
    }
    return new, legacy, formed


def locality(label: str) -> str:
    """``Tỉnh Nghệ An`` → ``tỉnh Nghệ An``; ``Thành phố Hà Nội`` → ``thành phố Hà Nội``."""
    for prefix in ("Thành phố ", "Tỉnh "):
        if label.startswith(prefix):
            return prefix.lower() + label[len(prefix) :]
    return label


def short_name(label: str) -> str:
    """Name without its unit type: ``Phường Hoàn Kiếm`` → ``Hoàn Kiếm``."""
    for prefix in (
        "Thành phố ",
        "Tỉnh ",
        "Phường ",
        "Xã ",
        "Đặc khu ",
        "Quận ",
        "Huyện ",
        "Thị xã ",
        "Thị trấn ",
    ):
        if label.startswith(prefix):
            return label[len(prefix) :]
    return label


def lower_type(label: str) -> str:
    """``Phường Hoàn Kiếm`` → ``phường Hoàn Kiếm`` (for "Ủy ban nhân dân phường …")."""
    for prefix in (
        "Thành phố ",
        "Thị xã ",
        "Thị trấn ",
        "Đặc khu ",
        "Phường ",
        "Xã ",
        "Quận ",
        "Huyện ",
    ):
        if label.startswith(prefix):
            return prefix.lower() + label[len(prefix) :]
    return label


def _by_code(unit: AdminUnit) -> str:
    return unit.code


def _build_ministry(spec: _MinistrySpec) -> _Unit:
    root = _Unit(spec.code, spec.name, spec.kind, "root", valid_from=spec.valid_from)
    for suffix, name, role, divisions in spec.depts:
        dept = root.add(suffix, name, "department", role)
        for i, div in enumerate(divisions, start=1):
            dept.add(f"P{i:02d}", div, "division", "division")
    for suffix, name, role in spec.psus:
        root.add(suffix, name, "public_service_unit", role)
    return root


def _build_legacy_ministry(code: str, name: str, successors: list[str]) -> _Unit:
    root = _Unit(
        code, name, "ministry", "root", valid_to=MERGER_DATE_CENTRAL, successors=successors
    )
    root.add(
        "V01",
        "Vụ Tổ chức cán bộ",
        "department",
        "vu",
        valid_to=MERGER_DATE_CENTRAL,
        successors=[f"{successors[0]}.V01"],
    )
    return root


def _build_province(
    code: str,
    labels: dict[str, str],
    legacy_labels: dict[str, str],
    formed_from: list[str],
    rng: random.Random,
    communes_per_province: int | None,
) -> list[_Unit]:
    """The province subtree and the roots of its legacy provinces (ended 30/6/2025)."""
    label = labels[code]
    loc = locality(label)
    short = short_name(label)
    merged = len(formed_from) > 1
    root = _Unit(
        f"000.00.00.H{code}",
        f"Ủy ban nhân dân {loc}",
        "province",
        "root",
        valid_from=NEW_LOCAL_FROM if merged else None,
        admin_unit={"scheme": "2025", "code": code},
    )
    office = root.add("VP", f"Văn phòng Ủy ban nhân dân {loc}", "department", "office")
    for i, div in enumerate(("Phòng Hành chính - Tổ chức", "Phòng Tổng hợp", "Phòng Kinh tế"), 1):
        office.add(f"P{i:02d}", div, "division", "division")
    so_units: dict[str, _Unit] = {}
    for suffix, name, divisions, valid_from in _SO:
        so = root.add(suffix, f"{name} {loc}", "department", "so", valid_from=valid_from)
        so_units[suffix] = so
        for i, div in enumerate(divisions, 1):
            so.add(f"P{i:02d}", div, "division", "division")
    all_wards = sorted((w for w in wards_2025().values() if w.province_code == code), key=_by_code)
    size = len(all_wards)
    # Upper-secondary schools and a teacher-training college under the Sở GD&ĐT.
    edu = so_units["S03"]
    n_thpt = max(3, min(10, size // 15))
    for i, name in enumerate(rng.sample(_THPT_NAMES, n_thpt), start=1):
        edu.add(
            f"T{i:02d}", f"Trường Trung học phổ thông {name}", "public_service_unit", "school_thpt"
        )
    edu.add(
        f"T{n_thpt + 1:02d}",
        f"Trường Trung học phổ thông chuyên {short}",
        "public_service_unit",
        "school_thpt",
    )
    edu.add("CD01", f"Trường Cao đẳng Sư phạm {short}", "public_service_unit", "college")
    # Hospitals and health centres under the Sở Y tế.
    health = so_units["S04"]
    health.add("BV01", f"Bệnh viện Đa khoa {loc}", "public_service_unit", "hospital")
    health.add("BV02", f"Bệnh viện Sản - Nhi {loc}", "public_service_unit", "hospital_small")
    health.add("BV03", f"Bệnh viện Y học cổ truyền {loc}", "public_service_unit", "hospital_small")
    health.add("TT01", f"Trung tâm Kiểm soát bệnh tật {loc}", "public_service_unit", "cdc")
    root.add("TTR", f"Thanh tra {loc}", "department", "inspectorate").add(
        "P01", "Phòng Nghiệp vụ", "division", "division"
    )
    for suffix, name, successors in _LEGACY_SO:
        root.add(
            suffix,
            f"{name} {loc}",
            "department",
            "so",
            valid_to=MERGER_DATE_CENTRAL,
            successors=[f"{root.code}.{s}" for s in successors],
        )
    # Communes of the 2025 scheme.
    if communes_per_province is None or communes_per_province >= size:
        chosen = all_wards
    else:
        chosen = sorted(rng.sample(all_wards, communes_per_province), key=_by_code)
    communes: list[_Unit] = []
    for ward in chosen:
        commune = root.add(
            f"X{ward.code}",
            f"Ủy ban nhân dân {lower_type(ward.name)}",
            "commune",
            "commune",
            valid_from=NEW_LOCAL_FROM,
            admin_unit={"scheme": "2025", "code": ward.code},
        )
        communes.append(commune)
        wshort = commune.short = short_name(ward.name)
        is_ward = ward.name.startswith("Phường")
        commune.add(
            "P01", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân", "division", "commune_division"
        )
        commune.add(
            "P02",
            "Phòng Kinh tế, Hạ tầng và Đô thị" if is_ward else "Phòng Kinh tế",
            "division",
            "commune_division",
        )
        commune.add("P03", "Phòng Văn hóa - Xã hội", "division", "commune_division")
        commune.add("MN", f"Trường Mầm non {wshort}", "public_service_unit", "school_mn")
        commune.add("TH", f"Trường Tiểu học {wshort}", "public_service_unit", "school_th")
        commune.add(
            "THCS", f"Trường Trung học cơ sở {wshort}", "public_service_unit", "school_thcs"
        )
        commune.add(
            "TYT", f"Trạm Y tế {lower_type(ward.name)}", "public_service_unit", "health_station"
        )
    for i, commune in enumerate(rng.sample(communes, min(2, len(communes))), start=2):
        health.add(
            f"TT{i:02d}",
            f"Trung tâm Y tế khu vực {commune.short}",
            "public_service_unit",
            "health_centre",
        )
    # Legacy provinces merged into this one, and legacy districts and communes.
    out = [root]
    legacy_roots: dict[str, _Unit] = {}
    for legacy in formed_from:
        if legacy == code:
            continue
        lroot = _Unit(
            f"000.00.00.H{legacy}",
            f"Ủy ban nhân dân {locality(legacy_labels[legacy])}",
            "province",
            "root",
            valid_to=MERGER_DATE_LOCAL,
            successors=[root.code],
            admin_unit={"scheme": "legacy", "code": legacy},
        )
        for suffix in ("S01", "S02"):
            so_name = next(n for s, n, _, _ in _SO if s == suffix)
            lroot.add(
                suffix,
                f"{so_name} {locality(legacy_labels[legacy])}",
                "department",
                "so",
                valid_to=MERGER_DATE_LOCAL,
                successors=[f"{root.code}.{suffix}"],
            )
        legacy_roots[legacy] = lroot
        out.append(lroot)
    districts = sorted(
        (d for d in districts_legacy().values() if d.province_code in formed_from), key=_by_code
    )
    legacy_wards = wards_legacy()
    for district in rng.sample(districts, min(2, len(districts))):
        parent = root if district.province_code == code else legacy_roots[district.province_code]
        succ = sorted(c.code for c in rng.sample(communes, min(3, len(communes))))
        dunit = parent.add(
            f"D{district.code}",
            f"Ủy ban nhân dân {lower_type(district.name)}",
            "other",
            "district",
            valid_to=MERGER_DATE_LOCAL,
            successors=succ,
            admin_unit={"scheme": "legacy", "code": district.code},
        )
        dwards = sorted(
            (w for w in legacy_wards.values() if w.district_code == district.code), key=_by_code
        )
        for ward in rng.sample(dwards, min(3, len(dwards))):
            dunit.add(
                f"X{ward.code}",
                f"Ủy ban nhân dân {lower_type(ward.name)}",
                "commune",
                "legacy_commune",
                valid_to=MERGER_DATE_LOCAL,
                successors=[rng.choice(communes).code] if communes else [],
                admin_unit={"scheme": "legacy", "code": ward.code},
            )
    return out


def _assign_quotas(unit: _Unit, rng: random.Random) -> int:
    lo, hi = _QUOTA[unit.role]
    unit.total = rng.randint(lo, hi) + sum(_assign_quotas(child, rng) for child in unit.children)
    return unit.total


def _emit(unit: _Unit, out: list[OrgUnitDict]) -> None:
    out.append(
        {
            "code": unit.code,
            "name": unit.name,
            "parent_code": unit.parent.code if unit.parent else None,
            "kind": unit.kind,
            "valid_from": unit.valid_from,
            "valid_to": unit.valid_to,
            "successor_codes": list(unit.successors),
            "admin_unit": dict(unit.admin_unit) if unit.admin_unit else None,
            "staffing_quota": unit.total,
        }
    )
    for child in unit.children:
        _emit(child, out)


def split_agencies(agencies: int) -> tuple[int, int]:
    """How many ministries and provinces make up ``agencies`` managing agencies."""
    if agencies < 1:
        raise ValueError("agencies must be >= 1")
    max_provinces = len(_province_labels()[0])
    if agencies > len(MINISTRIES) + max_provinces:
        raise ValueError(f"at most {len(MINISTRIES) + max_provinces} agencies")
    ministries = min(len(MINISTRIES), agencies // 3)
    provinces = agencies - ministries
    if provinces > max_provinces:
        ministries += provinces - max_provinces
        provinces = max_provinces
    return ministries, provinces


def generate_orgs(
    seed: int = 1,
    agencies: int = 12,
    *,
    communes_per_province: int | None = 12,
) -> list[OrgUnitDict]:
    """A synthetic org tree with ``agencies`` managing agencies (ministries + provinces).

    The default (12) gives 4 ministries and 8 provinces. ``communes_per_province`` limits
    the communes taken from each province's 3,321-commune list (None = all). Deterministic
    for a seed; parents come before children.
    """
    rng = random.Random(f"hoso-orgs:{seed}")
    n_min, n_prov = split_agencies(agencies)
    labels, legacy_labels, formed = _province_labels()
    rest = sorted(c for c in labels if c not in PREFERRED_PROVINCES)
    rng.shuffle(rest)
    provinces = [*PREFERRED_PROVINCES, *rest][:n_prov]
    roots: list[_Unit] = []
    chosen_min = MINISTRIES[:n_min]
    chosen_codes = {m.code for m in chosen_min}
    for spec in chosen_min:
        roots.append(_build_ministry(spec))
    for code, name, successors in LEGACY_MINISTRIES:
        present = [s for s in successors if s in chosen_codes]
        if present:
            roots.append(_build_legacy_ministry(code, name, present))
    for code in provinces:
        roots.extend(
            _build_province(code, labels, legacy_labels, formed[code], rng, communes_per_province)
        )
    out: list[OrgUnitDict] = []
    for root in roots:
        _assign_quotas(root, rng)
        _emit(root, out)
    return out
