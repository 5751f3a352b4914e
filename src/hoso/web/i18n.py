"""Language of the pages (Vietnamese first, English on request) and locale-aware formatting.

The language comes from ``?lang=vi|en`` (which the page then stores in the ``hoso_lang``
cookie) or from that cookie; Vietnamese otherwise. Templates write both wordings side by side,
``t("Hồ sơ", "Dossiers")``, so the Vietnamese text stays where it is read and reviewed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from starlette.requests import Request

LANG_COOKIE = "hoso_lang"
LANGS = ("vi", "en")
DEFAULT_LANG = "vi"


def nfc(text: str) -> str:
    """``text`` in Unicode NFC (every Vietnamese string shown is NFC)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def requested_lang(request: Request) -> str | None:
    """The language asked for in the query string, when valid."""
    lang = request.query_params.get("lang")
    return lang if lang in LANGS else None


def lang_of(request: Request) -> str:
    """The page language: query string, then cookie, then Vietnamese."""
    lang = requested_lang(request) or request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGS else DEFAULT_LANG


@dataclass(frozen=True, slots=True)
class Locale:
    """Formatting and wording for one language; passed to templates as ``L``."""

    lang: str

    def t(self, vi: str, en: str) -> str:
        """The wording in this language (Vietnamese NFC)."""
        return nfc(vi) if self.lang == "vi" else en

    def number(self, value: int | str | Decimal) -> str:
        """Grouped number: ``12.500.000`` (vi) / ``12,500,000`` (en)."""
        try:
            num = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        text = f"{num:,}"
        if self.lang == "vi":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    def decimal(self, value: str) -> str:
        """A catalogue decimal (``"4.98"``) as written in this language (``4,98`` in vi)."""
        if self.lang == "vi" and re.fullmatch(r"-?\d+\.\d+", value):
            return value.replace(".", ",")
        return value

    def date(self, value: str | dt.date | dt.datetime | None) -> str:
        """``dd/mm/yyyy``; ISO strings that are not full dates are shown as they are."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.strftime("%d/%m/%Y")
        if isinstance(value, dt.date):
            return value.strftime("%d/%m/%Y")
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
        if m:
            return f"{m[3]}/{m[2]}/{m[1]}"
        return value

    def month(self, value: str) -> str:
        """``mm/yyyy`` from ``YYYY-MM``."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", value)
        return f"{m[2]}/{m[1]}" if m else value

    def datetime(self, value: dt.datetime | None) -> str:
        """``dd/mm/yyyy HH:MM`` in Vietnam time (UTC+7), with the zone named."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        local = value.astimezone(VIETNAM_TZ)
        return local.strftime("%d/%m/%Y %H:%M") + " (GMT+7)"

    def boolean(self, value: bool) -> str:
        """Có/Không, Yes/No."""
        return self.t("Có", "Yes") if value else self.t("Không", "No")

    @property
    def other(self) -> str:
        """The other language (for the toggle)."""
        return "en" if self.lang == "vi" else "vi"


#: Vietnam has had one time zone without daylight saving since 1975.
VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

Translator = Callable[[str, str], str]
