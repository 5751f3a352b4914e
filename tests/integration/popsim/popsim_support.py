"""Helpers of the simulator's tests: valid citizens, files, a client on a fresh registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from hoso.catalog.admin_units import wards_2025
from hoso.popsim import service

KEY = "test-popsim-key"
OTHER_KEY = "second-popsim-key"
HEADERS = {"X-Api-Key": KEY}


NAMES = ("NGUYỄN VĂN AN", "TRẦN THỊ BÌNH", "LÊ VĂN CƯỜNG", "PHẠM THỊ DUNG")
"""Birth names by ``i % 4`` (even: men, odd: women)."""


def wards() -> list[str]:
    """A few real 2025 commune codes."""
    return sorted(wards_2025())[:50]


def citizen(i: int, **changes: Any) -> dict[str, Any]:
    """A valid citizen, different for each ``i`` (personal ID ``0010{YY}{i:06d}``)."""
    sex = "M" if i % 2 == 0 else "F"
    year = 1960 + i % 40
    g = 0 if sex == "M" else 1
    w = wards()
    doc: dict[str, Any] = {
        "personal_id": f"001{g}{year % 100:02d}{i:06d}",
        "birth_name": NAMES[i % len(NAMES)],
        "date_of_birth": f"{year}-0{1 + i % 9}-{10 + i % 18}",
        "sex": sex,
        "ethnicity_code": "01",
        "religion_code": "00",
        "hometown_ward_code": w[i % len(w)],
        "hometown_unit_scheme": "2025",
        "residence_ward_code": w[(i + 7) % len(w)],
        "residence_unit_scheme": "2025",
        "status": "alive",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def write_jsonl(path: Path, items: list[Any]) -> Path:
    """Write one JSON value per line (``bytes`` items are written as they are)."""
    with path.open("wb") as fh:
        for item in items:
            fh.write(item if isinstance(item, bytes) else orjson.dumps(item))
            fh.write(b"\n")
    return path


def dump(engine: Engine) -> list[dict[str, Any]]:
    """Every citizen, in personal-ID order."""
    with engine.connect() as conn:
        return list(service.iter_citizens(conn))
