"""POST /api/v1/submissions: idempotency, validation in the reporter's language, contact
details encrypted, receipt codes hashed, field callers."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.cases.service import workplace_text
from app.identity.models import Reporter
from app.runtime import Runtime
from app.submissions.receipts import normalise
from tests.web.helpers import body, cases, form_submission_id


def workplace_words(runtime: Runtime, case: Case) -> str | None:
    """The reporter's workplace words, decrypted (they are sealed like the narrative)."""
    with runtime.session() as session:
        return workplace_text(session, runtime.vault, session.get_one(Case, case.id))


URL = "/api/v1/submissions"


def test_first_call_creates_and_repeat_answers_same_body(
    client: TestClient, runtime: Runtime
) -> None:
    sent = body()
    first = client.post(URL, json=sent)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["reference"] and normalise(answer["receipt_code"]) == answer["receipt_code"]
    again = client.post(URL, json=sent)
    assert again.status_code == 200
    assert again.json() == answer
    [case] = cases(runtime)
    assert case.channel == "web" and case.language == "bn" and case.category == "wages"
    assert case.submission_id == uuid.UUID(sent["submission_id"])
    assert case.receipt_hash == runtime.vault.receipt_hash(answer["receipt_code"])
    assert answer["receipt_code"] not in case.receipt_hash


def test_client_made_code_is_never_echoed_and_is_hashed(
    client: TestClient, runtime: Runtime
) -> None:
    sent = body(receipt_code="7kq2 m9xd 3htr p4wb")
    first = client.post(URL, json=sent)
    assert first.status_code == 201
    assert "receipt_code" not in first.json()
    assert client.post(URL, json=sent).json() == first.json()
    [case] = cases(runtime)
    assert case.receipt_hash == runtime.vault.receipt_hash("7KQ2-M9XD-3HTR-P4WB")


def test_replay_with_changed_content_creates_nothing(client: TestClient, runtime: Runtime) -> None:
    sent = body()
    first = client.post(URL, json=sent).json()
    replay = client.post(URL, json={**sent, "narrative": "something else"})
    assert replay.status_code == 200 and replay.json() == first
    assert len(cases(runtime)) == 1


def test_repeat_after_memory_is_gone_answers_without_the_code(
    client: TestClient, runtime: Runtime
) -> None:
    from app.submissions.service import first_answers

    sent = body()
    first = client.post(URL, json=sent).json()
    first_answers._items.clear()  # another process, or an hour later
    again = client.post(URL, json=sent)
    assert again.status_code == 200
    assert again.json() == {k: v for k, v in first.items() if k != "receipt_code"}


def test_contact_is_stored_encrypted_on_a_reporter(client: TestClient, runtime: Runtime) -> None:
    answer = client.post(URL, json=body(contact="+8801711000000"))
    assert answer.status_code == 201
    [case] = cases(runtime)
    with runtime.session() as session:
        reporter = session.get(Reporter, case.reporter_id)
        assert reporter is not None and reporter.channel == "web"
        assert reporter.contact_enc and b"8801711000000" not in reporter.contact_enc
        events = session.exec(select(AuditEvent)).all()
        assert all("8801711000000" not in e.data for e in events)
        assert "case.opened" in [e.action for e in events]


@pytest.mark.parametrize(
    ("changes", "field", "bengali"),
    [
        ({"narrative": "   "}, "narrative", "কী হয়েছে"),
        ({"narrative": "x" * 8001}, "narrative", "সর্বোচ্চ 8,000 অক্ষর"),
        ({"category": "bribery"}, "category", None),
        ({"country": "XX"}, "country", None),
        ({"workplace": "w" * 201}, "workplace", None),
        ({"contact": "c" * 201}, "contact", None),
        ({"submission_id": "not-a-uuid"}, "submission_id", None),
        ({"submission_id": 12}, "submission_id", None),
        ({"receipt_code": "SHORT"}, "receipt_code", None),
        ({"narrative": ["list"]}, "narrative", None),
    ],
)
def test_bad_fields_are_named_in_the_reporters_language(
    client: TestClient,
    runtime: Runtime,
    changes: dict[str, object],
    field: str,
    bengali: str | None,
) -> None:
    answer = client.post(URL, json=body(**changes))
    assert answer.status_code == 422
    problems = {p["field"]: p["problem"] for p in answer.json()["problems"]}
    assert list(problems) == [field]
    english = client.post(URL, json=body(language="en", **changes)).json()["problems"][0]
    assert problems[field] != english["problem"], "not translated into Bengali"
    if bengali:
        assert bengali in problems[field]
    assert cases(runtime) == []


