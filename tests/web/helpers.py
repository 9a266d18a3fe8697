"""Helpers for the reporter-page tests."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.runtime import Runtime

REFERENCE_RE = re.compile(r"(?<![-0-9A-Z])[0-9A-Z]{4}-[0-9A-Z]{4}(?![-0-9A-Z])")
# The receipt writes the code in groups that never break inside: <span>7KQ2</span>-<wbr>...
CODE_RE = re.compile(r'id="code">((?:<span>[0-9A-Z]{4}</span>-<wbr>){3}<span>[0-9A-Z]{4}</span>)<')


def receipt_code_of(html: str) -> str | None:
    """The receipt code shown on a page, as the reporter reads it (`XXXX-XXXX-XXXX-XXXX`)."""
    found = CODE_RE.search(html)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else None


def body(**changes: Any) -> dict[str, Any]:
    """A valid submission for POST /api/v1/submissions."""
    data: dict[str, Any] = {
        "submission_id": str(uuid.uuid4()),
        "language": "bn",
        "country": "BD",
        "workplace": "Star Garments Ltd",
        "category": "wages",
        "narrative": "We were not paid for overtime in October.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def form_submission_id(html: str) -> str:
    found = re.search(r'name="submission_id" value="([^"]+)"', html)
    assert found, "the form has no submission_id"
    return found.group(1)


def file_without_js(client: TestClient, lang: str = "en", **fields: str) -> tuple[str, str]:
    """Load the form, post it as a browser without JavaScript would; (reference, code)."""
    page = client.get(f"/report?lang={lang}")
    assert page.status_code == 200
    data = {
        "submission_id": form_submission_id(page.text),
        "narrative": "The supervisor hit a worker on line 4.",
        "category": "harassment_violence",
        "country": "BD",
        "workplace": "Star Garments Ltd",
        "contact": "",
        "website": "",
    }
    data.update(fields)
    answer = client.post(f"/report?lang={lang}", data=data)
    assert answer.status_code == 200, answer.text
    code = receipt_code_of(answer.text)
    reference = REFERENCE_RE.search(answer.text.split('id="code"')[1])
    assert code and reference
    return reference.group(0), code


def cases(runtime: Runtime) -> list[Case]:
    with runtime.session() as session:
        return list(session.exec(select(Case)).all())
