"""The console in the staff member's language and time zone (issue 13, item 3): every page in
each of the 17 languages (right to left for Arabic and Urdu), the language and zone a user
sets on "My settings" (saved, audited, applied), Accept-Language negotiation when they set
none, and times in their zone with UTC on hover."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import User
from app.accounts.preferences import country_zone
from app.audit.models import AuditEvent
from app.cases.models import Case
from app.console.i18n import DOMAIN, ConsoleLocale
from app.i18n import BY_CODE, LANGUAGES, translations
from app.runtime import Runtime
from tests.console.helpers import World, build_world, page_csrf, sign_in

HTML_TAG = re.compile(r"<html lang=\"([^\"]+)\" dir=\"(ltr|rtl)\">")


@pytest.fixture
def world(runtime: Runtime) -> World:
    return build_world(runtime)


def _set(runtime: Runtime, user: User, **values: str | None) -> None:
    with runtime.session() as session:
        row = session.get(User, user.id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.commit()


def _tr(code: str, message: str) -> str:
    return htmllib.escape(str(translations(code, DOMAIN).gettext(message)), quote=True)


def _html_tag(text: str) -> tuple[str, str]:
    found = HTML_TAG.search(text)
    assert found, text[:200]
    return found.group(1), found.group(2)


def test_every_console_page_in_every_language(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    sign_in(client, world.admin, world.admin_secret)
    pages = [
        "/console",
        "/console?status=new&sort=due",
        "/console/admin",
        "/console/admin/organisations",
        "/console/admin/users",
        "/console/admin/workplaces",
        "/console/admin/routing",
        "/console/admin/exclusions",
        "/console/figures",
        "/console/exports",
        "/console/settings",
        "/console/alerts",
        f"/console/cases/{world.sms_case.id}",
        f"/console/cases/{world.other_case.id}",
    ]
    for lang in LANGUAGES:
        _set(runtime, world.admin, language=lang.code)
        for url in pages:
            answer = client.get(url)
            assert answer.status_code == 200, (lang.code, url, answer.text[:300])
            assert _html_tag(answer.text) == (
                lang.html_lang,
                "rtl" if lang.code in ("ar", "ur") else "ltr",
            ), (lang.code, url)
            assert _tr(lang.code, "My settings") in answer.text, (lang.code, url)
        case_page = client.get(f"/console/cases/{world.sms_case.id}").text
        for message in ("Conversation", "Send message", "More actions", "Change status"):
            assert _tr(lang.code, message) in case_page, (lang.code, message)
        if lang.code != "en":
            assert ">Send message<" not in case_page


def test_sign_in_and_error_pages_follow_the_browser(client: TestClient, world: World) -> None:
    for header, lang, direction in (
        ("ur-PK,ur;q=0.9,en;q=0.5", "ur", "rtl"),
        ("fr-FR,fr;q=0.8", "fr", "ltr"),
        ("de-DE,de;q=0.9", "en", "ltr"),  # not offered: English
        ("zh-CN", "zh-Hans", "ltr"),
    ):
        code = lang.split("-")[0]
        login = client.get("/console/login", headers={"Accept-Language": header})
        assert login.status_code == 200
        assert _html_tag(login.text) == (lang, direction)
        assert _tr(code, "Password") in login.text
    client.cookies.clear()
    sign_in(client, world.monitor)
    missing = client.get(
        "/console/cases/00000000-0000-0000-0000-000000000000",
        headers={"Accept-Language": "es"},
    )
    assert missing.status_code == 404
    assert _html_tag(missing.text) == ("es", "ltr")
    assert _tr("es", "Back to the cases") in missing.text


def test_a_users_choice_beats_the_browser(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    sign_in(client, world.monitor)
    arabic = client.get("/console", headers={"Accept-Language": "ar"})
    assert _html_tag(arabic.text) == ("ar", "rtl")
    answer = client.post(
        "/console/settings",
        data={"csrf": page_csrf(client), "language": "bn", "time_zone": "Asia/Dhaka"},
        headers={"Accept-Language": "ar"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/settings?saved=1"
    settings = client.get("/console/settings?saved=1", headers={"Accept-Language": "ar"})
    assert _html_tag(settings.text) == ("bn", "ltr")
    assert _tr("bn", "Saved.") in settings.text
    assert '<option value="Asia/Dhaka" selected>' in settings.text
    with runtime.session() as session:
        row = session.get(User, world.monitor.id)
        assert row is not None and (row.language, row.time_zone) == ("bn", "Asia/Dhaka")
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.preferences")
        ).all()
    assert len(events) == 1
    assert events[0].actor_id == str(world.monitor.id)
    assert '"language":"bn"' in events[0].data and '"time_zone":"Asia/Dhaka"' in events[0].data
    # Back to the browser's language: the same form with nothing chosen.
    client.post(
        "/console/settings",
        data={"csrf": page_csrf(client), "language": "", "time_zone": ""},
        follow_redirects=False,
    )
    assert _html_tag(client.get("/console", headers={"Accept-Language": "ar"}).text)[0] == "ar"


@pytest.mark.parametrize(
    ("field", "value"), [("language", "xx"), ("time_zone", "Mars/Olympus_Mons")]
)
def test_an_unknown_language_or_zone_is_refused(
    client: TestClient, runtime: Runtime, world: World, field: str, value: str
) -> None:
    sign_in(client, world.monitor)
    data = {"csrf": page_csrf(client), "language": "fr", "time_zone": "Europe/Paris"}
    data[field] = value
    answer = client.post("/console/settings", data=data, follow_redirects=False)
    assert answer.status_code == 422
    assert 'class="error"' in answer.text
    with runtime.session() as session:
        row = session.get(User, world.monitor.id)
        assert row is not None and (row.language, row.time_zone) == (None, None)
        assert not session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.preferences")
        ).all()


def _opened(runtime: Runtime, case: Case) -> datetime:
    with runtime.session() as session:
        row = session.get(Case, case.id)
        assert row is not None
        return row.created_at


def test_times_in_the_users_zone_with_utc_on_hover(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    opened = _opened(runtime, world.other_case)
    utc = opened.strftime("%Y-%m-%d %H:%M UTC")
    # The outsider's partner routes Kenya: by default, Nairobi time.
    assert country_zone("KE") == "Africa/Nairobi"
    sign_in(client, world.outsider)
    html = client.get(f"/console/cases/{world.other_case.id}").text
    nairobi = ConsoleLocale(BY_CODE["en"], ZoneInfo("Africa/Nairobi")).local(opened)
    assert opened.astimezone(ZoneInfo("Africa/Nairobi")).strftime("%H:%M") in nairobi
    assert f'title="{utc}">{nairobi}</time>' in html
    # Their own choice wins, in their language's format.
    _set(runtime, world.outsider, time_zone="America/Mexico_City", language="es")
    html = client.get(f"/console/cases/{world.other_case.id}").text
    mexico = ConsoleLocale(BY_CODE["es"], ZoneInfo("America/Mexico_City")).local(opened)
    there = opened.astimezone(ZoneInfo("America/Mexico_City"))
    assert f"{there.hour}:{there.minute:02d}" in mexico
    assert f'title="{utc}">{htmllib.escape(mexico)}</time>' in html
    assert nairobi not in html
    # The queue's age shows the opening time in UTC on hover.
    queue = client.get("/console").text
    assert (
        htmllib.escape(translations("es", DOMAIN).gettext("opened %(when)s") % {"when": utc})
        in queue
    )


def test_users_with_no_partner_country_see_utc(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    """The auditor has no partner: UTC, and the settings page says which zone is the default."""
    opened = _opened(runtime, world.sms_case)
    sign_in(client, world.auditor)
    html = client.get(f"/console/cases/{world.sms_case.id}").text
    shown = ConsoleLocale(BY_CODE["en"]).local(opened)
    assert f'title="{opened.strftime("%Y-%m-%d %H:%M UTC")}">{shown}</time>' in html
    assert "my organisation&#39;s country (now: UTC)" in client.get("/console/settings").text


def test_the_case_history_speaks_the_readers_language(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    """Audit events, delivery states and message labels are worded in the reader's language;
    the buyer still sees only the opening and the status changes."""
    case = world.sms_case
    opened = translations("fr", DOMAIN).gettext("Case opened by %(channel)s") % {"channel": "sms"}
    sign_in(client, world.monitor)
    _set(runtime, world.monitor, language="fr")
    html = client.get(f"/console/cases/{case.id}").text
    assert htmllib.escape(opened) in html
    assert htmllib.escape(translations("fr", DOMAIN).gettext("From the reporter")) in html
    assert "Case opened by" not in html and "From the reporter" not in html
    client.cookies.clear()
    sign_in(client, world.buyer)
    _set(runtime, world.buyer, language="fr")
    progress = client.get(f"/console/cases/{case.id}").text
    assert htmllib.escape(opened) in progress
    sent = htmllib.escape(translations("fr", DOMAIN).gettext("To the reporter"))
    assert sent in html  # the monitor reads the conversation; the buyer does not
    assert sent not in progress
