"""What the reporter reads about danger and about being identified, from the Babel domain
`danger`. SMS texts keep the conversation's budget (one segment in English, two elsewhere;
tests/danger/test_texts.py). Placeholders: {ref} a case reference."""

from __future__ import annotations

from app.remediation.texts import Texts

DOMAIN = "danger"


def _(message: str) -> str:
    """Marks a msgid for extraction."""
    return message


# SMS and WhatsApp
OFFER = _("In danger now? Send DANGER.")  # follows the HELP text
NOTED = _("Case {ref} is urgent now. A monitor will contact you soon. Write what is happening.")
ASK_IDENTIFY = _(
    "Case {ref}: to get you a remedy, your monitor needs your name and number. "
    "Reply 1 to agree, 2 to refuse."
)
ASK_DETAILS = _("Thank you. Send your full name in one message. Send HIDE to take it back.")
KEPT = _("Thank you. Only your monitor sees it. Send HIDE to take it back.")
HIDDEN = _("Your name and number are hidden again.")
SMS_MSGIDS = (OFFER, NOTED, ASK_IDENTIFY, ASK_DETAILS, KEPT, HIDDEN)

# The report form and the status page (no segment budget)
WEB_DANGER = _("I am in danger now (urgent)")
WEB_IDENTIFY = _(
    "To get you a remedy (like back pay), your monitor needs to know who you are. "
    "Do you agree that they see your name and contact?"
)
WEB_DETAILS = _("Your name and how to reach you")
WEB_YES = _("Yes, they may know")
WEB_NO = _("No, keep me anonymous")
WEB_GRANTED = _("Your monitor can see who you are.")
WEB_HIDE = _("Hide my name again")
WEB_MSGIDS = {
    "danger": WEB_DANGER,
    "identify": WEB_IDENTIFY,
    "details": WEB_DETAILS,
    "yes": WEB_YES,
    "no": WEB_NO,
    "granted": WEB_GRANTED,
    "hide": WEB_HIDE,
    "hidden": HIDDEN,
}


def texts(code: str) -> Texts:
    return Texts(code, DOMAIN)


def web_words(code: str) -> dict[str, str]:
    say = texts(code)
    return {key: say.gettext(msgid) for key, msgid in WEB_MSGIDS.items()}
