"""Signing in (password, then the TOTP code where required) and signing out.

A password-only step opens a session with `mfa_passed=False`; the `Staff` dependency
refuses such a session on every page, so only the code form can use it. Each completed
step revokes the previous session and issues a new token (no session fixation).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.web import (
    COOKIE,
    CsrfStaff,
    OptionalStaff,
    check_csrf,
    clear_session_cookie,
    set_session_cookie,
)
from app.console.i18n import _
from app.console.web import LOGIN_PATH, ConsoleRoute, page, redirect, refusal
from app.deps import RuntimeDep, SessionDep, VaultDep
from app.errors import AppError, Forbidden, TooManyRequests, Unauthorized
from app.ratelimit import client_address, limiter

router = APIRouter(route_class=ConsoleRoute)
LOGIN_COOKIE = "gd_login"  # double-submit token against login CSRF, before any session
TOTP_PATH = "/console/login/totp"
FORM_EXPIRED = _("The sign-in form had expired. Please try again.")
LOGINS = (30, 900.0)  # sign-in attempts per client per 15 minutes, whatever the e-mail
TOO_MANY_LOGINS = _("Too many sign-in attempts from this address. Wait 15 minutes and try again.")


def _login_form(
    request: Request, runtime: RuntimeDep, *, error: str = "", email: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request, "login.html", {"login_csrf": token, "error": error, "email": email}, status=status
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=runtime.settings.secure_cookies,
        samesite="strict",
        path=LOGIN_PATH,
    )
    return response


@router.get("/login", summary="Sign-in form")
def login_form(request: Request, runtime: RuntimeDep, staff: OptionalStaff) -> Response:
    if staff is not None and staff.session.mfa_passed:
        return redirect("/console")
    return _login_form(request, runtime)


def _start(
    session: Session, request: Request, user: User, *, mfa_passed: bool, secure: bool, to: str
) -> Response:
    if token := request.cookies.get(COOKIE):
        accounts.revoke_session(session, token)  # the session this browser had before
    token = accounts.start_session(session, user=user, mfa_passed=mfa_passed)
    session.commit()
    response = redirect(to)
    set_session_cookie(response, token, secure=secure)
    return response


@router.post("/login", summary="Check e-mail and password")
def login(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_form(request, runtime, error=FORM_EXPIRED, status=403)
    if not limiter(request, "logins", limit=LOGINS[0], window=LOGINS[1]).hit(
        client_address(request)
    ):  # before Argon2: a flood of made-up e-mails must not spend the CPU
        return _login_form(request, runtime, error=TOO_MANY_LOGINS, email=email, status=429)
    try:
        outcome = accounts.check_password(session, email=email, password=password)
    except (Unauthorized, TooManyRequests) as exc:
        session.commit()  # the failure counter must persist, or slowing down does nothing
        return _login_form(
            request, runtime, error=refusal(request, None, exc), email=email, status=exc.status_code
        )
    secure = runtime.settings.secure_cookies
    if outcome.needs_totp:
        return _start(session, request, outcome.user, mfa_passed=False, secure=secure, to=TOTP_PATH)
    accounts.complete_login(session, user=outcome.user, method="password")
    return _start(session, request, outcome.user, mfa_passed=True, secure=secure, to="/console")


@router.get("/login/totp", summary="Second step: the six-digit code")
def totp_form(request: Request, staff: OptionalStaff) -> Response:
    if staff is None:
        return redirect(LOGIN_PATH)
    if staff.session.mfa_passed:
        return redirect("/console")
    return page(request, "totp.html", {"csrf": staff.csrf, "error": ""})


async def _csrf_passed(request: Request, staff: OptionalStaff) -> bool:
    """Read on the event loop (the form body); the check itself touches no database."""
    if staff is None:
        return False
    try:
        await check_csrf(request, staff)
    except Forbidden:
        return False
    return True


@router.post("/login/totp", summary="Check the six-digit code")
def totp_check(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    vault: VaultDep,
    staff: OptionalStaff,
    csrf_passed: Annotated[bool, Depends(_csrf_passed)],
    code: Annotated[str, Form()] = "",
) -> Response:
    if staff is None:
        return redirect(LOGIN_PATH)
    if staff.session.mfa_passed:
        return redirect("/console")
    if not csrf_passed:  # say why, rather than a silent return to the first step
        context = {"csrf": staff.csrf, "error": FORM_EXPIRED}
        return page(request, "totp.html", context, status=403)
    try:
        accounts.check_totp(session, vault, user=staff.user, code=code)
    except AppError as exc:
        session.commit()  # keeps the failure counter and the lock
        context = {"csrf": staff.csrf, "error": refusal(request, staff, exc)}
        return page(request, "totp.html", context, status=exc.status_code)
    accounts.complete_login(session, user=staff.user, method="totp")
    secure = runtime.settings.secure_cookies
    return _start(session, request, staff.user, mfa_passed=True, secure=secure, to="/console")


@router.post("/logout", summary="Sign out")
def logout(staff: CsrfStaff, runtime: RuntimeDep, session: SessionDep) -> Response:
    accounts.end_session(session, staff.token)
    session.commit()
    response = redirect(LOGIN_PATH)
    clear_session_cookie(response, secure=runtime.settings.secure_cookies)
    return response
