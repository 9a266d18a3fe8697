"""Small counts are withheld and no withheld figure can be worked back out."""

from __future__ import annotations

import random

import pytest

from app.stats.suppression import table, withhold_rate, withhold_small
from tests.stats.attacker import solved_by_algebra, solved_by_search

MIN = 5


def _differences(shown, rows, cols):  # type: ignore[no-untyped-def]
    """Every single-line subtraction, repeated while it finds something (a careful human)."""
    known = dict(shown)
    found = set()
    changed = True
    while changed:
        changed = False
        lines = [[(r, c) for c in [*cols, None]] for r in [*rows, None]]
        lines += [[(r, c) for r in [*rows, None]] for c in [*cols, None]]
        for line in lines:
            *cells, total = line
            missing = [k for k in line if known[k] is None]
            if len(missing) == 1:
                k = missing[0]
                if k == total:
                    known[k] = sum(known[c] for c in cells)
                else:
                    known[k] = known[total] - sum(known[c] for c in cells if c != k)
                found.add(k)
                changed = True
            elif (
                missing
                and total not in missing
                and known[total] == sum(known[c] for c in cells if known[c] is not None)
            ):  # the rest is zero: every withheld cell of the line is recovered
                for k in missing:
                    known[k] = 0
                    found.add(k)
                changed = True
    return found


def test_small_cells_are_withheld_and_big_ones_shown() -> None:
    counts = {
        ("wages", "2026Q1"): 12,
        ("wages", "2026Q2"): 3,
        ("hours", "2026Q1"): 9,
        ("hours", "2026Q2"): 20,
    }
    t = table(counts, ["wages", "hours"], ["2026Q1", "2026Q2"], min_cell=MIN)
    assert t.shown[("wages", "2026Q2")] is None
    assert t.shown[("hours", "2026Q2")] is None or t.shown[("hours", "2026Q2")] == 20
    # 3 alone withheld would follow from 15 - 12: something else in its row and column goes.
    assert len(t.withheld()) >= 4
    assert t.shown[("wages", "2026Q1")] in (12, None)
    assert not solved_by_algebra(t.shown, t.rows, t.cols)
    assert not solved_by_search(t.shown, t.rows, t.cols, cap=60)


def test_nothing_withheld_when_nothing_is_small() -> None:
    counts = {(r, c): 5 + r + c for r in range(3) for c in range(4)}
    t = table(counts, range(3), range(4), min_cell=MIN)
    assert t.withheld() == set()
    assert t.shown[(None, None)] == sum(counts.values())


def test_zero_counts_are_withheld_and_protected() -> None:
    counts = {(0, 0): 10, (0, 1): 0, (1, 0): 10, (1, 1): 10}
    t = table(counts, range(2), range(2), min_cell=MIN)
    assert t.shown[(0, 1)] is None
    assert not solved_by_algebra(t.shown, t.rows, t.cols)
    assert not solved_by_search(t.shown, t.rows, t.cols, cap=60)


def test_all_zero_table_reveals_nothing() -> None:
    t = table({}, ["a", "b"], ["q1"], min_cell=MIN)
    assert t.withheld() == set(t.shown)


@pytest.mark.parametrize("seed", range(60))
def test_random_tables_resist_every_attack(seed: int) -> None:
    rng = random.Random(seed)
    rows, cols = range(rng.randint(1, 3)), range(rng.randint(1, 3))
    counts = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 13, 30]) for r in rows for c in cols}
    t = table(counts, rows, cols, min_cell=MIN)
    for key, value in t.values.items():
        if value < MIN:
            assert t.shown[key] is None, key
        else:
            assert t.shown[key] in (value, None)
    assert not _differences(t.shown, rows, cols)
    assert not solved_by_algebra(t.shown, rows, cols)
    if len(rows) * len(cols) <= 6:
        cap = 2 * max(t.values.values()) + MIN
        assert not solved_by_search(t.shown, rows, cols, cap=cap)


@pytest.mark.parametrize("seed", range(10))
def test_large_sparse_tables_resist_algebra(seed: int) -> None:
    # A country's table: ten categories by eight quarters, mostly small counts.
    rng = random.Random(1000 + seed)
    rows, cols = range(10), range(8)
    counts = {(r, c): rng.choice([0, 0, 0, 1, 2, 4, 7, 11, 40]) for r in rows for c in cols}
    t = table(counts, rows, cols, min_cell=MIN)
    assert all(t.shown[k] is None for k, v in t.values.items() if v < MIN)
    assert not _differences(t.shown, rows, cols)
    assert not solved_by_algebra(t.shown, rows, cols)


def test_the_attackers_can_find_what_a_naive_table_leaks() -> None:
    # The tests would catch a leak: withholding only the small cell gives it away.
    shown = {
        (0, 0): 12,
        (0, 1): None,
        (1, 0): 9,
        (1, 1): 20,
        (0, None): 15,
        (1, None): 29,
        (None, 0): 21,
        (None, 1): 23,
        (None, None): 44,
    }
    assert (0, 1) in _differences(shown, range(2), range(2))
    assert (0, 1) in solved_by_algebra(shown, range(2), range(2))
    assert (0, 1) in solved_by_search(shown, range(2), range(2), cap=60)
    # Two withheld zeros in a line whose visible figures already add up are zeros.
    shown = {
        (0, 0): 10,
        (0, 1): None,
        (1, 0): None,
        (1, 1): 10,
        (0, None): 10,
        (1, None): 10,
        (None, 0): 10,
        (None, 1): 10,
        (None, None): 20,
    }
    assert solved_by_search(shown, range(2), range(2), cap=30) == {(0, 1), (1, 0)}


def test_rates_and_medians_over_few_cases_are_withheld() -> None:
    assert withhold_rate(3, 4, min_cell=MIN) is None
    assert withhold_rate(3, 6, min_cell=MIN) == 0.5
    assert withhold_rate(0, 0, min_cell=1) is None
    assert withhold_small(4.5, over=4, min_cell=MIN) is None
    assert withhold_small(4.5, over=5, min_cell=MIN) == 4.5
