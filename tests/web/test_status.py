"""The status page: the receipt code opens the case; wrong codes are limited; the reporter
reads and answers the monitor, and agrees or disagrees with remediation steps."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases import service as cases_service
from app.cases.models import Case, CaseMessage, RemediationStep
from app.main import create_app
from app.runtime import Runtime
from app.web.status import STEP_TABLE, WRONG_CODES
from tests.factories import make_org, make_user
from tests.web.helpers import cases, file_without_js


def _monitor_writes(runtime: Runtime, case_id: object, text: str) -> None:
    make_org(runtime, slug="partner")
    user = make_user(runtime, email="m@partner.example", role="monitor", org="partner")
    with runtime.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        cases_service.send_to_reporter(session, runtime.vault, case=case, author=user, body=text)
        session.commit()


def _step(runtime: Runtime, case_id: object, summary: str) -> RemediationStep:
    with runtime.session() as session:
        step = RemediationStep(case_id=case_id, summary=summary, position=1)
        session.add(step)
        session.commit()
        return step


def test_the_code_opens_the_case_in_the_reporters_language(
    client: TestClient, runtime: Runtime
) -> None:
    reference, code = file_without_js(client, lang="fr")
    page = client.post("/status?lang=fr", data={"code": code.lower().replace("-", " ")})
    assert page.status_code == 200
    assert f"Votre signalement {reference}" in page.text
    assert "Reçu, en attente de lecture" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert code not in page.url.query.decode() if page.url.query else True


def test_wrong_code_is_refused_clearly_and_limited(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client)
    for _ in range(WRONG_CODES[0]):
        wrong = client.post("/status?lang=es", data={"code": "7KQ2-M9XD-3HTR-P4WB"})
        assert wrong.status_code == 404
        assert "No encontramos este código" in wrong.text
    blocked = client.post("/status?lang=es", data={"code": "7KQ2-M9XD-3HTR-P4WC"})
    assert blocked.status_code == 429
    assert "Demasiados intentos" in blocked.text
    # A reporter behind the same address as the guesser still opens their own case.
    assert client.post("/status?lang=es", data={"code": code}).status_code == 200


def test_one_guesser_behind_the_proxy_locks_out_only_itself(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "trusted_proxies", "127.0.0.1, 10.0.0.0/8")
    with TestClient(create_app(runtime=runtime), client=("10.1.2.3", 443)) as proxied:
        _, code = file_without_js(proxied)
        guesser = {"X-Forwarded-For": "198.51.100.66"}
        for _ in range(WRONG_CODES[0] + 1):
            proxied.post("/status", data={"code": "7KQ2-M9XD-3HTR-P4WB"}, headers=guesser)
        spoofed = {"X-Forwarded-For": "192.0.2.1, 198.51.100.66"}
        wrong = proxied.post("/status", data={"code": "7KQ2-M9XD-3HTR-P4WB"}, headers=spoofed)
        assert wrong.status_code == 429, "a made-up left-hand hop does not escape the limit"
        reporter = {"X-Forwarded-For": "203.0.113.7"}
        other = proxied.post("/status", data={"code": "7KQ2-M9XD-3HTR-P4WB"}, headers=reporter)
        assert other.status_code == 404, "another client's first wrong code is only wrong"
        mine = proxied.post("/status", data={"code": code}, headers=reporter)
        assert mine.status_code == 200


def test_malformed_code_counts_as_wrong(client: TestClient) -> None:
    answer = client.post("/status?lang=en", data={"code": "hello"})
    assert answer.status_code == 404
    assert 'aria-invalid="true"' in answer.text


def test_monitor_messages_are_shown_and_answered(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client)
    [case] = cases(runtime)
    _monitor_writes(runtime, case.id, "Which shift do you work on?")
    page = client.post("/status?lang=en", data={"code": code})
    assert "Which shift do you work on?" in page.text
    answer = client.post(
        "/status?lang=en", data={"code": code, "action": "reply", "body": "The night shift."}
    )
    assert answer.status_code == 200
    assert "Thank you. We saved your answer." in answer.text
    assert answer.text.index("Which shift") < answer.text.index("The night shift.")
    with runtime.session() as session:
        messages = session.exec(select(CaseMessage).where(CaseMessage.case_id == case.id)).all()
        assert sorted(m.direction for m in messages) == ["in", "out"]
        shown = next(m for m in messages if m.direction == "out")
        assert shown.delivery_state == "delivered"
        assert all(b"night shift" not in m.body_enc for m in messages)
        refreshed = session.get(Case, case.id)
        assert refreshed is not None and refreshed.unread_reporter_messages == 1
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
        assert "message.from_reporter" in actions and "message.seen_by_reporter" in actions


def test_empty_and_overlong_replies_are_refused(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client)
    empty = client.post("/status?lang=en", data={"code": code, "action": "reply", "body": " "})
    assert "Please write your message." in empty.text
    long = client.post(
        "/status?lang=en", data={"code": code, "action": "reply", "body": "x" * 4001}
    )
    assert "Please write at most 4,000 characters." in long.text
    with runtime.session() as session:
        assert session.exec(select(CaseMessage)).all() == []


def test_dates_are_written_per_locale(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client, lang="vi")
    page = client.post("/status?lang=vi", data={"code": code})
    assert re.search(r"\d{1,2} thg \d{1,2}, \d{4}", page.text), "Vietnamese medium date"


def test_remediation_agree_and_disagree(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client)
    [case] = cases(runtime)
    step = _step(runtime, case.id, "Back pay for October overtime")
    page = client.post("/status?lang=en", data={"code": code})
    assert "Back pay for October overtime" in page.text
    answer = client.post(
        "/status?lang=en",
        data={
            "code": code,
            "action": "respond",
            "step": str(step.id),
            "answer": "disagree",
            "comment": "Only half was paid.",
        },
    )
    assert "You did not agree." in answer.text
    with runtime.session() as session:
        stored = session.get(RemediationStep, step.id)
        assert stored is not None and stored.reporter_response == "disagree"
        assert stored.reporter_comment_enc and b"half" not in stored.reporter_comment_enc
        comment = runtime.vault.decrypt(
            session,
            key_id=case.data_key_id,
            table=STEP_TABLE,
            row_id=step.id,
            column="reporter_comment",
            blob=stored.reporter_comment_enc,
        )
        assert comment == "Only half was paid."
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "remediation.reporter_response")
        ).one()
        assert '"response":"disagree"' in event.data and "half" not in event.data
    again = client.post(
        "/status?lang=en",
        data={"code": code, "action": "respond", "step": str(step.id), "answer": "agree"},
    )
    assert "You agreed." in again.text


def test_remediation_bad_answers_change_nothing(client: TestClient, runtime: Runtime) -> None:
    _, code = file_without_js(client)
    [case] = cases(runtime)
    step = _step(runtime, case.id, "Fix the fire exit")
    _, other_code = file_without_js(client)
    for data in (
        {"step": str(step.id), "answer": "maybe"},
        {"step": "not-a-uuid", "answer": "agree"},
        {"step": str(step.id), "answer": "agree", "comment": "c" * 1001},
    ):
        answer = client.post("/status?lang=en", data={"code": code, "action": "respond", **data})
        assert answer.status_code == 200
        assert 'id="e-respond"' in answer.text
    foreign = client.post(
        "/status?lang=en",
        data={"code": other_code, "action": "respond", "step": str(step.id), "answer": "agree"},
    )
    assert "This form is damaged" in foreign.text, "a step of another case is not found"
    with runtime.session() as session:
        stored = session.get(RemediationStep, step.id)
        assert stored is not None and stored.reporter_response is None
