"""The voice line's words: every prompt in all 17 languages (catalog domain `voice`) with
the English placeholders, each language's own voice, and recorded prompts played when
shipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.i18n import LANGUAGES, LOCALES_DIR
from app.voice import prompts

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MESSAGES = {
    *prompts.FIXED.values(),
    prompts.REFERENCE,
    prompts.REFERENCE_AGAIN,
    prompts.SMS_BODY,
    prompts.STATUS,
    prompts.LATEST,
    *prompts.STATUS_NAMES.values(),
}


@pytest.mark.parametrize("code", [lang.code for lang in LANGUAGES])
def test_every_prompt_is_translated_with_its_placeholders(code: str) -> None:
    path = LOCALES_DIR / code / "LC_MESSAGES" / "voice.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, domain="voice")
    translated = {m.id: m.string for m in catalog if m.id}
    assert set(translated) >= MESSAGES, sorted(MESSAGES - set(translated))
    for msgid in MESSAGES:
        text = translated[msgid]
        assert isinstance(text, str) and text, f"{code}: {msgid!r} is empty"
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid))
        if code not in ("en", "ms", "id") and len(msgid) > 12:
            assert text != msgid, f"{code}: {msgid!r} copied"


def test_a_language_is_spoken_in_its_own_voice() -> None:
    voice = prompts.Voice("bn", "https://x.example")
    said = voice.fixed("goodbye")
    assert (said.language, said.voice) == ("bn-IN", "Google.bn-IN-Standard-A")
    assert said.text == "ফোন করার জন্য ধন্যবাদ। বিদায়।"
    assert voice.written(prompts.SMS_BODY, reference="7KQ2-M9XD").startswith("আপনার কেস নম্বর")


def test_without_a_synthetic_voice_the_english_is_spoken_but_the_sms_is_in_the_language() -> None:
    voice = prompts.Voice("km", "https://x.example")
    said = voice.fixed("goodbye")
    assert said.language == "en-US" and said.text == "Thank you for calling. Goodbye."
    assert "7KQ2-M9XD" in voice.written(prompts.SMS_BODY, reference="7KQ2-M9XD")
    assert voice.written(prompts.SMS_BODY, reference="X") != prompts.SMS_BODY % {"reference": "X"}


def test_a_recorded_prompt_is_played(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "km" / "voice").mkdir(parents=True)
    (tmp_path / "km" / "voice" / "goodbye.mp3").write_bytes(b"ID3fake")
    monkeypatch.setattr(prompts, "LOCALES_DIR", tmp_path)
    played = prompts.Voice("km", "https://x.example").fixed("goodbye")
    assert played.audio_url == "https://x.example/channels/twilio/voice/audio/km/goodbye.mp3"
    # a prompt carrying values is always spoken
    assert prompts.Voice("km", "https://x.example").fixed("language", language="X", digit="1")
