"""Every console string (templates and console Python sources, extracted with Babel as
babel-console.cfg says) is translated in all 17 languages, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from app.accounts.models import OrgKind, Role
from app.cases import workflow
from app.cases.categories import Category
from app.cases.models import Status
from app.cases.remediation import STEP_STATUSES
from app.i18n import LANGUAGES, LOCALES_DIR
from app.notify.service import SAYS
from app.remediation.closure import OVERRIDES

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "app" / "console"
NOTIFY = ROOT / "app" / "notify"  # alert e-mails, in the addressee's console language
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
JINJA = {"trim_blocks": "True", "lstrip_blocks": "True"}


def source_messages() -> dict[str, str | None]:
    """msgid -> its plural msgid (None for a singular message)."""
    found: dict[str, str | None] = {}
    sources = [
        *(("python", path, {}) for path in sorted([*CONSOLE.glob("*.py"), *NOTIFY.glob("*.py")])),
        *(("jinja2", path, JINJA) for path in sorted((CONSOLE / "templates").rglob("*.html"))),
    ]
    for method, path, options in sources:
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=DEFAULT_KEYWORDS, options=options
        ):
            if isinstance(message, tuple):
                found[message[0]] = message[1]
            elif message:
                found[message] = None
    return found


def _catalog(code: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALES_DIR / code / "LC_MESSAGES" / "console.po"
    assert "Awaiting review by a native speaker." in path.read_text(encoding="utf-8")
    with path.open("rb") as handle:
        catalog = read_po(handle, domain="console")
    out: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if message.id:
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            out[key] = message.string
    return out


def test_the_sources_have_messages() -> None:
    messages = source_messages()
    assert len(messages) > 250
    for expected in ("Send message", "Sign in", "My settings", "Routing rules", "Saved."):
        assert expected in messages
    assert messages["%(num)s day"] == "%(num)s days"


def test_every_label_shown_is_a_message() -> None:
    """The `label` filter translates enum values: each one is in the catalogs."""
    messages = source_messages()
    values = [
        *Status,
        *Category,
        *Role,
        *OrgKind,
        *STEP_STATUSES,
        *workflow.CLOSURE_REASONS,
        *workflow.LINK_KINDS,
        *OVERRIDES,
        *("agreed", "disagreed", "unanswered", "waiting", "confirmed", "not_confirmed"),
        *("asked", "granted", "refused", "revoked"),
    ]
    missing = sorted({str(v).replace("_", " ") for v in values} - set(messages))
    assert not missing
    assert not sorted(set(SAYS.values()) - set(messages))  # what an alert says


@pytest.mark.parametrize("code", [lang.code for lang in LANGUAGES])
def test_catalog_is_complete_with_matching_placeholders(code: str) -> None:
    translated = _catalog(code)
    sources = source_messages()
    missing = sorted(set(sources) - set(translated))
    assert not missing, f"{code} lacks {missing}"
    for msgid, value in translated.items():
        plural = sources.get(msgid)
        texts = value if isinstance(value, tuple) else (value,)
        assert isinstance(value, tuple) is (plural is not None), f"{code}: {msgid!r} plural"
        for text in texts:
            assert text, f"{code}: {msgid!r} is not translated"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), (
                f"{code}: placeholders of {msgid!r} differ"
            )
        if code != "en" and len(msgid) >= 16 and code not in ("ms", "id"):
            assert texts[-1] != msgid, f"{code}: {msgid!r} copied"
