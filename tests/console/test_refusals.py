"""A service's refusal in the reader's language (issue 13): the same refusal is English in the
API's `detail` and translated, with its values, on a console page; what a resolution waits for
is translated on the case page; an error page follows the signed-in user's saved language, not
the browser's."""

from __future__ import annotations

import html as htmllib

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import User
from app.cases.models import Case, RemediationStep
from app.console.i18n import DOMAIN, ConsoleLocale
from app.errors import AppError, Term, Text
from app.i18n import BY_CODE, translations
from app.runtime import Runtime
from tests.console.helpers import World, build_world, csrf_of, page_csrf, sign_in
from tests.factories import auth, make_token

NO_CASE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _language(runtime: Runtime, user: User, code: str) -> None:
    with runtime.session() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.language = code
        session.add(row)
        session.commit()


def _tr(code: str, message: str) -> str:
    return str(translations(code, DOMAIN).gettext(message))


def _shown(text: str) -> str:
    return htmllib.escape(text, quote=True)


def _post(client: TestClient, case: Case, action: str, **data: str) -> tuple[int, str]:
    csrf = page_csrf(client, f"/console/cases/{case.id}")
    answer = client.post(
        f"/console/cases/{case.id}/{action}",
        data={"csrf": csrf, **data},
        headers={"Accept-Language": "en"},  # the saved language wins over the browser's
    )
    return answer.status_code, answer.text


@pytest.mark.parametrize("code", ["bn", "ar"])
def test_a_refused_transition_reads_in_the_monitors_language(
    client: TestClient, runtime: Runtime, world: World, code: str
) -> None:
    _language(runtime, world.monitor, code)
    sign_in(client, world.monitor)
    status, page = _post(client, world.sms_case, "status", to="resolved", reason="x", version="1")
    assert status == 409
    template = _tr(
        code,
        "a case cannot go from %(current)s to %(target)s; from %(current)s it "
        "can go to %(allowed)s",
    )
    assert (
        template != "a case cannot go from %(current)s to %(target)s; from %(current)s it "
        "can go to %(allowed)s"
    )
    said = template % {
        "current": _tr(code, "new"),
        "target": _tr(code, "resolved"),
        "allowed": ", ".join(_tr(code, s) for s in ("acknowledged", "closed")),
    }
    # the statuses are named in the reader's language, not as the API's values
    assert _tr(code, "resolved") != "resolved" and _tr(code, "new") != "new"
    assert _shown(said) in page, page[page.find('class="error"') :][:400]
    assert "cannot go from" not in page
    assert page.count('role="alert"') >= 1


