"""What the voice line says, in the caller's language (catalog domain `voice`).

A prompt is played from `locales/<lang>/voice/<name>.mp3` when that file is shipped (a
person's recorded voice is clearer than any synthetic one, and some languages have none),
otherwise spoken by Twilio's <Say> with the best voice it offers for the language. Prompts
that carry a reference, a status or a message are always spoken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.cases.models import Category, Status
from app.i18n import BY_CODE, LOCALES_DIR, translations
from channels.voice import Prompt


def _(message: str) -> str:
    """Marks a message for extraction into the `voice` catalog; translated at use."""
    return message


DOMAIN = "voice"
AUDIO_PATH = "/channels/twilio/voice/audio"

# Twilio <Say language=..., voice=...>: Google voices where Twilio has one for the
# language. Nepali is read by the Hindi voice (same script); Khmer, Burmese and Hausa have
# no synthetic voice at Twilio, so their prompts must be recorded (README, "Voice line"):
# until they are, those callers hear the English prompt.
VOICES: dict[str, tuple[str, str] | None] = {
    "en": ("en-US", "Google.en-US-Standard-C"),
    "es": ("es-US", "Google.es-US-Standard-A"),
    "fr": ("fr-FR", "Google.fr-FR-Standard-A"),
    "ar": ("arb", "Google.ar-XA-Standard-A"),
    "bn": ("bn-IN", "Google.bn-IN-Standard-A"),
    "ur": ("ur-IN", "Google.ur-IN-Standard-A"),
    "ne": ("hi-IN", "Google.hi-IN-Standard-A"),
    "hi": ("hi-IN", "Google.hi-IN-Standard-A"),
    "vi": ("vi-VN", "Google.vi-VN-Standard-A"),
    "km": None,
    "my": None,
    "id": ("id-ID", "Google.id-ID-Standard-A"),
    "ms": ("ms-MY", "Google.ms-MY-Standard-A"),
    "zh": ("cmn-CN", "Google.cmn-CN-Standard-A"),
    "tr": ("tr-TR", "Google.tr-TR-Standard-A"),
    "sr": ("sr-RS", "Google.sr-RS-Standard-A"),
    "ha": None,
}

# Fixed prompts by file name: what `locales/<lang>/voice/<name>.mp3` must say.
FIXED: dict[str, str] = {
    "greeting": _("Welcome to the workers' grievance line. This call is confidential."),
    "language": _("For %(language)s, press %(digit)s."),
    "more": _("For other languages, press 9."),
    "menu": _("To report a problem, press 1. To hear about a case you reported, press 2."),
    "record": _(
        "After the beep, say what happened, where you work and when. You have up to "
        "three minutes. Press the hash key when you have finished."
    ),
    "category": _(
        "What is it about? Pay, press 1. Working hours, 2. Health and safety, 3. "
        "Harassment or violence, 4. Discrimination, 5. Forced labour, 6. Child labour, 7. "
        "Unions, 8. Environment, 9. Something else, 0."
    ),
    "danger": _("Is anyone in danger right now? Yes, press 1. No, press 2."),
    "offer_sms": _("To get this number by text message, press 1. Or you can hang up now."),
    "sms_sent": _("We have sent it to you. Thank you for calling. Goodbye."),
    "goodbye": _("Thank you for calling. Goodbye."),
    "invalid": _("Sorry, that is not one of the choices."),
    "no_recording": _("We did not hear a message. Please call again. Goodbye."),
    "no_case": _("We found no case for this phone number. Goodbye."),
    "danger_help": _(
        "If you are in danger now, call your local emergency number. We will treat your "
        "report as urgent."
    ),
}
REFERENCE = _("Your case number is: %(reference)s.")
REFERENCE_AGAIN = _("Again, your case number is: %(reference)s.")
SMS_BODY = _(
    "Your case number is %(reference)s. To hear about it, call us and press 2, or send "
    "STATUS by text message."
)
STATUS = _("Case %(reference)s: %(status)s")
LATEST = _("The latest message from the people handling your case: %(message)s")
STATUS_NAMES: dict[Status, str] = {
    Status.new: _("received, not yet read."),
    Status.acknowledged: _("read by the people who will handle it."),
    Status.investigating: _("being investigated."),
    Status.remediation: _("work to fix the problem has started."),
    Status.resolved: _("resolved."),
    Status.closed: _("closed."),
}
# Keypad digit -> category, in the order FIXED["category"] reads them.
CATEGORY_KEYS: dict[str, Category] = {
    "1": Category.wages,
    "2": Category.working_hours,
    "3": Category.health_safety,
    "4": Category.harassment_violence,
    "5": Category.discrimination,
    "6": Category.forced_labour,
    "7": Category.child_labour,
    "8": Category.freedom_of_association,
    "9": Category.environment,
    "0": Category.other,
}


def audio_file(language: str, name: str) -> Path | None:
    path = LOCALES_DIR / language / "voice" / f"{name}.mp3"
    return path if language in BY_CODE and path.is_file() else None


def _translate(code: str, msgid: str, values: dict[str, str]) -> str:
    translated = translations(code, DOMAIN).gettext(msgid)
    return translated % values if values else translated


@dataclass(frozen=True)
class Voice:
    """The prompts for one language, as <Play> or <Say> instructions."""

    language: str
    public_url: str

    @property
    def _spoken_language(self) -> str:
        # No synthetic voice: the English text is spoken rather than garbled sounds.
        return self.language if VOICES.get(self.language) else "en"

    def text(self, msgid: str, **values: str) -> str:
        """Spoken text: English where Twilio has no voice for the language."""
        return _translate(self._spoken_language, msgid, values)

    def written(self, msgid: str, **values: str) -> str:
        """Written text (an SMS): always in the caller's own language."""
        return _translate(self.language, msgid, values)

    def _say(self, text: str) -> Prompt:
        found = VOICES.get(self._spoken_language) or VOICES["en"]
        assert found is not None
        return Prompt(text=text, language=found[0], voice=found[1])

    def fixed(self, name: str, **values: str) -> Prompt:
        if not values and audio_file(self.language, name) is not None:
            url = f"{self.public_url}{AUDIO_PATH}/{self.language}/{name}.mp3"
            return Prompt(text="", language=self.language, voice=None, audio_url=url)
        return self._say(self.text(FIXED[name], **values))

    def spoken(self, msgid: str, **values: str) -> Prompt:
        return self._say(self.text(msgid, **values))

    def status(self, status: str) -> str:
        return self.text(STATUS_NAMES[Status(status)])
