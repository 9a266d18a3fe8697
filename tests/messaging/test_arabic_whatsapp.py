"""A whole conversation in Arabic over the WhatsApp Cloud API: signed webhooks in, every
reply out over HTTP to a local stand-in of the Graph API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.cases.models import Case
from app.runtime import Runtime
from tests.messaging.helpers import run_sender
from tests.messaging.standin import StandIn
from tests.webhooks.providers import meta_body, meta_change, meta_headers, meta_text

TN = "+21698123456"  # Tunisia
STORY = "المشرف ضرب زميلي في المصنع أمس وهددنا بالطرد إذا اشتكينا."
WORKPLACE = "مصنع النور للملابس، سوسة"
REF = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def say(client: TestClient, runtime: Runtime, standin: StandIn, text: str) -> str:
    """The reporter writes; the worker sends our answer; the answer the Graph API got."""
    body = meta_body(meta_change([meta_text(TN, text)], [(TN, "Amira")]))
    response = client.post("/channels/meta/whatsapp", content=body, headers=meta_headers(body))
    assert response.status_code == 200
    before = len(standin.of("meta"))
    run_sender(runtime)
    sent = standin.of("meta")
    assert len(sent) == before + 1
    assert sent[-1].json["to"] == TN.lstrip("+")
    answer: str = sent[-1].json["text"]["body"]
    return answer


@pytest.mark.usefixtures("wired")
def test_arabic_conversation_over_the_cloud_api(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    assert say(client, runtime, standin, "السلام عليكم").startswith("ماذا حدث؟")
    assert "المصنع" in say(client, runtime, standin, STORY)
    final = say(client, runtime, standin, WORKPLACE)
    match = REF.search(final)
    assert match is not None and "حالة" in final
    with runtime.session() as session:
        [case] = session.exec(select(Case)).all()
    assert case.reference == match.group(0)
    assert (case.language, case.country, case.channel) == ("ar", "TN", "whatsapp")
    assert case.category == "harassment_violence" and case.urgent
    status = say(client, runtime, standin, "حالة")
    assert status.startswith(f"الشكوى {case.reference}:")
