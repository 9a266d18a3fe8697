"""A partner's triage queue: filters, sorting and keyset pagination (never OFFSET, so the
thousandth page costs what the first does)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, func, literal, literal_column, or_, tuple_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.cases import service
from app.cases.models import Case, Category, Status
from app.db import UTCDateTime
from app.errors import AppError
from app.routing.models import Workplace
from app.timeutil import utcnow

SORTS = ("newest", "oldest", "due")
MAX_LIMIT = 200
# Cases without a deadline sort last by due date; a fixed far date keeps the key total.
NO_DEADLINE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    key: datetime
    ident: uuid.UUID
    created: datetime | None = None  # `due` order, among cases with no deadline left
    urgent: bool | None = None  # urgent-first order: still among the urgent cases


@dataclass
class QueueFilters:
    status: str | None = None
    category: str | None = None
    country: str | None = None
    workplace: str | None = None  # a workplace id, or a workplace name (any case)
    urgent: bool | None = None
    overdue: bool | None = None
    unread: bool | None = None  # has reporter messages nobody has answered
    assignee_id: uuid.UUID | None = None
    sort: str = "newest"  # newest | oldest | due


def is_overdue(case: Case, now: datetime) -> bool:
    """A deadline passed: not acknowledged in time, or no feedback in time; closed never is."""
    if case.status == Status.closed:
        return False
    ack_late = (
        case.acknowledged_at is None and case.ack_due_at is not None and case.ack_due_at < now
    )
    feedback_late = (
        case.feedback_given_at is None
        and case.feedback_due_at is not None
        and case.feedback_due_at < now
    )
    return ack_late or feedback_late


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """The SQL twin of `is_overdue`."""
    return and_(
        col(Case.status) != Status.closed.value,
        or_(
            and_(col(Case.acknowledged_at).is_(None), col(Case.ack_due_at) < now),
            and_(col(Case.feedback_given_at).is_(None), col(Case.feedback_due_at) < now),
        ),
    )


def _pending_streams() -> list[tuple[ColumnElement[bool], ColumnElement[datetime] | None]]:
    """The `due` order as three streams, each read in index order (migration 0005's partial
    indexes) and merged: cases awaiting acknowledgement by `ack_due_at`, acknowledged cases
    awaiting feedback by `feedback_due_at`, then every other case (no deadline left),
    newest first."""
    open_case = col(Case.status) != Status.closed.value
    ack = and_(col(Case.acknowledged_at).is_(None), col(Case.ack_due_at).is_not(None), open_case)
    feedback = and_(
        col(Case.acknowledged_at).is_not(None),
        col(Case.feedback_given_at).is_(None),
        col(Case.feedback_due_at).is_not(None),
        open_case,
    )
    return [
        (ack, col(Case.ack_due_at)),  # type: ignore[list-item]
        (feedback, col(Case.feedback_due_at)),  # type: ignore[list-item]
        (~or_(ack, feedback), None),
    ]


def _filter_clauses(filters: QueueFilters, now: datetime) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if filters.status:
        if filters.status not in Status.__members__:
            raise AppError(
                "unknown status %(value)s; one of %(choices)s",
                value=repr(filters.status),
                choices=", ".join(Status),
            )
        out.append(col(Case.status) == filters.status)
    if filters.category:
        if filters.category not in Category.__members__:
            raise AppError(
                "unknown category %(value)s; one of %(choices)s",
                value=repr(filters.category),
                choices=", ".join(Category),
            )
        out.append(col(Case.category) == filters.category)
    if filters.country:
        out.append(col(Case.country) == filters.country.strip().upper())
    if filters.workplace:
        try:
            out.append(col(Case.workplace_id) == uuid.UUID(filters.workplace))
        except ValueError:
            # The reporter's own words are encrypted; the filter names a registered workplace.
            named = select(Workplace.id).where(
                func.lower(col(Workplace.name)) == filters.workplace.strip().lower()
            )
            out.append(col(Case.workplace_id).in_(named))
    if filters.urgent is not None:
        out.append(col(Case.urgent) == filters.urgent)
    if filters.overdue is not None:
        clause = overdue_clause(now)
        out.append(clause if filters.overdue else ~clause)
    if filters.unread is not None:
        # An inline 0 (not a bound parameter) lets SQLite match the partial index.
        unread = col(Case.unread_reporter_messages) > literal_column("0")
        out.append(unread if filters.unread else ~unread)
    if filters.assignee_id is not None:
        out.append(col(Case.assignee_id) == filters.assignee_id)
    return out


# cursors --------------------------------------------------------------------------------


def _encode(
    sort: str,
    key: datetime,
    ident: uuid.UUID,
    created: datetime | None = None,
    urgent: bool | None = None,
) -> str:
    data: dict[str, Any] = {"s": sort, "k": key.astimezone(UTC).isoformat(), "i": str(ident)}
    if created is not None:
        data["c"] = created.astimezone(UTC).isoformat()
    if urgent is not None:
        data["u"] = int(urgent)
    raw = json.dumps(data)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decode(cursor: str, sort: str, split: bool) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        data: dict[str, Any] = json.loads(raw)
        # Moved to UTC here, where a date at the edge of the calendar (year 1 at +14:00)
        # overflows as a bad cursor rather than later, in the query, as a 500.
        key, ident = _utc(datetime.fromisoformat(data["k"])), uuid.UUID(data["i"])
        created = _utc(datetime.fromisoformat(data["c"])) if "c" in data else None
        urgent = bool(data["u"]) if "u" in data else None
        given = data["s"]
    except (
        AttributeError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        binascii.Error,
        UnicodeDecodeError,
    ) as exc:
        raise AppError("the cursor is not one this API gave out", code="bad_cursor") from exc
    if given != sort:
        named = f"sort={given}" if isinstance(given, str) and given.isalpha() else "another sort"
        raise AppError(
            "the cursor belongs to %(sort)s; keep the same sort while paging",
            code="bad_cursor",
            sort=named[:20],
        )
    if (urgent is not None) != split:
        raise AppError(
            "the cursor belongs to another order (urgent first or not); keep the same "
            "parameters while paging",
            code="bad_cursor",
        )
    return Cursor(key, ident, created, urgent)


def _utc(moment: datetime) -> datetime:
    return _aware(moment).astimezone(UTC)


def _key_of(case: Case, sort: str) -> datetime:
    if sort != "due":
        return case.created_at
    if case.status == Status.closed:
        return NO_DEADLINE
    if case.acknowledged_at is None:
        return case.ack_due_at or NO_DEADLINE
    if case.feedback_given_at is None and case.feedback_due_at is not None:
        return case.feedback_due_at
    return NO_DEADLINE


# the query ------------------------------------------------------------------------------


def _after(key: Any, at: datetime, ident: uuid.UUID) -> Any:
    return tuple_(key, col(Case.id)) > tuple_(literal(at, UTCDateTime()), literal(ident, Uuid()))


def _before_created(at: datetime, ident: uuid.UUID) -> Any:
    return tuple_(col(Case.created_at), col(Case.id)) < tuple_(
        literal(at, UTCDateTime()), literal(ident, Uuid())
    )


def _by_created(
    session: Session, query: SelectOfScalar[Case], sort: str, after: Cursor | None, limit: int
) -> list[Case]:
    key = col(Case.created_at)
    if after is not None:
        if sort == "newest":
            query = query.where(_before_created(after.key, after.ident))
        else:
            query = query.where(_after(key, after.key, after.ident))
    if sort == "newest":
        query = query.order_by(key.desc(), col(Case.id).desc())
    else:
        query = query.order_by(key.asc(), col(Case.id).asc())
    return list(session.exec(query.limit(limit + 1)).all())


def _due_order(case: Case) -> tuple[int, float, int]:
    key = _key_of(case, "due")
    if key >= NO_DEADLINE:
        return (1, -case.created_at.timestamp(), -case.id.int)
    return (0, key.timestamp(), case.id.int)


def _by_due(
    session: Session, query: SelectOfScalar[Case], after: Cursor | None, limit: int
) -> list[Case]:
    found: list[Case] = []
    past_deadlines = after is not None and after.key >= NO_DEADLINE
    for clause, key in _pending_streams():
        stream = query.where(clause)
        if key is None:
            if past_deadlines and after is not None and after.created is not None:
                stream = stream.where(_before_created(after.created, after.ident))
            ordered = stream.order_by(col(Case.created_at).desc(), col(Case.id).desc())
        elif past_deadlines:
            continue  # this stream was used up before the cursor
        else:
            if after is not None:
                stream = stream.where(_after(key, after.key, after.ident))
            ordered = stream.order_by(key, col(Case.id))
        found += session.exec(ordered.limit(limit + 1)).all()
    found.sort(key=_due_order)
    return found[: limit + 1]


def _rows(
    session: Session, query: SelectOfScalar[Case], sort: str, after: Cursor | None, limit: int
) -> list[Case]:
    """Up to limit + 1 cases after the cursor, in the sort's order."""
    if sort == "due":
        return _by_due(session, query, after, limit)
    return _by_created(session, query, sort, after, limit)


