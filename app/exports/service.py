"""Choosing what an export holds, recording it, and reading it out of the database.

The bundle is produced as it is read (`bundle()` yields bytes), so an export of millions of
events takes constant memory; the format is in docs/export-format.md and the checks in
`app/exports/verify.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func
from sqlmodel import Session, col, select

from app.accounts.models import Organisation
from app.audit.service import Actor, Recorded, record
from app.cases import service as cases
from app.cases.models import Case, RemediationStep
from app.db import snapshot
from app.errors import AppError
from app.exports.bundle import BundleWriter, case_line
from app.identity.keys import KeyRing
from app.identity.vault import DecryptionError, Vault
from app.timeutil import iso_utc

BATCH = 5000
CASE_BATCH = 500


@dataclass(frozen=True)
class Selection:
    partner: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    references: tuple[str, ...] = ()
    partner_id: uuid.UUID | None = field(default=None, compare=False)

    def describe(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "cases": list(self.references),
        }

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.partner_id is not None:
            clauses.append(col(Case.partner_id) == self.partner_id)
        if self.date_from is not None:
            clauses.append(col(Case.created_at) >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to is not None:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            clauses.append(col(Case.created_at) < end)
        if self.references:
            clauses.append(col(Case.reference).in_(self.references))
        return clauses


def parse_day(value: str | None, what: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise AppError(f"{what} must be a date as YYYY-MM-DD, not {value!r}") from exc


def select_cases(
    session: Session,
    *,
    partner: str | None,
    date_from: date | None,
    date_to: date | None,
    references: tuple[str, ...] = (),
) -> Selection:
    """Check the selection against the database: an unknown partner or reference is an
    error, not a silently empty bundle. A partner or period with no cases is fine."""
    if date_from and date_to and date_from > date_to:
        raise AppError("the period ends before it starts (from is after to)")
    partner_id = None
    if partner:
        org = session.exec(select(Organisation).where(Organisation.slug == partner)).first()
        if org is None or org.kind != "partner":
            raise AppError(f"no partner with slug {partner!r}")
        partner_id = org.id
    refs = tuple(sorted({r.strip().upper() for r in references if r.strip()}))
    if refs:
        found = set(session.exec(select(Case.reference).where(col(Case.reference).in_(refs))))
        missing = [r for r in refs if r not in found]
        if missing:
            raise AppError(f"no case with reference {', '.join(missing)}")
    return Selection(partner, date_from, date_to, refs, partner_id)


def record_export(
    session: Session, *, selection: Selection, actor: Actor, content: bool
) -> Recorded:
    """The export's own audit event; its SEQ:HASH is the head the bundle is cut at."""
    described = selection.describe()
    return record(
        session,
        actor=actor,
        action="export.created",
        data={
            "partner": described["partner"],
            "period_from": described["from"],
            "period_to": described["to"],
            "references": described["cases"],
            "content": content,
        },
    )


# reading ------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment else None


def _readable(read: Callable[..., str | None], *args: Any) -> str | None:
    try:
        return read(*args)
    except DecryptionError:
        return None  # shredded by retention: the bundle says so by its absence


def _case_dict(
    session: Session,
    vault: Vault,
    case: Case,
    steps: list[RemediationStep],
    partners: dict[uuid.UUID, str],
    content: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(case.id),
        "reference": case.reference,
        "status": case.status,
        "category": case.category,
        "country": case.country,
        "channel": case.channel,
        "language": case.language,
        "partner": partners.get(case.partner_id) if case.partner_id else None,
        "workplace_id": str(case.workplace_id) if case.workplace_id else None,
        "urgent": case.urgent,
        "created_at": _iso(case.created_at),
        "acknowledged_at": _iso(case.acknowledged_at),
        "closed_at": _iso(case.closed_at),
        "closure_reason": case.closure_reason,
        "resolution_override": case.resolution_override,
        "remediation": [
            {
                "id": str(s.id),
                "position": s.position,
                "summary": s.summary,
                "status": s.status,
                "worker_verdict": s.worker_verdict,
                "verification": s.verification,
                "due_at": _iso(s.due_at),
                "completed_at": _iso(s.completed_at),
            }
            for s in steps
        ],
    }
    if content:
        item["narrative"] = _readable(cases.narrative, session, vault, case)
        item["messages"] = [
            {
                "direction": m.direction,
                "created_at": _iso(m.created_at),
                "body": _readable(cases.message_body, session, vault, case, m),
            }
            for m in cases.conversation(session, case)
        ]
    return item


