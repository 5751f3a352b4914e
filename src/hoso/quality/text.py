"""Vietnamese text hygiene for the quality rules: legacy encodings, Unicode form, names.

Everything follows ``quality-rules.md`` §5 and has two faces: a plain-Python function for one
value (cleaning proposals, the web page, tests) and, where the engine scans millions of
values, a regex pattern string that gives the same answer in Python ``re`` and in the Rust
``regex`` crate behind ``polars.Expr.str.contains`` (the patterns use only ASCII, ``\\xHH``
and ``\\uHHHH`` escapes, classes and alternation, which both engines read alike).

=========================  ==================================================================
``detect_legacy``          SACH-003: ``"tcvn3"``, ``"vni"`` or ``None``
                           (vectorised: ``TCVN3_PATTERN``, ``VNI_PATTERN``, ``LEGACY_PATTERN``)
``repair_legacy``          the same text converted back to NFC Unicode, as a :class:`Repair`
``repair_tcvn3/_vni``      the conversion of one encoding
``is_nfc``                 SACH-004, not NFC (pre-filter: ``COMBINING_MARK_PATTERN``)
``has_invisible``          SACH-004, control or invisible format characters
                           (``INVISIBLE_PATTERN``)
``clean_unicode``          NFC, without those characters
``is_valid_name``          SACH-006 (``NAME_PATTERN_RUST`` in Polars; ``NAME_PATTERN`` = §5)
``is_valid_birth_name``    SACH-005/006 for the birth name
``normalise_name``         NFC, clean, single spaces, trimmed
``normalise_birth_name``   the same in upper case
``dedup_key_name``         SACH-002's name key (vectorised: :func:`dedup_key_name_expr`)
=========================  ==================================================================

Legacy encodings
----------------
Old HR systems stored text in **TCVN3** (ABC, the ``.VnTime`` fonts: one byte per letter) or
**VNI-Windows** (a base letter followed by bytes for the vowel mark and the tone). Read back as
Windows-1252/Latin-1 such text becomes mojibake: ``Hà Nội`` is ``Hµ Néi`` in TCVN3 and
``Haø Noäi`` in VNI.

*Detection* looks for character pairs that the conversion produces and that correct
Vietnamese never contains (a test runs every syllable spelling, with old and new tone
placement, in lower, title and upper case):

- TCVN3 (``TCVN3_PATTERN``): a signature character of §5 (``§ ® ¨ © ª « ¬ µ ¶ · ¸ ¹ ½ ¾ ¡ ¢
  £ ¤ ¥ ¦``), ``» ¼`` (``ằ ẳ``) or the soft hyphen (``ư`` is byte 0xAD) next to a letter of
  TCVN3 text. Those for letters that never end a syllable (``Đ đ ă â Ă Â ằ ẳ``) count only
  before a letter, and ``«`` (``ô``) only after a letter or before a lower-case one, so
  ``ABC®``, ``Microsoft©`` and ``«Hà Nội»`` are not flagged. Beyond §5's list (its example
  ``ViÖt Nam`` has none of them): a toned letter whose byte shows as a capital (``À``–``Þ``)
  after a lower-case letter (``ViÖt``, ``ChiÕn``) or between a consonant and a lower-case
  letter (``BÝch``); a consonant followed by one of ``ï ë ß þ ñ î ä ü ç ø å`` (``ù ở ò ỵ ủ ợ
  ọ ỹ ỗ ứ ồ``: ``Bïi``, ``häc``, ``Mü``), which VNI never writes after a consonant; ``uú``
  (``uỳ``); ``×``/``÷`` (``ì``/``ữ``) next to a letter (``m×nh``).
- VNI (``VNI_PATTERN``): a vowel followed by a tone byte ``ù ø û õ ï`` (not after ``i``,
  which VNI writes as one byte, so ``giùm`` is not flagged); ``a``/``e`` followed by a
  circumflex-and-tone byte ``á à ã`` (not after ``o``: ``hoà``, ``hoá``); ``a``/``e``/``o``
  followed by ``â ä å ê ô``; ``a`` followed by a breve byte ``é è ú ü ë``; a horn byte
  ``ô ö`` followed by a tone byte; ``öô`` (``ươ``); ``ñ`` (``đ``); a letter followed by
  ``æ`` (``ỉ``); a consonant followed by ``ö`` (``ư``); each in either case.
- Some foreign words share these pairs and are flagged: French ``où``, ``naïve``,
  ``Raphaël``, ``Français``; Spanish ``Peña``; German ``Müller``, ``Köln``, ``Universität``;
  Nordic ``Søren``, ``Håkan``. Text that is all ASCII is never flagged.
- *Which encoding.* A TCVN3 signature means TCVN3 (VNI output never contains one). VNI's
  pairs also occur in TCVN3 text (``Thñy`` is TCVN3 ``Thủy``, ``Tæ`` is TCVN3 ``Tổ`` and VNI
  ``Tỉ``), so a text with only those is read both ways and is TCVN3 when more of its words
  are then spelt like Vietnamese syllables (onset, known rhyme, tone on the vowel that takes
  it, old or new placement), or as many and fewer letters of the others. Some short texts are
  valid both ways (``LÖ`` is TCVN3 ``Lệ`` and VNI ``LƯ``; ``Thuû`` TCVN3 ``Thuỷ``, VNI
  ``Thủ``): they count as VNI and the repair is marked ambiguous. This check runs only on
  flagged texts.
- *Not detectable*: mojibake made only of letters Vietnamese also uses (TCVN3 ``Dòng`` for
  ``Dũng``, VNI ``Thò`` for ``Thị``) and TCVN3 capitals (``BÝCH``) without a signature. The
  generator only injects mojibake that shows a signature (``tcvn3_safe``/``vni_safe``).

*Repair* converts a text that shows a legacy signature (``LEGACY_PATTERN``); a text without
one is returned unchanged, because correct Unicode shares code points with the mojibake
(``ó`` is TCVN3 ``ú`` and VNI ``ĩ``) and converting it blindly would corrupt it
(``force=True`` converts anyway, for a text a person has identified). The result is NFC.

TCVN3 case restoration
----------------------
TCVN3 has bytes for the capitals ``Ă Â Ê Ô Ơ Ư Đ`` but none for capitals with a tone mark
(the capital fonts reused the lower-case bytes), so ``Ễ`` and ``ễ`` are both ``Ô``. Every
other letter (ASCII, the seven capitals, ``ă â ê ô ơ ư đ``) keeps its case. The case of a
toned letter is restored from context, word by word (a word is a run of letters of TCVN3
text):

1. **Inside a word** (not its first letter): the case of the word's other non-initial letters
   when they agree (``NGUYÔN`` → ``NGUYỄN``, ``NguyÔn`` → ``Nguyễn``; the first letter does
   not count, being upper case in title case too). When they disagree, the nearest one
   (ambiguous). When the word has none (``Hµ``, ``Tæ``), the text decides: lower case if any
   word of the text has lower-case letters after its first, upper case if the words that
   show a case are all capitals (``HÀ NỘI``; an acronym such as ``GD&ĐT`` in a normal text
   does not make it capitals), else lower case and ambiguous.
2. **First letter of a word**: upper case when the rest of the word is upper case (its next
   letters, or the text by rule 1 for a one-letter word). Otherwise upper case at the start
   of the text or of a sentence (after ``. ! ?`` or a line break; ambiguous when the text is
   that one word); else the case of the other words' first letters that show one, sentence
   starts excepted (``NguyÔn ThÞ ¸nh`` → ``Ánh``; ``®i vÒ ¸p`` → ``áp``), by majority and
   ambiguous when they disagree; lower case and ambiguous when none shows a case.

``Repair.ambiguous`` is true when any letter was decided without evidence or against
disagreeing evidence: a person checks the proposal (it is only a proposal anyway).

Unicode hygiene and names
-------------------------
Invisible characters are the C0/C1 controls (no exception), the soft hyphen, zero-width
space/non-joiner/joiner, the bidirectional marks and controls, the word joiner and invisible
operators, U+180E and the BOM/zero-width no-break space. :func:`clean_unicode` turns control
whitespace (tab, line breaks) into a space and drops the others, then applies NFC.

``NAME_PATTERN`` is §5's regex verbatim. In Python ``[^\\W\\d_]`` also admits non-decimal
numbers (``½ ² Ⅻ``) and in Rust combining marks, ZWJ and ZWNJ, so the functions and
``NAME_PATTERN_RUST`` use letters (Unicode category L) as §5 and SACH-006 describe. Both
engines give the same answer on NFC text; the importer stores NFC and :func:`is_valid_name`
applies NFC first (an NFD name fails ``NAME_PATTERN_RUST``, and SACH-004 reports it).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

__all__ = [
    "COMBINING_MARK_PATTERN",
    "INVISIBLE_PATTERN",
    "LEGACY_PATTERN",
    "NAME_PATTERN",
    "NAME_PATTERN_RUST",
    "TCVN3_PATTERN",
    "VNI_PATTERN",
    "Encoding",
    "Repair",
    "clean_unicode",
    "dedup_key_name",
    "dedup_key_name_expr",
    "detect_legacy",
    "has_invisible",
    "is_nfc",
    "is_valid_birth_name",
    "is_valid_name",
    "normalise_birth_name",
    "normalise_name",
    "repair_legacy",
    "repair_tcvn3",
    "repair_vni",
]

Encoding = Literal["tcvn3", "vni"]
"""A legacy 8-bit Vietnamese encoding that :func:`detect_legacy` recognises."""

_Case = Literal["U", "L"]

# --- building blocks ------------------------------------------------------------------------

_GRAVE, _HOOK, _TILDE, _ACUTE, _DOT = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"
#: Tone marks in TCVN3's byte order: none, huyền, hỏi, ngã, sắc, nặng.
_TONES: Final = ("", _GRAVE, _HOOK, _TILDE, _ACUTE, _DOT)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _cls(chars: Iterable[str]) -> str:
    """A regex character class of ``chars`` in ASCII with escapes (both engines read it)."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        first, last = points[i], points[j]
        parts.append(_esc(first) if first == last else f"{_esc(first)}-{_esc(last)}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def _words(spaced: str) -> tuple[str, ...]:
    return tuple(spaced.split())


def _esc(point: int) -> str:
    ch = chr(point)
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\x{point:02x}" if point <= 0xFF else f"\\u{point:04x}"


# --- TCVN3 ----------------------------------------------------------------------------------

#: Each vowel's TCVN3 bytes (as Latin-1 characters) in the order of ``_TONES``.
_TCVN3_VOWELS: Final = {
    "a": "a\xb5\xb6\xb7\xb8\xb9",
    "ă": "\xa8\xbb\xbc\xbd\xbe\xc6",
    "â": "\xa9\xc7\xc8\xc9\xca\xcb",
    "e": "e\xcc\xce\xcf\xd0\xd1",
    "ê": "\xaa\xd2\xd3\xd4\xd5\xd6",
    "i": "i\xd7\xd8\xdc\xdd\xde",
    "o": "o\xdf\xe1\xe2\xe3\xe4",
    "ô": "\xab\xe5\xe6\xe7\xe8\xe9",
    "ơ": "\xac\xea\xeb\xec\xed\xee",
    "u": "u\xef\xf1\xf2\xf3\xf4",
    "ư": "\xad\xf5\xf6\xf7\xf8\xf9",
    "y": "y\xfa\xfb\xfc\xfd\xfe",
}
#: The capitals TCVN3 has a byte for (no capital carries a tone mark).
_TCVN3_CAPITALS: Final = {
    "\xa1": "Ă",
    "\xa2": "Â",
    "\xa3": "Ê",
    "\xa4": "Ô",
    "\xa5": "Ơ",
    "\xa6": "Ư",
    "\xa7": "Đ",
}


def _tcvn3_decode() -> dict[str, tuple[str, _Case | None]]:
    """TCVN3 character → (lower-case letter, its case or ``None`` when the byte hides it)."""
    table: dict[str, tuple[str, _Case | None]] = {"\xae": ("đ", "L")}
    for vowel, codes in _TCVN3_VOWELS.items():
        for tone, code in zip(_TONES, codes, strict=True):
            if not code.isascii():
                table[code] = (_nfc(vowel + tone), None if tone else "L")
    for code, capital in _TCVN3_CAPITALS.items():
        table[code] = (capital.lower(), "U")
    return table


_TCVN3_DECODE: Final = _tcvn3_decode()
_TCVN3_LETTERS: Final = frozenset(string.ascii_letters) | frozenset(_TCVN3_DECODE)
# §5's signatures, split by where they may stand (see the module docstring).
_TCVN3_SIG_BEFORE: Final = "§®¨©¡¢»¼"  # Đ đ ă â Ă Â ằ ẳ: never end a syllable
_TCVN3_SIG_EITHER: Final = "ª¬µ¶·¸¹½¾£¤¥¦\xad"  # ê ơ à ả ã á ạ ẵ ắ Ê Ô Ơ Ư, ư (soft hyphen)
_TCVN3_SIG_O: Final = "«"  # ô, also a quotation mark
# Beyond §5's list. Toned letters whose byte shows as a capital (ặ ầ ẩ ẫ ấ ậ è ẻ ẽ é ẹ ề ể ễ
# ế ệ ỉ ĩ í ị) after a lower-case letter, or inside a word before a lower-case one.
_TCVN3_CAPITAL_LOOKING: Final = "ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖØÜÝÞ"
# Bytes for ù ở ò ỵ ủ ợ ọ ỹ ỗ ứ ồ, which VNI never puts after a consonant (its mark bytes
# follow vowels). Not after j (Bjørn).
_TCVN3_AFTER_CONSONANT: Final = "ïëßþñîäüçøå"
_TCVN3_SIGNS: Final = "×÷"  # ì ữ
_CONSONANTS: Final = "bcdfghklmnpqrstvxzBCDFGHKLMNPQRSTVXZ"

_L = _cls(_TCVN3_LETTERS)
#: Letters of TCVN3 text that look lower case (the toned bytes À-Þ look like capitals).
_LOOKS_LOWER = _cls(
    set(string.ascii_lowercase)
    | {c for c, (_, case) in _TCVN3_DECODE.items() if case != "U" and not c.isupper()}
)
TCVN3_PATTERN: Final = "|".join(
    (
        _L + _cls(_TCVN3_SIG_EITHER + _TCVN3_SIG_O),
        _cls(_TCVN3_SIG_EITHER + _TCVN3_SIG_BEFORE) + _L,
        _cls(_TCVN3_SIG_O) + _LOOKS_LOWER,
        _LOOKS_LOWER + _cls(_TCVN3_CAPITAL_LOOKING),
        _cls(_CONSONANTS) + _cls(_TCVN3_CAPITAL_LOOKING) + _LOOKS_LOWER,
        _cls(_CONSONANTS) + _cls(_TCVN3_AFTER_CONSONANT),
        _cls("uU") + _cls("ú"),  # ỳ after u (Huúnh); VNI ú follows a only
        _cls(string.ascii_letters) + _cls(_TCVN3_SIGNS),
        _cls(_TCVN3_SIGNS) + _cls(string.ascii_letters),
    )
)
"""SACH-003, TCVN3 read as Windows-1252: a signature inside a word (Python and Rust)."""

_TCVN3_WORD = re.compile(f"{_L}+")
_SENTENCE_END = frozenset(".!?\n\r")

# --- VNI ------------------------------------------------------------------------------------

#: VNI bytes (lower case; the upper-case form is ``str.upper``) in the order of ``_TONES[1:]``.
_VNI_TONE = "øûõùï"  # after a plain vowel or a horn letter
_VNI_CIRCUMFLEX = "âàåãáä"  # after a, e, o: circumflex with no tone, then the tones
_VNI_BREVE = "êèúüéë"  # after a: breve with no tone, then the tones
_VNI_I = "ìæóíò"  # i with a tone, one byte
_VNI_HORN = {"ô": "ơ", "ö": "ư"}


def _vni_decode() -> dict[str, str]:
    """VNI sequence (one or two characters) → NFC letter, in both cases."""
    table: dict[str, str] = {"ñ": "đ", "Ñ": "Đ"}

    def add(base: str, marks: str, byte: str) -> None:
        # The letter takes the base's case; the mark byte may be in either case.
        for b in (base, base.upper()):
            for m in (byte, byte.upper()):
                table[b + m] = _nfc(b + marks)

    for base in "aeouy":
        for tone, byte in zip(_TONES[1:], _VNI_TONE, strict=True):
            add(base, tone, byte)
    for base in "aeo":
        for tone, byte in zip(_TONES, _VNI_CIRCUMFLEX, strict=True):
            add(base, "\u0302" + tone, byte)
    for tone, byte in zip(_TONES, _VNI_BREVE, strict=True):
        add("a", "\u0306" + tone, byte)
    for tone, byte in zip(_TONES[1:], _VNI_I, strict=True):
        table[byte] = _nfc("i" + tone)
        table[byte.upper()] = _nfc("I" + tone)
    for horn, letter in _VNI_HORN.items():
        for h, out in ((horn, letter), (horn.upper(), letter.upper())):
            table[h] = out
            for tone, byte in zip(_TONES[1:], _VNI_TONE, strict=True):
                for m in (byte, byte.upper()):
                    table[h + m] = _nfc(out + tone)
    return table


_VNI_DECODE: Final = _vni_decode()
_VNI_SEQUENCE = re.compile(
    "|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=lambda k: (-len(k), k)))
)


def _both(chars: str) -> str:
    return chars + chars.upper()


VNI_PATTERN: Final = "|".join(
    (
        _cls(_both("aeouy")) + _cls(_both(_VNI_TONE)),
        _cls(_both("ae")) + _cls(_both("áàã")),
        _cls(_both("aeo")) + _cls(_both("âäåêô")),
        _cls(_both("a")) + _cls(_both("éèúüë")),
        _cls(_both("ôö")) + _cls(_both(_VNI_TONE)),
        _cls(_both("ö")) + _cls(_both("ô")),
        _cls(_both("ñ")),
        _cls(string.ascii_letters) + _cls(_both("æ")),  # ỉ (or TCVN3 ổ)
        _cls(_CONSONANTS) + _cls(_both("ö")),  # ư after a consonant (or TCVN3 ử)
    )
)
"""SACH-003, VNI read as Windows-1252: letter pairs Vietnamese never has (Python and Rust)."""

LEGACY_PATTERN: Final = f"(?:{TCVN3_PATTERN})|(?:{VNI_PATTERN})"
"""SACH-003 in one scan: either encoding's signature."""

_TCVN3_RE = re.compile(TCVN3_PATTERN)
_VNI_RE = re.compile(VNI_PATTERN)
_LEGACY_RE = re.compile(LEGACY_PATTERN)

# --- Vietnamese syllables (to tell TCVN3 from VNI when only VNI's pairs show) --------------

_ONSETS = _words("ngh ng gh gi kh nh ph qu th tr ch b c d đ g h k l m n p r s t v x")
_OPEN_RHYMES = _words(
    "a e ê i y o ô ơ u ư ai ao au ay âu ây eo êu ia iu oa oai oay oe oi ôi ơi ua uê ui uy"
    " uya uyu ưa ưi ưu ươi ươu uôi iêu yêu oao oeo uơ"
)
_CLOSED_RHYMES = {  # nucleus: codas
    "a": "c ch m n ng nh p t",
    "ă": "c m n ng p t",
    "â": "c m n ng p t",
    "e": "c m n ng p t",
    "ê": "ch m n nh p t",
    "i": "ch m n nh p t",
    "o": "c m n ng p t",
    "ô": "c m n ng p t",
    "ơ": "m n p t",
    "u": "c m n ng p t",
    "ư": "c m n ng t",
    "iê": "c m n ng p t",
    "yê": "m n ng t",
    "uô": "c m n ng t",
    "ươ": "c m n ng p t",
    "oa": "c ch m n ng nh p t",
    "oă": "c m n ng t",
    "oe": "n t",
    "uâ": "n ng t",
    "uê": "ch nh",
    "uy": "ch n nh p t",
    "uyê": "n t",
    "oo": "c ng",
}


def _tone_positions(rhyme: str, closed: bool) -> frozenset[int]:
    """Where a rhyme takes its tone: on the marked vowel (ơ of ươ), else on the last vowel
    before a coda, else on the middle of three vowels or the first of two; open oa, oe, uy
    take it on either vowel (new style hoà, old style hòa)."""
    vowels = [i for i, ch in enumerate(rhyme) if ch in "aăâeêioôơuưy"]
    marked = [i for i in vowels if rhyme[i] in "ăâêôơư"]
    if marked:
        return frozenset({marked[-1]})
    if closed or len(vowels) == 1:
        return frozenset({vowels[-1]})
    if len(vowels) == 2:
        return frozenset(vowels if rhyme in ("oa", "oe", "uy") else vowels[:1])
    return frozenset({vowels[1]})


_RHYMES: Final = {r: _tone_positions(r, False) for r in _OPEN_RHYMES} | {
    n + c: _tone_positions(n + c, True) for n, cs in _CLOSED_RHYMES.items() for c in cs.split()
}
_TONE_MARKS = frozenset(_TONES[1:])
_WORD_RE = re.compile(r"[^\W\d_]+")


def _is_syllable(word: str) -> bool:
    """True when ``word`` is spelt like a Vietnamese syllable: an onset, a known rhyme, at
    most one tone on the vowel that takes it, and only sắc or nặng before c, ch, p, t."""
    base: list[str] = []
    tone, at = "", -1
    for i, ch in enumerate(_nfc(word.lower())):
        parts = unicodedata.normalize("NFD", ch)
        marks = [m for m in parts if m in _TONE_MARKS]
        if marks:
            if tone or len(marks) > 1:
                return False
            tone, at = marks[0], i
        base.append(_nfc("".join(m for m in parts if m not in _TONE_MARKS)))
    syllable = "".join(base)
    if tone and syllable.endswith(("c", "ch", "p", "t")) and tone not in (_ACUTE, _DOT):
        return False
    for onset in ("", *_ONSETS, "q"):
        if not syllable.startswith(onset):
            continue
        rhyme = syllable[len(onset) :]
        if onset == "q" and not rhyme.startswith("u"):
            continue  # q + uy…: quyên, quỳnh
        positions = _RHYMES.get(rhyme)
        if positions is None or (rhyme.startswith("yê") and onset):
            continue  # yê only without an onset (yên; tiên, khuyên)
        if rhyme.startswith("iê") and not onset:
            continue
        if not tone or at - len(onset) in positions:
            return True
    return False


def _plausibility(text: str) -> tuple[int, int]:
    """How Vietnamese ``text`` looks: (words spelt like syllables, minus the letters of the
    other words)."""
    valid = invalid = 0
    for word in _WORD_RE.findall(text):
        if _is_syllable(word):
            valid += 1
        else:
            invalid += len(word)
    return valid, -invalid


# --- Unicode hygiene ------------------------------------------------------------------------

_CONTROL_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85"
INVISIBLE_PATTERN: Final = (
    r"[\x00-\x1f\x7f-\x9f\xad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
"""SACH-004: a control character or an invisible format character (Python and Rust)."""

COMBINING_MARK_PATTERN: Final = r"[\u0300-\u036f]"
"""SACH-004 pre-filter: decomposed (NFD) Vietnamese always has a mark of U+0300–U+036F, NFC
Vietnamese never; confirm the hits with :func:`is_nfc` (other scripts' rare non-NFC forms,
such as U+212B ANGSTROM SIGN, have no such mark)."""

_INVISIBLE_RE = re.compile(INVISIBLE_PATTERN)
_CONTROL_SPACE_RE = re.compile(_cls(_CONTROL_SPACE) + "+")

# --- names ----------------------------------------------------------------------------------

NAME_PATTERN: Final = r"^[^\W\d_]+(?:[ '’-][^\W\d_]+)*$"
"""§5's name regex, verbatim (Python ``re`` reading; see the module docstring)."""

NAME_PATTERN_RUST: Final = r"^\p{L}+(?:[ '’-]\p{L}+)*$"
"""The name regex for Polars: letters, and single spaces, apostrophes or hyphens between them."""

_NAME_RE = re.compile(NAME_PATTERN)
_NAME_SEPARATORS = frozenset(" '’-")


# --- detection ------------------------------------------------------------------------------


def detect_legacy(s: str) -> Encoding | None:
    """SACH-003: ``"tcvn3"`` or ``"vni"`` when ``s`` is mojibake of that encoding, else ``None``.

    Not ``None`` exactly when ``LEGACY_PATTERN`` matches. A TCVN3 signature means TCVN3 (VNI
    never produces one). A text with only VNI's pairs may still be TCVN3 (``Thuû`` is TCVN3
    ``Thuỷ``, ``Tæ`` TCVN3 ``Tổ`` and VNI ``Tỉ``): it is TCVN3 when more of its words are
    Vietnamese syllables read as TCVN3 than read as VNI.

    >>> detect_legacy("NguyÔn V¨n An"), detect_legacy("Haø Noäi"), detect_legacy("Hà Nội")
    ('tcvn3', 'vni', None)
    """
    found = _classify(s)
    return None if found is None else found[0]


def _classify(s: str) -> tuple[Encoding, str | None] | None:
    """The encoding, and the other reading when the text is as plausible in it."""
    if s.isascii():
        return None
    if _TCVN3_RE.search(s):
        return "tcvn3", None
    if _VNI_RE.search(s):
        as_tcvn3, as_vni = _decode_tcvn3(s)[0], _decode_vni(s)
        score_tcvn3, score_vni = _plausibility(as_tcvn3), _plausibility(as_vni)
        if score_tcvn3 > score_vni:
            return "tcvn3", None
        return "vni", (as_tcvn3 if score_tcvn3 == score_vni and as_tcvn3 != as_vni else None)
    return None


# --- repair ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Repair:
    """A proposed conversion of mojibake back to NFC Unicode, for a person to review."""

    encoding: Encoding
    """The encoding detected."""
    original: str
    """The text as stored."""
    fixed: str
    """The converted text (NFC)."""
    ambiguous: bool
    """True when a person must decide: a TCVN3 letter's case, or TCVN3 versus VNI."""
    note_vi: str
    """What was done, in Vietnamese."""
    note_en: str
    """What was done, in English."""


_ENCODING_NAME = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows"}


def repair_legacy(s: str) -> Repair | None:
    """The conversion of ``s`` when :func:`detect_legacy` finds an encoding, else ``None``.

    ``ambiguous`` is true when the case of a TCVN3 toned letter was a guess, or when the text
    reads as well in TCVN3 as in VNI (the notes then give the TCVN3 reading).
    """
    found = _classify(s)
    if found is None:
        return None
    encoding, other = found
    if encoding == "tcvn3":
        fixed, ambiguous = _decode_tcvn3(s)
    else:
        fixed, ambiguous = _decode_vni(s), other is not None
    name = _ENCODING_NAME[encoding]
    note_vi = f"Chuyển từ bảng mã {name} sang Unicode NFC"
    note_en = f"Converted from {name} to Unicode NFC"
    if other is not None:
        note_vi += f"; cũng đọc được theo bảng mã TCVN3 là '{other}', cần kiểm tra"
        note_en += f"; it also reads as TCVN3 '{other}', please check"
    elif ambiguous:
        note_vi += "; chưa xác định được chữ hoa hay chữ thường của một số chữ có dấu, cần kiểm tra"
        note_en += "; the case of some toned letters could not be decided, please check"
    return Repair(encoding, s, fixed, ambiguous, note_vi, note_en)


def repair_tcvn3(s: str, *, force: bool = False) -> str:
    """``s`` converted from TCVN3 mojibake to NFC: ``NguyÔn V¨n An`` → ``Nguyễn Văn An``.

    A text without a legacy signature (``LEGACY_PATTERN``) is returned unchanged unless
    ``force`` is true. The case
    of capitals with a tone mark is restored as the module docstring describes.
    """
    if not force and not _LEGACY_RE.search(s):
        return s
    return _decode_tcvn3(s)[0]


def repair_vni(s: str, *, force: bool = False) -> str:
    """``s`` converted from VNI mojibake to NFC: ``Nguyeãn Vaên An`` → ``Nguyễn Văn An``.

    A text without a legacy signature (``LEGACY_PATTERN``) is returned unchanged unless
    ``force`` is true.
    """
    if not force and not _LEGACY_RE.search(s):
        return s
    return _decode_vni(s)


def _decode_vni(s: str) -> str:
    return _nfc(_VNI_SEQUENCE.sub(lambda m: _VNI_DECODE[m.group()], s))


@dataclass(slots=True)
class _Word:
    start: int
    end: int
    letters: list[str]  # lower case
    cases: list[_Case | None]  # None: the byte hides the case
    sentence_start: bool


def _agreed(cases: Iterable[_Case | None]) -> _Case | Literal["mixed"] | None:
    known = {c for c in cases if c is not None}
    if not known:
        return None
    return known.pop() if len(known) == 1 else "mixed"


def _tcvn3_words(s: str) -> list[_Word]:
    words: list[_Word] = []
    previous_end = 0
    for m in _TCVN3_WORD.finditer(s):
        letters: list[str] = []
        cases: list[_Case | None] = []
        for ch in m.group():
            if ch in _TCVN3_DECODE:
                letter, case = _TCVN3_DECODE[ch]
            else:  # ASCII
                letter, case = ch.lower(), ("U" if ch.isupper() else "L")
            letters.append(letter)
            cases.append(case)
        gap = s[previous_end : m.start()]
        sentence_start = not words or any(c in _SENTENCE_END for c in gap)
        words.append(_Word(m.start(), m.end(), letters, cases, sentence_start))
        previous_end = m.end()
    return words


def _decode_tcvn3(s: str) -> tuple[str, bool]:
    """The conversion and whether any case was a guess."""
    words = _tcvn3_words(s)
    # Rule 1's text-wide evidence: what the words with agreeing non-initial letters show.
    inner = {_agreed(w.cases[1:]) for w in words}
    text_inner: _Case | None = "L" if "L" in inner else ("U" if "U" in inner else None)
    ambiguous = False
    out: list[str] = []
    previous_end = 0
    for w in words:
        out.append(s[previous_end : w.start])
        previous_end = w.end
        cases = list(w.cases)
        own = _agreed(cases[1:])
        # Rule 1: toned letters after the first.
        for i in range(1, len(cases)):
            if cases[i] is not None:
                continue
            if own == "U" or own == "L":
                cases[i] = own
            elif own == "mixed":
                cases[i] = _nearest(w.cases, i)
                ambiguous = True
            elif text_inner is not None:
                cases[i] = text_inner
            else:
                cases[i] = "L"
                ambiguous = True
        # Rule 2: the first letter.
        if cases[0] is None:
            rest = _agreed(cases[1:]) if len(cases) > 1 else text_inner
            if rest == "U":
                cases[0] = "U"
            elif w.sentence_start:
                cases[0] = "U"
                ambiguous = ambiguous or len(words) == 1
            else:
                first, guessed = _first_letter_case(words, w)
                cases[0] = first
                ambiguous = ambiguous or guessed
        out.append(
            "".join(
                letter.upper() if case == "U" else letter
                for letter, case in zip(w.letters, cases, strict=True)
            )
        )
    out.append(s[previous_end:])
    return _nfc("".join(out)), ambiguous


def _nearest(cases: list[_Case | None], i: int) -> _Case:
    """The case of the known non-initial letter nearest to ``i`` (left first)."""
    for distance in range(1, len(cases)):
        for j in (i - distance, i + distance):
            if 1 <= j < len(cases) and (case := cases[j]) is not None:
                return case
    return "L"


def _first_letter_case(words: list[_Word], word: _Word) -> tuple[_Case, bool]:
    """Rule 2 for a word inside a sentence: the other words' initials (case, guessed)."""
    upper = lower = 0
    for other in words:
        if other is word or other.sentence_start or other.cases[0] is None:
            continue
        if other.cases[0] == "U":
            upper += 1
        else:
            lower += 1
    if upper and not lower:
        return "U", False
    if lower and not upper:
        return "L", False
    return ("U" if upper > lower else "L"), True


# --- Unicode hygiene ------------------------------------------------------------------------


def is_nfc(s: str) -> bool:
    """SACH-004: True when ``s`` is in Unicode NFC."""
    return unicodedata.is_normalized("NFC", s)


def has_invisible(s: str) -> bool:
    """SACH-004: True when ``s`` holds a control or invisible format character."""
    return _INVISIBLE_RE.search(s) is not None


def clean_unicode(s: str) -> str:
    """``s`` in NFC without invisible characters (control whitespace becomes one space)."""
    return _nfc(_INVISIBLE_RE.sub("", _CONTROL_SPACE_RE.sub(" ", s)))


# --- names ----------------------------------------------------------------------------------


def is_valid_name(s: str) -> bool:
    """SACH-006: letters, with single spaces, apostrophes or hyphens between them (after NFC)."""
    s = _nfc(s)
    return _NAME_RE.match(s) is not None and all(ch.isalpha() or ch in _NAME_SEPARATORS for ch in s)


def is_valid_birth_name(s: str) -> bool:
    """SACH-005/006: a valid name of at least two words, in upper case (after NFC)."""
    s = _nfc(s)
    return is_valid_name(s) and " " in s and s == s.upper()


def normalise_name(s: str) -> str:
    """``s`` cleaned (:func:`clean_unicode`), with runs of spaces collapsed and trimmed."""
    return " ".join(clean_unicode(s).split())


def normalise_birth_name(s: str) -> str:
    """:func:`normalise_name` in upper case (``đ`` → ``Đ``, ``ễ`` → ``Ễ``), NFC."""
    return _nfc(normalise_name(s).upper())


def dedup_key_name(s: str) -> str:
    """SACH-002's name key: the birth name in NFC, upper case, single spaces, trimmed."""
    return normalise_birth_name(s)


def dedup_key_name_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`dedup_key_name` as a Polars expression, for NFC input (Polars has no NFC)."""
    return (
        expr.str.replace_all(_cls(_CONTROL_SPACE), " ")
        .str.replace_all(INVISIBLE_PATTERN, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_uppercase()
    )
