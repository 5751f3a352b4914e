"""Render Vietnamese text the way legacy 8-bit encodings show up after a wrong decode.

Old HR systems stored text in TCVN3 (ABC, the ``.VnTime`` fonts) or VNI-Windows. Read back as
Windows-1252 such text becomes mojibake (SACH-003): ``Hà Nội`` → ``Hµ Néi`` (TCVN3) or
``Haø Noäi`` (VNI). These functions produce that mojibake from clean Unicode text, for the
``legacy_encoding`` defects.

- **TCVN3** maps each precomposed letter to one byte. Capital letters with a tone mark have
  no code of their own (the capital fonts reuse the lower-case codes), so they map to the
  lower-case byte. ``ư`` is byte 0xAD, a soft hyphen in Windows-1252; callers that must not
  produce format characters check :func:`tcvn3_safe` first.
- **VNI** writes the base letter followed by one or two bytes for the modifier and the tone.
"""

from __future__ import annotations

import re
import unicodedata

# Lower-case letters → TCVN3 byte (read as Latin-1 / Windows-1252).
_TCVN3_LOWER = {
    "à": 0xB5, "á": 0xB8, "ả": 0xB6, "ã": 0xB7, "ạ": 0xB9,
    "ă": 0xA8, "ằ": 0xBB, "ắ": 0xBE, "ẳ": 0xBC, "ẵ": 0xBD, "ặ": 0xC6,
    "â": 0xA9, "ầ": 0xC7, "ấ": 0xCA, "ẩ": 0xC8, "ẫ": 0xC9, "ậ": 0xCB,
    "đ": 0xAE,
    "è": 0xCC, "é": 0xD0, "ẻ": 0xCE, "ẽ": 0xCF, "ẹ": 0xD1,
    "ê": 0xAA, "ề": 0xD2, "ế": 0xD5, "ể": 0xD3, "ễ": 0xD4, "ệ": 0xD6,
    "ì": 0xD7, "í": 0xDD, "ỉ": 0xD8, "ĩ": 0xDC, "ị": 0xDE,
    "ò": 0xDF, "ó": 0xE3, "ỏ": 0xE1, "õ": 0xE2, "ọ": 0xE4,
    "ô": 0xAB, "ồ": 0xE5, "ố": 0xE8, "ổ": 0xE6, "ỗ": 0xE7, "ộ": 0xE9,
    "ơ": 0xAC, "ờ": 0xEA, "ớ": 0xED, "ở": 0xEB, "ỡ": 0xEC, "ợ": 0xEE,
    "ù": 0xEF, "ú": 0xF3, "ủ": 0xF1, "ũ": 0xF2, "ụ": 0xF4,
    "ư": 0xAD, "ừ": 0xF5, "ứ": 0xF8, "ử": 0xF6, "ữ": 0xF7, "ự": 0xF9,
    "ỳ": 0xFA, "ý": 0xFD, "ỷ": 0xFB, "ỹ": 0xFC, "ỵ": 0xFE,
}  # fmt: skip
_TCVN3_UPPER = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}


def _tcvn3_table() -> dict[int, str]:
    table = {ord(ch): chr(b) for ch, b in _TCVN3_LOWER.items()}
    table.update({ord(ch): chr(b) for ch, b in _TCVN3_UPPER.items()})
    for ch, b in _TCVN3_LOWER.items():
        upper = ch.upper()
        if ord(upper) not in table:
            table[ord(upper)] = chr(b)
    return table


_TCVN3 = _tcvn3_table()

