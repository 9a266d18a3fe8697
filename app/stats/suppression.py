"""Small-count protection: the one place that decides which aggregate figures are withheld.

A table is a grid of counts (for example categories by quarter) published with its row
totals, column totals and grand total. Every figure below `min_cell` is withheld (primary
suppression), and then more figures are withheld (complementary suppression) until no
withheld figure can be worked out from the visible ones, not by one subtraction and not by
solving all the table's sums together with the knowledge that counts are never negative.

Why the check is exact: write the table with its totals negated, so that every row and
every column of the bordered table sums to zero. The withheld figures are then the edges of
a bipartite graph between row and column nodes, and the values an attacker cannot rule out
are the current ones plus any circulation on that graph. A withheld figure can move by one
(so it is not recoverable) exactly when it lies on a cycle along which every figure that has
to go down is at least one: a conformal decomposition turns any feasible change into such a
cycle. `_movable` searches for that cycle; `protect` adds the cheapest visible figures until
every withheld figure has one. Withholding a row's, a column's and the grand total always
gives one, so the loop ends.

Known limit: each table is protected on its own. Tables that share figures (the same cases
cut two ways in one publication) must be built so that one is the margin of the other, as
`table()` does.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)

# A cell of the bordered table: (row, column), where None stands for "total".
Key = tuple[R | None, C | None]


@dataclass(frozen=True)
class Table(Generic[R, C]):
    """Counts with their margins; `shown[key]` is the published figure or None if withheld."""

    rows: tuple[R, ...]
    cols: tuple[C, ...]
    values: Mapping[tuple[R | None, C | None], int]
    shown: Mapping[tuple[R | None, C | None], int | None]

    def withheld(self) -> set[tuple[R | None, C | None]]:
        return {key for key, value in self.shown.items() if value is None}


def withhold_rate(numerator: float, denominator: int, *, min_cell: int) -> float | None:
    """A share (0 to 1) over fewer cases than the threshold says too much about each one."""
    if denominator < min_cell or denominator <= 0:
        return None
    return numerator / denominator


def withhold_small(value: float | None, *, over: int, min_cell: int) -> float | None:
    """Any figure derived from fewer cases than the threshold (a median, a mean) is withheld."""
    if value is None or over < min_cell:
        return None
    return value


def _sign(key: tuple[object, object]) -> int:
    # Interior cells and the grand total count up; row and column totals are negated.
    return -1 if (key[0] is None) != (key[1] is None) else 1


def _nodes(key: tuple[object, object]) -> tuple[tuple[str, object], tuple[str, object]]:
    return ("r", key[0]), ("c", key[1])


Node = tuple[str, object]
Arcs = dict[Node, list[tuple[Node, tuple[object, object]]]]


def _arcs(hidden: set[tuple[object, object]], values: Mapping[tuple[object, object], int]) -> Arcs:
    """Directed arcs of the withheld figures: row->col means the signed entry goes up by
    one, col->row down by one. A figure may go down only when it is at least one. Built
    once per look at the table, then searched for each figure."""
    arcs: Arcs = {}
    for other in hidden:
        row, col = _nodes(other)
        up_ok = _sign(other) == 1 or values[other] >= 1  # signed +1 is actual +sign
        down_ok = _sign(other) == -1 or values[other] >= 1
        if up_ok:
            arcs.setdefault(row, []).append((col, other))
        if down_ok:
            arcs.setdefault(col, []).append((row, other))
    return arcs


def _movable(
    key: tuple[object, object],
    arcs: Arcs,
    values: Mapping[tuple[object, object], int],
) -> bool:
    """Can this withheld figure change by one, all others staying consistent and >= 0?"""
    row, col = _nodes(key)
    for start, goal, first_ok in (
        (col, row, _sign(key) == 1 or values[key] >= 1),
        (row, col, _sign(key) == -1 or values[key] >= 1),
    ):
        if not first_ok:
            continue
        # The first arc is `key` itself (goal -> start); find a way back without reusing it.
        seen = {start}
        todo = [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            for nxt, via in arcs.get(node, ()):
                if via != key and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return False


def protect(
    values: Mapping[tuple[R | None, C | None], int],
    rows: Sequence[R],
    cols: Sequence[C],
    *,
    min_cell: int,
) -> set[tuple[R | None, C | None]]:
    """The set of figures to withhold in a bordered table (values must include margins)."""
    all_rows: list[R | None] = [*rows, None]
    all_cols: list[C | None] = [*cols, None]
    hidden: set[tuple[R | None, C | None]] = {k for k, v in values.items() if v < min_cell}
    untyped: Mapping[tuple[object, object], int] = values  # type: ignore[assignment]
    while True:
        arcs = _arcs(hidden, untyped)  # type: ignore[arg-type]
        exposed = sorted(
            (k for k in hidden if not _safe(k, hidden, arcs, untyped)),
            key=lambda k: (values[k], all_rows.index(k[0]), all_cols.index(k[1])),
        )
        if not exposed:
            return hidden
        for key in exposed:  # one pass fixes most; the next audit catches the rest
            if _safe(key, hidden, arcs, untyped):
                continue
            added = _complement(key, hidden, values, all_rows, all_cols)
            if not added:  # cannot happen (a fully withheld table is safe); never loop on it
                return set(values)
            hidden |= added
            arcs = _arcs(hidden, untyped)  # type: ignore[arg-type]


def _safe(
    key: tuple[R | None, C | None],
    hidden: set[tuple[R | None, C | None]],
    arcs: Arcs,
    values: Mapping[tuple[object, object], int],
) -> bool:
    row, col = key
    # An inner figure whose row, column and grand totals are withheld too can always go up.
    if row is not None and col is not None and {(row, None), (None, col), (None, None)} <= hidden:
        return True
    return _movable(key, arcs, values)


def _complement(
    key: tuple[R | None, C | None],
    hidden: set[tuple[R | None, C | None]],
    values: Mapping[tuple[R | None, C | None], int],
    all_rows: Sequence[R | None],
    all_cols: Sequence[C | None],
) -> set[tuple[R | None, C | None]]:
    """The cheapest rectangle through `key` that gives it a cycle: fewest cases withheld,
    preferring figures of at least one so the cycle can move both ways."""
    row, col = key
    best: tuple[tuple[int, int, int], set[tuple[R | None, C | None]]] | None = None
    for other_row in all_rows:
        if other_row == row:
            continue
        for other_col in all_cols:
            if other_col == col:
                continue
            corners = {(row, other_col), (other_row, col), (other_row, other_col)}
            added = corners - hidden
            if not added:
                continue
            zeros = sum(1 for k in added if values[k] == 0)
            cost = (zeros, sum(values[k] for k in added), len(added))
            if best is None or cost < best[0]:
                best = (cost, added)
    if best is None:  # a 1x1 table: only its totals remain
        return {(row, None), (None, col), (None, None)} - hidden
    return best[1]


def bordered(
    counts: Mapping[tuple[R, C], int], rows: Sequence[R], cols: Sequence[C]
) -> dict[tuple[R | None, C | None], int]:
    """The grid with its row, column and grand totals; missing cells count zero."""
    out: dict[tuple[R | None, C | None], int] = {}
    for r in rows:
        for c in cols:
            out[(r, c)] = counts.get((r, c), 0)
    for r in rows:
        out[(r, None)] = sum(out[(r, c)] for c in cols)
    for c in cols:
        out[(None, c)] = sum(out[(r, c)] for r in rows)
    out[(None, None)] = sum(out[(r, None)] for r in rows)
    return out


def _keys(rows: Sequence[R], cols: Sequence[C]) -> list[tuple[R | None, C | None]]:
    """The cells of a bordered table, in the order `bordered` makes them."""
    return [
        *((r, c) for r in rows for c in cols),
        *((r, None) for r in rows),
        *((None, c) for c in cols),
        (None, None),
    ]


@lru_cache(maxsize=2048)
def _withheld(
    rows: tuple[Hashable, ...], cols: tuple[Hashable, ...], counts: tuple[int, ...], min_cell: int
) -> frozenset[int]:
    """Which cells (by position in `_keys`) to withhold. The answer depends on the counts
    alone, and the same tables are asked for again and again (every page view) while their
    cases do not change, so it is remembered: a new count is a new key."""
    values = dict(zip(_keys(rows, cols), counts, strict=True))
    hidden = protect(values, rows, cols, min_cell=min_cell)
    return frozenset(i for i, key in enumerate(values) if key in hidden)


def table(
    counts: Mapping[tuple[R, C], int],
    rows: Iterable[R],
    cols: Iterable[C],
    *,
    min_cell: int,
) -> Table[R, C]:
    """Build and protect one bordered table."""
    row_list, col_list = tuple(rows), tuple(cols)
    values = bordered(counts, row_list, col_list)
    keys = _keys(row_list, col_list)
    positions = _withheld(row_list, col_list, tuple(values[k] for k in keys), min_cell)
    hidden = {keys[i] for i in positions}
    shown = {k: (None if k in hidden else v) for k, v in values.items()}
    return Table(rows=row_list, cols=col_list, values=values, shown=shown)
