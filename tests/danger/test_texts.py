"""The `danger` catalogs: complete in all 17 languages, every SMS within the budget (HELP
with its danger offer too), and the words they tell people to send are keywords."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from app.danger import texts as t
from app.i18n import BY_CODE, LANGUAGES, LOCALES_DIR
from app.intake.keywords import Keyword, keyword
from app.intake.replies import Replies
from app.remediation.texts import budget
from channels.segments import segments
from tests.remediation.test_texts import _candidates

CODES = [lang.code for lang in LANGUAGES]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


@pytest.mark.parametrize("code", CODES)
def test_every_catalog_is_complete_and_keeps_its_placeholders(code: str) -> None:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "danger.po").open("rb") as handle:
        catalog = read_po(handle, locale=BY_CODE[code].locale, domain="danger")
    found = {str(m.id): str(m.string) for m in catalog if m.id}
    assert set(found) == set(t.SMS_MSGIDS) | set(t.WEB_MSGIDS.values())
    for msgid, text in found.items():
        assert text.strip(), msgid
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid
        if code != "en":
            assert text != msgid, msgid


@pytest.mark.parametrize("code", CODES)
def test_every_sms_and_the_help_offer_fit_the_budget(code: str) -> None:
    say = t.texts(code)
    for msgid in t.SMS_MSGIDS:
        text = say.fill(msgid, ref="7KQ2-M9XD")
        assert segments(text)[1] <= budget(code), (msgid, segments(text), text)
    offer = f"{Replies(code).help()} {say.gettext(t.OFFER)}"
    assert segments(offer)[1] <= budget(code), (segments(offer), offer)


def _names(text: str, wanted: Keyword) -> bool:
    for word in _candidates(text):
        found = keyword(word, opted_out=False)
        if found is not None and found[0] is wanted:
            return True
    return False


@pytest.mark.parametrize("code", CODES)
def test_the_words_the_texts_ask_for_are_keywords(code: str) -> None:
    say = t.texts(code)
    assert _names(say.gettext(t.OFFER), Keyword.danger), say.gettext(t.OFFER)
    for msgid in (t.ASK_DETAILS, t.KEPT):
        assert _names(say.gettext(msgid), Keyword.hide), say.gettext(msgid)
