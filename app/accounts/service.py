"""Use cases for staff accounts. Services flush but never commit: the caller does."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.twofactor import InvalidToken
from sqlalchemy import func, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.accounts import passwords, totp
from app.accounts.ghosts import ghosts
from app.accounts.models import (
    ApiToken,
    LoginFailure,
    Organisation,
    OrgKind,
    Role,
    StaffSession,
    User,
)
from app.audit.service import Actor, record
from app.errors import AppError, Conflict, Term, Text, TooManyRequests, Unauthorized
from app.identity.vault import Vault
from app.timeutil import utcnow

SESSION_IDLE = timedelta(minutes=30)
SESSION_SLIDE = timedelta(minutes=1)
SESSION_ABSOLUTE = timedelta(hours=12)
FREE_FAILURES = 5  # then each failure doubles the wait, up to MAX_LOCK
MAX_LOCK = timedelta(minutes=15)
HOURLY_FAILURE_CAP = 100
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# organisations and users --------------------------------------------------------------


def create_organisation(
    session: Session, *, kind: str, slug: str, name: str, actor: Actor
) -> Organisation:
    if kind not in OrgKind.__members__:
        raise AppError("kind must be one of %(choices)s", choices=", ".join(OrgKind))
    if not SLUG_RE.match(slug):
        raise AppError("slug must be lowercase letters, digits and hyphens (at most 64)")
    if not name.strip() or len(name) > 200:
        raise AppError("name must be 1 to 200 characters")
    if session.exec(select(Organisation).where(Organisation.slug == slug)).first():
        raise Conflict("an organisation with slug %(slug)s already exists", slug=repr(slug))
    org = Organisation(kind=kind, slug=slug, name=name.strip())
    session.add(org)
    record(session, actor=actor, action="org.created", data={"org": slug, "kind": kind})
    return org


def organisation_by_slug(session: Session, slug: str) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.slug == slug)).first()


def slugs_of(
    session: Session, ids: Iterable[uuid.UUID | None] | None = None
) -> dict[uuid.UUID, str]:
    """Organisations' slugs by id: those named (none for an empty list), or all of them."""
    query = select(Organisation)
    if ids is not None:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        query = query.where(col(Organisation.id).in_(wanted))
    return {o.id: o.slug for o in session.exec(query).all()}


def organisations(session: Session, kind: str | None = None) -> list[Organisation]:
    """Organisations by kind, then name."""
    query = select(Organisation).order_by(col(Organisation.kind), col(Organisation.name))
    if kind:
        query = query.where(Organisation.kind == kind)
    return list(session.exec(query).all())


def partners_except(session: Session, partner_id: uuid.UUID | None) -> list[Organisation]:
    """The monitoring partners a case could be re-routed to, by name."""
    query = select(Organisation).where(
        Organisation.kind == OrgKind.partner, col(Organisation.id) != partner_id
    )
    return list(session.exec(query.order_by(col(Organisation.name))).all())


def names_of(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Organisations' names by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Organisation).where(col(Organisation.id).in_(wanted))).all()
    return {o.id: o.name for o in rows}


def all_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))).all())


def active_monitors(session: Session, partner_id: uuid.UUID | None) -> list[User]:
    """The active monitors of a partner, by e-mail (none for no partner)."""
    if partner_id is None:
        return []
    query = select(User).where(
        User.org_id == partner_id, User.role == Role.monitor, col(User.is_active)
    )
    return list(session.exec(query.order_by(col(User.email))).all())


