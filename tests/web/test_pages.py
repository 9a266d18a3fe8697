"""The reporter's pages without JavaScript: language choice, the form, the receipt,
language negotiation, headers, the honeypot and the rate limit."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.runtime import Runtime
from tests.web.helpers import cases, file_without_js, form_submission_id, receipt_code_of


def test_language_page_lists_every_language_in_its_own_script(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for native in ("বাংলা", "العربية", "اردو", "ខ្មែរ", "မြန်မာ", "简体中文", "Srpski", "Hausa"):
        assert native in page.text
    assert 'href="/report?lang=bn" lang="bn"' in page.text


def test_filing_without_javascript_shows_the_receipt_once(
    client: TestClient, runtime: Runtime
) -> None:
    reference, code = file_without_js(client, contact="worker@example.org")
    [case] = cases(runtime)
    assert case.reference == reference and case.channel == "web"
    assert case.category == "harassment_violence" and case.country == "BD"
    assert case.receipt_hash == runtime.vault.receipt_hash(code)
    assert case.reporter_id is not None
    status = client.post("/status?lang=en", data={"code": code})
    assert code not in client.get("/status").text
    assert reference in status.text


def test_double_post_of_the_same_form_files_once(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/report?lang=en")
    data = {"submission_id": form_submission_id(page.text), "narrative": "No pay."}
    first = client.post("/report?lang=en", data=data)
    again = client.post("/report?lang=en", data=data)
    assert first.status_code == again.status_code == 200
    assert "We already have this report." in again.text
    code = receipt_code_of(first.text)
    shown_again = re.sub(r"<[^>]+>", "", again.text)
    assert code and code not in shown_again, "the receipt code is shown only once"
    assert len(cases(runtime)) == 1


def test_empty_narrative_is_marked_next_to_its_field(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/report?lang=en")
    answer = client.post(
        "/report?lang=en",
        data={
            "submission_id": form_submission_id(page.text),
            "narrative": "  ",
            "workplace": "Mill",
        },
    )
    assert answer.status_code == 422
    assert re.search(
        r'id="narrative"[^>]*aria-describedby="h-narrative e-narrative" aria-invalid="true"',
        answer.text,
    )
    assert '<p class="err" id="e-narrative">Please write what happened.</p>' in answer.text
    assert 'value="Mill"' in answer.text, "what was typed is kept"
    assert cases(runtime) == []


def test_honeypot_refuses_and_keeps_the_text(client: TestClient, runtime: Runtime) -> None:
    page = client.get("/report?lang=en")
    answer = client.post(
        "/report?lang=en",
        data={
            "submission_id": form_submission_id(page.text),
            "narrative": "Overtime unpaid",
            "website": "http://spam.example",
        },
    )
    assert answer.status_code == 422
    assert "Overtime unpaid" in answer.text
    assert cases(runtime) == []


def test_pages_are_compressed_and_safe(client: TestClient) -> None:
    for path in ("/", "/report?lang=en", "/status"):
        page = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "https://" not in re.sub(r'href="https://[^"]+" rel="noreferrer"', "", page.text)
    for path in ("/report?lang=en", "/status"):
        assert client.get(path).headers["cache-control"] == "no-store"


def test_receipt_and_status_pages_are_no_store(client: TestClient) -> None:
    page = client.get("/report?lang=en")
    receipt = client.post(
        "/report?lang=en",
        data={"submission_id": form_submission_id(page.text), "narrative": "No pay."},
    )
    assert receipt.headers["cache-control"] == "no-store"
    assert client.post("/status", data={"code": "0000"}).headers["cache-control"] == "no-store"


def test_static_files_are_versioned_and_cached_for_long(client: TestClient) -> None:
    page = client.get("/report?lang=en").text
    urls = re.findall(r'(?:href|src)="(/assets/[^"]+)"', page)
    assert len(urls) == 3
    for url in urls:
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200
        assert "immutable" in answer.headers["cache-control"]
        if not url.endswith(".webmanifest"):  # too small to be worth it
            assert answer.headers["content-encoding"] == "gzip"
    assert client.get("/assets/app.0000000000.css").status_code == 404
    worker = client.get("/sw.js")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.text.startswith("var SHELL=")


def test_language_order_query_then_cookie_then_accept_language(client: TestClient) -> None:
    def lang(path: str, **headers: str) -> str:
        found = re.search(
            r'<html lang="([^"]+)" dir="(\w+)"', client.get(path, headers=headers).text
        )
        assert found
        return found.group(1) + ":" + found.group(2)

    assert lang("/report", **{"Accept-Language": "vi, en;q=0.5"}) == "vi:ltr"
    assert lang("/report", **{"Accept-Language": "de, ur;q=0.8"}) == "ur:rtl"
    assert lang("/report") == "en:ltr"
    assert lang("/report?lang=ar", **{"Accept-Language": "vi"}) == "ar:rtl"
    assert client.cookies.get("gd_lang") == "ar"
    assert lang("/report", **{"Accept-Language": "vi"}) == "ar:rtl", "the cookie beats the header"
    assert lang("/report?lang=zz", **{"Accept-Language": "vi"}) == "ar:rtl"
    assert lang("/report?lang=zh") == "zh-Hans:ltr"
    assert lang("/report?lang=sr") == "sr-Latn:ltr"


def test_rate_limit_on_the_form(client: TestClient, runtime: Runtime) -> None:
    from app.submissions.views import WEB_LIMIT

    for _ in range(WEB_LIMIT[0]):
        client.post("/report?lang=en", data={"submission_id": "x", "narrative": ""})
    page = client.get("/report?lang=en")
    answer = client.post(
        "/report?lang=en",
        data={"submission_id": form_submission_id(page.text), "narrative": "No pay."},
    )
    assert answer.status_code == 429
    assert "Too many tries" in answer.text
    assert cases(runtime) == []


def test_damaged_submission_id_is_explained_and_replaced(
    client: TestClient, runtime: Runtime
) -> None:
    answer = client.post("/report?lang=es", data={"submission_id": "x", "narrative": "No pay."})
    assert answer.status_code == 422
    assert "Este formulario está dañado" in answer.text
    fresh = form_submission_id(answer.text)
    assert fresh != "x"
    again = client.post("/report?lang=es", data={"submission_id": fresh, "narrative": "No pay."})
    assert again.status_code == 200
    assert len(cases(runtime)) == 1
