"""Kinds of org units, with their Vietnamese and English labels.

The list is closed: an ``OrgUnit.kind`` outside it is refused on input. ``other`` exists for
bodies that fit none of the named kinds (party and mass organisations, boards, …).
"""

from __future__ import annotations

from typing import Literal

#: kind → (Vietnamese label, English label), in the order a picker shows them.
KINDS: dict[str, tuple[str, str]] = {
    "ministry": ("Bộ, cơ quan ngang bộ", "Ministry or ministry-level agency"),
    "central_agency": ("Cơ quan trung ương", "Central agency"),
    "province": ("Tỉnh, thành phố trực thuộc trung ương", "Province or centrally-run city"),
    "department": ("Sở, ban, ngành", "Department"),
    "division": ("Phòng, ban, đơn vị trực thuộc", "Division"),
    "public_service_unit": ("Đơn vị sự nghiệp công lập", "Public service unit"),
    "commune": ("Xã, phường, đặc khu", "Commune, ward or special zone"),
    "other": ("Khác", "Other"),
}

OrgKind = Literal[
    "ministry",
    "central_agency",
    "province",
    "department",
    "division",
    "public_service_unit",
    "commune",
    "other",
]


def label(kind: str) -> str:
    """``"Vietnamese / English"`` label of ``kind`` (the kind itself when unknown)."""
    vi, en = KINDS.get(kind, (kind, kind))
    return f"{vi} / {en}"