def test_the_api_keeps_the_english_detail(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    """The same refusal through /api/v1 is the English sentence API clients depend on, even
    for a caller whose browser (or saved preference) is Bengali."""
    _language(runtime, world.monitor, "bn")
    answer = client.post(
        f"/api/v1/cases/{world.sms_case.id}/status",
        json={"to": "resolved", "reason": "x"},
        headers={**auth(make_token(runtime, world.monitor)), "Accept-Language": "bn"},
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "transition_not_allowed",
        "detail": "a case cannot go from new to resolved; from new it can go to acknowledged, "
        "closed",
    }


def test_a_refusal_with_a_number_and_a_console_form_error_in_bengali(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    _language(runtime, world.monitor, "bn")
    sign_in(client, world.monitor)
    case = world.sms_case
    status, page = _post(client, case, "message", body="x" * 5000, version="1")
    assert status == 422  # the shared command's own limit, as the API refuses it
    said = _tr("bn", "the %(field)s is longer than %(limit)s characters")
    assert said != "the %(field)s is longer than %(limit)s characters"
    field = _tr("bn", "message")  # the form's field by its name in Bengali, not "body"
    assert field != "message"
    shown = said % {"field": field, "limit": 4000}
    assert _shown(shown + "।") in page  # a Bengali sentence ends with a dari
    assert "longer than" not in page and "body" not in shown
    status, page = _post(client, case, "status", to="", reason="x", version="1")
    assert status == 400
    assert _shown(_tr("bn", "choose the new status") + "।") in page
    assert "Choose the new status" not in page
    # a reference left empty, and one that is not a case the monitor can see
    status, page = _post(client, case, "link", reference=" ", kind="related", version="1")
    assert status == 404 and _shown(_tr("bn", "no such case to link") + "।") in page
    status, page = _post(client, case, "link", reference="zz-1", kind="related", version="1")
    assert status == 404 and _shown(_tr("bn", "no such case to link") + "।") in page


@pytest.mark.parametrize("code", ["bn", "ar"])
def test_what_a_resolution_waits_for_is_translated(
    client: TestClient, runtime: Runtime, world: World, code: str
) -> None:
    """The case page's blockers, and the refusal to resolve that names them (messages inside
    a message), in the reader's language."""
    _language(runtime, world.monitor, code)
    sign_in(client, world.monitor)
    case = world.sms_case
    status, _page = _post(
        client,
        case,
        "remediation",
        summary="Pay October wages",
        worker_text="অক্টোবরের বেতন দেওয়া হবে",
        version="1",
    )
    assert status == 200
    with runtime.session() as session:
        row = session.get(Case, case.id)
        assert row is not None
        row.status = "remediation"
        session.add(row)
        session.commit()
        assert session.exec(select(RemediationStep)).one().worker_verdict is None
    blocker = _tr(code, "step %(num)s is not agreed by the worker yet") % {"num": 1}
    assert blocker != "step 1 is not agreed by the worker yet"
    page = client.get(f"/console/cases/{case.id}").text
    waits = _tr(code, "Resolution waits for: %(what)s.") % {"what": blocker}
    assert _shown(waits) in page
    assert "not agreed by the worker yet" not in page

    status, page = _post(client, case, "status", to="resolved", reason="x", version="1")
    assert status == 409
    refusal = _tr(
        code,
        "the case cannot be resolved yet: %(steps)s. Send an override (unreachable, opted_out "
        "or other) with a reason if the worker cannot answer.",
    ) % {"steps": blocker}
    assert _shown(refusal) in page
    assert "cannot be resolved yet" not in page


def test_an_error_page_follows_the_saved_language_over_the_browser(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    _language(runtime, world.monitor, "bn")
    sign_in(client, world.monitor)
    missing = client.get(f"/console/cases/{NO_CASE}", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    assert '<html lang="bn" dir="ltr">' in missing.text
    assert _shown(_tr("bn", "Not found")) in missing.text
    assert _shown(_tr("bn", "no such case") + "।") in missing.text
    assert _shown(_tr("bn", "Back to the cases")) in missing.text
    assert _tr("es", "Back to the cases") not in missing.text
    # signed in, the page has the console's navigation (in Bengali)
    assert _shown(_tr("bn", "My settings")) in missing.text

    _language(runtime, world.monitor, "ar")
    forbidden = client.get("/console/admin/users", headers={"Accept-Language": "es"})
    assert forbidden.status_code == 403
    assert '<html lang="ar" dir="rtl">' in forbidden.text
    assert _shown(_tr("ar", "Not allowed")) in forbidden.text
    assert _tr("ar", "Not allowed") != "Not allowed"

    # an address the console does not have, and one whose value does not parse: pages too
    for url in ("/console/no-such-page", f"/console/cases/{NO_CASE}/nothing", "/console/cases/x"):
        answer = client.get(url, headers={"Accept-Language": "es"})
        assert answer.status_code in (404, 422), url
        assert answer.headers["content-type"].startswith("text/html"), url
        assert '<html lang="ar" dir="rtl">' in answer.text, url
        assert answer.headers["x-frame-options"] == "DENY"
    assert _shown(_tr("ar", "no such page")) in client.get("/console/no-such-page").text
    # elsewhere an unknown address keeps the API's JSON answer
    assert client.get("/api/v1/no-such-thing").json()["error"] == "not_found"
    assert (
        client.get("/console/static/no-such.css")
        .headers["content-type"]
        .startswith("application/json")
    )

    # nobody signed in: the browser's language, as before
    client.cookies.clear()
    login = client.get("/console/login", headers={"Accept-Language": "ar"})
    answer = client.post(
        "/console/login",
        data={"email": "nobody@example.org", "password": "wrong", "csrf": csrf_of(login.text)},
        headers={"Accept-Language": "ar"},
    )
    assert answer.status_code == 401
    assert _shown(_tr("ar", "wrong e-mail or password") + ".") in answer.text


def test_a_failure_is_a_console_page_in_the_users_language(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (an exception no one expected) on a console page: a page in the user's language
    saying to try again, not Starlette's plain text; the API still answers plain text."""
    from app.cases import service as cases
    from app.main import create_app

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    _language(runtime, world.monitor, "hi")
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        sign_in(client, world.monitor)
        monkeypatch.setattr(cases, "get_case_for", broken)
        answer = client.get(
            f"/console/cases/{world.sms_case.id}", headers={"Accept-Language": "fr"}
        )
        assert answer.status_code == 500
        assert '<html lang="hi" dir="ltr">' in answer.text
        assert _shown(_tr("hi", "Something went wrong")) in answer.text
        said = _tr(
            "hi",
            "the console could not finish this; try again, and tell an admin if it keeps happening",
        )
        assert _shown(said + "।") in answer.text
        assert "a bug" not in answer.text
        api = client.get(
            f"/api/v1/cases/{world.sms_case.id}", headers=auth(make_token(runtime, world.monitor))
        )
        assert api.status_code == 500 and api.text == "Internal Server Error"


def test_a_refusal_reads_well_in_every_language() -> None:
    """Each language fills the same refusal (words of a vocabulary through its labels,
    messages inside messages) without a KeyError, and ends it as a sentence."""
    refusal = AppError(
        "the rule could never match: %(reasons)s",
        reasons=[
            Text(
                "%(name)s is in %(country)s, not in the rule's countries",
                {"name": "Star", "country": "KE"},
            ),
            Text("step %(num)s is %(state)s", {"num": 2, "state": Term("disagreed")}),
        ],
    )
    assert refusal.message == (
        "the rule could never match: Star is in KE, not in the rule's countries; step 2 is "
        "disagreed"
    )
    for code, lang in BY_CODE.items():
        loc = ConsoleLocale(lang)
        said = loc.sentence(loc.say(refusal))
        assert "Star" in said and "KE" in said and "%(" not in said
        if code != "en":
            assert "disagreed" not in said and "never match" not in said, code
            assert _tr(code, "disagreed") in said, code