def emails_of(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """Staff e-mails by user id (as text, as the audit log holds them); others skipped."""
    wanted = []
    for text_id in ids:
        try:
            wanted.append(uuid.UUID(text_id))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = session.exec(select(User).where(col(User.id).in_(wanted))).all()
    return {str(u.id): u.email for u in rows}


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str,
    org_slug: str | None,
    actor: Actor,
    is_lead: bool = False,
) -> User:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AppError("%(email)s is not an e-mail address", email=repr(email))
    if role not in Role.__members__:
        raise AppError("role must be one of %(choices)s", choices=", ".join(Role))
    org: Organisation | None = None
    if role in (Role.monitor, Role.buyer):
        if not org_slug:
            raise AppError("a %(role)s needs --org naming their organisation", role=Term(role))
        org = organisation_by_slug(session, org_slug)
        wanted = OrgKind.partner if role == Role.monitor else OrgKind.buyer
        if org is None:
            raise AppError("no organisation with slug %(slug)s", slug=repr(org_slug))
        if org.kind != wanted:
            raise AppError(
                "a %(role)s belongs to a %(wanted)s organisation, not a %(kind)s",
                role=Term(role),
                wanted=Term(wanted),
                kind=Term(org.kind),
            )
    elif org_slug:
        raise AppError(
            "an %(role)s does not belong to an organisation; leave out --org", role=Term(role)
        )
    try:
        password_hash = passwords.hash_password(password)
    except passwords.WeakPasswordError as exc:
        raise AppError.saying(exc.text) from exc
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict("a user with e-mail %(email)s already exists", email=email)
    user = User(
        email=email,
        role=role,
        org_id=org.id if org else None,
        password_hash=password_hash,
        is_lead=is_lead,
    )
    session.add(user)
    record(
        session,
        actor=actor,
        action="user.created",
        data={"user": str(user.id), "role": role, "org": org.slug if org else None},
    )
    return user


# two-factor ---------------------------------------------------------------------------


def enrol_totp(session: Session, vault: Vault, *, user: User, actor: Actor) -> str:
    """Give a user a new TOTP secret (returned once, for their authenticator app)."""
    secret = totp.new_secret()
    key = vault.new_data_key(session, purpose="system")
    session.flush()
    user.totp_key_id = key.id
    user.totp_secret_enc = vault.encrypt(
        session,
        key_id=key.id,
        table="staff_user",
        row_id=user.id,
        column="totp_secret",
        plaintext=secret,
    )
    user.totp_last_step = None
    session.add(user)
    record(session, actor=actor, action="user.totp_enrolled", data={"user": str(user.id)})
    return secret


def totp_secret(session: Session, vault: Vault, user: User) -> str | None:
    if user.totp_secret_enc is None or user.totp_key_id is None:
        return None
    return vault.decrypt(
        session,
        key_id=user.totp_key_id,
        table="staff_user",
        row_id=user.id,
        column="totp_secret",
        blob=user.totp_secret_enc,
    )


def mfa_required(user: User) -> bool:
    return user.role == Role.admin or user.totp_secret_enc is not None


# signing in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    needs_totp: bool


def _lock_for(failures: int) -> timedelta:
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_LOCK)


def _lock_until(now: datetime, failures: int, in_the_last_hour: int) -> datetime | None:
    lock_until = now + _lock_for(failures)
    if in_the_last_hour >= HOURLY_FAILURE_CAP:
        lock_until = max(lock_until, now + timedelta(hours=1))
    return lock_until if lock_until > now else None


def _register_failure(session: Session, user: User, now: datetime) -> None:
    user.failed_logins += 1
    session.add(LoginFailure(user_id=user.id, at=now))
    hour_ago = now - timedelta(hours=1)
    recent = (
        session.exec(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.user_id == user.id, LoginFailure.at > hour_ago)
        ).one()
        + 1
    )
    user.locked_until = _lock_until(now, user.failed_logins, recent)
    session.add(user)
    record(
        session,
        actor=Actor.user(user.id),
        action="auth.login_failed",
        data={"user": str(user.id), "failures": user.failed_logins},
    )


