"""An attacker with a published table: every visible figure, every sum the table implies,
and the knowledge that counts are never negative. Written independently of the module under
test, by elimination over fractions and by brute force over small tables."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

Key = tuple[Any, Any]


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [r[:] for r in matrix]
    rank = 0
    width = len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][col] != 0:
                factor = rows[i][col] / rows[rank][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rank


def _form(key: Key, unknowns: list[Key]) -> list[Fraction]:
    """A figure as a sum of the withheld inner cells (its known part dropped)."""
    row, col = key
    return [
        Fraction(1) if (row is None or r == row) and (col is None or c == col) else Fraction(0)
        for r, c in unknowns
    ]


def solved_by_algebra(
    shown: Mapping[Key, int | None], rows: Sequence[Hashable], cols: Sequence[Hashable]
) -> set[Key]:
    """Withheld figures fixed by the linear system alone (over the reals)."""
    unknowns = [(r, c) for r in rows for c in cols if shown[(r, c)] is None]
    if not unknowns:
        return {k for k, v in shown.items() if v is None}
    equations = [
        _form(k, unknowns)
        for k, v in shown.items()
        if v is not None and (k[0] is None or k[1] is None)
    ]
    base = _rank(equations) if equations else 0
    found = set()
    for key, value in shown.items():
        if value is None:
            form = _form(key, unknowns)
            if not any(form) or _rank([*equations, form]) == base:
                found.add(key)
    return found


def _assignments(
    shown: Mapping[Key, int | None], rows: Sequence[Hashable], cols: Sequence[Hashable], cap: int
) -> Iterator[dict[Key, int]]:
    unknowns = [(r, c) for r in rows for c in cols if shown[(r, c)] is None]
    grid = {(r, c): shown[(r, c)] for r in rows for c in cols}

    def fits(partial: bool) -> bool:
        for r in [*rows, None]:
            for c in [*cols, None]:
                if (r is None or c is None) and shown[(r, c)] is not None:
                    cells = [
                        grid[(a, b)]
                        for a in rows
                        for b in cols
                        if (r is None or a == r) and (c is None or b == c)
                    ]
                    known = sum(v for v in cells if v is not None)
                    if known > shown[(r, c)]:  # type: ignore[operator]
                        return False
                    if not partial and known != shown[(r, c)]:
                        return False
        return True

    def inside(line: Key, cell: Key) -> bool:
        return (line[0] is None or cell[0] == line[0]) and (line[1] is None or cell[1] == line[1])

    # A shown total whose last withheld cell (in the order walked) is unknown i fixes it:
    # the same completions as trying every value, without trying them.
    closes: dict[int, Key] = {}
    for line, total in shown.items():
        if total is not None and (line[0] is None or line[1] is None):
            members = [i for i, cell in enumerate(unknowns) if inside(line, cell)]
            if members:
                closes.setdefault(max(members), line)

    def forced(i: int) -> range:
        line = closes.get(i)
        if line is None:
            return range(cap + 1)
        others = sum(
            v for cell, v in grid.items() if cell != unknowns[i] and inside(line, cell) and v
        )
        value = shown[line] - others  # type: ignore[operator]
        return range(value, value + 1) if 0 <= value <= cap else range(0)

    def walk(i: int) -> Iterator[dict[Key, int]]:
        if i == len(unknowns):
            if fits(partial=False):
                yield dict(grid)  # type: ignore[arg-type]
            return
        for value in forced(i):
            grid[unknowns[i]] = value
            if fits(partial=True):
                yield from walk(i + 1)
        grid[unknowns[i]] = None

    yield from walk(0)


def solved_by_search(
    shown: Mapping[Key, int | None], rows: Sequence[Hashable], cols: Sequence[Hashable], cap: int
) -> set[Key]:
    """Withheld figures that take one value in every non-negative integer completion."""
    seen: dict[Key, set[int]] = {k: set() for k, v in shown.items() if v is None}
    for grid in _assignments(shown, rows, cols, cap):
        for key in seen:
            r, c = key
            seen[key].add(
                sum(
                    v
                    for (a, b), v in grid.items()
                    if (r is None or a == r) and (c is None or b == c)
                )
            )
        if all(len(v) > 1 for v in seen.values()):
            break
    return {k for k, v in seen.items() if len(v) <= 1}
