"""Rendering for the console: Jinja2 pages, security headers, HTML errors and redirects.

Every console route uses `ConsoleRoute`, so each answer (page, redirect or error) carries
the same strict headers and an error raised by a service becomes a readable page instead
of the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.accounts.web import LoginRequired, StaffContext
from app.errors import AppError
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
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    """Times as `2026-05-01 14:03 UTC`: short, unambiguous, no locale guessing."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value[:16].replace("T", " ") + " UTC"
    text: str = value.strftime("%Y-%m-%d %H:%M UTC")
    return text


def _short(value: Any) -> str:
    """`30 Nov 14:03`, the full time on hover (`when`): for the conversation on a phone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return _when(value)
    if value is None:
        return "—"
    text: str = value.strftime("%d %b %H:%M")
    return text


def _month(value: Any) -> str:
    """The month only, for buyers: an exact date could single a worker out."""
    if value is None:
        return "—"
    return value[:7] if isinstance(value, str) else str(value.strftime("%Y-%m"))


def _label(value: Any) -> str:
    return str(value or "—").replace("_", " ")


templates.filters["when"] = _when
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
    values: dict[str, Any] = {
        "request": request,
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
        403: "Not allowed",
        404: "Not found",
        409: "Changed meanwhile",
        422: "Not valid",
        429: "Slow down",
    }
    return page(
        request,
        "error.html",
        {"title": titles.get(exc.status_code, "Cannot do that"), "message": sentence(exc.message)},
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
