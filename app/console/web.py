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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from app.accounts.web import LoginRequired, StaffContext
from app.console.i18n import ConsoleLocale, _, choose
from app.errors import AppError
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
) -> HTMLResponse:
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


def sentence(message: str) -> str:
    """Service messages are lower-case fragments; a page shows them as sentences."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def error_page(request: Request, exc: AppError) -> HTMLResponse:
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("Changed meanwhile"),
        422: _("Not valid"),
        429: _("Slow down"),
    }
    return page(
        request,
        "error.html",
        {
            "title": titles.get(exc.status_code, _("Cannot do that")),
            "message": sentence(exc.message),
        },
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


def install(app: FastAPI) -> None:
    """Static files and the one handler that turns LoginRequired into the login form."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        if not _wants_html(request):
            return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=401)
        return secure_headers(redirect(LOGIN_PATH))