def _urgent_first(
    session: Session, query: SelectOfScalar[Case], sort: str, after: Cursor | None, limit: int
) -> list[Case]:
    """Every urgent case (in the sort's order), then the others: two keyset streams, the
    cursor saying which one it stopped in."""
    urgent = col(Case.urgent).is_(True)
    rows: list[Case] = []
    if after is None or after.urgent:
        rows = _rows(session, query.where(urgent), sort, after, limit)
        if len(rows) > limit:
            return rows
        after = None  # the other stream starts from its beginning
    rest = _rows(session, query.where(~urgent), sort, after, limit - len(rows))
    return rows + rest


def queue(
    session: Session,
    *,
    user: User,
    filters: QueueFilters,
    cursor: str | None,
    limit: int = 50,
    urgent_first: bool = False,
) -> tuple[list[Case], str | None]:
    """One page of the cases the user may see, and the cursor of the next page (or None).
    `urgent_first`: urgent cases before all others, each part in the sort's order."""
    if filters.sort not in SORTS:
        raise AppError("sort must be one of %(choices)s", choices=", ".join(SORTS))
    if not 1 <= limit <= MAX_LIMIT:
        raise AppError("limit must be between 1 and %(num)s", num=MAX_LIMIT)
    split = urgent_first and filters.urgent is None  # a filter on urgency: one stream
    query = service.readable_by(user).where(*_filter_clauses(filters, utcnow()))
    after = _decode(cursor, filters.sort, split) if cursor else None
    if split:
        rows = _urgent_first(session, query, filters.sort, after, limit)
    else:
        rows = _rows(session, query, filters.sort, after, limit)
    page = rows[:limit]
    if len(rows) <= limit or not page:
        return page, None
    last = page[-1]
    key = _key_of(last, filters.sort)
    created = last.created_at if filters.sort == "due" and key >= NO_DEADLINE else None
    return page, _encode(filters.sort, key, last.id, created, last.urgent if split else None)
