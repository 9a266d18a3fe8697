"""Writing and verifying the audit chain.

`record()` is the one way to append. It runs inside the caller's transaction, so an event
and the change it describes commit or vanish together. The head row is locked first
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite transactions are already serial), which
keeps the chain linear under concurrent writers. On PostgreSQL the lock, the hash, the
append and the head's move are one statement (`_APPEND_PG`).

The hash of an event is SHA-256 over its fields joined by the record separator (0x1E):
``seq, occurred_at, actor_kind, actor_id, action, case_id, data, prev_hash``. `data` is
canonical JSON (sorted keys, no spaces, ASCII), so it never contains a raw 0x1E.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlmodel import Session, col

from app.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from app.db import snapshot
from app.timeutil import iso_utc, utcnow

SEP = "\x1e"
FORBIDDEN_KEYS = frozenset(
    {
        "phone",
        "phone_number",
        "from",
        "to",
        "address",
        "wa_id",
        "narrative",
        "body",
        "name",
        "profile_name",
        "contact",
        "email_of_reporter",
        "ip",
        "user_agent",
        "receipt_code",
    }
)


class AuditDataError(ValueError):
    """Audit data tried to carry identity or grievance text."""


@dataclass(frozen=True)
class Actor:
    kind: str  # system | user | reporter | cli | provider
    id: str | None = None

    @classmethod
    def user(cls, user_id: uuid.UUID) -> Actor:
        return cls("user", str(user_id))


SYSTEM = Actor("system")


def canonical_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def event_hash(
    seq: int,
    occurred_at: str,
    actor_kind: str,
    actor_id: str | None,
    action: str,
    case_id: str | None,
    data: str,
    prev_hash: str,
) -> str:
    payload = SEP.join(
        (str(seq), occurred_at, actor_kind, actor_id or "", action, case_id or "", data, prev_hash)
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _check_data(data: Mapping[str, Any]) -> None:
    bad = FORBIDDEN_KEYS.intersection(k.lower() for k in data)
    if bad:
        raise AuditDataError(f"audit data may not carry {sorted(bad)}")


@dataclass(frozen=True)
class Recorded:
    seq: int
    hash: str


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
# Built once with bound parameters: SQLAlchemy compiles each of these a single time.
_INSERT_EVENT = _EVENTS.insert()
_MOVE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
# PostgreSQL: lock the head, hash, append the event and move the head in one statement, so
# the head is locked for one round trip and the commit; concurrent appenders wait on that
# lock. The hash is event_hash()'s, computed by PostgreSQL (sha256(), version 11 and
# later); verify() recomputes every hash in Python. concat_ws skips NULLs, hence coalesce.
_APPEND_PG = text(
    """
    WITH head AS (
        SELECT seq + 1 AS seq, hash AS prev_hash FROM audit_head WHERE id = 1 FOR UPDATE
    ), event AS (
        SELECT seq, prev_hash, encode(sha256(convert_to(concat_ws(
            CAST(:sep AS text), seq::text, CAST(:occurred_at AS text),
            CAST(:actor_kind AS text), coalesce(CAST(:actor_id AS text), ''),
            CAST(:action AS text), coalesce(CAST(:case_text AS text), ''),
            CAST(:data AS text), prev_hash
        ), 'UTF8')), 'hex') AS hash
        FROM head
    ), appended AS (
        INSERT INTO audit_event
            (seq, occurred_at, actor_kind, actor_id, action, case_id, data, prev_hash, hash)
        SELECT seq, :occurred_at, :actor_kind, :actor_id, :action, CAST(:case_text AS uuid),
            :data, prev_hash, hash
        FROM event
        RETURNING seq, hash
    )
    UPDATE audit_head SET seq = appended.seq, hash = appended.hash
    FROM appended WHERE audit_head.id = 1
    RETURNING appended.seq, appended.hash
    """
)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    case_id: uuid.UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> Recorded:
    """Append one event in the caller's transaction. The caller commits."""
    payload = dict(data or {})
    _check_data(payload)
    if SEP in action or SEP in actor.kind or (actor.id and SEP in actor.id):
        raise AuditDataError("audit fields may not contain the record separator")
    session.flush()  # the change being recorded reaches the database first
    conn = session.connection()  # Core on the session's own transaction: no ORM layer
    occurred_at = iso_utc(utcnow())
    data_text = canonical_json(payload)
    case_text = str(case_id) if case_id else None
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            _APPEND_PG,
            {
                "sep": SEP,
                "occurred_at": occurred_at,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "action": action,
                "case_text": case_text,
                "data": data_text,
            },
        ).one()
        return Recorded(seq=int(row[0]), hash=row[1])
    head_seq, head_hash = conn.execute(_READ_HEAD).one()
    seq = int(head_seq) + 1
    digest = event_hash(
        seq, occurred_at, actor.kind, actor.id, action, case_text, data_text, head_hash
    )
    event = {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "action": action,
        "case_id": case_id,
        "data": data_text,
        "prev_hash": head_hash,
        "hash": digest,
    }
    conn.execute(_INSERT_EVENT, event)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return Recorded(seq=seq, hash=digest)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None


