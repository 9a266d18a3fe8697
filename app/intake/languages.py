"""Which language a sender reads: their country's usual languages, the language menu,
names people type for a language, and guessing from what they wrote.

The menu must fit two SMS segments (one when it is plain GSM-7 text), so it cannot list
all 17 languages at once: the first page holds the languages most used by workers
texting from that country, and "0" pages through the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers

from app.i18n import BY_CODE, LANGUAGES
from app.intake.keywords import normalise
from channels.segments import segments


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GULF = ("ar", "en", "ur", "hi", "bn", "ne")
_SPANISH = ("es", "en")
_FRENCH = ("fr", "en")
COUNTRY_LANGUAGES: dict[str, tuple[str, ...]] = {
    "BD": ("bn", "en"),
    "IN": ("hi", "en", "bn", "ne", "ur"),
    "NP": ("ne", "hi", "en"),
    "PK": ("ur", "en"),
    "LK": ("en",),
    "MY": ("ms", "en", "bn", "ne", "my", "id", "vi"),
    "SG": ("en", "zh", "ms", "bn", "hi", "my"),
    "TH": ("my", "km", "en"),
    "KH": ("km", "en"),
    "MM": ("my", "en"),
    "VN": ("vi", "en"),
    "ID": ("id", "en"),
    "CN": ("zh", "en"),
    "HK": ("zh", "en"),
    "TW": ("zh", "en"),
    "TR": ("tr", "ar", "en"),
    "TN": ("ar", "fr"),
    "DZ": ("ar", "fr"),
    "MA": ("ar", "fr"),
    "EG": ("ar", "en"),
    "JO": ("ar", "en", "bn", "hi"),
    "LB": ("ar", "fr", "en"),
    "SA": _GULF,
    "AE": _GULF,
    "QA": _GULF,
    "KW": _GULF,
    "BH": _GULF,
    "OM": _GULF,
    "NG": ("en", "ha"),
    "NE": ("fr", "ha"),
    "GH": ("en", "ha"),
    "RS": ("sr", "en"),
    "BA": ("sr", "en"),
    "ME": ("sr", "en"),
    "HR": ("sr", "en"),
    "US": ("en", "es"),
    **{cc: _SPANISH for cc in _words("MX GT HN SV NI CR PA CO PE EC BO CL AR DO ES")},
    **{cc: _FRENCH for cc in _words("FR BE SN CI ML BF CM MG HT")},
}
MAX_PER_PAGE = 7


def country_of(number: str) -> str | None:
    """ISO region of an E.164 number, None when it is unknown."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    # A number outside the allocated ranges still tells its country by its prefix.
    region = phonenumbers.region_code_for_number(
        parsed
    ) or phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return region if region and region != "ZZ" else None


def preferred(country: str | None) -> tuple[str, ...]:
    """Every language, the country's usual ones first."""
    first = COUNTRY_LANGUAGES.get(country or "", ())
    return first + tuple(lang.code for lang in LANGUAGES if lang.code not in first)


def guess(country: str | None) -> str:
    """The language to answer in before the sender has chosen one."""
    return preferred(country)[0]


def render(header: str, codes: tuple[str, ...], more: str | None) -> str:
    lines = [header, *(f"{i} {BY_CODE[c].native}" for i, c in enumerate(codes, start=1))]
    if more is not None:
        lines.append(f"0 {more}")
    return "\n".join(lines)


def _fits(text: str) -> bool:
    encoding, count = segments(text)
    return count <= (1 if encoding == "GSM-7" else 2)


@lru_cache(maxsize=64)
def pages(country: str | None, headers: tuple[str, ...], more: str) -> tuple[tuple[str, ...], ...]:
    """The menu pages for a country, each fitting its SMS budget with any of `headers`.

    The first page ends with the country's own languages; the others fill greedily.
    """
    order = preferred(country)
    boundary = len(COUNTRY_LANGUAGES.get(country or "", ()))
    result: list[tuple[str, ...]] = []
    page: list[str] = []
    for index, code in enumerate(order):
        candidate = (*page, code)
        roomy = all(_fits(render(h, candidate, more)) for h in headers)
        if page and (not roomy or len(candidate) > MAX_PER_PAGE or index == boundary):
            result.append(tuple(page))
            page = [code]
        else:
            page.append(code)
    result.append(tuple(page))
    return tuple(result)


def menu(
    country: str | None, page: int, header: str, headers: tuple[str, ...], more: str
) -> tuple[str, tuple[str, ...]]:
    """The text of menu page `page` (wrapping around) and the languages it lists."""
    all_pages = pages(country, headers, more)
    codes = all_pages[page % len(all_pages)]
    return render(header, codes, more if len(all_pages) > 1 else None), codes


# names people type for a language -------------------------------------------------------

