"""How remediation goes at each workplace: the figures a buyer follows, each withheld when it
counts, or is computed over, fewer cases than the threshold.

Nothing here reads the cases one by one. The counts come from tables the database keeps
exact as cases and steps are written (`workplace_progress`, `workplace_steps`, migration
0018); a median is read by position from `case_duration`'s index; what depends on the clock
(late, overdue) is counted from partial indexes that hold only the cases still waiting. So a
page of workplaces costs the same with a thousand cases or a million. Workplaces come a
page at a time, in name order, after a keyset cursor."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, not_, or_, union_all
from sqlmodel import Session, col, select

from app import paging
from app.cases.models import Case, Category, Status
from app.errors import AppError
from app.routing.models import Workplace
from app.stats.models import CaseDuration, WorkplaceProgress, WorkplaceSteps
from app.stats.suppression import table, withhold_rate, withhold_small
from app.timeutil import utcnow

STEP_FIGURES = ("proposed", "agreed", "done", "verified")
PAGE = 20  # workplaces per page
MAX_PAGE = 100
MICROS_PER_DAY = 86_400 * 1_000_000
CLOSED: ColumnElement[str] = literal_column(f"'{Status.closed.value}'")


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


@dataclass(frozen=True)
class ProgressPage:
    items: list[Progress]
    next: str | None  # the cursor of the next page, None on the last


@dataclass
class _Counts:
    """One workplace's raw figures, before anything is withheld."""

    by_status: dict[tuple[str, str], int] = field(default_factory=dict)
    acknowledged: int = 0
    ack_in_time: int = 0
    closed: int = 0
    overridden: int = 0
    ack_late: int = 0  # not acknowledged, its deadline passed
    overdue: int = 0
    steps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEP_FIGURES, 0))


def _hide(count: int, min_cell: int) -> int | None:
    return None if count < min_cell else count


def progress(
    session: Session,
    *,
    workplace_ids: Sequence[uuid.UUID] | None,
    min_cell: int,
    cursor: str | None = None,
    limit: int = PAGE,
) -> ProgressPage:
    """One page of the workplaces (None: all) that have cases, by name, with their figures."""
    limit = max(1, min(limit, MAX_PAGE))
    places = _places(session, workplace_ids, cursor, limit + 1)
    more = len(places) > limit
    places = places[:limit]
    counts = _counts(session, [p.id for p in places], utcnow())
    # Only the medians that will be shown: those over at least `min_cell` cases.
    wanted = [
        (p.id, kind, n)
        for p in places
        for kind, n in (("ack", counts[p.id].acknowledged), ("close", counts[p.id].closed))
        if n >= max(min_cell, 1)
    ]
    medians = _medians(session, wanted)
    items = [_one(p, counts[p.id], medians, min_cell) for p in places]
    last = places[-1] if more else None
    return ProgressPage(
        items=items, next=paging.encode("progress", last.name, str(last.id)) if last else None
    )


def _places(
    session: Session, ids: Sequence[uuid.UUID] | None, cursor: str | None, limit: int
) -> list[Workplace]:
    has_cases = (
        select(WorkplaceProgress.workplace_id)
        .where(
            col(WorkplaceProgress.workplace_id) == col(Workplace.id),
            col(WorkplaceProgress.cases) > 0,
        )
        .exists()
    )
    query = select(Workplace).where(has_cases)
    if ids is not None:
        query = query.where(col(Workplace.id).in_(list(ids)))
    if cursor is not None:
        name, raw_id = paging.decode(cursor, "progress", 2)
        try:
            after = uuid.UUID(raw_id)
        except ValueError as exc:
            raise AppError("the cursor is not one this API gave out", code="bad_cursor") from exc
        query = query.where(
            or_(
                col(Workplace.name) > name,
                and_(col(Workplace.name) == name, col(Workplace.id) > after),
            )
        )
    query = query.order_by(col(Workplace.name), col(Workplace.id)).limit(limit)
    return list(session.exec(query).all())


