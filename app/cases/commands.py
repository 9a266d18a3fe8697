"""What staff can do to a case, as typed commands shared by the API and the console.

Each command is the request body of its API operation and what the console builds from
its form, so a limit is written once and both refuse the same input with the same rule.
`run` makes the change through the domain's services; whoever calls it commits (the
change and its audit event in one transaction).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.service import organisation_by_slug
from app.cases import remediation, service, workflow, workplaces
from app.cases.models import Case, CaseLink, CaseMessage, Note, RemediationStep
from app.cases.schemas import IsoDateTime
from app.errors import AppError, NotFound
from app.identity.vault import Vault


@dataclass(frozen=True)
class OnCase:
    """A caller acting on one case they may read, in one session."""

    session: Session
    vault: Vault
    user: User
    case: Case


class Versioned(BaseModel):
    expected_version: StrictInt | None = Field(
        default=None,
        description="the case `version` you saw; a different current version answers 409",
    )


class AcknowledgeIn(Versioned):
    def run(self, on: OnCase) -> Case:
        return workflow.acknowledge(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            expected_version=self.expected_version,
        )


class StatusIn(Versioned):
    to: str = Field(description="new, acknowledged, investigating, remediation, resolved, closed")
    reason: str = Field(min_length=1, max_length=300, description="why; kept in the audit log")
    closure_reason: str | None = Field(
        default=None, description="needed to close: resolved, unfounded, withdrawn, unreachable"
    )
    explanation: str | None = Field(
        default=None,
        max_length=4000,
        description="needed for `unfounded`; sent to the reporter",
    )
    override: Literal["unreachable", "opted_out", "other"] | None = Field(
        default=None,
        description="resolve although a step is unanswered, disagreed or unconfirmed, and why "
        "(`reason` says more); audited, and buyers see it as an override",
    )

    def run(self, on: OnCase) -> Case:
        return workflow.change_status(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            to=self.to,
            reason=self.reason,
            closure_reason=self.closure_reason,
            explanation=self.explanation,
            expected_version=self.expected_version,
            override=self.override,
        )


class CategoryIn(Versioned):
    category: str
    reason: str = Field(min_length=1, max_length=300)

    def run(self, on: OnCase) -> Case:
        return workflow.recategorise(
            on.session,
            case=on.case,
            actor=on.user,
            category=self.category,
            reason=self.reason,
            expected_version=self.expected_version,
        )


class UrgencyIn(Versioned):
    urgent: bool = Field(description="true: the case comes first in the queue")
    reason: str = Field(min_length=1, max_length=300)

    def run(self, on: OnCase) -> Case:
        return workflow.mark_urgent(
            on.session,
            case=on.case,
            actor=on.user,
            urgent=self.urgent,
            reason=self.reason,
            expected_version=self.expected_version,
        )


class AssignIn(Versioned):
    assignee_id: uuid.UUID | None = Field(description="a monitor of the case's partner, or null")

    def run(self, on: OnCase) -> Case:
        return workflow.assign(
            on.session,
            case=on.case,
            actor=on.user,
            assignee_id=self.assignee_id,
            expected_version=self.expected_version,
        )


class WorkplaceLinkIn(Versioned):
    workplace_id: uuid.UUID
    confirm: StrictBool = Field(
        default=False, description="needed when the workplace is in another country than the case"
    )

    def run(self, on: OnCase) -> Case:
        return workplaces.link(
            on.session,
            case=on.case,
            actor=on.user,
            workplace_id=self.workplace_id,
            confirm=self.confirm,
            expected_version=self.expected_version,
        )


class RerouteIn(Versioned):
    partner: str = Field(description="slug of the monitoring partner")
    reason: str = Field(min_length=1, max_length=300)

    def run(self, on: OnCase) -> Case:
        workflow.require_rerouter(on.user, on.case)
        partner = organisation_by_slug(on.session, self.partner)
        if partner is None:
            raise AppError("no organisation with slug %(slug)s", slug=repr(self.partner))
        return workflow.reroute(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            partner=partner,
            reason=self.reason,
            expected_version=self.expected_version,
        )


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)

    def run(self, on: OnCase) -> Note:
        return workflow.add_note(on.session, on.vault, case=on.case, author=on.user, body=self.body)


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=4000)

    def run(self, on: OnCase) -> CaseMessage:
        service.require_case_staff(on.user, on.case)
        return service.send_to_reporter(
            on.session, on.vault, case=on.case, author=on.user, body=self.body
        )


class LinkIn(BaseModel):
    other: str = Field(description="the other case's id or reference")
    kind: str = Field(description="duplicate or related")

    def run(self, on: OnCase) -> tuple[CaseLink, Case]:
        service.require_case_staff(on.user, on.case)
        wanted = self.other.strip()
        if not wanted:
            raise NotFound("no such case to link")
        other = service.find_case_for(on.session, on.user, wanted)
        if other is None:
            raise NotFound("no such case to link")
        link = workflow.link_cases(
            on.session, case=on.case, other=other, kind=self.kind, actor=on.user
        )
        return link, other


# remediation ------------------------------------------------------------------------------


class StepIn(BaseModel):
    summary: str = Field(
        min_length=1, max_length=300, description="for buyers to read: never identify anyone"
    )
    worker_text: str | None = Field(
        default=None,
        max_length=300,
        description="what the worker reads, in the case's language; required when that is "
        "not English; must fit one SMS question for SMS and WhatsApp cases",
    )
    detail: str | None = Field(default=None, max_length=10_000, description="staff only")
    due_at: IsoDateTime | None = None

    def run(self, on: OnCase) -> RemediationStep:
        return remediation.add_step(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            summary=self.summary,
            worker_text=self.worker_text,
            detail=self.detail,
            due_at=self.due_at,
        )


class StepUpdate(BaseModel):
    summary: str | None = Field(default=None, min_length=1, max_length=300)
    worker_text: str | None = Field(
        default=None,
        max_length=300,
        description="changing it (or the summary) on a step already put to the worker makes "
        "the next `propose` ask again",
    )
    detail: str | None = Field(default=None, max_length=10_000)
    status: str | None = Field(
        default=None,
        description="proposed, in_progress, done (asks the worker to confirm), cancelled",
    )
    due_at: IsoDateTime | None = None

    def run(self, on: OnCase, *, step_id: uuid.UUID) -> RemediationStep:
        return remediation.update_step(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            step_id=step_id,
            summary=self.summary,
            worker_text=self.worker_text,
            detail=self.detail,
            status=self.status,
            due_at=self.due_at,
        )


class ProposeIn(BaseModel):
    """Put every step not yet put to the reporter to them (no fields)."""

    def run(self, on: OnCase) -> list[RemediationStep]:
        return remediation.propose(on.session, on.vault, case=on.case, actor=on.user)


class StepAnswerIn(BaseModel):
    """The answer a field case's reporter gave their monitor in person."""

    question: Literal["consent", "verification"]
    answer: Literal["yes", "no"]
    reason: str | None = Field(default=None, max_length=1000)

    def run(self, on: OnCase, *, step_id: uuid.UUID) -> RemediationStep:
        return remediation.record_for_reporter(
            on.session,
            on.vault,
            case=on.case,
            actor=on.user,
            step_id=step_id,
            kind=self.question,
            yes=self.answer == "yes",
            reason=self.reason,
        )
