"""The console in the staff member's language and time zone.

Strings live in the Babel domain `console` (locales/<lang>/LC_MESSAGES/console.po). The
language is the user's preference, else negotiated from the browser's Accept-Language, else
English; times are shown in the user's zone (see app/accounts/preferences.py) with the UTC
time on hover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_datetime_format
from fastapi import Request
from markupsafe import Markup, escape

from app.accounts.models import User
from app.errors import AppError, Term, Text, separator
from app.i18n import DEFAULT, Language, language, negotiate, translations

DOMAIN = "console"


def _(message: str) -> str:
    """Marks a msgid for the console catalog; translated where it is shown."""
    return message


# What the `label` filter shows for the values of statuses, categories, step states and the
# like (the value with spaces for underscores): listed so the catalogs hold them.
LABELS = (
    # case statuses
    _("new"),
    _("acknowledged"),
    _("investigating"),
    _("remediation"),
    _("resolved"),
    _("closed"),
    # categories
    _("wages"),
    _("working hours"),
    _("health safety"),
    _("harassment violence"),
    _("discrimination"),
    _("forced labour"),
    _("child labour"),
    _("freedom of association"),
    _("environment"),
    _("other"),
    # remediation steps, the worker's verdict and verification
    _("proposed"),
    _("in progress"),
    _("done"),
    _("cancelled"),
    _("agreed"),
    _("disagreed"),
    _("unanswered"),
    _("waiting"),
    _("confirmed"),
    _("not confirmed"),
    # closure reasons and resolution overrides
    _("unfounded"),
    _("withdrawn"),
    _("unreachable"),
    _("opted out"),
    # consent to be identified
    _("asked"),
    _("granted"),
    _("refused"),
    _("revoked"),
    # roles, organisation kinds, links between cases
    _("admin"),
    _("monitor"),
    _("buyer"),
    _("auditor"),
    _("partner"),
    _("duplicate"),
    _("related"),
    # what an alert says (app/notify/service.py SAYS)
    _("a new case was routed to your partner"),
    _("the reporter replied"),
    _("the worker disagreed with a remediation step"),
    _("a deadline is near"),
    _("a deadline was missed and the case escalated"),
    _("a deadline was missed and the case handed to the fallback partner"),
    _("the reporter reopened the case"),
    _("the reporter wrote to a resolved or closed case"),
    # the words a service's refusal names (app/errors.py Term): what a reporter is asked,
    # and the things and fields of the admin pages
    _("consent"),
    _("verification"),
    _("workplace"),
    _("routing rule"),
    _("exclusion"),
    _("user"),
    _("priority"),
    _("acknowledgement days"),
    _("feedback days"),
    _("re-assignment days"),
)

# How a sentence ends in each language that does not end it with ".".
FULL_STOPS = {"bn": "।", "hi": "।", "ne": "।", "zh": "。", "my": "။", "km": "។", "ur": "۔"}
ENDINGS = (".", "?", "!", "。", "।", "။", "។", "۔", "؟")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return _utc(value) if isinstance(value, datetime) else None


@dataclass(frozen=True)
class ConsoleLocale:
    lang: Language
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def gettext(self, message: str) -> str:
        return str(translations(self.lang.code, DOMAIN).gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(translations(self.lang.code, DOMAIN).ngettext(singular, plural, n))

    def markup(self, message: str) -> Markup:
        """For templates: the translation escaped, so `|format` escapes what goes into it."""
        return escape(self.gettext(message) if message else "")

    def nmarkup(self, singular: str, plural: str, n: int) -> Markup:
        return escape(self.ngettext(singular, plural, n))

    def label(self, value: Any) -> str:
        return self.gettext(str(value or "—").replace("_", " "))

    def say(self, text: Text | AppError) -> str:
        """A service's message (a refusal, a blocker) in this language, with its values: words
        of a vocabulary through `label`, nested messages translated too."""
        translated = self.gettext(text.msgid)
        if not text.params:
            return translated
        return translated % {name: self._value(value) for name, value in text.params.items()}

    def _value(self, value: object) -> str:
        if isinstance(value, Text):
            return self.say(value)
        if isinstance(value, Term | Enum):
            return self.label(value.value if isinstance(value, Enum) else value)
        if isinstance(value, list | tuple):
            return separator(value).join(self._value(item) for item in value)
        return str(value)

    def sentence(self, text: str) -> str:
        """Service messages are lower-case fragments; a page shows them as sentences, ended
        the way this language ends one."""
        text = text[:1].upper() + text[1:]
        return text if text.endswith(ENDINGS) else text + FULL_STOPS.get(self.lang.code, ".")

    def utc(self, value: Any) -> str:
        """`2026-05-01 14:03 UTC`: what shows on hover."""
        moment = _moment(value)
        if moment is None:
            return "—" if value is None else str(value)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    def local(self, value: Any, day: str = "yMMMd") -> str:
        """The date (CLDR skeleton `day`) and 24-hour time in the user's zone, in their
        language's own patterns."""
        moment = _moment(value)
        if moment is None:
            return "—" if value is None else str(value)
        shown = moment.astimezone(self.zone)
        date = format_skeleton(day, shown, locale=self.lang.locale)
        time = format_skeleton("Hm", shown, locale=self.lang.locale)
        joined = str(get_datetime_format("medium", locale=self.lang.locale)).replace("'", "")
        return joined.replace("{0}", str(time)).replace("{1}", str(date))

    def when(self, value: Any, day: str = "yMMMd") -> Markup:
        """A <time> in the user's zone with the UTC time as its title (on hover)."""
        moment = _moment(value)
        if moment is None:
            return escape("—" if value is None else str(value))
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            moment.isoformat(), self.utc(moment), self.local(moment, day)
        )

    def short(self, value: Any) -> str:
        """Day, month and time (the full one is on hover): for the conversation on a phone."""
        return self.local(value, "MMMd")

    def month(self, value: Any) -> str:
        """The month only, for buyers: an exact date could single a worker out."""
        if value is None:
            return "—"
        moment = _moment(value)
        # `2026-11` in every language: no day, no hour, nothing to localise.
        return str(value)[:7] if moment is None else moment.strftime("%Y-%m")


def choose(request: Request, user: User | None, zone: str | None = None) -> ConsoleLocale:
    """The user's language, else the browser's (Babel's negotiation), else English."""
    return choose_saved(request, user.language if user is not None else None, zone)


def choose_saved(request: Request, saved: str | None, zone: str | None = None) -> ConsoleLocale:
    """The saved language (a code), else the browser's, else English."""
    lang = language(saved) or negotiate(request.headers.get("accept-language")) or DEFAULT
    return ConsoleLocale(lang, ZoneInfo(zone or "UTC"))
