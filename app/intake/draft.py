"""The per-sender intake state (`Conversation`) and its encrypted draft.

States say what the last reply asked for, so the next message is read as the answer:
language (the menu was shown), narrative, workplace; open means the intake is done and
messages join the case `case_id`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.identity.models import Reporter
from app.identity.vault import Vault
from app.intake.keywords import has_letters
from app.messaging.models import Conversation, ConversationState
from app.timeutil import utcnow

TABLE = "conversation"
LANGUAGE, NARRATIVE, WORKPLACE, OPEN = (
    ConversationState.language,
    ConversationState.narrative,
    ConversationState.workplace,
    ConversationState.open,
)
INTAKE_STATES = (LANGUAGE, NARRATIVE, WORKPLACE)
MAX_WORKPLACE = 200
# Enough words to count as "what happened" without asking (fewer for Chinese characters,
# which carry a word each).
NARRATIVE_LETTERS, NARRATIVE_CJK = 25, 8


def attachment_line(content_type: str) -> str:
    """Where media was sent, in the words of the case (the media itself is fetched)."""
    return f"[attachment: {content_type}]"


@dataclass
class Draft:
    parts: list[str] = field(default_factory=list)
    workplace: str | None = None
    # (content type, provider's URL or id, provider): fetched once the case is filed
    media: list[tuple[str, str, str]] = field(default_factory=list)
    page: int = 0
    narrative_asked: bool = False
    workplace_reasked: bool = False  # the story came where its name was asked, once

    def narrative_text(self) -> str:
        lines = list(self.parts)
        lines += [attachment_line(kind) for kind, *_ in self.media]
        return "\n\n".join(lines)

    def has_narrative(self) -> bool:
        """Enough of "what happened" to open a case without asking for more."""
        written = "".join(p for p in self.parts if has_letters(p))
        if self.narrative_asked and written:
            return True
        letters = sum(ch.isalpha() for ch in written)
        cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in written)
        return letters >= NARRATIVE_LETTERS or cjk >= NARRATIVE_CJK

    def has_content(self) -> bool:
        """Anything worth filing: words, a workplace or an attachment."""
        return any(map(has_letters, self.parts)) or bool(self.workplace or self.media)


def load(session: Session, vault: Vault, reporter: Reporter, convo: Conversation) -> Draft:
    if convo.draft_enc is None:
        return Draft()
    raw = vault.decrypt(
        session,
        key_id=reporter.data_key_id,
        table=TABLE,
        row_id=reporter.id,
        column="draft",
        blob=convo.draft_enc,
    )
    data = json.loads(raw)
    # A draft saved before the provider was kept with each item (2-tuples) has none.
    data["media"] = [(*item, "")[:3] for item in data.get("media", [])]
    return Draft(**data)


def save(
    session: Session, vault: Vault, reporter: Reporter, convo: Conversation, draft: Draft | None
) -> None:
    convo.draft_enc = (
        None
        if draft is None
        else vault.encrypt(
            session,
            key_id=reporter.data_key_id,
            table=TABLE,
            row_id=reporter.id,
            column="draft",
            plaintext=json.dumps(asdict(draft), ensure_ascii=False),
        )
    )
    convo.updated_at = utcnow()
    session.add(convo)


def conversation_for(session: Session, reporter: Reporter, *, new: bool = False) -> Conversation:
    """The reporter's conversation row (locked: two messages from one sender must not
    both rewrite the draft), a fresh intake when there is none. `new`: the reporter was
    created in this transaction, so no one else can have their row yet."""
    if new:
        fresh = Conversation(reporter_id=reporter.id, state=NARRATIVE)
        session.add(fresh)
        return fresh
    convo = session.get(Conversation, reporter.id, with_for_update=True)
    if convo is not None:
        return convo
    try:
        with session.begin_nested():
            convo = Conversation(reporter_id=reporter.id, state=NARRATIVE)
            session.add(convo)
        return convo
    except IntegrityError:  # a concurrent first message from the same sender won
        found = session.get(Conversation, reporter.id, with_for_update=True, populate_existing=True)
        assert found is not None
        return found


def restart(convo: Conversation, reporter: Reporter) -> None:
    """Begin a new intake (after NEW, or after the last case was closed)."""
    convo.state = NARRATIVE if reporter.language else LANGUAGE
    convo.case_id = None
    convo.draft_enc = None
    convo.started_at = utcnow()
