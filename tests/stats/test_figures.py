"""Public figures and buyers' figures: the JSON, the CSV and the page agree, small counts
are withheld, and no withheld count can be worked out from what is shown."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, update

from app.cases.models import Case
from app.i18n import LANGUAGES
from app.runtime import Runtime
from tests.cases.world import World, build
from tests.factories import auth, make_case, make_workplace
from tests.stats.attacker import solved_by_algebra

SPRING = datetime(2026, 4, 10, tzinfo=UTC)


def _file(runtime: Runtime, n: int, **kw: object) -> None:
    for _ in range(n):
        make_case(runtime, **kw)  # type: ignore[arg-type]


def _grids(
    rows: list[dict[str, object]], key: str
) -> dict[object, dict[tuple[object, object], object]]:
    out: dict[object, dict[tuple[object, object], object]] = {}
    for r in rows:
        out.setdefault(r[key], {})[(r["category"], r["quarter"])] = r["cases"]
    return out


def _assert_safe(grid: dict[tuple[object, object], object]) -> None:
    cats = sorted({c for c, _ in grid if c is not None})
    quarters = sorted({q for _, q in grid if q is not None})
    assert not solved_by_algebra(grid, cats, quarters)  # type: ignore[arg-type]


def test_public_figures_agree_and_protect_small_counts(
    runtime: Runtime, client: TestClient
) -> None:
    _file(runtime, 7, country="BD", category="wages")
    _file(runtime, 2, country="BD", category="harassment_violence")
    _file(runtime, 6, country="VN", category="working_hours")
    with runtime.session() as session:  # a few earlier cases, in another quarter
        session.execute(update(Case).where(col(Case.country) == "VN").values(created_at=SPRING))
        session.commit()
    _file(runtime, 1, country="VN", category="wages")

    data = client.get("/transparency.json").json()
    assert data["threshold"] == 5
    rows = data["rows"]
    assert set(rows[0]) == {"country", "category", "quarter", "cases"}
    grids = _grids(rows, "country")
    assert grids["BD"][("harassment_violence", None)] is None
    assert grids["VN"][("wages", None)] is None
    for grid in grids.values():
        _assert_safe(grid)
        assert all(v is None or v >= 5 for v in grid.values())

    text = client.get("/transparency.csv").text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == len(rows)
    for row, line in zip(rows, parsed, strict=True):
        assert line["country"] == row["country"]
        assert line["cases"] == ("" if row["cases"] is None else str(row["cases"]))

    page = client.get("/transparency?lang=en")
    assert page.status_code == 200 and "public" in page.headers["cache-control"]
    shown = [int(n) for n in re.findall(r'data-cases="(\d+)"', page.text)]
    assert sorted(shown) == sorted(r["cases"] for r in rows if r["cases"] is not None)
    assert page.text.count('data-cases=""') == sum(1 for r in rows if r["cases"] is None)
    assert "http" not in re.sub(r'href="/[^"]*"', "", page.text.split("<main", 1)[1])


@pytest.mark.parametrize("code", [lang.code for lang in LANGUAGES])
def test_the_page_speaks_every_language(runtime: Runtime, client: TestClient, code: str) -> None:
    _file(runtime, 1, country="BD")
    page = client.get(f"/transparency?lang={code}")
    assert page.status_code == 200
    assert f'dir="{"rtl" if code in ("ar", "ur") else "ltr"}"' in page.text
    if code != "en":
        assert "Grievance figures" not in page.text  # translated
        assert "not shown" not in page.text


def _world_with_cases(runtime: Runtime) -> World:
    world = build(runtime)  # three cases, two at acme's Star Garments
    _file(runtime, 6, country="BD", category="wages", workplace=world.place)
    return world


def test_buyer_sees_only_their_workplaces(runtime: Runtime, client: TestClient) -> None:
    world = _world_with_cases(runtime)
    other = make_workplace(runtime, name="Zeta Works", country="VN", buyers=[world.orgs["zeta"]])
    _file(runtime, 5, country="VN", workplace=other)
    acme = auth(world.tokens["buyer"])
    data = client.get("/api/v1/stats", headers=acme).json()
    assert {r["workplace"] for r in data["rows"]} == {str(world.place.id)}
    grid = _grids(data["rows"], "workplace")[str(world.place.id)]
    assert grid[("wages", None)] == 6 and grid[("health_safety", None)] is None
    _assert_safe(grid)
    whole = client.get("/api/v1/stats", headers=auth(world.tokens["auditor"])).json()
    assert {r["workplace"] for r in whole["rows"]} == {str(world.place.id), str(other.id)}
    assert client.get(f"/api/v1/stats?workplace={other.id}", headers=acme).status_code == 404
    assert client.get("/api/v1/stats", headers=auth(world.tokens["monitor"])).status_code == 403
    text = client.get("/api/v1/stats?format=csv", headers=acme).text
    assert text.splitlines()[0] == "workplace,workplace_name,country,category,quarter,cases"
    assert len(text.splitlines()) == len(data["rows"]) + 1


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("from=2026-05-01&to=2026-01-01", "after"),
        ("from=2026-01-01", "both"),
        ("from=2000-01-01&to=2026-01-01", "at most"),
        ("from=yesterday&to=2026-01-01", ""),
    ],
)
def test_bad_ranges_are_refused(
    runtime: Runtime, client: TestClient, query: str, problem: str
) -> None:
    world = build(runtime)
    r = client.get(f"/api/v1/stats?{query}", headers=auth(world.tokens["buyer"]))
    assert r.status_code in (400, 422) and problem in r.text
