"""Running retention: `grievance retention run` and the worker's periodic job."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from app.audit.service import SYSTEM, Actor
from app.retention.service import Due, due_cases, shred_case
from app.runtime import Runtime
from app.timeutil import utcnow
from app.worker import job

log = logging.getLogger("grievance.retention")
EVERY_SECONDS = 600.0  # nothing falls due faster than a day; a run every ten minutes is ample


@dataclass
class Outcome:
    due: list[Due] = field(default_factory=list)
    shredded: list[Due] = field(default_factory=list)


def run_retention(runtime: Runtime, *, actor: Actor, dry_run: bool = False) -> Outcome:
    """Shred every case that is due, one transaction each (see app/retention/service.py)."""
    outcome = Outcome()
    with runtime.read_session() as session:  # the scan takes no write lock
        outcome.due = list(
            due_cases(session, override=runtime.settings.retention_days, now=utcnow())
        )
    if dry_run:
        return outcome
    for due in outcome.due:
        with runtime.session() as session:
            if shred_case(session, runtime.vault, case_id=due.case_id, days=due.days, actor=actor):
                session.commit()
                outcome.shredded.append(due)
    return outcome


_last_run = {"at": float("-inf")}


@job("retention")
def retention_job(runtime: Runtime) -> int:
    now = time.monotonic()
    if now - _last_run["at"] < EVERY_SECONDS:
        return 0
    _last_run["at"] = now
    outcome = run_retention(runtime, actor=SYSTEM)
    if outcome.shredded:
        log.info("retention shredded cases", extra={"count": len(outcome.shredded)})
    return len(outcome.shredded)
