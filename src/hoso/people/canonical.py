"""Canonical form of a dossier document and its content hash (identifiers.md §5).

``content_hash = "sha256:" + hex(SHA-256(JCS(data)))`` where JCS is RFC 8785. Documents
that reach this module have already been normalised (NFC, trimmed, empty values left out)
and contain no floats (decimals are strings), so the fast path serialises with orjson's
sorted keys, which for such documents yields exactly the JCS bytes; a test checks this
against the independent ``rfc8785`` package on generated documents and on every control
character. Anything else falls back to ``rfc8785``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

import orjson
import rfc8785

_ORJSON_OPTS = orjson.OPT_SORT_KEYS


def _is_fast_safe(value: Any) -> bool:
    """True when orjson's output equals JCS: no floats, ASCII keys, ints within 2**53."""
    if isinstance(value, str | bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53
    if isinstance(value, dict):
        return all(k.isascii() and _is_fast_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_fast_safe(v) for v in value)
    return False


def canonical_bytes(data: dict[str, Any], *, trusted: bool = False) -> bytes:
    """The RFC 8785 (JCS) bytes of ``data``.

    ``trusted`` skips the safety scan for documents produced by the validator, which
    guarantees ASCII keys, no floats and bounded integers.
    """
    if trusted or _is_fast_safe(data):
        return orjson.dumps(data, option=_ORJSON_OPTS)
    return bytes(rfc8785.dumps(data))


def content_hash(data: dict[str, Any], *, trusted: bool = False) -> str:
    """``"sha256:" + lowercase hex`` of the JCS bytes of ``data``."""
    return "sha256:" + hashlib.sha256(canonical_bytes(data, trusted=trusted)).hexdigest()


def is_empty(value: Any) -> bool:
    """Empty per the catalogue: absent, null, "", whitespace only or []."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return len(value) == 0
    return False


def clean_text(value: str) -> str:
    """NFC and trimmed."""
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value.strip()


_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Search key: no diacritics, lower case, single spaces (``Nguyễn Văn Đạt`` → ``nguyen van dat``)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