def check_password(session: Session, *, email: str, password: str) -> LoginOutcome:
    """First factor. Raises Unauthorized (same message for unknown e-mail and wrong
    password) or TooManyRequests while the account is slowed down."""
    now = utcnow()
    email = email.strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and not user.is_active:
        user = None  # a deactivated account answers as no account at all
    # An address with no account is slowed down by the same rule, so the 429 that a
    # lock-out answers does not tell which addresses have accounts.
    locked_until = user.locked_until if user is not None else ghosts.locked_until(email)
    if locked_until is not None and locked_until > now:
        wait = int((locked_until - now).total_seconds()) + 1
        raise TooManyRequests("too many failed sign-ins; try again in %(wait)s seconds", wait=wait)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None:
        ghosts.fail(email, now, lambda failures, recent: _lock_until(now, failures, recent))
        raise Unauthorized("wrong e-mail or password")
    if not ok:
        _register_failure(session, user, now)
        raise Unauthorized("wrong e-mail or password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return LoginOutcome(user=user, needs_totp=mfa_required(user))


REUSED_CODE = Text("this code has already been used; wait for the next code in your app")


def check_totp(session: Session, vault: Vault, *, user: User, code: str) -> None:
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise TooManyRequests("too many failed sign-ins; wait and try again")
    secret = totp_secret(session, vault, user)
    if secret is None:
        raise AppError("two-factor sign-in is not set up for this account; ask an admin")
    try:
        step = totp.verify(secret, code, last_step=user.totp_last_step, now=now.timestamp())
    except totp.ReusedCode:
        _register_failure(session, user, now)
        raise Unauthorized(REUSED_CODE.msgid) from None
    except InvalidToken:
        _register_failure(session, user, now)
        raise Unauthorized("wrong or expired code") from None
    # One code signs in once even when several sessions send it at the same moment: the
    # step is claimed by a conditional write, which only one transaction can win (on
    # PostgreSQL the others wait for its row lock, then find the condition false).
    claimed = session.connection().execute(
        update(User)
        .where(
            col(User.id) == user.id,
            or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step),
        )
        .values(totp_last_step=step)
    )
    if claimed.rowcount != 1:
        raise Unauthorized(REUSED_CODE.msgid)
    set_committed_value(user, "totp_last_step", step)


def complete_login(session: Session, *, user: User, method: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
    record(
        session,
        actor=Actor.user(user.id),
        action="auth.login",
        data={"user": str(user.id), "method": method},
    )


# console sessions ---------------------------------------------------------------------


def start_session(session: Session, *, user: User, mfa_passed: bool) -> str:
    """Create a session and return its token (256 bits); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=sha256_hex(token),
            user_id=user.id,
            mfa_passed=mfa_passed,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_ABSOLUTE,
        )
    )
    return token


def resolve_session(session: Session, token: str) -> tuple[StaffSession, User] | None:
    """The live session for a cookie token, sliding its idle timer; None if expired."""
    row = session.exec(
        select(StaffSession).where(StaffSession.token_hash == sha256_hex(token))
    ).first()
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= SESSION_IDLE:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > SESSION_SLIDE:  # coarse, so reads do not all write
        row.last_seen_at = now
        session.add(row)
    return row, user


def revoke_session(session: Session, token: str) -> StaffSession | None:
    """End the session a cookie token names; the row, if it was live."""
    row = session.exec(
        select(StaffSession).where(StaffSession.token_hash == sha256_hex(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = utcnow()
    session.add(row)
    return row


def end_session(session: Session, token: str) -> None:
    row = revoke_session(session, token)
    if row is not None:
        record(
            session,
            actor=Actor.user(row.user_id),
            action="auth.logout",
            data={"user": str(row.user_id)},
        )


# API tokens ---------------------------------------------------------------------------


def create_api_token(session: Session, *, email: str, actor: Actor) -> str:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise AppError("no user with e-mail %(email)s", email=email.strip().lower())
    token = "gd_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=sha256_hex(token))
    session.add(row)
    record(
        session,
        actor=actor,
        action="token.created",
        data={"user": str(user.id), "token": str(row.id)},
    )
    return token


def resolve_api_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == sha256_hex(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now  # coarse, so reads do not turn into a write each time
        session.add(row)
    return user


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)
