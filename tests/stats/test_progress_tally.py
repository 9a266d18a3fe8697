"""The buyer's progress figures read tallies the database keeps (migration 0018); they always
equal a fresh count of the cases and steps, whatever writes them, and come a page of
workplaces at a time."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text, update
from sqlmodel import Session, col, select

from app.cases.models import Case, RemediationStep
from app.cases.queue import is_overdue
from app.runtime import Runtime
from app.stats import progress
from app.stats.models import CaseDuration, WorkplaceProgress, WorkplaceSteps
from app.timeutil import utcnow
from tests.factories import auth, make_case, make_org, make_token, make_user, make_workplace

SQLITE_TRIGGERS = {
    "workplace_progress_insert",
    "workplace_progress_delete",
    "workplace_progress_update",
    "case_duration_update",
    "workplace_steps_move",
    "workplace_steps_insert",
    "workplace_steps_delete",
    "workplace_steps_update",
}
PG_TRIGGERS = {
    "workplace_progress_insert_delete",
    "workplace_progress_update",
    "workplace_steps_insert_delete",
    "workplace_steps_update",
}


def _fresh(session: Session, now: datetime) -> dict[uuid.UUID, dict[str, object]]:
    """What the tallies must say, counted from the cases and steps themselves."""
    out: dict[uuid.UUID, dict[str, object]] = {}
    cases = session.exec(select(Case).where(col(Case.workplace_id).is_not(None))).all()
    steps = session.exec(select(RemediationStep)).all()
    for c in cases:
        assert c.workplace_id is not None
        f = out.setdefault(
            c.workplace_id,
            {
                "by_status": Counter(),
                "acknowledged": 0,
                "ack_in_time": 0,
                "closed": 0,
                "overridden": 0,
                "ack_late": 0,
                "overdue": 0,
                "ack_days": [],
                "close_days": [],
                "steps": dict.fromkeys(progress.STEP_FIGURES, 0),
            },
        )
        f["by_status"][(c.status, c.category)] += 1  # type: ignore[index]
        if c.acknowledged_at is not None:
            f["acknowledged"] += 1  # type: ignore[operator]
            f["ack_days"].append((c.acknowledged_at - c.created_at) / timedelta(days=1))  # type: ignore[attr-defined]
            if c.ack_due_at is not None and c.acknowledged_at <= c.ack_due_at:
                f["ack_in_time"] += 1  # type: ignore[operator]
        elif c.ack_due_at is not None and c.ack_due_at < now:
            f["ack_late"] += 1  # type: ignore[operator]
        if c.closed_at is not None:
            f["closed"] += 1  # type: ignore[operator]
            f["close_days"].append((c.closed_at - c.created_at) / timedelta(days=1))  # type: ignore[attr-defined]
        f["overridden"] += c.resolution_override is not None  # type: ignore[operator]
        f["overdue"] += is_overdue(c, now)  # type: ignore[operator]
        for s in steps:
            if s.case_id != c.id or s.status == "cancelled":
                continue
            t = f["steps"]
            t["proposed"] += 1  # type: ignore[index]
            t["agreed"] += s.worker_verdict == "agreed"  # type: ignore[index]
            t["done"] += s.status == "done"  # type: ignore[index]
            t["verified"] += s.verification == "confirmed"  # type: ignore[index]
    return out


def _check(runtime: Runtime) -> None:
    now = utcnow()
    with runtime.session() as session:
        fresh = _fresh(session, now)
        counts = progress._counts(session, list(fresh), now)
        for place, want in fresh.items():
            got = counts[place]
            assert Counter(got.by_status) == want["by_status"], place
            for name in ("acknowledged", "ack_in_time", "closed", "overridden", "ack_late"):
                assert getattr(got, name) == want[name], name
            assert got.overdue == want["overdue"]
            assert got.steps == want["steps"]
            for kind, days in (("ack", want["ack_days"]), ("close", want["close_days"])):
                n = len(days)  # type: ignore[arg-type]
                found = progress._medians(session, [(place, kind, n)]) if n else {}
                median = found.get((place, kind))
                if n:
                    assert median == pytest.approx(statistics.median(days), abs=1e-9)  # type: ignore[arg-type]
                else:
                    assert median is None
        # Nothing left behind for workplaces that lost their cases, nor durations of others.
        for row in session.exec(select(WorkplaceProgress)).all():
            if row.workplace_id not in fresh:
                assert (row.cases, row.acknowledged, row.closed, row.overridden) == (0, 0, 0, 0)
        for steps in session.exec(select(WorkplaceSteps)).all():
            if steps.workplace_id not in fresh:
                assert (steps.proposed, steps.agreed, steps.done, steps.verified) == (0, 0, 0, 0)
        durations = session.exec(select(CaseDuration)).all()
        assert len(durations) == sum(
            len(f["ack_days"]) + len(f["close_days"])  # type: ignore[arg-type]
            for f in fresh.values()
        )


def test_the_triggers_exist_at_head(runtime: Runtime) -> None:
    """A migration that makes SQLite copy grievance_case or remediation_step drops them."""
    with runtime.engine.connect() as conn:
        if runtime.engine.dialect.name == "sqlite":
            query, expected = (
                "SELECT name FROM sqlite_master WHERE type = 'trigger'",
                SQLITE_TRIGGERS,
            )
        else:
            query, expected = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal", PG_TRIGGERS
        assert expected <= {row[0] for row in conn.execute(text(query))}


def _step(session: Session, case: Case, **values: object) -> RemediationStep:
    step = RemediationStep(case_id=case.id, summary="Pay the wages owed", **values)
    session.add(step)
    session.flush()
    return step


def test_progress_tallies_follow_every_kind_of_write(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    buyer = make_org(runtime, slug="acme", kind="buyer")
    star = make_workplace(runtime, name="Star Garments", country="BD", buyers=[buyer])
    moon = make_workplace(runtime, name="Moon Knitwear", country="BD", buyers=[buyer])
    cases = [make_case(runtime, workplace=star, category="wages") for _ in range(4)]
    cases += [make_case(runtime, workplace=moon, category="harassment_violence") for _ in range(2)]
    loose = make_case(runtime)  # no workplace: never in a buyer's figures
    _check(runtime)

    now = utcnow()
    with runtime.session() as session:  # the ORM: acknowledge, close, override, add steps
        a = session.get_one(Case, cases[0].id)
        a.acknowledged_at, a.ack_due_at = now - timedelta(hours=5), now - timedelta(hours=1)
        a.status = "acknowledged"
        b = session.get_one(Case, cases[1].id)
        b.acknowledged_at, b.ack_due_at = now - timedelta(hours=1), now - timedelta(hours=3)
        b.closed_at, b.status = now, "closed"
        b.resolution_override = "unreachable"
        c = session.get_one(Case, cases[2].id)
        c.ack_due_at, c.feedback_due_at = now - timedelta(days=1), now - timedelta(hours=2)
        d = session.get_one(Case, cases[3].id)
        d.acknowledged_at = d.created_at + timedelta(days=2, microseconds=7)
        d.feedback_due_at = now - timedelta(minutes=1)
        session.add_all([a, b, c, d])
        _step(session, a, status="done", worker_verdict="agreed", verification="confirmed")
        _step(session, a, status="cancelled", worker_verdict="agreed")
        _step(session, b, status="in_progress", worker_verdict="disagreed")
        session.commit()
    _check(runtime)

    with runtime.session() as session:  # Core: change steps, move a case with its steps
        session.execute(
            update(RemediationStep)
            .where(col(RemediationStep.case_id) == cases[1].id)
            .values(status="done", worker_verdict="agreed", verification="not_confirmed")
        )
        session.execute(
            update(Case).where(col(Case.id) == cases[0].id).values(workplace_id=moon.id)
        )
        session.execute(
            update(Case)
            .where(col(Case.id) == cases[1].id)
            .values(created_at=datetime(2025, 4, 2, 23, 59, 1, 250_000, tzinfo=UTC))
        )
        session.execute(update(Case).where(col(Case.id) == loose.id).values(workplace_id=star.id))
        session.execute(update(Case).where(col(Case.id) == cases[4].id).values(workplace_id=None))
        session.execute(update(Case).where(col(Case.id) == cases[5].id).values(version=9))
        session.commit()
    _check(runtime)

    with runtime.session() as session:  # steps removed, a step moved to another case
        session.execute(
            update(RemediationStep)
            .where(col(RemediationStep.case_id) == cases[1].id)
            .values(case_id=cases[5].id)
        )
        session.execute(delete(RemediationStep).where(col(RemediationStep.status) == "cancelled"))
        session.commit()
    _check(runtime)

    with runtime.session() as session:  # a case removed with its steps
        session.execute(delete(RemediationStep).where(col(RemediationStep.case_id) == cases[0].id))
        session.execute(delete(Case).where(col(Case.id) == cases[0].id))
        session.commit()
    _check(runtime)
    with runtime.session() as session:
        assert session.get(CaseDuration, (cases[0].id, "ack")) is None


def test_progress_comes_a_page_of_workplaces_at_a_time(
    runtime: Runtime, client: TestClient
) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    acme = make_org(runtime, slug="acme", kind="buyer")
    zeta = make_org(runtime, slug="zeta", kind="buyer")
    names = ["Delta Denim", "Alpha Apparel", "Bravo Knits", "Charlie Socks", "Echo Shoes"]
    places = [make_workplace(runtime, name=n, country="BD", buyers=[acme]) for n in names]
    theirs = make_workplace(runtime, name="Zulu Garments", country="BD", buyers=[zeta])
    empty = make_workplace(runtime, name="Aardvark Mills", country="BD", buyers=[acme])
    for place in [*places, theirs]:
        for _ in range(6):
            make_case(runtime, workplace=place)
    token = auth(
        make_token(runtime, make_user(runtime, email="b@acme.example", role="buyer", org="acme"))
    )

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/api/v1/stats/progress", params=params, headers=token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= 2 and body["threshold"] == 5
        seen += [item["workplace_name"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == sorted(names) and pages == 3  # no empty workplace, no other buyer's
    assert empty.name not in seen and theirs.name not in seen
    first = client.get("/api/v1/stats/progress", params={"limit": 1}, headers=token).json()
    assert first["items"][0]["cases"] == 6 and first["items"][0]["overrides"] is None

    r = client.get("/api/v1/stats/progress", params={"workplace": str(theirs.id)}, headers=token)
    assert r.status_code == 404
    r = client.get("/api/v1/stats/progress", params={"cursor": "bm90IGEgY3Vyc29y"}, headers=token)
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"
    r = client.get("/api/v1/stats/progress", params={"limit": 1000}, headers=token)
    assert r.status_code == 422
