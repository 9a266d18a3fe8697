"""Signing in through the real forms, and a world with every role and a fully identified
reporter (whose contact details must never show on a console page)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from app.accounts import service as accounts
from app.accounts.models import Organisation, User
from app.accounts.totp import code_at
from app.cases import service as cases
from app.cases.models import Case
from app.identity import service as identity
from app.runtime import Runtime
from app.timeutil import utcnow
from tests.factories import PASSWORD, TEST_ACTOR, make_case, make_org, make_user, make_workplace

PHONE = "+8801711555123"
WA_ID = "8801722666456"
PROFILE = "Rahima Begum Khatun"
CONTACT = "rahima.khatun@example.net"
SECRETS = (PHONE, PHONE[1:], WA_ID, PROFILE, "Rahima", CONTACT)
CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def enrol(runtime: Runtime, user: User) -> str:
    with runtime.session() as session:
        row = session.get(User, user.id)
        assert row is not None
        secret = accounts.enrol_totp(session, runtime.vault, user=row, actor=TEST_ACTOR)
        session.commit()
        return secret


def code(secret: str) -> str:
    return code_at(secret, utcnow().timestamp())


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )


def totp_step(client: TestClient, totp_code: str) -> Response:
    form = client.get("/console/login/totp")
    assert form.status_code == 200, form.text
    return client.post(
        "/console/login/totp",
        data={"code": totp_code, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )


def sign_in(client: TestClient, user: User, secret: str | None = None) -> None:
    first = password_step(client, user.email)
    assert first.status_code == 303, first.text
    if secret is not None:
        assert first.headers["location"] == "/console/login/totp"
        second = totp_step(client, code(secret))
        assert second.status_code == 303, second.text
    page = client.get("/console")
    assert page.status_code == 200, page.text


def page_csrf(client: TestClient, url: str = "/console") -> str:
    return csrf_of(client.get(url).text)


@dataclass
class World:
    partner: Organisation
    other_partner: Organisation
    buyer_org: Organisation
    admin: User
    admin_secret: str
    monitor: User
    colleague: User
    outsider: User
    buyer: User
    auditor: User
    sms_case: Case
    wa_case: Case
    other_case: Case


def build_world(runtime: Runtime) -> World:
    partner = make_org(runtime, slug="awaj", fallback=True)
    other = make_org(runtime, slug="other-ngo")
    buyer_org = make_org(runtime, slug="city-of-ghent", kind="buyer")
    place = make_workplace(runtime, name="Star Garments", country="BD", buyers=[buyer_org])
    admin = make_user(runtime, email="admin@example.org", role="admin")
    secret = enrol(runtime, admin)
    world_users = {
        "monitor": make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj"),
        "colleague": make_user(runtime, email="colin@awaj.example", role="monitor", org="awaj"),
        "outsider": make_user(runtime, email="otto@other.example", role="monitor", org="other-ngo"),
        "buyer": make_user(runtime, email="bea@ghent.example", role="buyer", org="city-of-ghent"),
        "auditor": make_user(runtime, email="audrey@audit.example", role="auditor"),
    }
    sms_case, wa_case = _reported_cases(runtime, place.id, world_users["monitor"])
    with runtime.session() as session:
        from app.routing.models import RoutingRule

        session.add(RoutingRule(partner_id=other.id, priority=1, countries=["KE"]))
        session.commit()
    other_case = make_case(runtime, country="KE", narrative="Kenyan case text")
    return World(
        partner,
        other,
        buyer_org,
        admin,
        secret,
        sms_case=sms_case,
        wa_case=wa_case,
        other_case=other_case,
        **world_users,
    )


def _reported_cases(runtime: Runtime, place_id: uuid.UUID, monitor: User) -> tuple[Case, Case]:
    """An SMS and a WhatsApp case whose reporters left every contact detail there is."""
    made: list[Case] = []
    with runtime.session() as session:
        from app.routing.models import Workplace

        place = session.get(Workplace, place_id)
        for channel, address in (("sms", PHONE), ("whatsapp", WA_ID)):
            reporter = identity.create_reporter(
                session,
                runtime.vault,
                channel=channel,
                address=address,
                profile_name=PROFILE,
                contact=CONTACT,
                country="BD",
                language="bn",
            )
            session.flush()
            case = make_case(
                runtime,
                channel=channel,
                language="bn",
                workplace=place,
                reporter=reporter,
                session=session,
                narrative="The supervisor keeps our wages for three months.",
            )
            cases.add_reporter_message(
                session, runtime.vault, case=case, body="Please help us soon", channel=channel
            )
            cases.send_to_reporter(
                session,
                runtime.vault,
                case=case,
                author=monitor,
                body="We have your report and will call the factory.",
            )
            made.append(case)
        session.commit()
    return made[0], made[1]


def launch(playwright: Any) -> Any:
    """Debian's Chromium with the flags every browser test uses."""
    from tests.web.live import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def browser_sign_in(page: Any, email: str, secret: str | None = None, *, base: str = "") -> None:
    """Sign in through the real forms in a browser: the password, then the authenticator's
    code when the user has enrolled one; returns on the queue."""
    import time

    page.goto(f"{base}/console/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if secret is not None:
        page.wait_for_url("**/console/login/totp")
        page.get_by_label("Code").fill(code_at(secret, time.time()))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/console")


def unfold(page: Any, *summaries: str) -> None:
    """Open the case page's folded sections by their summaries (no JavaScript needed)."""
    for text in summaries:
        summary = page.locator("summary", has_text=text).first
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()
