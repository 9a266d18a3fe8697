"""Reporter-facing languages and their Babel catalogs.

Catalogs live in `locales/<code>/LC_MESSAGES/<domain>.po` (domain `sms` for the phone
conversation, `web` for the reporter's pages). A compiled `.mo` beside the `.po` is used
when it is at least as new; otherwise the `.po` is compiled in memory on first use, so a
source checkout runs without a build step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True)
class Language:
    code: str  # what URLs, cookies and the database use
    locale: str  # Babel's identifier, for dates, numbers and plurals
    native: str  # the language's name in its own script

    @property
    def rtl(self) -> bool:
        return Locale.parse(self.locale).text_direction == "rtl"

    @property
    def html_lang(self) -> str:
        return self.locale.replace("_", "-")


LANGUAGES: tuple[Language, ...] = (
    Language("en", "en", "English"),
    Language("es", "es", "Español"),
    Language("fr", "fr", "Français"),
    Language("ar", "ar", "العربية"),
    Language("bn", "bn", "বাংলা"),
    Language("ur", "ur", "اردو"),
    Language("ne", "ne", "नेपाली"),
    Language("hi", "hi", "हिन्दी"),
    Language("vi", "vi", "Tiếng Việt"),
    Language("km", "km", "ខ្មែរ"),
    Language("my", "my", "မြန်မာ"),
    Language("id", "id", "Bahasa Indonesia"),
    Language("ms", "ms", "Bahasa Melayu"),
    Language("zh", "zh_Hans", "简体中文"),
    Language("tr", "tr", "Türkçe"),
    Language("sr", "sr_Latn", "Srpski"),
    Language("ha", "ha", "Hausa"),
)
BY_CODE = {lang.code: lang for lang in LANGUAGES}
DEFAULT = BY_CODE["en"]

_cache: dict[tuple[str, str], NullTranslations] = {}
_lock = threading.Lock()


def language(code: str | None) -> Language | None:
    if not code:
        return None
    return BY_CODE.get(code.strip().lower().replace("_", "-").split("-")[0]) or BY_CODE.get(
        code.strip()
    )


def _load(code: str, domain: str) -> NullTranslations:
    po = LOCALES_DIR / code / "LC_MESSAGES" / f"{domain}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain=domain)
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=BY_CODE[code].locale, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def translations(code: str, domain: str) -> NullTranslations:
    """The catalog for a language; English source strings when a message is missing."""
    key = (code if code in BY_CODE else DEFAULT.code, domain)
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _load(*key)
                _cache[key] = found
    return found


def negotiate(accept_language: str | None) -> Language | None:
    """Babel's negotiation over an Accept-Language header (quality values honoured)."""
    if not accept_language:
        return None
    preferred: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            preferred.append((quality, tag.strip().replace("-", "_")))
    preferred.sort(key=lambda item: -item[0])
    available = [lang.code for lang in LANGUAGES] + [lang.locale for lang in LANGUAGES]
    chosen = negotiate_locale([tag for _, tag in preferred], available, sep="_")
    return language(chosen) if chosen else None
