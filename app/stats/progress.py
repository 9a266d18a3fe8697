"""How remediation goes at each workplace: the figures a buyer follows, each withheld when it
counts, or is computed over, fewer cases than the threshold."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app.cases.models import Case, Category, RemediationStep, Status
from app.cases.queue import is_overdue
from app.routing.models import Workplace
from app.stats.suppression import table, withhold_rate, withhold_small
from app.timeutil import utcnow

STEP_FIGURES = ("proposed", "agreed", "done", "verified")
CASE_COLUMNS: tuple[Any, ...] = (
    col(Case.id),
    col(Case.workplace_id),
    col(Case.status),
    col(Case.category),
    col(Case.created_at),
    col(Case.acknowledged_at),
    col(Case.ack_due_at),
    col(Case.feedback_given_at),
    col(Case.feedback_due_at),
    col(Case.closed_at),
    col(Case.resolution_override),
)
STEP_COLUMNS: tuple[Any, ...] = (
    col(RemediationStep.id),
    col(RemediationStep.case_id),
    col(RemediationStep.status),
    col(RemediationStep.worker_verdict),
    col(RemediationStep.verification),
)


def step_flags(step: RemediationStep) -> tuple[bool, bool]:
    """(agreed by the worker, verified by the worker). The only place that reads the
    worker's answers on a step, so a change to how they are stored changes only this."""
    return step.worker_verdict == "agreed", step.verification == "confirmed"


def overridden(case: Case) -> bool:
    """Resolved without every step agreed and confirmed (the override of issue 9), where the
    case records it."""
    return case.resolution_override is not None


def _days(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 86400


@dataclass
class Progress:
    workplace: Workplace
    cases: int | None
    by_status: dict[tuple[str | None, str | None], int | None]
    acknowledged_in_time: float | None
    median_days_to_acknowledge: float | None
    median_days_to_close: float | None
    steps: dict[str, int | None] = field(default_factory=dict)
    overrides: int | None = None
    overdue: int | None = None


def _hide(count: int, min_cell: int) -> int | None:
    return None if count < min_cell else count


def progress(
    session: Session, *, workplace_ids: Sequence[uuid.UUID] | None, min_cell: int
) -> list[Progress]:
    # Only the columns the figures use, not the encrypted content: tens of thousands of
    # cases for a large buyer. (Another attribute would be loaded when read, one by one.)
    query = (
        select(Case).options(load_only(*CASE_COLUMNS)).where(col(Case.workplace_id).is_not(None))
    )
    if workplace_ids is not None:
        query = query.where(col(Case.workplace_id).in_(list(workplace_ids)))
    by_place: dict[uuid.UUID, list[Case]] = defaultdict(list)
    for case in session.exec(query).all():
        assert case.workplace_id is not None
        by_place[case.workplace_id].append(case)
    steps: dict[uuid.UUID, list[RemediationStep]] = defaultdict(list)
    ids = [c.id for cs in by_place.values() for c in cs]
    for chunk in range(0, len(ids), 500):
        for step in session.exec(
            select(RemediationStep)
            .options(load_only(*STEP_COLUMNS))
            .where(col(RemediationStep.case_id).in_(ids[chunk : chunk + 500]))
        ).all():
            steps[step.case_id].append(step)
    now = utcnow()
    out = []
    for place_id, cases in by_place.items():
        place = session.get_one(Workplace, place_id)
        out.append(_one(place, cases, steps, now, min_cell))
    return sorted(out, key=lambda p: p.workplace.name)


def _one(
    place: Workplace,
    cases: list[Case],
    steps: dict[uuid.UUID, list[RemediationStep]],
    now: datetime,
    min_cell: int,
) -> Progress:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for case in cases:
        counts[(case.status, case.category)] += 1
    status_table = table(
        counts, [s.value for s in Status], [c.value for c in Category], min_cell=min_cell
    )
    due = [c for c in cases if c.acknowledged_at or (c.ack_due_at and c.ack_due_at < now)]
    on_time = sum(
        1 for c in due if c.acknowledged_at and c.ack_due_at and c.acknowledged_at <= c.ack_due_at
    )
    to_ack = [d for c in cases if (d := _days(c.created_at, c.acknowledged_at)) is not None]
    to_close = [d for c in cases if (d := _days(c.created_at, c.closed_at)) is not None]
    tally = dict.fromkeys(STEP_FIGURES, 0)
    for case in cases:
        for step in steps.get(case.id, []):
            if step.status == "cancelled":
                continue
            agreed, verified = step_flags(step)
            tally["proposed"] += 1
            tally["agreed"] += agreed
            tally["done"] += step.status == "done"
            tally["verified"] += verified
    return Progress(
        workplace=place,
        cases=status_table.shown[(None, None)],  # the same figure as the table's total
        by_status=dict(status_table.shown),
        acknowledged_in_time=withhold_rate(on_time, len(due), min_cell=min_cell),
        median_days_to_acknowledge=withhold_small(
            median(to_ack) if to_ack else None, over=len(to_ack), min_cell=min_cell
        ),
        median_days_to_close=withhold_small(
            median(to_close) if to_close else None, over=len(to_close), min_cell=min_cell
        ),
        steps={k: _hide(v, min_cell) for k, v in tally.items()},
        overrides=_hide(sum(overridden(c) for c in cases), min_cell),
        overdue=_hide(sum(is_overdue(c, now) for c in cases), min_cell),
    )


def as_row(p: Progress) -> dict[str, Any]:
    return {
        "workplace": str(p.workplace.id),
        "workplace_name": p.workplace.name,
        "country": p.workplace.country,
        "cases": p.cases,
        "acknowledged_in_time": p.acknowledged_in_time,
        "median_days_to_acknowledge": p.median_days_to_acknowledge,
        "median_days_to_close": p.median_days_to_close,
        **{f"steps_{k}": v for k, v in p.steps.items()},
        "overrides": p.overrides,
        "overdue": p.overdue,
    }
