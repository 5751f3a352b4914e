"""Vietnamese text hygiene: legacy encodings (SACH-003), Unicode form (SACH-004), names (SACH-002/005/006).

Inputs come from hand-written mojibake and from the generator's forward encoders
(``hoso.generate.encodings``); the module under test never imports the generator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from random import Random

import polars as pl
import pytest

from hoso.generate import encodings as gen
from hoso.generate import names as gen_names
from hoso.generate import texts as gen_texts
from hoso.quality import text
from hoso.quality.text import (
    COMBINING_MARK_PATTERN,
    INVISIBLE_PATTERN,
    LEGACY_PATTERN,
    NAME_PATTERN,
    NAME_PATTERN_RUST,
    TCVN3_PATTERN,
    VNI_PATTERN,
    clean_unicode,
    dedup_key_name,
    dedup_key_name_expr,
    detect_legacy,
    has_invisible,
    is_nfc,
    is_valid_birth_name,
    is_valid_name,
    normalise_birth_name,
    normalise_name,
    repair_legacy,
    repair_tcvn3,
    repair_vni,
)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng
LOWER = [nfc(v + t) for v in VOWELS for t in TONES] + ["đ"]
UPPER = [ch.upper() for ch in LOWER]
ALL_LETTERS = LOWER + UPPER

SENTENCES = [
    "Phó trưởng phòng Tổ chức cán bộ Sở Nội vụ tỉnh Thừa Thiên Huế",
    "Số 12 đường Lê Lợi, phường Bến Nghé, thành phố Hồ Chí Minh",
    "Chuyên viên chính phụ trách công tác thi đua, khen thưởng và kỷ luật của cơ quan",
    "Tốt nghiệp đại học chuyên ngành Quản lý nhà nước tại Học viện Hành chính Quốc gia",
    "Được giao nhiệm vụ hướng dẫn, kiểm tra việc thực hiện chế độ tiền lương đối với viên chức",
    "Hiện đang công tác tại Bệnh viện Đa khoa tỉnh Quảng Ngãi, giữ chức vụ Trưởng khoa Nội",
    "Thôn Đông Sơn, xã Yên Mỹ, tỉnh Hưng Yên. Quê quán: xã Nghĩa Hưng, tỉnh Nam Định",
]


def test_letters_cover_every_vowel_and_tone() -> None:
    assert len(set(LOWER)) == 12 * 6 + 1
    assert len(set(UPPER)) == 12 * 6 + 1
    assert all(len(ch) == 1 for ch in ALL_LETTERS)  # precomposed
    assert "Ễ" in UPPER and "ự" in LOWER and "Đ" in UPPER


# --- detection ------------------------------------------------------------------------------

HAND_TCVN3 = [
    ("NguyÔn V¨n An", "Nguyễn Văn An"),
    ("Hµ Néi", "Hà Nội"),
    ("§µ N½ng", "Đà Nẵng"),
    ("ViÖt Nam", "Việt Nam"),
    ("NGUYÔN V¡N AN", "NGUYỄN VĂN AN"),
    ("§ÆNG V¡N L¢M", "ĐẶNG VĂN LÂM"),
    ("NGUYÔN THÞ HåNG NHUNG", "NGUYỄN THỊ HỒNG NHUNG"),
    ("Tr\xadêng §¹i häc S\xad ph¹m Hµ Néi", "Trường Đại học Sư phạm Hà Nội"),
    (
        "Phã tr\xadëng phßng Tæ chøc c¸n bé Së Néi vô tØnh Thõa Thiªn HuÕ",
        "Phó trưởng phòng Tổ chức cán bộ Sở Nội vụ tỉnh Thừa Thiên Huế",
    ),
    (
        "Sè 12 ®\xadêng Lª Lîi, ph\xadêng BÕn NghÐ, thµnh phè Hå ChÝ Minh",
        "Số 12 đường Lê Lợi, phường Bến Nghé, thành phố Hồ Chí Minh",
    ),
    ("TP. Hå ChÝ Minh", "TP. Hồ Chí Minh"),
    ("ñy ban nh©n d©n tØnh", "Ủy ban nhân dân tỉnh"),
    ("PHßNG Tæ CHøC C¸N Bé", "PHÒNG TỔ CHỨC CÁN BỘ"),
    ("Së GD&§T tØnh Hµ Nam", "Sở GD&ĐT tỉnh Hà Nam"),
    ("NguyÔn ThÞ ¸nh", "Nguyễn Thị Ánh"),
    ("Tæ chøc", "Tổ chức"),  # only VNI-like pairs; TCVN3 reads as Vietnamese
    ("Thñy", "Thủy"),
    ("Khæng", "Khổng"),
]
HAND_VNI = [
    ("Nguyeãn Vaên An", "Nguyễn Văn An"),
    ("Haø Noäi", "Hà Nội"),
    ("Vieät Nam", "Việt Nam"),
    ("Ñaø Naüng", "Đà Nẵng"),
    ("NGUYEÃN VAÊN AN", "NGUYỄN VĂN AN"),
    ("Tröôøng Ñaïi hoïc Sö phaïm Haø Noäi", "Trường Đại học Sư phạm Hà Nội"),
    ("Phoù tröôûng phoøng Toå chöùc caùn boä", "Phó trưởng phòng Tổ chức cán bộ"),
    ("Thò traán Ñoâng Anh", "Thị trấn Đông Anh"),
    ("Quaän Hoaøn Kieám", "Quận Hoàn Kiếm"),
]


@pytest.mark.parametrize(("mojibake", "expected"), HAND_TCVN3)
def test_hand_written_tcvn3(mojibake: str, expected: str) -> None:
    assert detect_legacy(mojibake) == "tcvn3"
    repair = repair_legacy(mojibake)
    assert repair is not None
    assert (repair.encoding, repair.original, repair.fixed) == ("tcvn3", mojibake, expected)
    assert not repair.ambiguous
    assert repair_tcvn3(mojibake) == expected


@pytest.mark.parametrize(("mojibake", "expected"), HAND_VNI)
def test_hand_written_vni(mojibake: str, expected: str) -> None:
    assert detect_legacy(mojibake) == "vni"
    repair = repair_legacy(mojibake)
    assert repair is not None
    assert (repair.encoding, repair.fixed, repair.ambiguous) == ("vni", expected, False)
    assert repair_vni(mojibake) == expected


@pytest.mark.parametrize(("mojibake", "expected"), HAND_TCVN3 + HAND_VNI)
def test_hand_written_pairs_agree_with_the_generator(mojibake: str, expected: str) -> None:
    assert mojibake in (gen.to_tcvn3(expected), gen.to_vni(expected))


def test_repair_notes_are_bilingual() -> None:
    repair = repair_legacy("Hµ Néi")
    assert repair is not None
    assert repair.note_vi == "Chuyển từ bảng mã TCVN3 (ABC) sang Unicode NFC"
    assert repair.note_en == "Converted from TCVN3 (ABC) to Unicode NFC"
    assert is_nfc(repair.note_vi)


# --- Vietnamese that must never be flagged ---------------------------------------------------


def _words(spaced: str) -> list[str]:
    return spaced.split()


_ONSETS = ["", *_words("b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x")]
_OPEN = _words(
    "a e ê i y o ô ơ u ư ai ao au ay âu ây eo êu ia iu oa oai oay oe oi ôi ơi ua uê ui uy uya"
    " uyu ưa ưi ưu ươi ươu uôi iêu yêu oao oeo uơ"
)
_NUCLEI = _words("a ă â e ê i y o ô ơ u ư iê yê uô ươ oa oă oe uâ uê uy uyê oo")
_CODAS = _words("c ch m n ng nh p t")


def _tone_positions(rhyme: str, closed: bool) -> set[int]:
    """Where the tone goes: new style and, for open oa/oe/uy, old style (hòa/hoà)."""
    vowels = [i for i, ch in enumerate(rhyme) if ch in VOWELS]
    marked = [i for i in vowels if rhyme[i] in "ăâêôơư"]
    if marked:
        return {marked[-1]}
    if closed or len(vowels) == 1:
        return {vowels[-1]}
    if len(vowels) == 2:
        return set(vowels) if rhyme in ("oa", "oe", "uy") else {vowels[0]}
    return {vowels[1]}


def _syllables() -> Iterator[str]:
    rhymes = [(r, False) for r in _OPEN] + [(n + c, True) for n in _NUCLEI for c in _CODAS]
    for rhyme, closed in rhymes:
        for onset in _ONSETS:
            if onset == "qu" and rhyme[0] not in "aăâeêiyôơ":
                continue
            if onset == "gi" and rhyme[0] in "iy":
                continue
            for tone in TONES:
                if rhyme.startswith("oo") and tone == "\u0303":
                    continue  # "oõng" is no Vietnamese spelling (and VNI's "oõ")
                for p in _tone_positions(rhyme, closed):
                    yield nfc(onset + rhyme[: p + 1] + tone + rhyme[p + 1 :])


SYLLABLES = sorted(set(_syllables()))
SYLLABLE_VARIANTS = [v for s in SYLLABLES for v in (s, s.capitalize(), s.upper())]


def test_syllable_list_is_a_superset_of_real_words() -> None:
    words = {w for s in SENTENCES for w in re.findall(r"[^\W\d_]+", s.lower())}
    assert len(SYLLABLES) > 30_000
    assert words <= set(SYLLABLES)
    assert {"hoà", "hòa", "thuỷ", "thủy", "giùm", "khuỷu", "người", "nghiêng"} <= set(SYLLABLES)


def test_syllable_check_used_to_tell_tcvn3_from_vni() -> None:
    words = {w for s in SENTENCES + POOL for w in re.findall(r"[^\W\d_]+", s)}
    foreign = {"Education", "IDP", "II", "III", "Leeds", "Paris", "Seoul", "Tokyo", "xtrây"}
    assert [w for w in sorted(words - foreign) if not text._is_syllable(w)] == []
    valid = ["Quyên", "quỳnh", "HOÀ", "hòa", "hoà", "Thuỷ", "giường", "cáu", "ĐẶNG", "yên"]
    assert [w for w in valid if not text._is_syllable(w)] == []
    # Wrong readings of mojibake, a misplaced tone, a tone a stop coda cannot take, yê after
    # an onset, iê without one, two tones.
    invalid = ["Thđy", "chøc", "Khỉng", "caú", "hàt", "tyêm", "iêm", "ba\u0300\u0301"]
    assert [w for w in invalid if text._is_syllable(w)] == []


def test_no_vietnamese_syllable_is_flagged() -> None:
    flagged = [s for s in SYLLABLE_VARIANTS if detect_legacy(s) is not None]
    assert flagged == []


def test_no_vietnamese_syllable_matches_in_polars() -> None:
    series = pl.Series(SYLLABLE_VARIANTS)
    for pattern in (TCVN3_PATTERN, VNI_PATTERN, LEGACY_PATTERN):
        assert series.str.contains(pattern).sum() == 0


def test_correct_unicode_is_left_byte_identical() -> None:
    samples = [*ALL_LETTERS, *SENTENCES, *(s.upper() for s in SENTENCES), *SYLLABLE_VARIANTS]
    samples += [f"b{ch}n {ch} {ch}m t{ch}" for ch in LOWER]
    samples += [f"B{ch}N {ch} {ch}M T{ch} {ch}n" for ch in UPPER]
    for s in samples:
        assert repair_legacy(s) is None, s
        assert repair_tcvn3(s) == s, s
        assert repair_vni(s) == s, s
        assert clean_unicode(s) == s, s


def test_foreign_words_mostly_pass() -> None:
    ok = ["Café", "Hôtel", "résumé", "Noël", "Citroën", "château", "façade", "Bjørn", "Straße"]
    ok += ["ABC®", "Microsoft©", "«Hà Nội»", "© 2020", "£5", "1ª", "5 × 3", "Đ. Văn An"]
    assert [w for w in ok if detect_legacy(w)] == []


def test_documented_foreign_false_positives() -> None:
    # They share byte pairs with TCVN3/VNI mojibake (see the module docstring).
    flagged = ["où", "naïve", "Raphaël", "Peña", "Müller", "Universität", "Søren", "Français"]
    assert [w for w in flagged if detect_legacy(w) is None] == []


# --- round trips through the generator's encoders --------------------------------------------


def _letter_frames(ch: str) -> list[str]:
    """``ch`` inside a word, first in a word and alone, in a context of the same case."""
    if ch.islower():
        frames = [f"đặng văn {ch}n", f"đặng và {ch}"]
        if ch != "đ":
            frames.append(f"đặng t{ch}m")  # đ never stands inside a word
        return frames
    frames = [f"ĐẶNG VĂN {ch}N", f"ĐẶNG {ch}", f"Đặng Văn {ch}n"]
    if ch != "Đ":
        frames.append(f"ĐẶNG T{ch}M")
    return frames


@pytest.mark.parametrize("ch", ALL_LETTERS)
def test_tcvn3_round_trip_every_letter(ch: str) -> None:
    for s in _letter_frames(ch):
        mojibake = gen.to_tcvn3(s)
        repair = repair_legacy(mojibake)
        assert repair is not None, (s, mojibake)
        assert (repair.encoding, repair.fixed, repair.ambiguous) == ("tcvn3", s, False), mojibake


@pytest.mark.parametrize("ch", ALL_LETTERS)
def test_vni_round_trip_every_letter(ch: str) -> None:
    for s in _letter_frames(ch):
        mojibake = gen.to_vni(s)
        repair = repair_legacy(mojibake)
        assert repair is not None, (s, mojibake)
        assert (repair.encoding, repair.fixed, repair.ambiguous) == ("vni", s, False), mojibake


@pytest.mark.parametrize("ch", ALL_LETTERS)
def test_forced_decoding_of_a_lone_letter(ch: str) -> None:
    assert repair_vni(gen.to_vni(ch), force=True) == ch
    tcvn3 = repair_tcvn3(gen.to_tcvn3(ch), force=True)
    if nfc(ch).lower() in "aeiouyăâêôơưđ":  # TCVN3 keeps the case of these
        assert tcvn3 == ch
    else:  # a lone toned letter starts its text: upper case (ambiguous, see the case rule)
        assert tcvn3 == ch.upper()


@pytest.mark.parametrize("sentence", SENTENCES + [s.upper() for s in SENTENCES])
def test_sentences_round_trip(sentence: str) -> None:
    tcvn3 = gen.to_tcvn3(sentence)
    vni = gen.to_vni(sentence)
    assert tcvn3 != sentence and vni != sentence
    fixed_tcvn3 = repair_legacy(tcvn3)
    fixed_vni = repair_legacy(vni)
    assert fixed_tcvn3 is not None and fixed_vni is not None
    assert (fixed_tcvn3.encoding, fixed_tcvn3.fixed, fixed_tcvn3.ambiguous) == (
        "tcvn3",
        sentence,
        False,
    )
    assert (fixed_vni.encoding, fixed_vni.fixed, fixed_vni.ambiguous) == ("vni", sentence, False)


def _pool_strings() -> list[str]:
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, tuple | list | set | frozenset):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, gen_names.Pool):
            walk(value.items)

    for module in (gen_texts, gen_names):
        for name, value in vars(module).items():
            if name.isupper() or (name.startswith("_") and not name.startswith("__")):
                walk(value)
    return sorted(s for s in found if s.strip() and "\n" not in s)


POOL = _pool_strings()


def test_generator_pools_are_clean_and_round_trip() -> None:
    assert len(POOL) > 300
    assert [s for s in POOL if detect_legacy(s)] == []
    checked = 0
    for s in POOL + [p.upper() for p in POOL]:
        if gen.tcvn3_safe(s) or gen.has_tcvn3_signature(gen.to_tcvn3(s)):
            checked += 1
            repair = repair_legacy(gen.to_tcvn3(s))
            assert repair is not None and repair.encoding == "tcvn3", s
            # Exact, or only the case of a toned capital guessed, and then marked.
            assert repair.fixed == s or (repair.ambiguous and repair.fixed.lower() == s.lower()), s
        if gen.vni_safe(s):
            checked += 1
            repair = repair_legacy(gen.to_vni(s))
            assert repair is not None, s
            assert (repair.encoding, repair.fixed) == ("vni", s)
    assert checked > 1000


# --- TCVN3 case restoration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mojibake", "fixed", "ambiguous"),
    [
        ("NGUYÔN V¡N", "NGUYỄN VĂN", False),  # rule 1: the other letters are capitals
        ("NguyÔn", "Nguyễn", False),
        ("Hµ NéI", "HÀ NỘI", False),  # rule 1: no evidence in "Hµ", the text is in capitals
        ("Hµ Néi", "Hà Nội", False),
        ("Hµ", "Hà", True),  # no evidence at all
        ("McÇN", "McầN", True),  # disagreeing letters: the nearest (c) wins
        ("¸NH", "ÁNH", False),  # rule 2: the next letters are capitals
        ("§ÆNG ¸", "ĐẶNG Á", False),  # one-letter word in a text in capitals
        ("¸nh", "Ánh", True),  # the start of the text, and nothing else
        ("¸nh s¸ng", "Ánh sáng", False),  # the start of a sentence
        ("Trêi s¸ng. ¸nh n¾ng", "Trời sáng. Ánh nắng", False),
        ("NguyÔn ThÞ ¸nh", "Nguyễn Thị Ánh", False),  # other words' initials are capitals
        ("®i vÒ ¸p", "đi về áp", False),  # ... or lower case
        ("Lª ¸nh", "Lê ánh", True),  # only the first word, which is a sentence start
        ("Sè 5 ®\xadêng ¢u C¬ ¸p", "Số 5 đường Âu Cơ Áp", True),  # initials disagree: 2 to 1
        ("Së GD&§T tØnh", "Sở GD&ĐT tỉnh", False),  # an acronym does not make capitals
    ],
)
def test_tcvn3_case_rule(mojibake: str, fixed: str, ambiguous: bool) -> None:
    repair = repair_legacy(mojibake)
    assert repair is not None
    assert (repair.encoding, repair.fixed, repair.ambiguous) == ("tcvn3", fixed, ambiguous)
    if ambiguous:
        assert "cần kiểm tra" in repair.note_vi and "please check" in repair.note_en


def test_every_capital_toned_letter_in_capital_words() -> None:
    words = [f"{ch}NG" for ch in UPPER] + [f"NG{ch}N" for ch in UPPER] + ["NGUYỄN", "ĐẶNG"]
    for word in words:
        s = f"ĐẶNG {word} QUỐC"
        repair = repair_legacy(gen.to_tcvn3(s))
        assert repair is not None and (repair.fixed, repair.ambiguous) == (s, False), s


def test_text_readable_in_both_encodings_is_ambiguous() -> None:
    repair = repair_legacy("LÖ")  # TCVN3 "Lệ", VNI "LƯ"
    assert repair is not None
    assert (repair.encoding, repair.fixed, repair.ambiguous) == ("vni", "LƯ", True)
    assert "'Lệ'" in repair.note_vi and "'Lệ'" in repair.note_en


def test_force_converts_text_without_a_signature() -> None:
    assert repair_tcvn3("cã") == "cã"
    assert repair_tcvn3("cã", force=True) == "có"
    assert repair_vni("ôn") == "ôn"
    assert repair_vni("ôn", force=True) == "ơn"


def test_repair_is_nfc_even_when_the_input_is_not() -> None:
    s = "Hµ Néi " + unicodedata.normalize("NFD", "Việt")
    repair = repair_legacy(s)
    assert repair is not None and repair.fixed == "Hà Nội Việt" and is_nfc(repair.fixed)


# --- Python re and Polars (Rust regex) agree -------------------------------------------------

_ALPHABET = (
    "aeiouyAEIOUYbcdghnmtĐđ '’-.,&«»0123456789"
    + "".join(chr(c) for c in range(0xA0, 0x100))
    + "".join(ALL_LETTERS)
    + "\u200b\u200c\u200d\ufeff\t\n\x00\x7f\u0301\u0300\u0323½²Ⅻ一"
)


def _sample(n: int, seed: int) -> list[str]:
    rng = Random(seed)
    out = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12))) for _ in range(n)]
    mojibake = [gen.to_tcvn3(s) for s in SENTENCES + POOL] + [gen.to_vni(s) for s in POOL]
    return out + mojibake + SENTENCES + ALL_LETTERS + POOL


SAMPLE = _sample(20_000, 4)


@pytest.mark.parametrize(
    "pattern",
    [TCVN3_PATTERN, VNI_PATTERN, LEGACY_PATTERN, INVISIBLE_PATTERN, COMBINING_MARK_PATTERN],
)
def test_patterns_agree_in_python_and_polars(pattern: str) -> None:
    rust = pl.Series(SAMPLE).str.contains(pattern).to_list()
    compiled = re.compile(pattern)
    python = [compiled.search(s) is not None for s in SAMPLE]
    assert rust == python
    assert 0 < sum(python) < len(SAMPLE)  # the sample exercises both answers


def test_legacy_pattern_matches_exactly_what_detect_flags() -> None:
    rust = pl.Series(SAMPLE).str.contains(LEGACY_PATTERN).to_list()
    assert rust == [detect_legacy(s) is not None for s in SAMPLE]


def test_name_pattern_rust_agrees_with_is_valid_name() -> None:
    names = [nfc(s) for s in SAMPLE] + [
        "Nguyễn Văn An",
        "O'Brien",
        "Khơ-me",
        "Lê Thị Ánh’",
        "N½ng",
        "An\u200dh",
        "Hà  Nội",
        " Hà",
        "Hà1",
        "一二三",
    ]
    rust = pl.Series(names).str.contains(NAME_PATTERN_RUST).to_list()
    assert rust == [is_valid_name(s) for s in names]
    assert 10 < sum(rust) < len(names)


def test_spec_name_pattern_and_its_engine_differences() -> None:
    # On ordinary names §5's regex, is_valid_name and the Rust form agree.
    names = [*POOL, "Nguyễn  An", "Nguyễn An ", "An2", "Ê-đê", "D'Arc"]
    spec = re.compile(NAME_PATTERN)
    assert [spec.search(s) is not None for s in names] == [is_valid_name(s) for s in names]
    # Where they differ (why NAME_PATTERN_RUST exists): Python's [^\W\d_] admits "½";
    # Rust's \w admits joiners and combining marks.
    assert spec.search("N½ng") and not is_valid_name("N½ng")
    odd = pl.Series(["An\u200dh", "Nguye\u0302\u0303n"])
    assert odd.str.contains(NAME_PATTERN).to_list() == [True, True]
    assert odd.str.contains(NAME_PATTERN_RUST).to_list() == [False, False]


def test_dedup_key_expr_agrees_with_python() -> None:
    rng = Random(7)
    parts = ["nguyễn", "VĂN", "Đức", "ánh", "ư", " ", "  ", "\t", "\u200b", "\xa0", "\u00ad", "o'"]
    names = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    names += [" nguyễn  văn\tđức ", "Lê\u200b Thị  Ánh", "ĐẶNG VĂN LÂM"]
    frame = pl.DataFrame({"name": names}).select(dedup_key_name_expr(pl.col("name")))
    assert frame["name"].to_list() == [dedup_key_name(s) for s in names]


# --- Unicode hygiene -------------------------------------------------------------------------


def test_nfc() -> None:
    for ch in ALL_LETTERS:
        decomposed = unicodedata.normalize("NFD", ch)
        assert is_nfc(ch)
        assert is_nfc(decomposed) == (decomposed == ch)
        assert clean_unicode(decomposed) == ch
        assert (re.search(COMBINING_MARK_PATTERN, decomposed) is not None) == (decomposed != ch)
    assert not is_nfc(unicodedata.normalize("NFD", SENTENCES[0]))
    assert is_nfc(SENTENCES[0])


@pytest.mark.parametrize(
    "ch",
    ["\x00", "\x07", "\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f", "\xad", "\u200b",
     "\u200c", "\u200d", "\u200e", "\u202e", "\u2060", "\u2066", "\ufeff"],
)  # fmt: skip
def test_invisible_characters(ch: str) -> None:
    s = f"Nguy{ch}ễn"
    assert has_invisible(s)
    assert not has_invisible(clean_unicode(s))
    assert clean_unicode(s) in ("Nguyễn", "Nguy ễn")


def test_visible_text_has_no_invisible() -> None:
    visible = [*SENTENCES, *ALL_LETTERS, "O'Brien", "a b", "Hà\xa0Nội", "x–y", "«»"]
    assert [s for s in visible if has_invisible(s)] == []


def test_clean_unicode() -> None:
    assert clean_unicode("Nguy\u200bễn\tVăn\r\nAn\ufeff") == "Nguyễn Văn An"
    assert clean_unicode("\ufeffHa\u0300 No\u0323\u0302i") == "Hà Nội"
    assert clean_unicode("e\u200b\u0301") == "é"  # removal first, then NFC


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Nguyễn Văn An", True),
        ("NGUYỄN THỊ ÁNH", True),
        ("Ê-đê", True),
        ("O'Brien", True),
        ("D’Arc", True),
        ("Nguye\u0300n", True),  # NFC first
        ("An", True),
        ("Nguyễn  Văn", False),
        (" Nguyễn", False),
        ("Nguyễn ", False),
        ("Nguyễn Văn 2", False),
        ("N½ng", False),
        ("Nguyễn_Văn", False),
        ("Nguyễn.Văn", False),
        ("Nguyễn--Văn", False),
        ("-An", False),
        ("An\u200bh", False),
        ("An\n", False),
        ("", False),
    ],
)
def test_is_valid_name(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("NGUYỄN VĂN AN", True),
        ("ĐẶNG THỊ Ự", True),
        ("H'HEN NIÊ", True),
        ("NGUYỄN", False),  # one word
        ("Nguyễn Văn An", False),  # not upper case (SACH-005)
        ("NGUYỄN VĂN đỨC", False),
        ("NGUYỄN  VĂN", False),
        ("NGUYỄN VĂN 2", False),
    ],
)
def test_is_valid_birth_name(name: str, valid: bool) -> None:
    assert is_valid_birth_name(name) is valid


def test_normalise_names() -> None:
    assert normalise_name("  Nguyễn\u200b   văn\tđức ") == "Nguyễn văn đức"
    assert normalise_name("Nguye\u0302\u0303n") == "Nguyễn"
    assert normalise_birth_name(" nguyễn  văn   đức") == "NGUYỄN VĂN ĐỨC"
    assert is_valid_birth_name(normalise_birth_name(" lê  thị\xa0ánh "))
    for ch in LOWER:
        assert normalise_birth_name(f"x {ch}") == f"X {ch.upper()}"
    assert dedup_key_name("Nguyễn  Văn\u200b An") == dedup_key_name("NGUYỄN VĂN AN ")
    assert dedup_key_name("Nguye\u0302\u0303n An") == "NGUYỄN AN"


def test_module_exports_what_it_documents() -> None:
    assert set(text.__all__) <= set(dir(text))
    functions = [getattr(text, name) for name in text.__all__ if name.islower()]
    assert len(functions) == 13
    assert all(callable(f) and f.__doc__ for f in functions)
    assert text.Repair.__doc__
