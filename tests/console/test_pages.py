"""Every console page for every role: who sees what, and never a reporter's contact."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import User
from app.runtime import Runtime
from tests.console.helpers import SECRETS, World, build_world, page_csrf, sign_in

NARRATIVE = "keeps our wages for three months"
INBOUND = "Please help us soon"
OUTBOUND = "will call the factory"
SUMMARY = "Back pay for October to all line workers"
DETAIL = "HR agreed in the meeting of 12 November"
ADMIN_PAGES = (
    "/console/admin",
    "/console/admin/organisations",
    "/console/admin/users",
    "/console/admin/workplaces",
    "/console/admin/routing",
    "/console/admin/exclusions",
)


def _assert_no_contact(html: str, url: str) -> None:
    for secret in SECRETS:
        assert secret not in html, f"{secret!r} shows on {url}"


def _visit(client: TestClient, url: str, status: int) -> str:
    answer = client.get(url)
    assert answer.status_code == status, (url, answer.status_code, answer.text[:300])
    _assert_no_contact(answer.text, url)
    return answer.text


def _busy(client: TestClient, world: World) -> None:
    """The monitor adds a note and a remediation step, so every kind of entry is there."""
    sign_in(client, world.monitor)
    case = world.sms_case
    for action, data in (
        ("note", {"body": "Called the factory's HR office."}),
        (
            "remediation",
            {
                "summary": SUMMARY,
                "worker_text": "অক্টোবরের বেতন",
                "detail": DETAIL,
                "due": "2027-01-31",
            },
        ),
    ):
        answer = client.post(
            f"/console/cases/{case.id}/{action}",
            data={"csrf": page_csrf(client), "version": "1", **data},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
    client.post("/console/logout", data={"csrf": page_csrf(client)})
    client.cookies.clear()


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _who(world: World, role: str) -> tuple[User, str | None]:
    if role == "admin":
        return world.admin, world.admin_secret
    return getattr(world, role), None


@pytest.mark.parametrize("role", ["admin", "monitor", "outsider", "buyer", "auditor"])
def test_every_page_for_every_role(client: TestClient, world: World, role: str) -> None:
    user, secret = _who(world, role)
    _busy(client, world)
    _visit(client, "/console/login", 200)
    sign_in(client, user, secret)
    visible = {
        "admin": {"sms_case", "wa_case", "other_case"},
        "monitor": {"sms_case", "wa_case"},
        "outsider": {"other_case"},
        "buyer": {"sms_case", "wa_case"},
        "auditor": {"sms_case", "wa_case", "other_case"},
    }[role]
    queue = _visit(client, "/console", 200)
    queue += _visit(client, "/console?status=new&urgent=1&overdue=1&unread=1&sort=due", 200)
    queue += _visit(client, "/console?country=BD&workplace=Star+Garments&sort=oldest", 200)
    for name in ("sms_case", "wa_case", "other_case"):
        case = getattr(world, name)
        url = f"/console/cases/{case.id}"
        if name not in visible:
            assert case.reference not in queue
            _visit(client, url, 404)
            continue
        assert case.reference in queue
        html = _visit(client, url, 200)
        assert case.reference in html
        reads_content = role in ("admin", "monitor", "outsider")
        if name != "other_case":
            assert (NARRATIVE in html) is reads_content
            assert (INBOUND in html) is reads_content
            assert (OUTBOUND in html) is reads_content
        assert ("Send message" in html) is reads_content
        assert ("Audit history" in html) is (role == "auditor")
        if role in ("admin", "monitor") and name == "sms_case":
            assert "Called the factory" in html  # the note, for those who may read it
            assert DETAIL in html
        if name == "sms_case":
            assert SUMMARY in html  # buyers follow remediation through the summaries
            assert (DETAIL in html) is (role in ("admin", "monitor"))
        if role in ("buyer", "auditor"):
            assert "Called the factory" not in html
            assert '<form method="post" action="/console/cases' not in html
    for url in ADMIN_PAGES:
        _visit(client, url, 200 if role == "admin" else 403)


def test_buyer_and_auditor_cannot_act(client: TestClient, world: World) -> None:
    case = world.sms_case
    for user in (world.buyer, world.auditor):
        client.cookies.clear()
        sign_in(client, user)
        csrf = page_csrf(client)
        for action, data in (
            ("acknowledge", {}),
            ("message", {"body": "hello"}),
            ("note", {"body": "a note"}),
            ("status", {"to": "closed", "reason": "x", "closure_reason": "withdrawn"}),
        ):
            answer = client.post(
                f"/console/cases/{case.id}/{action}", data={"csrf": csrf, "version": "1", **data}
            )
            assert answer.status_code == 403, (user.role, action, answer.text[:200])
            _assert_no_contact(answer.text, action)
    client.cookies.clear()
    sign_in(client, world.monitor)
    html = client.get(f"/console/cases/{case.id}").text
    assert "a note" not in html and ">hello<" not in html
    assert "Status changed" not in html