def test_numbers_in_messages_are_written_the_locale_way(client: TestClient) -> None:
    answer = client.post(URL, json=body(language="fr", narrative="x" * 8001))
    [problem] = answer.json()["problems"]
    assert problem["problem"] == "Écrivez au plus 8\u202f000 caractères."


def test_unknown_language_answers_in_accept_language(client: TestClient) -> None:
    answer = client.post(URL, json=body(language="xx"), headers={"Accept-Language": "fr"})
    assert answer.status_code == 422
    [problem] = answer.json()["problems"]
    assert problem["field"] == "language" and "langue" in problem["problem"]


def test_malformed_json_is_refused(client: TestClient, runtime: Runtime) -> None:
    for raw in (b"{", b"[]", b'"text"', b"\xff"):
        answer = client.post(URL, content=raw, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_json"
    assert cases(runtime) == []


def test_same_receipt_code_on_another_submission_conflicts(
    client: TestClient, runtime: Runtime
) -> None:
    code = "7KQ2-M9XD-3HTR-P4WB"
    assert client.post(URL, json=body(receipt_code=code)).status_code == 201
    other = client.post(URL, json=body(receipt_code=code))
    assert other.status_code == 409
    assert len(cases(runtime)) == 1


def test_rate_limit_per_client(client: TestClient, runtime: Runtime) -> None:
    from app.submissions import views

    limit = views.WEB_LIMIT[0]
    for _ in range(limit):
        client.post(URL, json=body(narrative=" "))
    answer = client.post(URL, json=body(language="es"))
    assert answer.status_code == 429
    assert "Demasiados" in answer.json()["detail"]
    assert cases(runtime) == []


def test_openapi_documents_the_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/submissions"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"submission_id", "language", "narrative"}
    assert "/report" not in spec["paths"], "the pages stay out of the API document"


def test_poison_characters_in_fields_are_cleaned_not_answered_500(
    client: TestClient, runtime: Runtime
) -> None:
    """Lone surrogates arrive as valid JSON escapes; PostgreSQL refuses NUL in text."""
    poison = "\ud800\x00\udfff"
    sent = body(
        narrative=f"Not paid{poison} in October",
        workplace=f"Star{poison} Garments",
        contact=f"+8801711{poison}000111",
        country="BD\x00",
        receipt_code="7KQ2-M9XD-3HTR-P4WB\x00",
    )
    headers = {"content-type": "application/json"}  # json.dumps escapes lone surrogates
    answer = client.post(URL, content=json.dumps(sent), headers=headers)
    assert answer.status_code == 422, answer.text
    assert [p["field"] for p in answer.json()["problems"]] == ["country"]
    cleaned = {**sent, "country": "BD", "receipt_code": "7KQ2-M9XD-3HTR-P4WB"}
    filed = client.post(URL, content=json.dumps(cleaned), headers=headers)
    assert filed.status_code == 201, filed.text
    again = client.post(URL, content=json.dumps(cleaned), headers=headers)
    assert again.status_code == 200
    [case] = cases(runtime)
    assert workplace_words(runtime, case) == "Star\ufffd\ufffd Garments"


def test_poison_characters_in_the_web_form_are_cleaned(
    client: TestClient, runtime: Runtime
) -> None:
    page = client.get("/report?lang=en")
    form = (
        f"submission_id={form_submission_id(page.text)}&narrative=Not+paid%ED%A0%80%00+at+all"
        "&category=wages&country=BD&workplace=Star%00%ED%B0%80&contact=&website="
    )
    answer = client.post(
        "/report?lang=en",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    [case] = cases(runtime)
    assert workplace_words(runtime, case) == "Star\ufffd\ufffd\ufffd"


@pytest.mark.parametrize("value", [{}, [], 0, False])
@pytest.mark.parametrize("field", ["category", "country"])
def test_a_choice_of_the_wrong_type_is_refused_not_taken_as_left_out(
    client: TestClient, runtime: Runtime, field: str, value: object
) -> None:
    """Found by schemathesis: `{"category": {}}` was filed as `other` (any falsy value read
    as "not given"). Only a missing, null or empty value is."""
    response = client.post(URL, json={**body(), field: value})
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == [field]
    assert cases(runtime) == []
    for empty in ("", None):
        assert client.post(URL, json={**body(), field: empty}).status_code == 201
