"""The case an API request names, read for its caller: a dependency, so every handler gets
the case through the one scoped query (what the caller may not see is a 404) and the one
rule for who works on a case."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.cases import service
from app.cases.commands import OnCase
from app.cases.models import Case
from app.deps import ApiUser, SessionDep, VaultDep


def case_for_caller(case_id: uuid.UUID, user: ApiUser, session: SessionDep) -> Case:
    return service.get_case_for(session, user, case_id)


CaseForCaller = Annotated[Case, Depends(case_for_caller)]


def case_for_staff(case: CaseForCaller, user: ApiUser) -> Case:
    """A case whose content the caller reads: admins and the partner's monitors."""
    service.require_case_staff(user, case)
    return case


StaffCase = Annotated[Case, Depends(case_for_staff)]


def on_case(case: CaseForCaller, user: ApiUser, session: SessionDep, vault: VaultDep) -> OnCase:
    """What a command runs on; the command's services check who may make the change."""
    return OnCase(session=session, vault=vault, user=user, case=case)


Acting = Annotated[OnCase, Depends(on_case)]
