"""The `notify` catalogs: complete, placeholders intact, short enough for SMS."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from app.cases.notices import ALL_MSGIDS, DOMAIN, notice_text
from app.i18n import LANGUAGES, LOCALES_DIR
from channels.segments import segments

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
REFERENCE = "7KQ2-M9XD"


@pytest.mark.parametrize("lang", [lang.code for lang in LANGUAGES])
def test_every_notice_is_translated_with_its_placeholders(lang: str) -> None:
    path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    assert "# Awaiting review by a native speaker." in path.read_text(encoding="utf-8")
    with path.open("rb") as handle:
        catalog = read_po(handle)
    found = {m.id: m.string for m in catalog if m.id}
    assert set(found) == set(ALL_MSGIDS)
    for msgid, msgstr in found.items():
        assert msgstr, f"{lang}: {msgid!r} is not translated"
        assert sorted(PLACEHOLDER.findall(str(msgstr))) == sorted(PLACEHOLDER.findall(str(msgid)))


@pytest.mark.parametrize("lang", [lang.code for lang in LANGUAGES])
def test_notices_fit_in_two_sms_segments_one_in_english(lang: str) -> None:
    limit = 1 if lang == "en" else 2
    for msgid in ALL_MSGIDS:
        text = notice_text(lang, msgid, ref=REFERENCE)
        assert REFERENCE in text
        encoding, count = segments(text)
        assert count <= limit, f"{lang}: {text!r} takes {count} {encoding} segments"
        if lang != "en":
            assert text != msgid % {"ref": REFERENCE}, f"{lang} falls back to English"
