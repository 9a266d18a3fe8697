"""Staff accounts: passwords, slow-down and lock-out, TOTP, sessions and API tokens."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.accounts import service as accounts
from app.accounts import totp
from app.accounts.models import ApiToken, LoginFailure, User
from app.errors import AppError, Conflict, TooManyRequests, Unauthorized
from app.runtime import Runtime
from tests.factories import PASSWORD, TEST_ACTOR, make_org, make_token, make_user


def test_password_rules_and_argon2id(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj")
    with runtime.session() as session:
        for weak in ("short", "aaaaaaaaaaaaaaaa", "password1234"):
            with pytest.raises(AppError):
                accounts.create_user(
                    session,
                    email="a@b.example",
                    role="auditor",
                    password=weak,
                    org_slug=None,
                    actor=TEST_ACTOR,
                )
    user = make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
    assert user.password_hash.startswith("$argon2id$")
    with runtime.session() as session, pytest.raises(Conflict):
        accounts.create_user(
            session,
            email="M@awaj.example",
            role="monitor",
            password=PASSWORD,
            org_slug="awaj",
            actor=TEST_ACTOR,
        )


def test_roles_need_the_right_organisation(runtime: Runtime) -> None:
    make_org(runtime, slug="awaj")
    make_org(runtime, slug="acme-buyer", kind="buyer")
    cases = [
        ("monitor", None, "needs --org"),
        ("monitor", "acme-buyer", "partner organisation"),
        ("buyer", "awaj", "buyer organisation"),
        ("admin", "awaj", "does not belong"),
        ("monitor", "nobody", "no organisation"),
    ]
    with runtime.session() as session:
        for role, org, message in cases:
            with pytest.raises(AppError, match=message):
                accounts.create_user(
                    session,
                    email=f"{role}@x.example",
                    role=role,
                    password=PASSWORD,
                    org_slug=org,
                    actor=TEST_ACTOR,
                )


def _login(runtime: Runtime, email: str, password: str) -> accounts.LoginOutcome:
    with runtime.session() as session:
        try:
            return accounts.check_password(session, email=email, password=password)
        finally:
            session.commit()  # failures are kept, as the console does


def test_slow_down_then_lock_out(runtime: Runtime) -> None:
    make_user(runtime, email="a@x.example", role="auditor")
    runtime.clock.freeze()  # the first lock lasts 1 s: not a race with Argon2 on a busy CPU
    for _ in range(accounts.FREE_FAILURES):
        with pytest.raises(Unauthorized):
            _login(runtime, "a@x.example", "wrong password here")
    # Now even the right password waits, longer after each further failure.
    with pytest.raises(TooManyRequests):
        _login(runtime, "a@x.example", PASSWORD)
    runtime.clock.advance(2)
    assert _login(runtime, "a@x.example", PASSWORD).user.email == "a@x.example"


def test_at_most_100_failures_an_hour(runtime: Runtime) -> None:
    user = make_user(runtime, email="a@x.example", role="auditor")
    with runtime.session() as session:
        from app.timeutil import utcnow

        now = utcnow()
        for i in range(accounts.HOURLY_FAILURE_CAP - 1):
            session.add(
                LoginFailure(user_id=user.id, at=now - timedelta(minutes=59) + timedelta(seconds=i))
            )
        session.commit()
    with pytest.raises(Unauthorized):
        _login(runtime, "a@x.example", "wrong password here")
    runtime.clock.advance(20 * 60)  # well past any exponential wait, still inside the hour
    with pytest.raises(TooManyRequests):
        _login(runtime, "a@x.example", PASSWORD)


def test_unknown_email_and_wrong_password_look_alike(runtime: Runtime) -> None:
    make_user(runtime, email="a@x.example", role="auditor")
    with pytest.raises(Unauthorized) as unknown:
        _login(runtime, "nobody@x.example", PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        _login(runtime, "a@x.example", "not the password!")
    assert unknown.value.message == wrong.value.message


def test_totp_required_for_admins_and_not_replayable(runtime: Runtime) -> None:
    admin = make_user(runtime, email="root@x.example", role="admin")
    with runtime.session() as session:
        user = session.get(User, admin.id)
        assert user is not None
        secret = accounts.enrol_totp(session, runtime.vault, user=user, actor=TEST_ACTOR)
        session.commit()
    outcome = _login(runtime, "root@x.example", PASSWORD)
    assert outcome.needs_totp
    code = totp.code_at(secret, time.time())
    with runtime.session() as session:
        user = session.get(User, admin.id)
        assert user is not None
        accounts.check_totp(session, runtime.vault, user=user, code=code)
        session.commit()
        with pytest.raises(Unauthorized):  # the same code again is a replay
            accounts.check_totp(session, runtime.vault, user=user, code=code)
        with pytest.raises(Unauthorized):
            accounts.check_totp(session, runtime.vault, user=user, code="000000")
    with runtime.engine.connect() as conn:
        stored = conn.execute(text("SELECT totp_secret_enc FROM staff_user")).scalar_one()
    assert secret.encode() not in bytes(stored)


def test_one_totp_code_signs_in_once_in_parallel_sessions(runtime: Runtime) -> None:
    admin = make_user(runtime, email="root@x.example", role="admin")
    with runtime.session() as session:
        user = session.get(User, admin.id)
        assert user is not None
        secret = accounts.enrol_totp(session, runtime.vault, user=user, actor=TEST_ACTOR)
        session.commit()
    code = totp.code_at(secret, time.time())
    barrier = threading.Barrier(4)

    def sign_in() -> bool:
        with runtime.session() as session:
            user = session.get(User, admin.id)
            assert user is not None
            session.commit()  # each session read the account before any of them wrote
            barrier.wait(timeout=10)
            try:
                accounts.check_totp(session, runtime.vault, user=user, code=code)
            except Unauthorized:
                session.rollback()
                return False
            session.commit()
            return True

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: sign_in(), range(4)))
    assert results.count(True) == 1


def test_session_idle_and_absolute_timeouts(runtime: Runtime) -> None:
    user = make_user(runtime, email="a@x.example", role="auditor")
    with runtime.session() as session:
        token = accounts.start_session(session, user=user, mfa_passed=True)
        session.commit()
    assert len(token) >= 43  # 256 bits, URL-safe base64

    def alive() -> bool:
        with runtime.session() as session:
            found = accounts.resolve_session(session, token)
            session.commit()
            return found is not None

    assert alive()
    runtime.clock.advance(29 * 60)
    assert alive()  # activity slides the idle window
    runtime.clock.advance(29 * 60)
    assert alive()
    runtime.clock.advance(31 * 60)
    assert not alive()  # 30 minutes idle

    with runtime.session() as session:
        token = accounts.start_session(session, user=user, mfa_passed=True)
        session.commit()
    survived = 0
    for _ in range(30):  # active every 29 minutes...
        runtime.clock.advance(29 * 60)
        if not alive():
            break
        survived += 1
    assert survived == 24  # ...alive at 11 h 36 min, gone at 12 h 05 min: 12 hours absolute
    with runtime.session() as session:
        assert session.exec(select(User)).first() is not None
        stored = session.execute(text("SELECT token_hash FROM staff_session")).scalars().all()
        assert token not in stored


def test_api_tokens_are_stored_hashed(runtime: Runtime) -> None:
    user = make_user(runtime, email="a@x.example", role="auditor")
    token = make_token(runtime, user)
    with runtime.session() as session:
        row = session.exec(select(ApiToken)).one()
        assert row.token_hash != token and token not in row.token_hash
        assert accounts.resolve_api_token(session, token) is not None
        assert accounts.resolve_api_token(session, token + "x") is None
        row.revoked_at = row.created_at
        session.add(row)
        session.commit()
        assert accounts.resolve_api_token(session, token) is None