def _counts(session: Session, ids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, _Counts]:
    out: dict[uuid.UUID, _Counts] = defaultdict(_Counts)
    if not ids:
        return out
    t = WorkplaceProgress
    for (
        place,
        status,
        category,
        cases,
        acknowledged,
        in_time,
        closed,
        overridden,
    ) in session.execute(
        select(  # type: ignore[call-overload]
            t.workplace_id,
            t.status,
            t.category,
            t.cases,
            t.acknowledged,
            t.ack_in_time,
            t.closed,
            t.overridden,
        ).where(col(t.workplace_id).in_(ids), col(t.cases) > 0)
    ).all():
        c = out[place]
        c.by_status[(status, category)] = cases
        c.acknowledged += acknowledged
        c.ack_in_time += in_time
        c.closed += closed
        c.overridden += overridden
    s = WorkplaceSteps
    for place, *steps in session.execute(
        select(s.workplace_id, s.proposed, s.agreed, s.done, s.verified).where(  # type: ignore[call-overload]
            col(s.workplace_id).in_(ids)
        )
    ).all():
        out[place].steps = dict(zip(STEP_FIGURES, steps, strict=True))
    _late(session, ids, now, out)
    return out


def _late(
    session: Session, ids: list[uuid.UUID], now: datetime, out: dict[uuid.UUID, _Counts]
) -> None:
    """Not acknowledged by the deadline, and overdue (the SQL of `queue.is_overdue`), each
    counted from the partial index of the cases still waiting for that deadline."""
    place = col(Case.workplace_id)
    open_case = col(Case.status) != CLOSED
    ack_late = and_(col(Case.acknowledged_at).is_(None), col(Case.ack_due_at) < now)
    rows = session.execute(
        select(place, func.count(), func.sum(case((open_case, 1), else_=0)))
        .where(place.in_(ids), ack_late)
        .group_by(place)
    ).all()
    for workplace_id, late, late_open in rows:
        out[workplace_id].ack_late = int(late)
        out[workplace_id].overdue += int(late_open or 0)
    # Late with feedback only: the ones late for acknowledgement are counted above.
    rows = session.execute(
        select(place, func.count())
        .where(
            place.in_(ids),
            col(Case.feedback_given_at).is_(None),
            col(Case.feedback_due_at) < now,
            open_case,
            not_(and_(col(Case.ack_due_at).is_not(None), ack_late)),
        )
        .group_by(place)
    ).all()
    for workplace_id, late in rows:
        out[workplace_id].overdue += int(late)


def _medians(
    session: Session, wanted: list[tuple[uuid.UUID, str, int]]
) -> dict[tuple[uuid.UUID, str], float]:
    """Medians in days of (workplace, kind, how many values), each read by position in the
    index (the middle one or two values), all in one statement."""
    parts = []
    for place, kind, count in wanted:
        middle = (
            select(CaseDuration.workplace_id, CaseDuration.kind, CaseDuration.micros)
            .where(CaseDuration.workplace_id == place, CaseDuration.kind == kind)
            .order_by(col(CaseDuration.micros))
            .offset((count - 1) // 2)
            .limit(1 if count % 2 else 2)
            .subquery()
        )
        parts.append(select(middle.c.workplace_id, middle.c.kind, middle.c.micros))
    values: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(list)
    if parts:
        for place, kind, micros in session.execute(union_all(*parts)).all():
            values[(place, kind)].append(micros)
    return {key: sum(v) / len(v) / MICROS_PER_DAY for key, v in values.items()}


def _one(
    place: Workplace,
    counts: _Counts,
    medians: dict[tuple[uuid.UUID, str], float],
    min_cell: int,
) -> Progress:
    status_table = table(
        counts.by_status,
        [s.value for s in Status],
        [c.value for c in Category],
        min_cell=min_cell,
    )
    due = counts.acknowledged + counts.ack_late
    return Progress(
        workplace=place,
        cases=status_table.shown[(None, None)],  # the same figure as the table's total
        by_status=dict(status_table.shown),
        acknowledged_in_time=withhold_rate(counts.ack_in_time, due, min_cell=min_cell),
        median_days_to_acknowledge=withhold_small(
            medians.get((place.id, "ack")), over=counts.acknowledged, min_cell=min_cell
        ),
        median_days_to_close=withhold_small(
            medians.get((place.id, "close")), over=counts.closed, min_cell=min_cell
        ),
        steps={k: _hide(v, min_cell) for k, v in counts.steps.items()},
        overrides=_hide(counts.overridden, min_cell),
        overdue=_hide(counts.overdue, min_cell),
    )


def every_page(
    session: Session, *, workplace_ids: Sequence[uuid.UUID] | None, min_cell: int
) -> list[Progress]:
    """All the workplaces, page by page (the CSV download)."""
    out: list[Progress] = []
    cursor: str | None = None
    while True:
        page = progress(
            session, workplace_ids=workplace_ids, min_cell=min_cell, cursor=cursor, limit=MAX_PAGE
        )
        out.extend(page.items)
        if page.next is None:
            return out
        cursor = page.next


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
