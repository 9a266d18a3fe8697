"""Checking and filing one submission, exactly once per `submission_id`.

Validation speaks in message ids from the `web` catalog, so the caller answers in the
reporter's own language. Filing is idempotent: `Case.submission_id` is unique, a repeat
finds the first case, and a concurrent repeat that loses the race on the unique index is
turned into a repeat instead of an error.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.service import Actor
from app.cases.models import Case, Category
from app.cases.service import open_case
from app.danger.service import report_danger
from app.errors import Conflict
from app.i18n import BY_CODE
from app.identity.service import create_reporter
from app.identity.vault import Vault
from app.submissions.receipts import new_receipt_code, normalise
from channels.base import clean_text

MAX_NARRATIVE = 8_000
MAX_WORKPLACE = 200
MAX_CONTACT = 200


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """Read from Babel's locale data on first use, not at import."""
    return frozenset(
        str(code) for code in Locale("en").territories if re.fullmatch(r"[A-Z]{2}", str(code))
    )


def _(message: str) -> str:
    """Marks a msgid of the `web` catalog; translated where it is shown."""
    return message


@dataclass(frozen=True)
class Problem:
    field: str
    message: str  # a msgid of the `web` catalog
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    submission_id: uuid.UUID
    language: str
    narrative: str
    category: str = Category.other.value
    country: str | None = None
    workplace: str | None = None
    receipt_code: str | None = None
    contact: str | None = None
    danger: bool = False  # "I am in danger now": urgent, and the monitors alerted


class Invalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(p.field for p in problems))
        self.problems = problems


def _text(raw: dict[str, Any], name: str, problems: list[Problem], limit: int) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(Problem(name, _("This must be text.")))
        return None
    value = clean_text(value).strip()
    if len(value) > limit:
        problems.append(
            Problem(name, _("Please write at most %(max)s characters."), {"max": limit})
        )
    return value or None


def _submission_id(raw: dict[str, Any], problems: list[Problem]) -> uuid.UUID | None:
    value = raw.get("submission_id")
    try:
        if isinstance(value, str) and len(value) <= 40:
            return uuid.UUID(value)
    except ValueError:
        pass
    problems.append(Problem("submission_id", _("This form is damaged. Please load it again.")))
    return None


def _choice(raw: dict[str, Any], name: str, allowed: frozenset[str] | dict[str, Any]) -> bool:
    value = raw.get(name)
    return isinstance(value, str) and value in allowed


TRUE = (True, "1", "on", "true", "yes")
FALSE = (None, False, "", "0", "off", "false", "no")


def validate(raw: dict[str, Any]) -> Submission:
    """Check every field, collecting all problems at once; raise Invalid when any."""
    problems: list[Problem] = []
    submission_id = _submission_id(raw, problems)
    if not _choice(raw, "language", BY_CODE):
        problems.append(Problem("language", _("Please choose a language from the list.")))
    # Left out, null or empty (the offline form's unanswered field) is "not given"; any
    # other value, of any type, must be one of the choices.
    category = raw.get("category")
    if category is None or category == "":
        category = Category.other.value
    if not _choice({"category": category}, "category", frozenset(Category.__members__)):
        problems.append(Problem("category", _("Please choose one of the listed kinds of problem.")))
    country = raw.get("country")
    if country is None or country == "":
        country = None
    else:
        country = country.strip().upper() if isinstance(country, str) else ""
        if country not in _countries():
            problems.append(Problem("country", _("Please choose a country from the list.")))
    narrative = _text(raw, "narrative", problems, MAX_NARRATIVE)
    if narrative is None and not any(p.field == "narrative" for p in problems):
        problems.append(Problem("narrative", _("Please write what happened.")))
    workplace = _text(raw, "workplace", problems, MAX_WORKPLACE)
    contact = _text(raw, "contact", problems, MAX_CONTACT)
    code = _text(raw, "receipt_code", problems, 40)
    receipt = normalise(code) if code else None
    if code and receipt is None:
        problems.append(Problem("receipt_code", _("This receipt code is not valid.")))
    danger = raw.get("danger")
    # By type as well as value: 1 == True, so `1 in TRUE` would take a number.
    if not isinstance(danger, bool | str | None) or (danger not in TRUE and danger not in FALSE):
        problems.append(Problem("danger", _("This form is damaged. Please load it again.")))
    if problems:
        raise Invalid(problems)
    assert submission_id is not None and narrative is not None
    return Submission(
        submission_id=submission_id,
        language=str(raw["language"]),
        narrative=narrative,
        category=str(category),
        country=country,
        workplace=workplace,
        receipt_code=receipt,
        contact=contact,
        danger=danger in TRUE,
    )


@dataclass(frozen=True)
class Filed:
    case: Case
    created: bool
    receipt_code: str | None  # only when the server made it and may still show it


class _FirstAnswers:
    """The receipt code the server made for a submission, kept in memory (never stored) for
    an hour, so a client whose first answer was lost on a bad network gets the same answer
    on its retry. After that, or in another process, a repeat answers without the code."""

    def __init__(self, ttl: float = 3600.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[uuid.UUID, tuple[float, uuid.UUID, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, case: Case, code: str) -> None:
        assert case.submission_id is not None
        with self._lock:
            self._items[case.submission_id] = (time.monotonic() + self.ttl, case.id, code)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def recall(self, case: Case) -> str | None:
        with self._lock:
            found = self._items.get(case.submission_id) if case.submission_id else None
        if found is None or found[0] < time.monotonic() or found[1] != case.id:
            return None
        return found[2]


first_answers = _FirstAnswers()


def find_by_submission(session: Session, submission_id: uuid.UUID) -> Case | None:
    return session.exec(select(Case).where(Case.submission_id == submission_id)).first()


def file_submission(
    session: Session, vault: Vault, *, submission: Submission, channel: str, actor: Actor
) -> Filed:
    """Open the case for a submission, or find the one a repeat of it opened. The caller
    commits, then calls `first_answers.remember` for a server-made code."""
    existing = find_by_submission(session, submission.submission_id)
    if existing is not None:
        return Filed(existing, created=False, receipt_code=first_answers.recall(existing))
    code = submission.receipt_code or new_receipt_code()
    receipt_hash = vault.receipt_hash(code)
    try:
        with session.begin_nested():
            case = _open(session, vault, submission, channel, actor, receipt_hash)
    except IntegrityError:
        existing = find_by_submission(session, submission.submission_id)
        if existing is not None:  # a concurrent repeat committed first
            return Filed(existing, created=False, receipt_code=first_answers.recall(existing))
        if session.exec(select(Case.id).where(Case.receipt_hash == receipt_hash)).first():
            raise Conflict(
                _("This receipt code is already in use. Make a new one."),
                code="receipt_code_in_use",
            ) from None
        raise
    return Filed(case, created=True, receipt_code=None if submission.receipt_code else code)


def _open(
    session: Session,
    vault: Vault,
    submission: Submission,
    channel: str,
    actor: Actor,
    receipt_hash: str,
) -> Case:
    reporter = None
    if submission.contact:
        reporter = create_reporter(
            session,
            vault,
            channel=channel,
            contact=submission.contact,
            country=submission.country,
            language=submission.language,
        )
        session.flush()
    case = open_case(
        session,
        vault,
        channel=channel,
        language=submission.language,
        narrative_text=submission.narrative,
        actor=actor,
        category=submission.category,
        country=submission.country,
        workplace=submission.workplace,
        reporter=reporter,
        submission_id=submission.submission_id,
        receipt_hash=receipt_hash,
    )
    if submission.danger:
        report_danger(session, case=case, channel=channel)
    return case
