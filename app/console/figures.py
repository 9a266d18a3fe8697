"""The buyers' figures in the console: per workplace, a chart and a table, and the same as
CSV. Buyers see their own workplaces; admins and auditors every workplace."""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, Request, Response

from app.accounts.web import Staff
from app.console.i18n import _
from app.console.web import ConsoleRoute, page
from app.deps import RuntimeDep, SessionDep
from app.stats import charts, figures, progress
from app.stats.figures import scope_of
from app.stats.views import csv_text

router = APIRouter(route_class=ConsoleRoute)


@router.get("/figures", summary="Figures per workplace")
def figures_page(
    request: Request,
    staff: Staff,
    runtime: RuntimeDep,
    session: SessionDep,
    workplace: uuid.UUID | None = None,
    cursor: str | None = None,
) -> Response:
    ids = scope_of(session, staff.user, workplace)
    min_cell = runtime.settings.min_cell
    found = progress.progress(session, workplace_ids=ids, min_cell=min_cell, cursor=cursor)
    shown = [p.workplace.id for p in found.items]
    rows = figures.workplace_rows(session, workplace_ids=shown, min_cell=min_cell)
    series: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for row in rows:
        if row["category"] is None and row["quarter"] is not None:
            series[row["workplace"]].append((row["quarter"], row["cases"]))
    return page(
        request,
        "figures.html",
        {
            "title": _("Figures"),
            "places": found.items,
            "next": found.next,
            "first_page": cursor is None,
            "charts": {k: charts.bars(v) for k, v in series.items()},
            "chart": charts,
            "threshold": min_cell,
        },
        staff=staff,
    )


@router.get("/figures.csv", summary="Figures per workplace as CSV")
def figures_csv(staff: Staff, runtime: RuntimeDep, session: SessionDep) -> Response:
    ids = scope_of(session, staff.user, None)
    rows = [
        progress.as_row(p)
        for p in progress.every_page(session, workplace_ids=ids, min_cell=runtime.settings.min_cell)
    ]
    fields = tuple(rows[0]) if rows else ("workplace",)
    return Response(
        csv_text(rows, fields),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="figures.csv"'},
    )
