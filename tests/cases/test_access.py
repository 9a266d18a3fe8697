"""Every read of a case goes through one scoped query: what a caller may not see is 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.routing.models import RoutingRule
from app.runtime import Runtime
from tests.factories import auth, make_case, make_org, make_token, make_user, make_workplace


def _world(runtime: Runtime) -> dict[str, object]:
    make_org(runtime, slug="awaj")
    make_org(runtime, slug="other-partner")
    acme = make_org(runtime, slug="acme", kind="buyer")
    make_org(runtime, slug="zeta", kind="buyer")
    with runtime.session() as session:
        from app.accounts.service import organisation_by_slug

        awaj = organisation_by_slug(session, "awaj")
        assert awaj is not None
        session.add(RoutingRule(partner_id=awaj.id, priority=1, countries=["BD"]))
        session.commit()
    place = make_workplace(runtime, name="Star Garments Ltd", country="BD", buyers=[acme])
    case = make_case(runtime, narrative="secret words", workplace=place, country="BD")
    tokens = {
        "admin": make_token(runtime, make_user(runtime, email="ad@x.example", role="admin")),
        "monitor": make_token(
            runtime, make_user(runtime, email="m@awaj.example", role="monitor", org="awaj")
        ),
        "other_monitor": make_token(
            runtime, make_user(runtime, email="m@o.example", role="monitor", org="other-partner")
        ),
        "buyer": make_token(
            runtime, make_user(runtime, email="b@acme.example", role="buyer", org="acme")
        ),
        "other_buyer": make_token(
            runtime, make_user(runtime, email="b@zeta.example", role="buyer", org="zeta")
        ),
        "auditor": make_token(runtime, make_user(runtime, email="au@x.example", role="auditor")),
    }
    return {"case": case, "tokens": tokens}


def test_who_sees_what(runtime: Runtime, client: TestClient) -> None:
    world = _world(runtime)
    case = world["case"]
    tokens: dict[str, str] = world["tokens"]  # type: ignore[assignment]
    url = f"/api/v1/cases/{case.id}"  # type: ignore[attr-defined]
    expectations = {
        # role: (sees the case, reads the narrative)
        "admin": (True, True),
        "monitor": (True, True),
        "other_monitor": (False, False),
        "buyer": (True, False),
        "other_buyer": (False, False),
        "auditor": (True, False),
    }
    for role, (sees, reads) in expectations.items():
        headers = auth(tokens[role])
        one = client.get(url, headers=headers)
        listed = client.get("/api/v1/cases", headers=headers).json()["items"]
        assert (one.status_code == 200) is sees, role
        assert (len(listed) == 1) is sees, role
        if not sees:
            assert one.status_code == 404
            assert (
                one.json()
                == client.get(
                    "/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=headers
                ).json()
            )
            continue
        body = one.json()
        assert body["partner"] == "awaj" and body["reference"]
        assert (body["narrative"] == "secret words") is reads, role
        messages = client.get(f"{url}/messages", headers=headers)
        assert (messages.status_code == 200) is reads, role
        assert "secret words" not in messages.text or reads
        history = client.get(f"{url}/history", headers=headers)
        assert history.status_code == 200
        first = ["case.opened"] if role == "buyer" else ["case.opened", "case.routed"]
        assert [e["action"] for e in history.json()][:2] == first
        assert "secret words" not in history.text


def test_api_requires_a_valid_token(runtime: Runtime, client: TestClient) -> None:
    assert client.get("/api/v1/cases").status_code == 401
    answer = client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


def test_pagination_is_keyset_newest_first(runtime: Runtime, client: TestClient) -> None:
    make_org(runtime, slug="awaj", fallback=True)
    token = make_token(runtime, make_user(runtime, email="ad@x.example", role="admin"))
    made = [make_case(runtime, narrative=f"n{i}").reference for i in range(7)]
    seen: list[str] = []
    url = "/api/v1/cases?limit=3"
    while url:
        page = client.get(url, headers=auth(token)).json()
        seen += [c["reference"] for c in page["items"]]
        url = f"/api/v1/cases?limit=3&cursor={page['next']}" if page["next"] else ""
    assert seen == list(reversed(made))
    bad = client.get("/api/v1/cases?cursor=zzz", headers=auth(token))
    assert bad.status_code == 400 and bad.json()["error"] == "bad_cursor"
