"""Rendering for the console: Jinja2 pages, security headers, HTML errors and redirects.

Every console route uses `ConsoleRoute`, so each answer (page, redirect or error) carries
the same strict headers and an error raised by a service becomes a readable page instead
of the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.accounts.web import COOKIE, LoginRequired, StaffContext, optional_staff
from app.console.i18n import ConsoleLocale, _, choose, choose_saved
from app.errors import AppError, NotFound, Text, http_problem
from app.i18n import DEFAULT
from app.timeutil import utcnow

HERE = Path(__file__).parent
LOGIN_PATH = "/console/login"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _loc(context: Any) -> ConsoleLocale:
    found = context.get("loc")
    return found if isinstance(found, ConsoleLocale) else ConsoleLocale(DEFAULT)


@pass_context
def _when(context: Any, value: Any) -> Markup:
    """The time in the user's zone and language; the UTC time on hover."""
    return _loc(context).when(value)


@pass_context
def _utc(context: Any, value: Any) -> str:
    """`2026-05-01 14:03 UTC`, for a title attribute."""
    return _loc(context).utc(value)


@pass_context
def _short(context: Any, value: Any) -> str:
    """`30 Nov 14:03` in the user's zone, the full time on hover (`utc`): for a phone."""
    return _loc(context).short(value)


@pass_context
def _month(context: Any, value: Any) -> str:
    """The month only, for buyers: an exact date could single a worker out."""
    return _loc(context).month(value)


@pass_context
def _label(context: Any, value: Any) -> str:
    return _loc(context).label(value)


templates.filters["when"] = _when
templates.filters["utc"] = _utc
templates.filters["label"] = _label
templates.filters["month"] = _month
templates.filters["short"] = _short


@pass_context
def _say(context: Any, value: Any) -> str:
    """A service's message (e.g. what a resolution waits for) in the reader's language."""
    return _loc(context).say(value) if isinstance(value, Text) else str(value)


templates.filters["say"] = _say


def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    staff: StaffContext | None = None,
    status: int = 200,
    loc: ConsoleLocale | None = None,
) -> HTMLResponse:
    if loc is None:
        loc = choose(request, staff.user if staff else None, staff.zone if staff else None)
    values: dict[str, Any] = {
        "request": request,
        "loc": loc,
        "lang": loc.lang,
        "_": loc.markup,
        "ngettext": loc.nmarkup,
        "staff": staff,
        "user": staff.user if staff else None,
        "csrf": staff.csrf if staff else "",
        "now": utcnow(),
    }
    values.update(context or {})
    html = templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def refusal(request: Request, staff: StaffContext | None, exc: AppError) -> str:
    """A service's refusal as a sentence in the reader's language (the API keeps the
    English; both come from the same msgid and values)."""
    loc = choose(request, staff.user if staff else None, staff.zone if staff else None)
    return loc.sentence(loc.say(exc))


def _signed_in(request: Request) -> StaffContext | None:
    """Who the request was made by, when the route got as far as knowing it: their saved
    language (not the browser's) is the error page's. Half signed in (the second factor
    still due) counts as not signed in, so the page shows no navigation."""
    found = getattr(request.state, "staff", None)
    if not isinstance(found, StaffContext):
        return None
    return found if getattr(request.state, "signed_in", False) else None


def error_page(request: Request, exc: AppError) -> HTMLResponse:
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("Changed meanwhile"),
        422: _("Not valid"),
        429: _("Slow down"),
    }
    staff = _signed_in(request)
    return page(
        request,
        "error.html",
        {
            "title": titles.get(exc.status_code, _("Cannot do that")),
            "message": refusal(request, staff, exc),
        },
        staff=staff,
        status=exc.status_code,
    )


class ConsoleRoute(APIRoute):
    """Adds the security headers to every answer and renders service errors as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                raise  # the app-wide handler sends the browser to the login form
            except AppError as exc:
                response = error_page(request, exc)
            except RequestValidationError:
                problem = AppError("that address or form is not valid", status=422)
                response = error_page(request, problem)
            return secure_headers(response)

        return console_handler


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith("/console") or "text/html" in request.headers.get(
        "accept", ""
    )


def _no_such_page(request: Request) -> HTMLResponse:
    """The page for a console address that does not exist, in the language of whoever sent
    it (their session cookie is read from the database, so this runs in the thread pool,
    and the page is drawn while that session is open)."""
    runtime = request.app.state.runtime
    with runtime.session() as session:
        if request.cookies.get(COOKIE):
            optional_staff(request, runtime, session)
        return error_page(request, NotFound("no such page"))


def install(app: FastAPI) -> None:
    """Static files, the one handler that turns LoginRequired into the login form, and a
    console page (in the reader's language) for a console address that does not exist."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(StarletteHTTPException)
    async def _not_found(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if (
            exc.status_code != 404
            or not path.startswith("/console/")
            or path.startswith("/console/static/")
        ):
            return http_problem(request, exc)  # the API's answer, as everywhere else
        return secure_headers(await run_in_threadpool(_no_such_page, request))

    @app.exception_handler(Exception)
    async def _failed(request: Request, _exc: Exception) -> Response:
        # Starlette re-raises the exception after this answer, so it is still logged; the
        # database is not asked who the reader is (it may be what failed), so the language
        # is theirs only when the route got as far as knowing them.
        if not request.url.path.startswith("/console"):
            return PlainTextResponse("Internal Server Error", status_code=500)
        failed = AppError(
            "the console could not finish this; try again, and tell an admin if it keeps happening",
            status=500,
            code="error",
        )
        saved, zone = getattr(request.state, "reader", (None, None))
        loc = choose_saved(request, saved, zone)
        answer = page(
            request,
            "error.html",
            {"title": _("Something went wrong"), "message": loc.sentence(loc.say(failed))},
            status=500,
            loc=loc,
        )
        return secure_headers(answer)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        if not _wants_html(request):
            return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=401)
        return secure_headers(redirect(LOGIN_PATH))
