"""Rendering a reporter page: the language, the template, compression and safe headers."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.cases.models import Category, Status
from app.i18n import DEFAULT, LANGUAGES, Language, language, negotiate, translations
from app.web import assets

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "gd_lang"
NO_STORE = "no-store"
QUICK_EXIT = "https://www.google.com/search?q=weather"
# No third-party request of any kind, no inline script, no framing.
LANG_COOKIE_AGE = 86400  # a day: long enough to file and come back for the receipt
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(asset=assets.url, languages=LANGUAGES, quick_exit=QUICK_EXIT)


def _(message: str) -> str:
    """Marks a msgid for the catalogs; translated where it is shown."""
    return message


CATEGORY_LABELS = {
    Category.wages: _("Pay and wages"),
    Category.working_hours: _("Working hours, overtime"),
    Category.health_safety: _("Health and safety"),
    Category.harassment_violence: _("Harassment, violence"),
    Category.discrimination: _("Unfair treatment"),
    Category.forced_labour: _("Forced work, debt, papers taken"),
    Category.child_labour: _("Children working"),
    Category.freedom_of_association: _("Joining a union"),
    Category.environment: _("Pollution, environment"),
    Category.other: _("Something else"),
}
STATUS_LABELS = {
    Status.new: _("Received, waiting to be read"),
    Status.acknowledged: _("Read by a monitor"),
    Status.investigating: _("Being looked into"),
    Status.remediation: _("Things are being put right"),
    Status.resolved: _("Resolved"),
    Status.closed: _("Closed"),
}


def choose_language(request: Request) -> tuple[Language, bool]:
    """?lang= first, then the cookie, then Accept-Language (Babel's negotiation). True when
    the query chose it, so the cookie is set."""
    from_query = language(request.query_params.get("lang"))
    if from_query is not None:
        return from_query, True
    from_cookie = language(request.cookies.get(LANG_COOKIE))
    if from_cookie is not None:
        return from_cookie, False
    return negotiate(request.headers.get("accept-language")) or DEFAULT, False


@dataclass(frozen=True)
class Page:
    lang: Language
    remember: bool = False

    def gettext(self, message: str) -> str:
        return str(translations(self.lang.code, "web").gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(translations(self.lang.code, "web").ngettext(singular, plural, n))

    def date(self, moment: datetime) -> str:
        # The day only: the reporter's time zone is unknown, and a UTC hour would mislead.
        return str(format_date(moment, "medium", locale=self.lang.locale))

    def number(self, value: int) -> str:
        return str(format_decimal(value, locale=self.lang.locale))


def page_for(request: Request) -> Page:
    lang, remember = choose_language(request)
    return Page(lang, remember)


def render(
    request: Request,
    page: Page,
    template: str,
    *,
    status: int = 200,
    cache: str = "no-cache",
    **context: Any,
) -> Response:
    """Render, gzip when the client takes it, and add the headers every page needs."""
    html = env.get_template(template).render(
        _=page.gettext,
        lang=page.lang,
        page=page,
        categories=CATEGORY_LABELS,
        statuses=STATUS_LABELS,
        **context,
    )
    response = compressed(request, html.encode(), "text/html; charset=utf-8", status=status)
    response.headers["Cache-Control"] = cache
    response.headers["Content-Language"] = page.lang.html_lang
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if page.remember:
        # A shared phone should not keep, for a year, the sign that someone filed here.
        runtime = getattr(request.app.state, "runtime", None)
        response.set_cookie(
            LANG_COOKIE,
            page.lang.code,
            max_age=LANG_COOKIE_AGE,
            samesite="lax",
            path="/",
            secure=runtime is not None and runtime.settings.secure_cookies,
        )
    return response


def compressed(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    status: int = 200,
    gzipped: bytes | None = None,
) -> Response:
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "") and len(body) > 256:
        body = gzipped if gzipped is not None else gzip.compress(body, 6)
        headers["Content-Encoding"] = "gzip"
    return Response(body, status_code=status, media_type=media_type, headers=headers)
