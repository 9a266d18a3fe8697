"""Signing in and out of the console: two factors, slow-down, replay, timeouts, CSRF."""

from __future__ import annotations

import secrets
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts import passwords
from app.accounts.models import StaffSession, User
from app.accounts.totp import code_at, new_secret, provisioning_uri
from app.accounts.web import COOKIE
from app.console.auth import LOGINS
from app.runtime import Runtime
from tests.console.helpers import (
    code,
    csrf_of,
    enrol,
    page_csrf,
    password_step,
    sign_in,
    totp_step,
)
from tests.factories import make_org, make_user


def _admin(runtime: Runtime) -> tuple[User, str]:
    admin = make_user(runtime, email="admin@example.org", role="admin")
    return admin, enrol(runtime, admin)


def _goes_to_login(client: TestClient, url: str = "/console") -> bool:
    answer = client.get(url, follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_password_then_totp_signs_in_and_is_audited(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    first = password_step(client, admin.email)
    assert first.status_code == 303
    assert first.headers["location"] == "/console/login/totp"
    half_token = client.cookies[COOKIE]
    # Half signed in: no page but the code form.
    assert _goes_to_login(client, "/console")
    assert _goes_to_login(client, "/console/admin")
    second = totp_step(client, code_at(secret, time.time()))
    assert second.status_code == 303 and second.headers["location"] == "/console"
    cookie = second.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.cookies[COOKIE] != half_token  # a new token once fully signed in
    assert client.get("/console").status_code == 200
    with runtime.session() as session:
        rows = session.exec(select(StaffSession).where(StaffSession.user_id == admin.id)).all()
        assert len(rows) == 2
        assert sum(1 for r in rows if r.revoked_at is None and r.mfa_passed) == 1
        from app.audit.models import AuditEvent

        logins = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
        assert len(logins) == 1 and '"method":"totp"' in logins[0].data


def test_monitor_without_totp_signs_in_with_password(client: TestClient, runtime: Runtime) -> None:
    make_org(runtime, slug="awaj")
    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    answer = password_step(client, monitor.email)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    assert client.get("/console").status_code == 200


def test_admin_without_enrolment_cannot_finish(client: TestClient, runtime: Runtime) -> None:
    admin = make_user(runtime, email="admin@example.org", role="admin")
    assert password_step(client, admin.email).headers["location"] == "/console/login/totp"
    answer = totp_step(client, "123456")
    assert answer.status_code == 400 and "not set up" in answer.text
    assert _goes_to_login(client)


def test_wrong_password_is_refused_and_counted(client: TestClient, runtime: Runtime) -> None:
    admin, _ = _admin(runtime)
    answer = password_step(client, admin.email, "not the password at all")
    assert answer.status_code == 401
    assert "Wrong e-mail or password." in answer.text
    assert COOKIE not in client.cookies
    with runtime.session() as session:
        row = session.get(User, admin.id)
        assert row is not None and row.failed_logins == 1


def test_repeated_failures_lock_the_account(client: TestClient, runtime: Runtime) -> None:
    admin, _ = _admin(runtime)
    failures = 0
    while failures < 8:
        answer = password_step(client, admin.email, "wrong wrong wrong")
        if answer.status_code == 429:
            runtime.clock.advance(60)  # wait out the current lock, then fail again
            continue
        assert answer.status_code == 401
        failures += 1
    locked = password_step(client, admin.email)  # even the right password waits now
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert COOKIE not in client.cookies
    with runtime.session() as session:
        row = session.get(User, admin.id)
        assert row is not None and row.failed_logins == 8 and row.locked_until is not None


def test_wrong_totp_code_is_refused(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    password_step(client, admin.email)
    answer = totp_step(client, "000000" if code(secret) != "000000" else "111111")
    assert answer.status_code == 401 and "Wrong or expired code." in answer.text
    assert _goes_to_login(client)


def test_totp_code_cannot_be_replayed(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    used = code(secret)
    password_step(client, admin.email)
    assert totp_step(client, used).status_code == 303
    client.post("/console/logout", data={"csrf": page_csrf(client)})
    client.cookies.clear()
    password_step(client, admin.email)
    again = totp_step(client, used)
    assert again.status_code == 401
    assert "This code has already been used; wait for the next code in your app." in again.text
    assert _goes_to_login(client)


def test_a_stale_code_form_says_so_instead_of_starting_again(
    client: TestClient, runtime: Runtime
) -> None:
    admin, secret = _admin(runtime)
    password_step(client, admin.email)
    client.get("/console/login/totp")
    answer = client.post(
        "/console/login/totp",
        data={"code": code(secret), "csrf": "not-the-form-token"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "The sign-in form had expired. Please try again." in answer.text
    assert _goes_to_login(client)  # and the code was not spent: the real form still signs in
    assert totp_step(client, code(secret)).status_code == 303


def test_the_authenticator_label_is_encoded_once() -> None:
    uri = provisioning_uri(new_secret(), account="admin@example.org")
    assert uri.startswith("otpauth://totp/Grievance%20Desk:admin%40example.org?")
    assert "%25" not in uri


def test_idle_timeout(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    sign_in(client, admin, secret)
    runtime.clock.advance(29 * 60)
    assert client.get("/console").status_code == 200  # activity slides the idle timer
    runtime.clock.advance(31 * 60)
    assert _goes_to_login(client)


def test_absolute_timeout(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    sign_in(client, admin, secret)
    for _ in range(28):  # active every 25 minutes: 11 h 40 min in all
        runtime.clock.advance(25 * 60)
        assert client.get("/console").status_code == 200
    runtime.clock.advance(25 * 60)  # 12 h 5 min after signing in
    assert _goes_to_login(client)


def test_logout_ends_the_session(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    sign_in(client, admin, secret)
    token = client.cookies[COOKIE]
    answer = client.post(
        "/console/logout", data={"csrf": page_csrf(client)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    client.cookies.set(COOKIE, token)  # the old cookie is worth nothing now
    assert _goes_to_login(client)


def test_logout_needs_the_csrf_token(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    sign_in(client, admin, secret)
    assert client.post("/console/logout", data={}).status_code == 403
    assert client.post("/console/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/console").status_code == 200  # still signed in


def test_login_form_needs_its_own_token(client: TestClient, runtime: Runtime) -> None:
    admin, _ = _admin(runtime)
    answer = client.post(
        "/console/login",
        data={"email": admin.email, "password": "x", "csrf": "guess"},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and COOKIE not in client.cookies
    with runtime.session() as session:
        row = session.get(User, admin.id)
        assert row is not None and row.failed_logins == 0


def test_security_headers(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    for answer in (client.get("/console/login"), client.get("/console", follow_redirects=False)):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert "default-src 'none'" in csp
    sign_in(client, admin, secret)
    page = client.get("/console")
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text


def test_session_fixation_half_token_dies(client: TestClient, runtime: Runtime) -> None:
    admin, secret = _admin(runtime)
    password_step(client, admin.email)
    half = client.cookies[COOKIE]
    totp_step(client, code(secret))
    assert client.cookies[COOKIE] != half
    client.cookies.set(COOKIE, half)
    assert _goes_to_login(client, "/console/login/totp")
    assert _goes_to_login(client)
    assert csrf_of(client.get("/console/login").text)


def test_cookies_are_secure_outside_development(runtime: Runtime) -> None:
    from app.main import create_app

    served = Runtime(
        settings=runtime.settings.model_copy(update={"env": "production"}),
        engine=runtime.engine,
        vault=runtime.vault,
    )
    make_org(runtime, slug="awaj")
    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    with TestClient(create_app(runtime=served), base_url="https://testserver") as client:
        form = client.get("/console/login")
        assert "secure" in form.headers["set-cookie"].lower()
        answer = password_step(client, monitor.email)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "Secure" in cookie and "HttpOnly" in cookie
        assert client.get("/console").status_code == 200


def test_a_lock_out_answers_alike_for_accounts_and_unknown_addresses(
    client: TestClient, runtime: Runtime
) -> None:
    admin, _ = _admin(runtime)
    unknown = f"nobody-{secrets.token_hex(4)}@example.org"
    locked = {}
    for email in (admin.email, unknown):
        failures = 0
        while failures < 8:  # as test_repeated_failures_lock_the_account does
            answer = password_step(client, email, "wrong wrong wrong")
            if answer.status_code == 429:
                runtime.clock.advance(60)
                continue
            assert answer.status_code == 401
            failures += 1
        locked[email] = password_step(client, email)
    assert locked[admin.email].status_code == locked[unknown].status_code == 429
    assert "Too many failed sign-ins" in locked[unknown].text


def test_a_flood_of_sign_ins_from_one_client_stops_before_argon2(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = 0
    real = passwords.verify_password

    def counting(stored: str | None, password: str) -> bool:
        nonlocal hashed
        hashed += 1
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    statuses = [
        password_step(client, f"x{n}-{secrets.token_hex(3)}@example.org").status_code
        for n in range(LOGINS[0] + 5)
    ]
    assert statuses == [401] * LOGINS[0] + [429] * 5
    assert hashed == LOGINS[0]
