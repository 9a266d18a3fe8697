"""Consent to be identified: the commands the API and the console share (see
app/cases/commands.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.cases.commands import OnCase
from app.cases.models import Disclosure
from app.disclosure import service


class AskIn(BaseModel):
    """Ask the reporter whether they agree to be identified (no fields)."""

    def run(self, on: OnCase) -> Disclosure:
        return service.ask(on.session, on.vault, case=on.case, actor=on.user)


class InPersonIn(BaseModel):
    answer: Literal["yes", "no"]
    details: str | None = Field(None, max_length=500, description="who they are, on a yes")

    def run(self, on: OnCase) -> Disclosure:
        return service.record_in_person(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            yes=self.answer == "yes",
            details=self.details,
        )
