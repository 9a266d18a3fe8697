"""Console sessions over cookies, and CSRF protection for every state-changing form.

The cookie holds a 256-bit random token (only its SHA-256 is stored); it is HttpOnly,
SameSite=Lax, and Secure outside development. The CSRF token is an HMAC of the session
token under the key file's session key: forms carry it in a hidden `csrf` field,
scripts in an `X-CSRF-Token` header; it changes with every session.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Response

from app.accounts.models import Role, StaffSession, User
from app.accounts.preferences import effective_zone
from app.accounts.service import SESSION_ABSOLUTE, resolve_session
from app.deps import RuntimeDep, SessionDep, keep_touches
from app.errors import AppError, Forbidden, Unauthorized
from app.notify.service import unread_count

COOKIE = "gd_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Unauthorized):
    """Raised for console pages; the console turns it into a redirect to the login form."""


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_ABSOLUTE.total_seconds()),
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=secure, samesite="lax")


def csrf_token(runtime: RuntimeDep, session_token: str) -> str:
    return runtime.vault.session_mac("csrf", session_token)


class StaffContext:
    """The signed-in staff member, their session, and the CSRF token for their forms."""

    def __init__(
        self, user: User, staff_session: StaffSession, token: str, csrf: str, zone: str = "UTC"
    ) -> None:
        self.user = user
        self.session = staff_session
        self.token = token
        self.csrf = csrf
        self.zone = zone  # the IANA time zone the console shows times in
        self.unread_alerts = 0  # for the console's navigation


def optional_staff(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> StaffContext | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    found = resolve_session(session, token)
    if found is None:
        return None
    staff_session, user = found
    keep_touches(runtime, session)  # slides the idle timer
    zone = effective_zone(session, user)
    context = StaffContext(user, staff_session, token, csrf_token(runtime, token), zone)
    if user.role in (Role.monitor, Role.admin):
        context.unread_alerts = unread_count(session, user=user)
    # A console error page speaks the user's language; the plain values outlive this
    # database session (a failure is answered after it is closed).
    request.state.staff = context
    request.state.reader = (user.language, zone)
    request.state.signed_in = staff_session.mfa_passed or not needs_mfa(user)
    return context


def staff(context: Annotated[StaffContext | None, Depends(optional_staff)]) -> StaffContext:
    """A fully signed-in staff member (second factor passed where required)."""
    if context is None or (not context.session.mfa_passed and needs_mfa(context.user)):
        raise LoginRequired("sign in first")
    return context


def needs_mfa(user: User) -> bool:
    from app.accounts.service import mfa_required

    return mfa_required(user)


OptionalStaff = Annotated[StaffContext | None, Depends(optional_staff)]
Staff = Annotated[StaffContext, Depends(staff)]


async def check_csrf(request: Request, context: StaffContext) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, context.csrf):
        raise Forbidden(
            "this form has expired or was not sent from the console; reload it", code="csrf"
        )


async def staff_with_csrf(request: Request, context: Staff) -> StaffContext:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await check_csrf(request, context)
    return context


CsrfStaff = Annotated[StaffContext, Depends(staff_with_csrf)]


def require_role(context: StaffContext, *roles: str) -> None:
    if context.user.role not in roles:
        raise AppError("your role cannot do this", status=403, code="forbidden")
