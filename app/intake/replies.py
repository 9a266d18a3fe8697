"""Every text the conversation sends, from the `sms` Babel catalogs.

Each must fit one SMS segment in English and two in any other language
(tests/intake/test_sms_economy.py checks every catalog), because the worker may pay for
every segment. Placeholders: {ref} a case reference, {n} a number.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from app.cases.models import Status
from app.i18n import BY_CODE, DEFAULT, translations
from app.remediation.texts import budget
from channels.segments import segments

DOMAIN = "sms"


class Replies:
    """The conversation's texts in one language."""

    def __init__(self, code: str) -> None:
        self.language = BY_CODE.get(code, DEFAULT)
        self._catalog = translations(self.language.code, DOMAIN)

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def number(self, n: int) -> str:
        return str(format_decimal(n, locale=self.language.locale))

    def fitting(self, reply: str, *extras: str, segmented: bool = True) -> str:
        """`reply`, then each of `extras` in turn that still keeps the whole in budget; all
        of them where replies are not billed per SMS segment (`segmented` False: WhatsApp)."""
        for extra in extras:
            if not segmented or segments(f"{reply} {extra}")[1] <= budget(self.language.code):
                reply = f"{reply} {extra}"
        return reply

    # the language menu -------------------------------------------------------------------

    def menu_choose(self) -> str:
        return self.gettext("Choose your language. Send the number:")

    def menu_retry(self) -> str:
        return self.gettext("Sorry, we did not understand. Send only the number of your language:")

    def menu_more(self) -> str:
        return self.gettext("More")

    # the intake ----------------------------------------------------------------------------

    def ask_narrative(self) -> str:
        return self.gettext(
            "What happened? Please tell us in one message. You do not need to give your name."
        )

    def ask_workplace(self) -> str:
        return self.gettext("Thank you. What is the name of your factory, company or workplace?")

    def story_not_workplace(self) -> str:
        return self.gettext(
            "We added that to your report. Now only the name of your factory or workplace, please."
        )

    def workplace_not_story(self) -> str:
        return self.gettext(
            "Thank you, we noted your workplace. What happened there? Tell us in one message."
        )

    def unreadable(self) -> str:
        return self.gettext("We could not read your message. Please write it in words.")

    def media(self, n: int) -> str:
        text = self.ngettext(
            "We got your file. Please also write in words what it shows.",
            "We got your {n} files. Please also write in words what they show.",
            n,
        )
        return text.format(n=self.number(n))

    def filed(self, ref: str) -> str:
        return self.gettext(
            "Thank you. Your case number is {ref}. Keep it safe. To check your case, send STATUS."
        ).format(ref=ref)

    def filed_after_timeout(self, ref: str) -> str:
        return self.gettext(
            "We saved what you sent as case {ref}. To check it, send STATUS. To add more, reply."
        ).format(ref=ref)

    def joined(self, ref: str) -> str:
        return self.gettext("Thank you. We added your message to case {ref}.").format(ref=ref)

    def new_report(self) -> str:
        return self.gettext("OK, a new report. What happened? Please tell us in one message.")

    def saved_then_new(self, ref: str) -> str:
        return self.gettext(
            "Your last report is saved as case {ref}. Now tell us about the new problem."
        ).format(ref=ref)

    # keywords ------------------------------------------------------------------------------

    def help(self) -> str:
        return self.gettext(
            "We take workers' complaints in secret. Tell us your problem. "
            "STATUS: see your case. NEW: new problem. STOP: end messages."
        )

    def retention(self, days: int) -> str:
        return self.ngettext(
            "What you wrote is deleted {n} day after your case is closed.",
            "What you wrote is deleted {n} days after your case is closed.",
            days,
        ).format(n=self.number(days))

    def stopped(self) -> str:
        return self.gettext("You will get no more messages from us. Send START to get them again.")

    def started(self) -> str:
        return self.gettext("Welcome back. You will get our messages again.")

    def no_case(self) -> str:
        return self.gettext("You have no case yet. Tell us what happened to open one.")

    def status(self, ref: str, status: Status) -> str:
        texts = {
            Status.new: self.gettext(
                "Case {ref}: we got your report. Our team will look at it soon."
            ),
            Status.acknowledged: self.gettext(
                "Case {ref}: our team has read your report and will act on it."
            ),
            Status.investigating: self.gettext("Case {ref}: our team is checking what happened."),
            Status.remediation: self.gettext("Case {ref}: work to fix the problem has started."),
            Status.resolved: self.gettext(
                "Case {ref}: the problem is marked as solved. Reply if it is not."
            ),
            Status.closed: self.gettext(
                "Case {ref}: this case is closed. Send NEW to report a new problem."
            ),
        }
        return texts[status].format(ref=ref)
