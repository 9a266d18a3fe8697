"""Every console string (templates and console Python sources, and the message of every
refusal a service raises, extracted with Babel as babel-console.cfg says) is translated in all
17 languages, with the same placeholders; no refusal is an f-string Babel cannot extract."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
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
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The refusals (app/errors.py and its kinds), and Text: a message carried by a value.
REFUSALS = (
    "AppError",
    "NotFound",
    "Forbidden",
    "Conflict",
    "Unauthorized",
    "TooManyRequests",
    "LoginRequired",
    "EditConflict",
    "Text",
)


def source_messages() -> dict[str, str | None]:
    """msgid -> its plural msgid (None for a singular message), extracted exactly as the
    README's `pybabel extract --no-default-keywords -k AppError -F babel-console.cfg`."""
    with (ROOT / "babel-console.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str | None] = {}
    for _path, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={"AppError": None}
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
    # refusals from the services, the console's own, and the blockers of a resolution
    for expected in (
        "no such case",
        "a case cannot go from %(current)s to %(target)s; from %(current)s it can go to "
        "%(allowed)s",
        "choose a partner from the list",
        "step %(num)s is not agreed by the worker yet",
        "password must be at least %(num)s characters",
    ):
        assert expected in messages
    # the reporter's pages keep their own domain (`web`), never the console's
    assert "This receipt code is already in use. Make a new one." not in messages


def _refusals_in(path: Path) -> list[tuple[int, str]]:
    """(line, source) of each refusal whose message is not a plain string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in REFUSALS or not node.args:
            continue
        first = node.args[0]
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if not literal:
            found.append((node.lineno, ast.unparse(first)))
    return found


def test_every_refusal_is_a_msgid_with_named_values() -> None:
    """An f-string (or a joined string) cannot be looked up in a catalog: a refusal's message
    is a literal with %(name)s placeholders, the values passed by name. The exceptions are
    a message built before it was a refusal (`AppError.saying`, a shared Text constant), and
    the reporter's pages, whose messages are in the `web` domain."""
    allowed = {
        ("app/accounts/service.py", "REUSED_CODE.msgid"),
        ("app/submissions/service.py", "_('This receipt code is already in use. Make a new one.')"),
    }
    offenders = [
        (str(path.relative_to(ROOT)), line, source)
        for path in sorted((ROOT / "app").rglob("*.py"))
        for line, source in _refusals_in(path)
        if (str(path.relative_to(ROOT)), source) not in allowed
    ]
    assert not offenders


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
