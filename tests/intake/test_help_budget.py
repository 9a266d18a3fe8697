"""HELP, with the danger offer and the retention period it adds where they fit, stays
within the conversation's SMS budget in every language (one segment in English, two in any
other)."""

from __future__ import annotations

import pytest

from app.i18n import LANGUAGES
from app.identity import service as identity
from app.runtime import Runtime
from channels.segments import segments
from tests.intake.helpers import send

SENDER = "+447700900555"


@pytest.mark.parametrize("code", [lang.code for lang in LANGUAGES])
def test_help_fits_the_budget(runtime: Runtime, code: str) -> None:
    with runtime.session() as session:
        identity.create_reporter(
            session, runtime.vault, channel="sms", address=SENDER, country="GB", language=code
        )
        session.commit()
    reply = send(runtime, "HELP", sender=SENDER)
    assert reply is not None
    assert segments(reply)[1] <= (1 if code == "en" else 2), (code, segments(reply), reply)