# VNI: tone bytes after a plain vowel, after a circumflex and after a breve (lower, upper).
_VNI_TONE = {"\u0301": "ù", "\u0300": "ø", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_VNI_TONE_UP = {"\u0301": "Ù", "\u0300": "Ø", "\u0309": "Û", "\u0303": "Õ", "\u0323": "Ï"}
_VNI_CIRC = {None: "â", "\u0301": "á", "\u0300": "à", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_VNI_CIRC_UP = {
    None: "Â",
    "\u0301": "Á",
    "\u0300": "À",
    "\u0309": "Å",
    "\u0303": "Ã",
    "\u0323": "Ä",
}
_VNI_BREVE = {None: "ê", "\u0301": "é", "\u0300": "è", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
_VNI_BREVE_UP = {
    None: "Ê",
    "\u0301": "É",
    "\u0300": "È",
    "\u0309": "Ú",
    "\u0303": "Ü",
    "\u0323": "Ë",
}
_VNI_I = {"\u0301": "í", "\u0300": "ì", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}
_VNI_I_UP = {"\u0301": "Í", "\u0300": "Ì", "\u0309": "Æ", "\u0303": "Ó", "\u0323": "Ò"}
_TONES = frozenset(_VNI_TONE)


#: Characters quality-rules.md §5 names as TCVN3 signatures (seen inside a word).
TCVN3_SIGNATURES = frozenset("§®¨©ª«¬µ¶·¸¹½¾¡¢£¤¥¦")
#: VNI signatures of quality-rules.md §5: a vowel followed by a VNI tone byte, a, e or o
#: followed by a VNI circumflex/breve byte (never Vietnamese), and Ñ/ñ for Đ/đ.
VNI_SIGNATURE = re.compile(r"[aeiouyAEIOUY][ùøûõïäë]|[aeoAEO][âêô]|[ñÑ]")


def has_tcvn3_signature(text: str) -> bool:
    """True when ``text`` holds a TCVN3 signature character next to a letter."""
    return any(
        ch in TCVN3_SIGNATURES
        and ((i > 0 and text[i - 1].isalpha()) or (i + 1 < len(text) and text[i + 1].isalpha()))
        for i, ch in enumerate(text)
    )


def has_vni_signature(text: str) -> bool:
    """True when ``text`` shows one of the VNI patterns."""
    return VNI_SIGNATURE.search(text) is not None


def to_tcvn3(text: str) -> str:
    """``text`` (NFC) as TCVN3 bytes shown in Windows-1252: ``Nguyễn Văn An`` → ``NguyÔn V¨n An``."""
    return unicodedata.normalize("NFC", text).translate(_TCVN3)


def tcvn3_safe(text: str) -> bool:
    """True when :func:`to_tcvn3` gives detectable mojibake without a soft hyphen (no ``ư``)."""
    return "ư" not in text and "Ư" not in text and has_tcvn3_signature(to_tcvn3(text))


def vni_safe(text: str) -> bool:
    """True when :func:`to_vni` gives mojibake with a VNI signature."""
    return has_vni_signature(to_vni(text))


def _vni_char(ch: str) -> str:
    parts = unicodedata.normalize("NFD", ch)
    base, marks = parts[0], parts[1:]
    if base in "dD" and not marks:
        return ch
    if ch == "đ":
        return "ñ"
    if ch == "Đ":
        return "Ñ"
    tone = next((m for m in marks if m in _TONES), None)
    upper = base.isupper()
    if "\u0302" in marks:  # circumflex â ê ô
        return base + (_VNI_CIRC_UP if upper else _VNI_CIRC)[tone]
    if "\u0306" in marks:  # breve ă
        return base + (_VNI_BREVE_UP if upper else _VNI_BREVE)[tone]
    if "\u031b" in marks:  # horn ơ ư
        horn = {"o": "ô", "O": "Ô", "u": "ö", "U": "Ö"}[base]
        return horn + ((_VNI_TONE_UP if upper else _VNI_TONE)[tone] if tone else "")
    if tone is None:
        return ch
    if base in "iI":
        return (_VNI_I_UP if upper else _VNI_I)[tone]
    return base + (_VNI_TONE_UP if upper else _VNI_TONE)[tone]


def to_vni(text: str) -> str:
    """``text`` as VNI-Windows bytes shown in Windows-1252: ``Hà Nội`` → ``Haø Noäi``."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        out.append(ch if ord(ch) < 0xC0 else _vni_char(ch))
    return "".join(out)
