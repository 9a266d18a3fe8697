"""Every reporter-facing string of the web pages is translated in all 17 languages, with
the same placeholders as the English source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.i18n import LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "app" / "web" / "templates").glob("*.html")),
    *sorted((ROOT / "app" / "web").glob("*.py")),
    *sorted((ROOT / "app" / "submissions").glob("*.py")),
]
CALL = re.compile(r"""(?:\b_|\bgettext)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def source_messages() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for double, single in CALL.findall(path.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def test_the_sources_have_messages() -> None:
    messages = source_messages()
    assert "Please write what happened." in messages
    assert "Pay and wages" in messages
    assert len(messages) > 60


@pytest.mark.parametrize("code", [lang.code for lang in LANGUAGES])
def test_catalog_is_complete_with_matching_placeholders(code: str) -> None:
    path = LOCALES_DIR / code / "LC_MESSAGES" / "web.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, domain="web")
    assert "Awaiting review by a native speaker." in path.read_text(encoding="utf-8")
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(source_messages() - set(translated))
    assert not missing, f"{code} lacks {missing}"
    for key, value in translated.items():
        # A plural message: every form carries the plural source's placeholders.
        msgid = key[-1] if isinstance(key, tuple) else key
        for text in value if isinstance(value, tuple) else (value,):
            assert text, f"{code}: {msgid!r} is not translated"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), (
                f"{code}: placeholders of {msgid!r} differ"
            )
        text = value[-1] if isinstance(value, tuple) else value
        if code != "en":
            short = len(msgid) < 12 or msgid in {"Hausa", "Status"}
            assert short or text != msgid or code in {"ms", "id"}, f"{code}: {msgid!r} copied"
