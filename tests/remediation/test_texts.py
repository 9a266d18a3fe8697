"""The remediation catalogs: complete in all 17 languages, every SMS within the budget with
a worker text filled in, the keywords they tell people to send recognised, and answers read
in any script."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from app.i18n import BY_CODE, LANGUAGES, LOCALES_DIR
from app.intake.keywords import Keyword, keyword
from app.remediation import answers
from app.remediation import texts as t
from app.remediation.texts import Texts, budget, worker_text_room
from channels.segments import segments

CODES = [lang.code for lang in LANGUAGES]
REF = "7KQ2-M9XD"
# A worker text of the length a monitor writes (in the language's script where it has one).
SAMPLE = {
    "bn": "মালিক ৩০ দিনের মধ্যে বকেয়া বেতন দেবেন",
    "ar": "سيدفع المالك الأجور المتأخرة خلال 30 يوما",
    "zh": "老板将在30天内补发拖欠的工资",
    "en": "The owner pays the missing wages within 30 days",
}
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _catalog(code: str) -> dict[str, str]:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "remediation.po").open("rb") as handle:
        catalog = read_po(handle, locale=BY_CODE[code].locale, domain="remediation")
    return {str(m.id): str(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("code", CODES)
def test_every_catalog_is_complete_and_keeps_its_placeholders(code: str) -> None:
    found = _catalog(code)
    wanted = set(t.SMS_MSGIDS) | set(t.WEB_MSGIDS.values())
    assert set(found) == wanted
    for msgid, text in found.items():
        assert text.strip(), msgid
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid
        if code != "en":
            assert text != msgid, msgid


@pytest.mark.parametrize("code", CODES)
def test_every_sms_fits_the_budget_with_a_worker_text(code: str) -> None:
    say = Texts(code)
    sample = SAMPLE.get(code, "Mwenye kiwanda 30 hari")
    for msgid in t.SMS_MSGIDS:
        text = say.fill(msgid, n=99, ref=REF, text=sample if "{text}" in msgid else "")
        assert segments(text)[1] <= budget(code), (msgid, segments(text), text)
    assert worker_text_room(code, sample)
    assert not worker_text_room(code, "x" * 200 if code == "en" else "ক" * 120)


@pytest.mark.parametrize("code", CODES)
def test_the_words_the_texts_ask_for_are_keywords(code: str) -> None:
    say = Texts(code)
    joined = say.gettext(t.JOINED_CLOSED)
    too_late = say.gettext(t.TOO_LATE)
    reopen_words = [w for w in _candidates(joined) if _is(w, Keyword.reopen)]
    assert reopen_words, joined
    assert any(_is(w, Keyword.new) for w in _candidates(too_late)), too_late


def _candidates(text: str) -> list[str]:
    """Every run of one to three words in the text, the way a reporter would copy it."""
    words = re.split(r"[\s“”\"]+", re.sub(r"[.,。，：:？?]", " ", text))
    words = [w for w in words if w]
    runs = [" ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words))]
    return runs + re.findall(r"“([^”]+)”", text)


def _is(word: str, wanted: Keyword) -> bool:
    found = keyword(word, opted_out=False)
    return found is not None and found[0] is wanted


@pytest.mark.parametrize(
    ("text", "yes"),
    [
        ("1", True),
        ("2", False),
        ("১", True),
        ("২", False),
        ("١", True),
        ("٢", False),
        ("၁", True),
        ("१", True),
        ("হ্যাঁ", True),
        ("না", False),
        ("Evet", True),
        ("không", False),
        ("3", None),
        ("maybe", None),
        ("12", None),
        ("", None),
    ],
)
def test_answers_in_any_script(text: str, yes: bool | None) -> None:
    assert answers.yes_no(text) == yes


def test_the_satisfaction_scale() -> None:
    assert [answers.scale(x) for x in ("1", "৫", "5.", "0", "6", "good")] == [
        1,
        5,
        5,
        None,
        None,
        None,
    ]
