"""Public figures (/transparency, .json, .csv) and the buyers' figures API (/api/v1/stats).

Every figure comes from `figures`, which passes it through the one suppression module."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from babel import Locale
from fastapi import APIRouter, Query, Request, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.cases.models import Category
from app.cases.schemas import IsoDay
from app.deps import ApiUser, RuntimeDep, SessionDep
from app.errors import API_ERRORS, AppError
from app.i18n import translations
from app.stats import figures, progress
from app.web import assets
from app.web.pages import CATEGORY_LABELS, CSP, TEMPLATES, Page, compressed, page_for

router = APIRouter(tags=["figures"])
# Figures change slowly and hold nothing personal: shared caches may keep them briefly.
PUBLIC_CACHE = "public, max-age=300"
MAX_RANGE_DAYS = 3660
PUBLIC_FIELDS = ("country", "category", "quarter", "cases")

_env = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(Path(__file__).resolve().parent / "templates"),
            FileSystemLoader(TEMPLATES),
        ]
    ),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(asset=assets.url)


def csv_text(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in fields})
    return out.getvalue()


def _public(session: Session, min_cell: int) -> list[dict[str, Any]]:
    return figures.public_rows(session, min_cell=min_cell)


@router.get("/transparency.json", summary="Public figures (open data)")
def transparency_json(runtime: RuntimeDep, session: SessionDep) -> Response:
    body = {
        "threshold": runtime.settings.min_cell,
        "rows": _public(session, runtime.settings.min_cell),
    }
    response = Response(json.dumps(body), media_type="application/json")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"  # open data
    return response


@router.get("/transparency.csv", summary="Public figures as CSV (open data)")
def transparency_csv(runtime: RuntimeDep, session: SessionDep) -> Response:
    text = csv_text(_public(session, runtime.settings.min_cell), PUBLIC_FIELDS)
    response = Response(text, media_type="text/csv; charset=utf-8")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _country_name(page: Page) -> Any:
    names = Locale.parse(page.lang.locale).territories

    def name(code: str) -> str:
        return str(names.get(code, code))

    return name


@router.get("/transparency", include_in_schema=False)
def transparency_page(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    page = page_for(request)
    rows = _public(session, runtime.settings.min_cell)
    grid: dict[str, dict[str | None, dict[str | None, int | None]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    quarters: dict[str, list[str | None]] = defaultdict(list)
    for row in rows:
        grid[row["country"]][row["category"]][row["quarter"]] = row["cases"]
        if row["quarter"] not in quarters[row["country"]]:
            quarters[row["country"]].append(row["quarter"])
    for qs in quarters.values():
        qs.sort(key=lambda q: (q is None, q or ""))
    order = [None, *(c.value for c in Category)]
    countries = [
        (country, [(cat, grid[country][cat]) for cat in order if cat in grid[country]])
        for country in sorted(grid)
    ]
    own = translations(page.lang.code, "transparency")

    def t(message: str) -> str:
        return str(own.gettext(message))

    html = _env.get_template("transparency.html").render(
        _=page.gettext,
        t=t,
        lang=page.lang,
        page=page,
        categories=CATEGORY_LABELS,
        countries=countries,
        quarters=quarters,
        threshold=runtime.settings.min_cell,
        country_name=_country_name(page),
        languages=[],
        quick_exit="/",
    )
    response = compressed(request, html.encode(), "text/html; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Language"] = page.lang.html_lang
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# buyers' figures ------------------------------------------------------------------------


def _dates(since: date | None, until: date | None) -> tuple[date | None, date | None]:
    if (since is None) != (until is None):
        raise AppError("give both `from` and `to` (YYYY-MM-DD), or neither for all time")
    if since is not None and until is not None:
        if since > until:
            raise AppError("`from` (%(since)s) is after `to` (%(until)s)", since=since, until=until)
        if (until - since).days > MAX_RANGE_DAYS:
            raise AppError("the range may span at most %(num)s days", num=MAX_RANGE_DAYS)
    return since, until


@router.get(
    "/api/v1/stats",
    summary="Figures per workplace (buyers: their own workplaces)",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}, "description": "the rows"},
        **API_ERRORS,
    },
)
def stats(
    user: ApiUser,
    runtime: RuntimeDep,
    session: SessionDep,
    workplace: uuid.UUID | None = None,
    since: IsoDay | None = Query(None, alias="from"),
    until: IsoDay | None = Query(None, alias="to"),
    format: str = Query("json", pattern="^(json|csv)$"),
) -> Response:
    since, until = _dates(since, until)
    ids = figures.scope_of(session, user, workplace)
    rows = figures.workplace_rows(
        session, workplace_ids=ids, min_cell=runtime.settings.min_cell, since=since, until=until
    )
    if format == "csv":
        fields = ("workplace", "workplace_name", *PUBLIC_FIELDS)
        return Response(csv_text(rows, fields), media_type="text/csv; charset=utf-8")
    body = {"threshold": runtime.settings.min_cell, "rows": rows}
    return Response(json.dumps(body), media_type="application/json")


class ProgressRow(BaseModel):
    workplace: str
    workplace_name: str
    country: str | None
    cases: int | None
    acknowledged_in_time: float | None = Field(description="share 0 to 1; null: withheld")
    median_days_to_acknowledge: float | None
    median_days_to_close: float | None
    steps_proposed: int | None
    steps_agreed: int | None = Field(description="steps the worker agreed to")
    steps_done: int | None
    steps_verified: int | None = Field(description="steps the worker confirmed were done")
    overrides: int | None = Field(description="cases resolved by override")
    overdue: int | None


class ProgressOut(BaseModel):
    threshold: int = Field(description="GRIEVANCE_MIN_CELL: smaller figures are null")
    items: list[ProgressRow]
    next: str | None = Field(description="`cursor` for the next page; null on the last")


@router.get(
    "/api/v1/stats/progress",
    response_model=ProgressOut,
    summary="Remediation progress per workplace, a page at a time (buyers: their own)",
    responses=API_ERRORS,
)
def stats_progress(
    user: ApiUser,
    runtime: RuntimeDep,
    session: SessionDep,
    workplace: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=progress.MAX_PAGE)] = progress.PAGE,
) -> ProgressOut:
    ids = figures.scope_of(session, user, workplace)
    found = progress.progress(
        session,
        workplace_ids=ids,
        min_cell=runtime.settings.min_cell,
        cursor=cursor,
        limit=limit,
    )
    return ProgressOut(
        threshold=runtime.settings.min_cell,
        items=[ProgressRow(**progress.as_row(p)) for p in found.items],
        next=found.next,
    )
