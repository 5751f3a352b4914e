"""Vietnamese name pools with rough real-world frequencies, and a fast weighted picker.

Weights are relative (they need not add up to 100). Surname shares follow the usual figures
for Vietnam (Nguyễn ≈ 38 %, Trần ≈ 11 %, Lê ≈ 9.5 %, Phạm ≈ 7 %, Hoàng/Huỳnh ≈ 5 %, …), with
the Hoàng/Huỳnh and Vũ/Võ split depending on the region of the home town. A few ethnic groups
get their own surname pools (Tày, Nùng, Thái, Mường, HMông, Dao, Khơ-me, Hoa). Middle and given
names depend on sex. Everything is NFC; :func:`birth_name` upper-cases with ``str.upper``,
which handles Vietnamese letters (``đ`` → ``Đ``, ``ễ`` → ``Ễ``).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Pool(Generic[T]):
    """Items with relative weights; :meth:`pick` costs one ``random()`` and one bisect."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs:
            raise ValueError("empty pool")
        self._items: list[T] = [item for item, _ in pairs]
        self._cum: list[float] = list(accumulate(float(w) for _, w in pairs))
        self._total = self._cum[-1]
        if self._total <= 0:
            raise ValueError("pool weights must be positive")

    def pick(self, random: Callable[[], float]) -> T:
        """One item, drawn with ``random`` (a ``Random.random`` bound method)."""
        return self._items[bisect(self._cum, random() * self._total)]

    @property
    def items(self) -> list[T]:
        """The items in declaration order."""
        return self._items

    def __len__(self) -> int:
        return len(self._items)


def weighted(spec: str) -> Pool[str]:
    """A pool from a ``"item:weight|item:weight"`` spec (items are NFC-normalised)."""
    pairs: list[tuple[str, float]] = []
    for entry in spec.split("|"):
        entry = entry.strip()
        if not entry:
            continue
        name, _, weight = entry.rpartition(":")
        pairs.append((_nfc(name.strip()), float(weight)))
    return Pool(pairs)


# Kinh (and default) surnames. Hoàng/Huỳnh and Vũ/Võ are region dependent, see below.
_SURNAMES_COMMON = """
Nguyễn:38.4|Trần:11.0|Lê:9.5|Phạm:7.1|Phan:4.5|Đặng:2.1|Bùi:2.0|Đỗ:1.4|Hồ:1.3|Ngô:1.3|
Dương:1.0|Lý:0.5|Đào:0.7|Đoàn:0.6|Đinh:0.7|Trương:0.6|Lương:0.4|Trịnh:0.5|Mai:0.4|Lâm:0.4|
Phùng:0.3|Tạ:0.3|Cao:0.4|Hà:0.5|Tô:0.3|Châu:0.2|Lưu:0.3|Thái:0.2|Triệu:0.2|Kiều:0.1|
Quách:0.1|Vương:0.2|Văn:0.1|Khúc:0.05|Đàm:0.1|Chu:0.2|La:0.1|Hứa:0.1|Tăng:0.1|Thân:0.1|
Mạc:0.05|Lại:0.1|Giang:0.05|Từ:0.05|Ninh:0.05|Tống:0.1|Hầu:0.03|Âu:0.03|Nghiêm:0.1|Khổng:0.03
"""
_SURNAMES_NORTH = weighted(_SURNAMES_COMMON + "|Hoàng:4.6|Huỳnh:0.5|Vũ:3.3|Võ:0.6")
_SURNAMES_SOUTH = weighted(_SURNAMES_COMMON + "|Hoàng:1.1|Huỳnh:4.0|Vũ:0.6|Võ:3.3")

#: Surname pools of some ethnic groups (ethnicity code → pool); others use the Kinh pools.
ETHNIC_SURNAMES: dict[str, Pool[str]] = {
    "02": weighted("Hoàng:20|Nông:15|Lục:8|Ma:8|Lường:4|Hà:6|Triệu:5|Vi:5|Lâm:3|Đinh:3|Nguyễn:8"),
    "07": weighted("Hoàng:15|Nông:12|Lục:10|Vi:8|Lăng:6|Lý:6|Mã:5|Chu:4|Nguyễn:6"),
    "03": weighted("Lò:15|Lường:12|Cầm:10|Quàng:8|Vi:8|Hà:10|Lộc:5|Tòng:6|Lù:4|Điêu:4"),
    "06": weighted("Bùi:35|Đinh:25|Quách:12|Hà:8|Xa:5|Nguyễn:5"),
    "08": weighted("Giàng:20|Sùng:15|Vàng:15|Thào:12|Lý:10|Mua:8|Hầu:6|Vừ:6|Lầu:5"),
    "09": weighted("Triệu:30|Bàn:20|Đặng:20|Lý:15|Chảo:8|Phùng:7"),
    "05": weighted("Thạch:30|Sơn:20|Kim:15|Danh:15|Lâm:8|Chau:8|Huỳnh:4"),
    "04": weighted("Lý:15|Trần:12|Lâm:12|Hứa:10|Quách:8|Tăng:8|Lưu:8|Huỳnh:8|Trương:8|Mã:5"),
}

