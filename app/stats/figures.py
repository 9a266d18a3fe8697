"""Case counts by country, category and quarter (public) and by workplace (buyers),
always passed through `suppression` before anyone sees them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import extract, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.cases.models import Case, Category
from app.errors import Forbidden, NotFound, Term
from app.routing.models import Workplace, WorkplaceBuyer
from app.stats.models import ALL_CASES, NO_WORKPLACE, CaseTally
from app.stats.suppression import table

UNKNOWN_COUNTRY = "ZZ"  # ISO 3166's code for "unknown or unspecified"
CATEGORIES = tuple(c.value for c in Category)


def quarter(year: int, month: int) -> str:
    return f"{year}-Q{(month - 1) // 3 + 1}"


def _quarter_span(found: set[tuple[int, int]]) -> list[str]:
    """Every quarter from the first to the last with cases, empty ones too, so that a
    missing row never says "zero" where a withheld figure would say "fewer than 5"."""
    if not found:
        return []
    first, last = min(found), max(found)
    out = []
    year, q = first
    while (year, q) <= last:
        out.append(f"{year}-Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def _counts(session: Session, group: Any, where: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    year = extract("year", col(Case.created_at))
    month = extract("month", col(Case.created_at))
    query = (
        sql_select(group, col(Case.category), year, month, func.count())
        .where(*where)
        .group_by(group, col(Case.category), year, month)
    )
    return [tuple(row) for row in session.execute(query).all()]


def _tallied(session: Session, group: Any, where: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The same rows as `_counts` over whole months, read from the triggers' case_tally."""
    query = (
        sql_select(
            group,
            col(CaseTally.category),
            col(CaseTally.year),
            col(CaseTally.month),
            func.sum(CaseTally.cases),
        )
        .where(col(CaseTally.cases) > 0, *where)
        .group_by(group, col(CaseTally.category), col(CaseTally.year), col(CaseTally.month))
    )
    return [tuple(row) for row in session.execute(query).all()]


def _tables(
    rows: list[tuple[Any, ...]], *, min_cell: int
) -> list[tuple[Hashable, dict[tuple[str | None, str | None], int | None]]]:
    by_group: dict[Hashable, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    seen: set[tuple[int, int]] = set()
    for group, category, year, month, count in rows:
        q = (int(year), (int(month) - 1) // 3 + 1)
        seen.add(q)
        by_group[group][(category, f"{q[0]}-Q{q[1]}")] += int(count)
    quarters = _quarter_span(seen)
    out = []
    for group in sorted(by_group, key=str):
        protected = table(by_group[group], CATEGORIES, quarters, min_cell=min_cell)
        out.append((group, dict(protected.shown)))
    return out


def _ordered(shown: dict[tuple[str | None, str | None], int | None]) -> list[tuple[Any, ...]]:
    return sorted(
        ((cat, q, n) for (cat, q), n in shown.items()),
        key=lambda r: (r[0] is not None, r[0] or "", r[1] is not None, r[1] or ""),
    )


def public_rows(session: Session, *, min_cell: int) -> list[dict[str, Any]]:
    """The whole service's figures: one protected table per country."""
    out = []
    every = [col(CaseTally.workplace_id) == ALL_CASES]
    rows = _tallied(session, col(CaseTally.country), every)
    for group, shown in _tables(rows, min_cell=min_cell):
        for category, q, cases in _ordered(shown):
            out.append({"country": group, "category": category, "quarter": q, "cases": cases})
    return out


def workplace_rows(
    session: Session,
    *,
    workplace_ids: Sequence[uuid.UUID] | None,
    min_cell: int,
    since: date | None = None,
    until: date | None = None,
) -> list[dict[str, Any]]:
    """Figures per registered workplace (None: every workplace), one protected table each;
    `since` and `until` are days, both included."""
    where: list[Any] = [col(Case.workplace_id).is_not(None)]
    if since is not None:
        where.append(col(Case.created_at) >= datetime.combine(since, time(), UTC))
    if until is not None:
        where.append(col(Case.created_at) < datetime.combine(until, time(), UTC) + timedelta(1))
    if workplace_ids is not None:
        where.append(col(Case.workplace_id).in_(list(workplace_ids)))
    if since is None and until is None:  # whole months: the tally has them
        if workplace_ids is not None:
            where = [col(CaseTally.workplace_id).in_(list(workplace_ids))]
        else:
            where = [col(CaseTally.workplace_id).not_in([NO_WORKPLACE, ALL_CASES])]
        rows = _tallied(session, col(CaseTally.workplace_id), where)
    else:
        rows = _counts(session, col(Case.workplace_id), where)
    tables = _tables(rows, min_cell=min_cell)
    wanted = [group for group, _shown in tables]
    places = {
        p.id: p for p in session.exec(select(Workplace).where(col(Workplace.id).in_(wanted))).all()
    }
    out = []
    for group, shown in tables:
        place = places[group]  # type: ignore[index]
        for category, q, cases in _ordered(shown):
            out.append(
                {
                    "workplace": str(place.id),
                    "workplace_name": place.name,
                    "country": place.country or UNKNOWN_COUNTRY,
                    "category": category,
                    "quarter": q,
                    "cases": cases,
                }
            )
    return out


def buyer_workplaces(session: Session, buyer_id: uuid.UUID) -> list[uuid.UUID]:
    """The registered workplaces a buyer organisation sources from."""
    query = select(WorkplaceBuyer.workplace_id).where(col(WorkplaceBuyer.buyer_id) == buyer_id)
    return list(session.exec(query).all())


def scope_of(session: Session, user: User, workplace: uuid.UUID | None) -> list[uuid.UUID] | None:
    """The workplaces whose figures the caller may see (None: all of them)."""
    if user.role in (Role.admin, Role.auditor):
        return [workplace] if workplace else None
    if user.role != Role.buyer or user.org_id is None:
        raise Forbidden(
            "a %(role)s has no figures view; buyers, auditors and admins do", role=Term(user.role)
        )
    mine = buyer_workplaces(session, user.org_id)
    if workplace is None:
        return mine
    if workplace not in mine:
        raise NotFound("no such workplace")
    return [workplace]
