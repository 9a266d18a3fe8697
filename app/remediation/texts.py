"""What the reporter reads about remediation, from the Babel domain `remediation`.

SMS texts must fit the conversation's budget (one segment in English, two elsewhere) with
the monitor's worker text filled in; `check_worker_text` refuses a text that would not.
Placeholders: {n} a number, {ref} a case reference, {text} the monitor's worker text.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from app.i18n import BY_CODE, DEFAULT, translations
from channels.segments import fits

DOMAIN = "remediation"
STAFF_LANGUAGE = "en"  # the console's and the summaries' language


def _(message: str) -> str:
    """Marks a msgid for extraction."""
    return message


CONSENT = _("Step {n}: {text}\nDo you agree? Reply 1 for yes, 2 for no.")
VERIFY = _("Step {n} is done: {text}\nDid it really happen? Reply 1 for yes, 2 for no.")
REASK = _("Please reply 1 for yes or 2 for no.")
ASK_REASON = _("Why not? Please tell us in one message.")
THANKS = _("Thank you. We saved your answer.")
CUT = _("Thank you. Your reason was too long: we kept the first {n} characters.")
SATISFACTION = _(
    "Case {ref} is closed. Are you happy with how it ended? Reply 1 (bad) to 5 (good)."
)
SATISFACTION_REASK = _("Please reply with a number from 1 to 5.")
REOPENED = _("Case {ref} is open again. Your monitor will contact you.")
TOO_LATE = _("Case {ref} can no longer be reopened. Send NEW to report a new problem.")
JOINED_CLOSED = _("We added your message to closed case {ref}. To reopen it, send REOPEN.")

# The status page (web reporters; no segment budget). Agreeing to a step uses the `web`
# domain's existing wording.
WEB_VERIFY = _("This step is marked done. Did it really happen?")
WEB_YES = _("Yes, it happened")
WEB_NO = _("No, it did not happen")
WEB_CONFIRMED = _("You confirmed that it happened.")
WEB_NOT_CONFIRMED = _("You said that it did not happen.")
WEB_SATISFACTION = _("The case is closed. Are you happy with how it ended? 1 is bad, 5 is good.")
WEB_REOPEN_HINT = _(
    "If the problem is back or was not solved, you can reopen the case until {date}."
)
WEB_REOPEN = _("Reopen the case")
WEB_REOPENED = _("The case is open again. Your monitor will contact you.")
WEB_MSGIDS = {
    "verify": WEB_VERIFY,
    "yes": WEB_YES,
    "no": WEB_NO,
    "confirmed": WEB_CONFIRMED,
    "not_confirmed": WEB_NOT_CONFIRMED,
    "satisfaction": WEB_SATISFACTION,
    "reopen_hint": WEB_REOPEN_HINT,
    "reopen": WEB_REOPEN,
    "reopened": WEB_REOPENED,
}

SMS_MSGIDS = (
    CONSENT,
    VERIFY,
    REASK,
    ASK_REASON,
    THANKS,
    CUT,
    SATISFACTION,
    SATISFACTION_REASK,
    REOPENED,
    TOO_LATE,
    JOINED_CLOSED,
)


def budget(language: str) -> int:
    """SMS segments one message may take: one in English, two in any other language."""
    return 1 if language == "en" else 2


class Texts:
    """The remediation texts (or another domain's) in one language."""

    def __init__(self, code: str, domain: str = DOMAIN) -> None:
        self.language = BY_CODE.get(code, DEFAULT)
        self._catalog = translations(self.language.code, domain)

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def number(self, n: int) -> str:
        return str(format_decimal(n, locale=self.language.locale))

    def fill(self, message: str, *, n: int = 0, ref: str = "", text: str = "") -> str:
        return (
            self.gettext(message)
            .replace("{n}", self.number(n))
            .replace("{ref}", ref)
            .replace("{text}", text)
        )


def worker_text_room(language: str, text: str) -> bool:
    """Whether both questions about a step fit the SMS budget with this worker text (step
    numbers up to two digits)."""
    say = Texts(language)
    return all(
        fits(say.fill(msgid, n=99, text=text), budget(language)) for msgid in (CONSENT, VERIFY)
    )
