"""The audit chain hashes the RFC 8785 form of each event; its fast path must give the same
bytes as the reference ``rfc8785`` implementation for every value."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785

from hoso.audit import service

TEXTS = [
    "",
    "NGUYỄN VĂN AN",
    'quote " backslash \\ slash /',
    "controls \x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f",
    "del \x7f, line sep \u2028 para \u2029, bom \ufeff, nbsp \xa0",
    "astral 😀 𝒜, private \ue000",
    "e\u0301 decomposed",
]


@pytest.mark.parametrize("text", TEXTS)
def test_plain_values_take_the_fast_path_with_the_reference_bytes(text: str) -> None:
    body: dict[str, Any] = {
        "b": [text, {"z": text, "a": None, "m": [True, False, 0, -1, 2**53 - 1, -(2**53) + 1]}],
        "a": {"nested": {"x": text}},
        "id": 7,
    }
    assert service._orjson_is_jcs(body)
    assert service.canonical(body) == bytes(rfc8785.dumps(body))


@pytest.mark.parametrize(
    "body",
    [
        {"score": 1.0, "large": 1e21},  # floats: JCS writes 1 and 1e+21, orjson 1.0 and 1e21
        {"big": 2**53},
        {"\ue000": 1, "😀": 2},  # non-ASCII keys: JCS sorts UTF-16 units, 😀 first
        {"k": ("a", "b")},
        {"k": "lone \ud800 surrogate"},
    ],
)
def test_other_values_go_to_the_reference(body: dict[str, Any]) -> None:
    try:
        expected = bytes(rfc8785.dumps(body))
    except Exception as exc:  # the reference refuses it: so must the fast path
        with pytest.raises(type(exc)):
            service.canonical(body)
        return
    assert service.canonical(body) == expected


def test_a_thousand_item_event_takes_the_fast_path() -> None:
    body = {"results": [{"personal_id": f"{i:012d}", "version": 1, "status": "stored"}
                        for i in range(1000)]}  # fmt: skip
    assert service._orjson_is_jcs(body)
    assert service.canonical(body) == bytes(rfc8785.dumps(body))
