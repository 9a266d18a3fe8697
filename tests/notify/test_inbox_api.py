"""The alerts inbox a page at a time: `GET /api/v1/alerts/inbox` (keyset cursor), `POST
/api/v1/alerts/inbox/read` (some or all), and the console's pages of /console/alerts."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from app import worker
from app.notify.models import AlertKind, StaffAlert
from app.runtime import Runtime
from tests.console.helpers import build_world, sign_in
from tests.factories import auth, make_token

EXTRA = 120
INBOX = "/api/v1/alerts/inbox"


def _flood(runtime: Runtime, world: object) -> None:
    """Many more alerts for the monitor than a page holds, and one for a colleague."""
    with runtime.session() as session:
        top = max(a.event_seq for a in session.exec(select(StaffAlert)).all())
        for n in range(EXTRA):
            session.add(
                StaffAlert(
                    user_id=world.monitor.id,  # type: ignore[attr-defined]
                    case_id=world.sms_case.id,  # type: ignore[attr-defined]
                    event_seq=top + 1 + n,
                    kind=AlertKind.deadline_near.value,
                )
            )
        session.commit()


def _all_pages(client: TestClient, token: dict[str, str], **params: object) -> list[dict]:  # type: ignore[type-arg]
    items: list[dict] = []  # type: ignore[type-arg]
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        r = client.get(INBOX, params=query, headers=token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= int(params.get("limit", 50))  # type: ignore[call-overload]
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items


def test_inbox_api_pages_and_marks_read(runtime: Runtime, client: TestClient) -> None:
    world = build_world(runtime)
    worker.run_once(runtime)  # 4 alerts each for the monitor and their colleague
    _flood(runtime, world)
    mine = auth(make_token(runtime, world.monitor))
    total = 4 + EXTRA

    items = _all_pages(client, mine, limit=50)
    assert len(items) == total and len({i["id"] for i in items}) == total
    assert {i["reference"] for i in items} == {world.sms_case.reference, world.wa_case.reference}
    first = client.get(INBOX, params={"limit": 3}, headers=mine).json()
    assert first["unread"] == total and first["next"]
    assert [i["id"] for i in first["items"]] == [i["id"] for i in items[:3]]
    assert first["items"][0]["kind"] == "deadline_near"  # the newest first
    assert "Please help us soon" not in str(items)  # never the case's content

    three = [i["id"] for i in items[:3]]
    r = client.post(f"{INBOX}/read", json={"ids": three}, headers=mine)
    assert r.status_code == 200 and r.json() == {"marked": 3, "unread": total - 3}
    assert client.post(f"{INBOX}/read", json={"ids": three}, headers=mine).json()["marked"] == 0
    with runtime.session() as session:
        theirs = session.exec(
            select(StaffAlert).where(StaffAlert.user_id == world.colleague.id)
        ).first()
        assert theirs is not None
    r = client.post(f"{INBOX}/read", json={"ids": [str(theirs.id)]}, headers=mine)
    assert r.json()["marked"] == 0  # someone else's alert: nothing changes
    with runtime.session() as session:
        assert session.get_one(StaffAlert, theirs.id).read_at is None

    unread = _all_pages(client, mine, unread="true", limit=40)
    assert len(unread) == total - 3 and not set(three) & {i["id"] for i in unread}
    assert all(not i["read"] for i in unread)

    # a cursor of the unread list is not one of the whole list; nor is garbage
    cursor = client.get(INBOX, params={"unread": "true", "limit": 5}, headers=mine).json()["next"]
    r = client.get(INBOX, params={"cursor": cursor}, headers=mine)
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"
    assert client.get(INBOX, params={"cursor": "%%%"}, headers=mine).status_code == 400
    assert client.get(INBOX, params={"limit": 0}, headers=mine).status_code == 422

    for bad in ({}, {"all": False}, {"all": 1}, {"ids": three, "all": True}, {"ids": ["nope"]}):
        r = client.post(f"{INBOX}/read", json=bad, headers=mine)
        assert r.status_code == 422, bad
    r = client.post(f"{INBOX}/read", json={"all": True}, headers=mine)
    assert r.json() == {"marked": total - 3, "unread": 0}

    for role in ("buyer", "auditor"):
        token = auth(make_token(runtime, getattr(world, role)))
        assert client.get(INBOX, headers=token).status_code == 403
        assert client.post(f"{INBOX}/read", json={"all": True}, headers=token).status_code == 403
    assert client.get(INBOX).status_code == 401

    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths[INBOX] and "post" in paths[f"{INBOX}/read"]


def test_console_inbox_pages(runtime: Runtime, client: TestClient) -> None:
    world = build_world(runtime)
    worker.run_once(runtime)
    _flood(runtime, world)
    sign_in(client, world.monitor)
    rows, url, pages = 0, "/console/alerts", 0
    while url:
        html = client.get(url).text
        rows += html.count('<td data-label="Case">')
        pages += 1
        found = re.search(r'href="(/console/alerts\?[^"]*cursor=[^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        if pages > 1:
            assert 'href="/console/alerts">First page' in html
    assert rows == 4 + EXTRA and pages == 3  # 50 a page
