"""Every system message fits one SMS segment in English and two in any other language,
every catalog is complete, and the keywords the texts tell people to send really work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from app.i18n import BY_CODE, LANGUAGES, LOCALES_DIR
from app.intake import languages
from app.intake.keywords import Keyword, keyword
from app.intake.replies import Replies
from channels.segments import segments

CODES = [lang.code for lang in LANGUAGES]
REF = "7KQ2-M9XD"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def catalog(code: str) -> Catalog:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "sms.po").open("rb") as handle:
        return read_po(handle, locale=BY_CODE[code].locale, domain="sms")


def entries(code: str) -> list[Message]:
    return [m for m in catalog(code) if m.id]


def filled(text: str, code: str, n: int) -> str:
    number = format_decimal(n, locale=BY_CODE[code].locale)
    return text.replace("{ref}", REF).replace("{n}", number)


def budget(code: str) -> int:
    return 1 if code == "en" else 2


@pytest.mark.parametrize("code", CODES)
def test_every_message_fits_the_sms_budget(code: str) -> None:
    too_long = []
    for message in entries(code):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            for n in (1, 3, 12):  # one, few, many: plural forms hold numbers
                text = filled(form, code, n)
                encoding, count = segments(text)
                if count > budget(code):
                    too_long.append((count, encoding, len(text), text))
    assert not too_long


def _source_ids() -> set[str | tuple[str, str]]:
    root = Path(languages.__file__).parent
    found: set[str | tuple[str, str]] = set()
    for _, _, message, _, _ in extract_from_dir(str(root)):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.mark.parametrize("code", CODES)
def test_every_catalog_translates_every_message(code: str) -> None:
    ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in entries(code)}
    assert ids == _source_ids()
    cat = catalog(code)
    for message in entries(code):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(form.strip() for form in forms), message.id
        if isinstance(message.id, tuple):
            assert len(forms) == cat.num_plurals
            allowed = set(PLACEHOLDER.findall(message.id[0] + message.id[1]))
            assert all(set(PLACEHOLDER.findall(f)) <= allowed for f in forms)
            assert set(PLACEHOLDER.findall(forms[-1])) == allowed  # the "other" form
        else:
            assert set(PLACEHOLDER.findall(forms[0])) == set(PLACEHOLDER.findall(message.id))
        assert "fuzzy" not in message.flags


@pytest.mark.parametrize("code", CODES)
def test_catalogs_await_native_review(code: str) -> None:
    text = (LOCALES_DIR / code / "LC_MESSAGES" / "sms.po").read_text("utf-8")
    assert "# Awaiting review by a native speaker." in text.splitlines()[:10]


# The keyword each language's texts tell people to send: (STATUS, NEW, STOP, START).
TOLD = {
    "en": ("STATUS", "NEW", "STOP", "START"),
    "es": ("ESTADO", "NUEVO", "PARAR", "INICIO"),
    "fr": ("STATUT", "NOUVEAU", "STOP", "DEBUT"),
    "ar": ("حالة", "جديد", "توقف", "ابدأ"),
    "bn": ("অবস্থা", "নতুন", "বন্ধ", "শুরু"),
    "ur": ("حالت", "نیا", "بند", "شروع"),
    "ne": ("स्थिति", "नयाँ", "बन्द", "सुरु"),
    "hi": ("स्थिति", "नया", "बंद", "शुरू"),
    "vi": ("TÌNH TRẠNG", "MỚI", "DỪNG", "BẮT ĐẦU"),
    "km": ("ស្ថានភាព", "ថ្មី", "ឈប់", "ចាប់ផ្តើម"),
    "my": ("အခြေအနေ", "အသစ်", "ရပ်", "စတင်"),
    "id": ("STATUS", "BARU", "BERHENTI", "MULAI"),
    "ms": ("STATUS", "BARU", "BERHENTI", "MULA"),
    "zh": ("状态", "新", "停止", "开始"),
    "tr": ("DURUM", "YENİ", "DUR", "BAŞLA"),
    "sr": ("STATUS", "NOVO", "STOP", "START"),
    "ha": ("MATSAYI", "SABO", "TSAYA", "FARA"),
}


@pytest.mark.parametrize("code", CODES)
def test_the_keywords_the_texts_name_are_understood(code: str) -> None:
    status, new, stop, start = TOLD[code]
    say = Replies(code)
    assert status in say.filed(REF) and status in say.help()
    assert new in say.help() and stop in say.help()
    assert start in say.stopped()
    assert keyword(status, opted_out=False) == (Keyword.status, status.casefold())
    assert keyword(new, opted_out=False) is not None
    assert keyword(new, opted_out=False)[0] is Keyword.new  # type: ignore[index]
    assert keyword(stop, opted_out=False)[0] is Keyword.stop  # type: ignore[index]
    assert keyword(start, opted_out=True)[0] is Keyword.start  # type: ignore[index]


COUNTRIES = [*languages.COUNTRY_LANGUAGES, None, "ZZ", "DE"]


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_menu_page_fits_and_every_language_is_offered(country: str | None) -> None:
    say = Replies(languages.guess(country))
    headers = (say.menu_choose(), say.menu_retry())
    pages = languages.pages(country, headers, say.menu_more())
    assert sorted(c for page in pages for c in page) == sorted(CODES)
    first = languages.COUNTRY_LANGUAGES.get(country or "", ())
    assert pages[0][: len(first)] == first[: len(pages[0])]
    for index, page in enumerate(pages):
        assert 1 <= len(page) <= 9
        for header in headers:
            text, shown = languages.menu(country, index, header, headers, say.menu_more())
            assert shown == page
            encoding, count = segments(text)
            assert count <= (1 if encoding == "GSM-7" else 2), text