def _cases(session: Session, selection: Selection) -> Iterator[list[Case]]:
    query = select(Case).where(*selection.where()).order_by(col(Case.created_at), col(Case.id))
    batch: list[Case] = []
    for case in session.exec(query.execution_options(yield_per=CASE_BATCH)):
        batch.append(case)
        if len(batch) == CASE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _steps(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RemediationStep]]:
    found: dict[uuid.UUID, list[RemediationStep]] = {i: [] for i in ids}
    query = (
        select(RemediationStep)
        .where(col(RemediationStep.case_id).in_(ids))
        .order_by(col(RemediationStep.case_id), col(RemediationStep.position))
    )
    for step in session.exec(query):
        found[step.case_id].append(step)
    return found


def segments(session: Session, selection: Selection, head_seq: int) -> list[tuple[int, int]]:
    """Each selected case's first..last event, merged: the stretches of chain to include."""
    from app.audit.models import AuditEvent

    chosen = select(Case.id).where(*selection.where())
    query = (
        select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
        .where(col(AuditEvent.case_id).in_(chosen), col(AuditEvent.seq) <= head_seq)
        .group_by(col(AuditEvent.case_id))
    )
    spans = sorted((int(a), int(b)) for a, b in session.exec(query))
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


_CHAIN_SQL = (
    "SELECT seq, occurred_at, actor_kind, actor_id, action, {case_id}, data, prev_hash, hash "
    "FROM audit_event WHERE seq >= {m} AND seq <= {m} ORDER BY seq LIMIT {m}"
)


def chain_sql(dialect: str) -> str:
    """The export's one query for a page of the chain, in the driver's own parameter style.

    On PostgreSQL the case id is read as text: the driver's UUID objects are built, hashed
    and compared in Python, which cost a fifth of the export; on SQLite it is stored as 32
    hex digits already."""
    if dialect == "postgresql":
        return _CHAIN_SQL.format(case_id="case_id::text", m="%s")
    return _CHAIN_SQL.format(case_id="case_id", m="?")


def _chain(conn: Connection, spans: list[tuple[int, int]]) -> Iterator[list[tuple[Any, ...]]]:
    # The driver's own cursor: SQLAlchemy's row objects would cost more than the export.
    sql = chain_sql(conn.dialect.name)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for first, last in spans:
            start = first
            while start <= last:
                cursor.execute(sql, (start, last, BATCH))
                rows = cursor.fetchall()
                if not rows:
                    break
                yield rows
                start = int(rows[-1][0]) + 1
    finally:
        cursor.close()


@dataclass(frozen=True)
class Export:
    selection: Selection
    head: Recorded
    exported_by: dict[str, Any]
    content: bool
    exported_at: datetime


def bundle(
    engine: Engine,
    vault: Vault,
    keyring: KeyRing,
    export: Export,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[bytes]:
    """The signed bundle, in chunks, read from one consistent snapshot of the database.

    `progress(done, total)` is told how many chain entries are written so far."""
    head = export.head
    writer = BundleWriter(keyring)
    with engine.connect() as raw, Session(bind=snapshot(raw)) as session:
        conn = session.connection()
        yield from writer.line(
            {
                "type": "header",
                "format": "grievance-desk-export/1",
                "exported_at": iso_utc(export.exported_at),
                "exported_by": export.exported_by,
                "selection": export.selection.describe(),
                "content": export.content,
                "audit_head": f"{head.seq}:{head.hash}",
            }
        )
        partners = {o.id: o.slug for o in session.exec(select(Organisation))}
        # Keyed by the form chain_sql reads the id in (text on PostgreSQL, 32 hex digits on
        # SQLite), so each event is matched without parsing its case_id.
        chosen: dict[Any, str] = {}
        for batch in _cases(session, export.selection):
            steps = _steps(session, [c.id for c in batch])
            for case in batch:
                chosen[case.id.hex] = chosen[str(case.id)] = str(case.id)
                item = _case_dict(session, vault, case, steps[case.id], partners, export.content)
                yield from writer.line(case_line(item))
        spans = segments(session, export.selection, head.seq)
        total = sum(b - a + 1 for a, b in spans)
        done = 0
        for rows in _chain(conn, spans):
            yield writer.chain(rows, chosen)
            done += len(rows)
            if progress is not None:
                progress(done, total)
        if progress is not None:
            progress(done, total)
        yield from writer.finish([[a, b] for a, b in spans])