_SELECT_EVENTS = (
    "SELECT seq, occurred_at, actor_kind, actor_id, action, case_id, data, prev_hash, hash "
    "FROM audit_event WHERE seq > {mark} ORDER BY seq LIMIT {mark}"
)


def case_events(session: Session, case_id: uuid.UUID) -> list[AuditEvent]:
    """A case's events, oldest first."""
    query = select(AuditEvent).where(col(AuditEvent.case_id) == case_id)
    return list(session.scalars(query.order_by(col(AuditEvent.seq))).all())


def _rows(conn: Connection, batch: int) -> Iterable[tuple[Any, ...]]:
    # The driver's own cursor, inside the connection's snapshot: fetching is most of the
    # cost of verifying, and SQLAlchemy's row objects would double it.
    conn.execute(text("SELECT 1"))  # begins the snapshot transaction
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = _SELECT_EVENTS.format(mark=mark)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    last = 0
    try:
        while True:
            cursor.execute(sql, (last, batch))
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]
    finally:
        cursor.close()


def _uuid_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    text_value = str(value)
    if len(text_value) == 32:  # SQLite stores UUIDs as 32 hex digits
        return str(uuid.UUID(hex=text_value))
    return text_value


def verify(
    conn: Connection, *, batch: int = 20000, expect: tuple[int, str] | None = None
) -> VerifyResult:
    """Walk the chain from the start; report the first event that does not fit.

    `expect` is a (seq, hash) recorded earlier (a head, an export's own event): that event
    must still be in the chain, which catches events cut off the end with the head moved
    back, the one change the chain alone cannot show.

    Pass a fresh connection: it reads one consistent snapshot, so events appended by the
    running service meanwhile neither hold it up nor look like tampering."""
    conn = snapshot(conn)
    expect_seq, expect_hash = expect if expect is not None else (0, "")
    sha256 = hashlib.sha256
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    for seq, at, kind, actor_id, action, case_id, data, prev_hash, digest in _rows(conn, batch):
        if seq != expected_seq:
            problem = (
                f"event {expected_seq} is missing (the next one found is {seq})"
                if seq > expected_seq
                else f"event {seq} is out of order"
            )
            return VerifyResult(False, checked, seq, prev, problem, expected_seq)
        if prev_hash != prev:
            return VerifyResult(
                False,
                checked,
                seq,
                prev,
                f"event {seq} does not link to event {seq - 1} (inserted, reordered or edited)",
                seq,
            )
        payload = SEP.join(
            (str(seq), at, kind, actor_id or "", action, _uuid_text(case_id) or "", data, prev_hash)
        )
        if sha256(payload.encode("utf-8")).hexdigest() != digest:
            return VerifyResult(
                False, checked, seq, prev, f"event {seq} was altered (its hash does not match)", seq
            )
        if seq == expect_seq and digest != expect_hash:
            problem = f"event {seq} has hash {digest}, not the expected {expect_hash} (rewritten?)"
            return VerifyResult(False, checked, seq, prev, problem, seq)
        prev = digest
        expected_seq += 1
        checked += 1
    head = conn.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    if head is None:
        return VerifyResult(False, checked, checked, prev, "the audit head row is missing", None)
    head_seq, head_hash = int(head[0]), str(head[1])
    if head_seq < checked:
        return VerifyResult(
            False,
            checked,
            head_seq,
            head_hash,
            f"event {head_seq + 1} was added after the recorded head (inserted)",
            head_seq + 1,
        )
    if head_seq > checked:
        return VerifyResult(
            False,
            checked,
            head_seq,
            head_hash,
            f"event {checked + 1} is missing: the head says the chain ends at {head_seq}",
            checked + 1,
        )
    if head_hash != prev:
        return VerifyResult(
            False,
            checked,
            head_seq,
            head_hash,
            f"event {head_seq} does not match the recorded head",
            head_seq,
        )
    if expect_seq > head_seq:
        problem = f"event {expect_seq} is gone (events removed from the end?)"
        return VerifyResult(False, checked, head_seq, head_hash, problem, expect_seq)
    return VerifyResult(True, checked, head_seq, head_hash)
