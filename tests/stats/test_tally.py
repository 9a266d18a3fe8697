"""case_tally, which the figures read, always equals a fresh count of the cases, whatever
writes them: the service, the ORM, Core UPDATEs and DELETEs (triggers keep it)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import delete, text, update
from sqlmodel import col, select

from app.cases.models import Case
from app.runtime import Runtime
from app.stats.models import ALL_CASES, NO_WORKPLACE, CaseTally
from tests.factories import make_case, make_org, make_workplace

TRIGGERS = {"case_tally_insert", "case_tally_delete", "case_tally_update"}
PG_TRIGGERS = {"case_tally_insert_delete", "case_tally_update"}


def _fresh(runtime: Runtime) -> Counter[tuple[object, ...]]:
    """Every case counted under its workplace and under ALL_CASES."""
    counts: Counter[tuple[object, ...]] = Counter()
    with runtime.session() as session:
        for c in session.exec(select(Case)).all():
            rest = (c.country or "ZZ", c.category, c.created_at.year, c.created_at.month)
            counts[(c.workplace_id or NO_WORKPLACE, *rest)] += 1
            counts[(ALL_CASES, *rest)] += 1
    return counts


def _tally(runtime: Runtime) -> Counter[tuple[object, ...]]:
    with runtime.session() as session:
        rows = session.exec(select(CaseTally).where(col(CaseTally.cases) > 0)).all()
        return Counter(
            {(r.workplace_id, r.country, r.category, r.year, r.month): r.cases for r in rows}
        )


def test_the_triggers_exist_at_head(runtime: Runtime) -> None:
    """A migration that makes SQLite copy grievance_case drops them: it must recreate them."""
    with runtime.engine.connect() as conn:
        if runtime.engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            expected = TRIGGERS
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            expected = PG_TRIGGERS
        assert expected <= {row[0] for row in conn.execute(text(query))}


def test_tally_follows_every_kind_of_write(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    buyer = make_org(runtime, slug="acme", kind="buyer")
    place = make_workplace(runtime, name="Star Garments", country="BD", buyers=[buyer])
    other = make_workplace(runtime, name="Moon Knitwear", country="BD", buyers=[])
    cases = [make_case(runtime, workplace=place, category="wages") for _ in range(3)]
    cases += [make_case(runtime, country="VN", category="health_safety") for _ in range(2)]
    cases.append(make_case(runtime, country=None))
    assert _tally(runtime) == _fresh(runtime)
    assert sum(_tally(runtime).values()) == 2 * 6

    with runtime.session() as session:  # the ORM: recategorise, link another workplace
        row = session.get_one(Case, cases[0].id)
        row.category = "harassment_violence"
        row.workplace_id = other.id
        session.add(row)
        session.commit()
    assert _tally(runtime) == _fresh(runtime)

    with runtime.session() as session:  # Core: move cases to another month and country
        session.execute(
            update(Case)
            .where(col(Case.country) == "VN")
            .values(created_at=datetime(2025, 4, 2, 23, 59, tzinfo=UTC), country="KH")
        )
        session.execute(update(Case).where(col(Case.id) == cases[1].id).values(workplace_id=None))
        session.execute(update(Case).where(col(Case.id) == cases[2].id).values(version=7))
        session.commit()
    assert _tally(runtime) == _fresh(runtime)

    with runtime.session() as session:  # a case removed with nothing else of it left
        bare = make_case(runtime, country="KE", session=session)
        session.commit()
        assert _tally(runtime) == _fresh(runtime)
        session.execute(delete(Case).where(col(Case.id) == bare.id))
        session.commit()
    assert _tally(runtime) == _fresh(runtime)
    assert "KE" not in {k[1] for k in _tally(runtime)}
