"""The content hash follows identifiers.md §5 and equals the independent rfc8785 package."""

from __future__ import annotations

import random

import rfc8785

from hoso.people.canonical import canonical_bytes, content_hash, fold

SPEC_VECTOR = {
    "birth_name": "NGUYỄN VĂN AN",
    "date_of_birth": "1985-03-14",
    "personal_id": "001085012345",
    "salary_coefficient": "3.33",
    "salary_step": 4,
    "sex": "M",
    "work_history": [{"from": "2008-09", "title": "Chuyên viên", "unit": "Sở Nội vụ tỉnh Nghệ An"}],
}


def test_spec_worked_example() -> None:
    assert content_hash(SPEC_VECTOR) == (
        "sha256:73be16ce247186aec50c97a951f9c1bfce989fe67e4b43143beaed6df4904011"
    )


def _random_text(rng: random.Random) -> str:
    alphabet = [chr(c) for c in range(0, 0x80)] + list(
        "ăâđêôơưáàảãạếềểễệĐƯỜNGỸ€😀\u2028\u2029\ufeff"
    )
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def _random_doc(rng: random.Random, depth: int = 0) -> dict[str, object]:
    doc: dict[str, object] = {}
    for _ in range(rng.randint(1, 8)):
        key = "".join(rng.choice("abcdefghij_") for _ in range(rng.randint(1, 12)))
        kind = rng.randint(0, 5)
        if kind == 0:
            doc[key] = _random_text(rng)
        elif kind == 1:
            doc[key] = rng.randint(-(2**40), 2**40)
        elif kind == 2:
            doc[key] = rng.choice([True, False])
        elif kind == 3 and depth < 2:
            doc[key] = [_random_doc(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        elif kind == 4 and depth < 2:
            doc[key] = _random_doc(rng, depth + 1)
        else:
            doc[key] = [_random_text(rng) for _ in range(rng.randint(0, 3))]
    return doc


def test_fast_path_equals_rfc8785_on_random_documents() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        doc = _random_doc(rng)
        assert canonical_bytes(doc) == rfc8785.dumps(doc), doc


def test_every_control_character_is_escaped_as_jcs() -> None:
    doc = {"s": "".join(chr(c) for c in range(0x20)) + '"\\/'}
    assert canonical_bytes(doc, trusted=True) == rfc8785.dumps(doc)


def test_floats_fall_back_to_rfc8785() -> None:
    doc = {"x": 1.5e-7, "y": [0.1, 2.0]}
    assert canonical_bytes(doc) == rfc8785.dumps(doc)


def test_key_order_does_not_change_the_hash() -> None:
    reordered = dict(reversed(list(SPEC_VECTOR.items())))
    assert content_hash(reordered) == content_hash(SPEC_VECTOR)
    changed = {**SPEC_VECTOR, "salary_step": 5}
    assert content_hash(changed) != content_hash(SPEC_VECTOR)


def test_fold_removes_diacritics_and_case() -> None:
    assert fold("  NGUYỄN   Văn ĐẠT ") == "nguyen van dat"
    assert fold("Trần Thị Hương") == "tran thi huong"