MIDDLE_MALE = weighted(
    "Văn:30|Đức:9|Minh:8|Quang:6|Hữu:5|Công:5|Thanh:4|Ngọc:4|Xuân:3|Tuấn:3|Anh:3|Mạnh:2|"
    "Hoàng:3|Trung:2|Thành:2|Quốc:3|Đình:4|Bá:2|Duy:3|Tiến:2|Hải:2|Trọng:2|Việt:2|Gia:2|"
    "Huy:2|Khắc:1|Chí:1|Thế:2|Hồng:1|Kim:1|Tấn:2|Phước:1|Nhật:1|Hoài:1"
)
MIDDLE_FEMALE = weighted(
    "Thị:45|Thu:5|Ngọc:5|Thanh:5|Minh:3|Hồng:4|Phương:3|Thùy:3|Kim:3|Hải:2|Mai:2|Bích:2|"
    "Thảo:1|Khánh:2|Diệu:1|Quỳnh:1|Hoài:1|Lan:1|Tuyết:1|Hương:1|Như:1|Cẩm:1|Mỹ:2|Bảo:1|"
    "Hoàng:1|Xuân:2|Thúy:2|Huyền:1|Tố:1"
)
#: Second middle name after "Thị" for compound female names (Nguyễn Thị Thu Hà).
MIDDLE_FEMALE_SECOND = weighted(
    "Thu:6|Ngọc:5|Thanh:5|Hồng:4|Minh:3|Kim:3|Thùy:3|Bích:2|Mai:2|Phương:3|Lan:2|Hải:2|Diệu:1"
)
GIVEN_MALE = weighted(
    "Anh:5|Hùng:5|Dũng:5|Tuấn:5|Minh:5|Hải:4|Nam:4|Long:4|Thắng:3|Sơn:4|Đức:3|Trung:3|"
    "Cường:3|Hưng:3|Hiếu:3|Quang:3|Thành:3|Huy:3|Phong:2|Khánh:2|Lâm:2|Tùng:2|Bình:3|"
    "Hoàng:2|Việt:2|Vinh:2|Quân:2|Tài:2|Tâm:2|Thịnh:2|Tiến:2|Toàn:2|Trường:2|Tú:2|An:2|"
    "Bảo:2|Chiến:2|Công:1|Đạt:2|Dương:1|Giang:1|Hào:1|Hiển:1|Hòa:2|Kiên:2|Khoa:2|Linh:1|"
    "Luân:1|Mạnh:2|Nghĩa:2|Ngọc:1|Nhân:1|Phúc:2|Phương:1|Quý:1|Tân:1|Thanh:2|Thọ:1|Vũ:1|"
    "Hậu:1|Lộc:1|Lợi:1|Tín:1|Trí:1|Định:1|Khải:1|Thái:1|Cảnh:1|Duy:1|Điệp:1|Hoan:1|Lực:1"
)
GIVEN_FEMALE = weighted(
    "Hương:5|Linh:5|Trang:5|Hà:5|Lan:4|Hoa:4|Ngọc:4|Thảo:4|Hằng:4|Phương:4|Mai:4|Anh:4|"
    "Thủy:4|Huyền:4|Nga:3|Yến:3|Hạnh:3|Loan:3|Dung:3|Hiền:3|Hồng:3|Nhung:3|Oanh:2|Thu:3|"
    "Vân:3|Trinh:2|Tuyết:2|Quỳnh:2|Uyên:2|Châu:2|Chi:2|Duyên:2|Giang:2|Huệ:2|Hường:2|"
    "Liên:2|Ly:2|My:2|Ngân:2|Nhi:2|Quyên:2|Tâm:2|Thanh:2|Thơm:1|Xuân:2|Ánh:2|Bích:2|"
    "Diệp:1|Hạ:1|Khánh:1|Lệ:1|Lụa:1|Nguyệt:2|Nhàn:1|Phượng:2|Sen:1|Thắm:1|Thoa:1|Tiên:1|"
    "Trâm:1|Vy:2|Yên:1|Đào:1|Gấm:1|Hậu:1|Lài:1|Minh:1|Thúy:2|Diễm:1"
)


def surname_pool(ethnicity_code: str, south: bool) -> Pool[str]:
    """Surname pool for an ethnic group and region (``south`` = Quảng Nam and southwards)."""
    pool = ETHNIC_SURNAMES.get(ethnicity_code)
    if pool is not None:
        return pool
    return _SURNAMES_SOUTH if south else _SURNAMES_NORTH


def middle_name(sex: str, random: Callable[[], float]) -> str:
    """One middle name (sometimes two for women: ``Thị Thu``)."""
    if sex == "M":
        return MIDDLE_MALE.pick(random)
    first = MIDDLE_FEMALE.pick(random)
    if first == "Thị" and random() < 0.18:
        return f"Thị {MIDDLE_FEMALE_SECOND.pick(random)}"
    return first


def given_name(sex: str, random: Callable[[], float]) -> str:
    """One given name for ``sex`` (``M`` or ``F``)."""
    return (GIVEN_MALE if sex == "M" else GIVEN_FEMALE).pick(random)


def full_name(surname: str, middle: str, given: str) -> str:
    """Proper-case full name, single spaces."""
    return f"{surname} {middle} {given}"


def birth_name(surname: str, middle: str, given: str) -> str:
    """Upper-case NFC birth name as on the population registry (``NGUYỄN VĂN AN``)."""
    return f"{surname} {middle} {given}".upper()
