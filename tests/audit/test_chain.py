"""The audit chain: linear, verifiable, and loud about any edited, missing or added row."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from app.audit.service import Actor, AuditDataError, event_hash, record, verify
from app.runtime import Runtime


def _append(runtime: Runtime, count: int, case_id: object = None) -> None:
    with runtime.session() as session:
        for i in range(count):
            record(session, actor=Actor("cli", "test"), action="test.event", data={"n": i})
        session.commit()


def _verify(runtime: Runtime):  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return verify(conn)


def test_untouched_chain_verifies(runtime: Runtime) -> None:
    _append(runtime, 25)
    result = _verify(runtime)
    assert result.ok, result.problem
    assert result.checked == 25 and result.head_seq == 25


def test_each_event_is_hashed_as_event_hash_says(runtime: Runtime) -> None:
    """On PostgreSQL the database computes the hash (one statement while the head is
    locked): it must be event_hash() of the stored fields, with and without a case and an
    actor id, and whatever the data holds."""
    case_id = uuid.uuid4()
    with runtime.session() as session:
        first = record(
            session,
            actor=Actor.user(uuid.uuid4()),
            action="case.status_changed",
            case_id=case_id,
            data={"status": "in_progress", "note": "Lohn für März", "n": 3},
        )
        second = record(session, actor=Actor("system"), action="retention.ran")
        session.commit()
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, occurred_at, actor_kind, actor_id, action, case_id, data, "
                "prev_hash, hash FROM audit_event ORDER BY seq"
            )
        ).all()
    assert [(r.seq, r.hash) for r in rows] == [(1, first.hash), (2, second.hash)]
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == first.hash
    assert uuid.UUID(str(rows[0].case_id)) == case_id and rows[1].case_id is None
    for r in rows:
        case_text = str(uuid.UUID(str(r.case_id))) if r.case_id else None
        assert r.hash == event_hash(
            r.seq,
            r.occurred_at,
            r.actor_kind,
            r.actor_id,
            r.action,
            case_text,
            r.data,
            r.prev_hash,
        )
    assert _verify(runtime).ok


def test_event_without_commit_leaves_no_trace(runtime: Runtime) -> None:
    with runtime.session() as session:
        record(session, actor=Actor("cli"), action="test.rolled_back")
        session.rollback()
    assert _verify(runtime).checked == 0


def test_identity_is_refused_in_audit_data(runtime: Runtime) -> None:
    with runtime.session() as session, pytest.raises(AuditDataError):
        record(session, actor=Actor("cli"), action="test.bad", data={"phone": "+8801712345678"})


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    [
        ("UPDATE audit_event SET data = '{\"n\"\\:99}' WHERE seq = 5", 5),
        ("UPDATE audit_event SET action = 'case.deleted' WHERE seq = 7", 7),
        ("UPDATE audit_event SET occurred_at = '2020-01-01T00:00:00.000000Z' WHERE seq = 3", 3),
        ("DELETE FROM audit_event WHERE seq = 4", 4),
        ("DELETE FROM audit_event WHERE seq = 10", 10),
        ("DELETE FROM audit_event WHERE seq = 1", 1),
    ],
)
def test_tampering_is_named(runtime: Runtime, tamper: str, bad_seq: int) -> None:
    _append(runtime, 10)
    with runtime.engine.begin() as conn:
        conn.execute(text(tamper))
    result = _verify(runtime)
    assert not result.ok
    assert result.bad_seq == bad_seq, result.problem
    assert str(bad_seq) in (result.problem or "")


def test_inserted_row_is_named(runtime: Runtime) -> None:
    _append(runtime, 5)
    with runtime.engine.begin() as conn:
        last = conn.execute(text("SELECT hash FROM audit_event WHERE seq = 5")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, action, "
                "case_id, data, prev_hash, hash) VALUES (6, '2026-01-01T00:00:00.000000Z', "
                "'user', NULL, 'case.closed', NULL, '{}', :prev, :h)"
            ),
            {"prev": last, "h": "f" * 64},
        )
    result = _verify(runtime)
    assert not result.ok and result.bad_seq == 6


def test_reordered_rows_are_named(runtime: Runtime) -> None:
    _append(runtime, 6)
    with runtime.engine.begin() as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(text("SELECT seq, data, hash, prev_hash FROM audit_event"))
        }
        for seq, other in ((3, 4), (4, 3)):
            data, digest, prev = rows[other]
            conn.execute(
                text("UPDATE audit_event SET data = :d, hash = :h, prev_hash = :p WHERE seq = :s"),
                {"d": data, "h": digest, "p": prev, "s": seq},
            )
    result = _verify(runtime)
    assert not result.ok and result.bad_seq == 3


def test_chain_stays_linear_under_concurrent_writers(runtime: Runtime) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(15):
                _append(runtime, 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = _verify(runtime)
    assert result.ok, result.problem
    assert result.checked == 90