_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("english", "eng", "inglés", "ingles", "anglais", "ইংরেজি", "انگریزی", "अंग्रेजी"),
    "es": ("spanish", "español", "espanol", "castellano"),
    "fr": ("french", "français", "francais", "francés", "frances"),
    "ar": ("arabic", "arabi", "عربي", "عربى", "العربية", "عربية"),
    "bn": ("bangla", "bengali", "bangali", "বাংলা"),
    "ur": ("urdu", "اردو"),
    "ne": ("nepali", "नेपाली"),
    "hi": ("hindi", "हिन्दी", "हिंदी"),
    "vi": ("vietnamese", "tiếng việt", "tieng viet", "việt", "viet"),
    "km": ("khmer", "cambodian", "ខ្មែរ", "ភាសាខ្មែរ"),
    "my": ("burmese", "myanmar", "မြန်မာ", "မြန်မာစာ"),
    "id": ("indonesian", "bahasa indonesia", "indonesia"),
    "ms": ("malay", "melayu", "bahasa melayu", "bahasa malaysia"),
    "zh": ("chinese", "mandarin", "zhongwen", "中文", "汉语", "简体中文", "普通话"),
    "tr": ("turkish", "türkçe", "turkce"),
    "sr": ("serbian", "srpski", "srpskom"),
    "ha": ("hausa", "harshen hausa"),
}
_BY_NAME = {name: code for code, names in _NAMES.items() for name in names}


def by_name(text: str, *, codes: bool) -> str | None:
    """A language named in a reply ("bangla", "বাংলা"), or with `codes` also its code
    ("es"). Codes count only as an answer to the menu: "hi" is a greeting before it."""
    word = normalise(text)
    found = _BY_NAME.get(word)
    return found if found or not codes else (word if word in BY_CODE else None)


def by_number(text: str, shown: tuple[str, ...]) -> str | int | None:
    """A menu number: the language code, 0 for "more", None when not a valid number."""
    word = normalise(text).rstrip(".)")
    if not word or not word.isdecimal():
        return None
    number = int(word)  # int() reads Bengali, Arabic, Devanagari ... digits too
    if number == 0:
        return 0
    return shown[number - 1] if 1 <= number <= len(shown) else None


# guessing from the text itself ----------------------------------------------------------

_SCRIPTS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("bn", lambda ch: "\u0980" <= ch <= "\u09ff"),
    ("km", lambda ch: "\u1780" <= ch <= "\u17ff"),
    ("my", lambda ch: "\u1000" <= ch <= "\u109f"),
    ("zh", lambda ch: "\u4e00" <= ch <= "\u9fff"),
)
_VIETNAMESE_LETTERS = set("ăơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
_URDU_LETTERS = set("ٹڈڑںےۓھہکگی")
_ARABIC_LETTERS = set("ةيكى")
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words("the and we our not is are was were they my i have has been to of"),
    "es": _words("el la los las que y no nos nuestro es son de en por para con"),
    "fr": _words("le la les et nous ne pas est sont de des en pour avec notre"),
    "id": _words("dan yang tidak kami kita ini itu di dengan untuk gaji belum"),
    "ms": _words("dan yang tidak kami ini itu di dengan untuk gaji belum majikan"),
    "tr": _words("ve bir bu ben biz için ile değil çok maaş ama"),
    "sr": _words("i je su nije nisu za na da smo nam plata posao"),
    "ha": _words("da ba ne ce mu sun kuma a na ta albashi aiki"),
    "hi": _words("है हैं नहीं हम हमारा मेरा का की के में को"),
    "ne": _words("छ छैन हो हामी हाम्रो मेरो को मा लाई गर्न"),
    "vi": _words("không chúng tôi của là và được lương công ty"),
}


def detect(text: str) -> str | None:
    """The language of a narrative when it is clear; None when it is not (then: the menu).

    Unambiguous scripts decide at once; Arabic script is told apart from Urdu by letters
    only one of them uses; otherwise common words must clearly point to one language.
    """
    letters = [ch for ch in text if ch.isalpha()]
    for code, in_script in _SCRIPTS:
        if sum(map(in_script, letters)) * 2 > len(letters) > 0:
            return code
    if any("\u0600" <= ch <= "\u06ff" for ch in letters):
        urdu = sum(ch in _URDU_LETTERS for ch in letters)
        arabic = sum(ch in _ARABIC_LETTERS for ch in letters)
        return "ur" if urdu > arabic else "ar" if arabic > urdu else None
    if sum(ch in _VIETNAMESE_LETTERS for ch in text.casefold()) >= 3:
        return "vi"
    words = re.findall(r"\w+", text.casefold())
    scores = sorted(
        ((sum(w in stop for w in words), code) for code, stop in _STOPWORDS.items()),
        reverse=True,
    )
    (best, code), (second, _) = scores[0], scores[1]
    return code if best >= 3 and best >= 2 * second else None
