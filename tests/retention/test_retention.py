"""Retention: a closed case's content is crypto-shredded on time, holds suspend it, the
audit chain still verifies and the structured figures stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import Organisation
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM, verify
from app.cases import service as cases
from app.cases.models import Case, CaseMessage, Note
from app.identity.models import Reporter
from app.identity.service import reveal_identity
from app.identity.vault import KeyShreddedError
from app.retention import jobs
from app.retention.jobs import run_retention
from app.runtime import Runtime
from tests.cases.world import NARRATIVE, PHONE, REPORTER_SAYS, World, build
from tests.factories import auth
from tests.test_cli import cli_env, one_line_error, run

__all__ = ["cli_env"]


def close(client: TestClient, w: World, case: Case) -> None:
    body = {"to": "closed", "reason": "done", "closure_reason": "withdrawn"}
    answer = client.post(
        f"/api/v1/cases/{case.id}/status", json=body, headers=auth(w.tokens["monitor"])
    )
    assert answer.status_code == 200, answer.text


def structured(client: TestClient, w: World) -> list[dict[str, Any]]:
    keep = ("id", "reference", "status", "category", "country", "channel", "partner")
    items = client.get("/api/v1/cases", headers=auth(w.tokens["buyer"])).json()["items"]
    return [{k: item[k] for k in keep} for item in items]


def test_retention_zero_shreds_a_closed_case(
    runtime: Runtime, client: TestClient, cli_env: dict[str, str]
) -> None:
    w = build(runtime)
    close(client, w, w.case_a)
    before = structured(client, w)
    figures = client.get("/transparency.json")
    env = dict(cli_env, GRIEVANCE_RETENTION_DAYS="0")

    dry = run(env, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert w.case_a.reference in dry.stdout and "1 cases are due" in dry.stdout
    assert run(cli_env, "retention", "run").stdout.startswith("shredded the content of 0")

    admin = auth(w.tokens["admin"])
    hold = {"reason": "labour inspectorate asked us to keep it"}
    refused = client.post(
        f"/api/v1/cases/{w.case_a.id}/hold", json=hold, headers=auth(w.tokens["monitor"])
    )
    assert refused.status_code == 403
    assert (
        client.post(
            f"/api/v1/cases/{w.case_a.id}/hold", json={"reason": " "}, headers=admin
        ).status_code
        == 400
    )
    held = client.post(f"/api/v1/cases/{w.case_a.id}/hold", json=hold, headers=admin)
    assert held.status_code == 200 and held.json()["held"]
    assert "shredded the content of 0" in run(env, "retention", "run").stdout
    released = client.post(f"/api/v1/cases/{w.case_a.id}/hold/release", json=hold, headers=admin)
    assert released.status_code == 200 and not released.json()["held"]

    shredded = run(env, "retention", "run")
    assert shredded.returncode == 0, shredded.stderr
    assert w.case_a.reference in shredded.stdout and "of 1 cases" in shredded.stdout
    again = run(env, "retention", "run")  # idempotent
    assert "shredded the content of 0" in again.stdout

    one = client.get(f"/api/v1/cases/{w.case_a.id}", headers=admin)
    assert one.status_code == 200 and one.json()["narrative"] is None
    assert one.json()["status"] == "closed"
    messages = client.get(f"/api/v1/cases/{w.case_a.id}/messages", headers=admin)
    assert messages.status_code == 200 and messages.json() == []
    with runtime.session() as session:
        runtime.vault.forget_cached_keys()
        case = session.get_one(Case, w.case_a.id)
        assert case.narrative_enc is None and case.content_shredded_at is not None
        assert not session.exec(select(CaseMessage).where(CaseMessage.case_id == case.id)).all()
        assert not session.exec(select(Note).where(Note.case_id == case.id)).all()
        with pytest.raises(KeyShreddedError):
            runtime.vault.encrypt(
                session, key_id=case.data_key_id, table="t", row_id=1, column="c", plaintext="x"
            )
        assert case.reporter_id is not None
        reporter = session.get_one(Reporter, case.reporter_id)
        assert reporter.address_enc is None and reporter.address_index is None
        identity = reveal_identity(
            session, runtime.vault, reporter_id=reporter.id, actor=SYSTEM, reason="test"
        )
        assert identity.address is None
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id))
        ]
        assert "case.hold_placed" in actions and "case.hold_released" in actions
        assert actions.count("case.content_shredded") == 1
        db_text = b"".join(
            bytes(str(row), "utf-8") for row in session.exec(select(CaseMessage)).all()
        )
    for secret in (NARRATIVE, PHONE, REPORTER_SAYS):
        assert secret.encode() not in db_text
    other = client.get(f"/api/v1/cases/{w.case_b.id}", headers=admin).json()
    assert other["narrative"] == NARRATIVE  # not closed: kept

    checked = run(cli_env, "audit", "verify")
    assert checked.returncode == 0, checked.stderr
    assert structured(client, w) == before
    later = client.get("/transparency.json")
    assert figures.status_code == later.status_code == 200
    assert later.json() == figures.json()  # the public figures do not change


def test_periods_per_partner_and_the_worker_job(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(runtime)
    close(client, w, w.case_a)
    assert run_retention(runtime, actor=SYSTEM, dry_run=True).due == []  # 1095 days
    with runtime.session() as session:
        partner = w.orgs["awaj"]
        partner.retention_days = 0
        session.add(partner)
        session.commit()
    due = run_retention(runtime, actor=SYSTEM, dry_run=True).due
    assert [d.reference for d in due] == [w.case_a.reference] and due[0].days == 0

    monkeypatch.setattr(jobs, "_last_run", {"at": float("-inf")})
    assert jobs.retention_job(runtime) == 1
    assert jobs.retention_job(runtime) == 0  # not again within the interval
    with runtime.session() as session:
        assert session.get_one(Case, w.case_a.id).content_shredded_at is not None
    with runtime.engine.connect() as conn:
        assert verify(conn).ok


def test_an_interrupted_run_is_finished_by_the_next(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(runtime)
    close(client, w, w.case_a)
    close(client, w, w.case_c)
    runtime.settings.retention_days = 0
    from app.retention import service  # the crash is injected at its audit step

    calls = {"n": 0}
    original = service.record

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "record", crash_on_second)
    with pytest.raises(RuntimeError):
        run_retention(runtime, actor=SYSTEM)
    with runtime.session() as session:
        states = {
            c.id: c.content_shredded_at is not None
            for c in session.exec(select(Case).where(Case.status == "closed"))
        }
        assert sorted(states.values()) == [False, True]  # one whole, one untouched
        untouched = next(cid for cid, done in states.items() if not done)
        case = session.get_one(Case, untouched)
        assert case.narrative_enc is not None
        assert cases.narrative(session, runtime.vault, case) is not None
    monkeypatch.setattr(service, "record", original)
    assert len(run_retention(runtime, actor=SYSTEM).shredded) == 1
    with runtime.engine.connect() as conn:
        assert verify(conn).ok


def test_retention_days_must_be_a_number(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run(dict(cli_env, GRIEVANCE_RETENTION_DAYS="-1"), "retention", "run")
    one_line_error(result, "GRIEVANCE_RETENTION_DAYS: Input should be greater than or equal to 0")
    one_line_error(
        run(
            cli_env,
            "orgs",
            "create",
            "--kind",
            "partner",
            "--slug",
            "p",
            "--name",
            "P",
            "--retention-days",
            "x",
        ),
        "not a number of days",
    )


def test_admins_set_a_partners_period(runtime: Runtime, client: TestClient) -> None:
    w = build(runtime)
    admin = auth(w.tokens["admin"])
    bad = client.patch(
        "/api/v1/admin/organisations/awaj", json={"retention_days": -1}, headers=admin
    )
    assert bad.status_code == 422
    answer = client.patch(
        "/api/v1/admin/organisations/awaj", json={"retention_days": 30}, headers=admin
    )
    assert answer.status_code == 200 and answer.json()["retention_days"] == 30
    with runtime.session() as session:
        assert session.get_one(Organisation, w.orgs["awaj"].id).retention_days == 30
