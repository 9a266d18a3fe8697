"""Photos and voice notes sent by MMS and WhatsApp: signed webhooks in, the worker fetches
them from a local stand-in of Twilio's and Meta's APIs with the provider's credentials,
keeps them encrypted (a photo without its EXIF), deletes them there, and shows them to the
case's monitor only."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlmodel import col

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.media.models import CaseMedia
from app.runtime import Runtime
from app.worker import run_once
from tests.console.helpers import sign_in
from tests.factories import auth, make_org, make_token, make_user
from tests.messaging.standin import StandIn, provider_standin
from tests.voice.helpers import stored_in_clear
from tests.webhooks.providers import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    configure,
    message_sid,
    meta_body,
    meta_change,
    meta_headers,
    twilio_request,
    twilio_sms,
    twilio_whatsapp,
)

NUMBER = "+8801711555777"
STORY = "The supervisor took our overtime pay for three months and shouted at us."
GPS = 0x8825


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with provider_standin() as stand_in:
        yield stand_in


@pytest.fixture
def wired(runtime: Runtime, standin: StandIn) -> Runtime:
    configure(runtime, send_base=standin.url)
    make_org(runtime, slug="awaj", fallback=True)
    return runtime


def photo_with_gps(width: int = 160, height: int = 120) -> bytes:
    """A JPEG of noise (no slice of it occurs by chance) that says where it was taken."""
    image = Image.frombytes("RGB", (width, height), secrets.token_bytes(width * height * 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # taken turned: shown rotated by 90 degrees
    exif[0x010F] = "PhoneMaker"
    exif[GPS] = {1: "N", 2: (23.0, 48.0, 10.0), 3: "E", 4: (90.0, 24.0, 5.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS)  # the fixture does carry GPS
    return data


def twilio_media_url(message: str, media: str) -> str:
    return (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message}/Media/{media}"
    )


def media_sid() -> str:
    return "ME" + secrets.token_hex(16)


def post_twilio(client: TestClient, path: str, params: dict[str, str]) -> None:
    body, headers = twilio_request(path, params)
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def with_media(params: dict[str, str], sid: str, *items: tuple[str, str]) -> dict[str, str]:
    params = dict(params, NumMedia=str(len(items)))
    for n, (me, kind) in enumerate(items):
        params[f"MediaUrl{n}"] = twilio_media_url(sid, me)
        params[f"MediaContentType{n}"] = kind
    return params


def file_by_sms(client: TestClient) -> None:
    post_twilio(client, "/channels/twilio/sms", twilio_sms(NUMBER, STORY))
    post_twilio(client, "/channels/twilio/sms", twilio_sms(NUMBER, "Rahim Garments, Gazipur"))


def the(runtime: Runtime, model: type) -> list[object]:
    with runtime.session() as session:
        return list(session.exec(select(model)).scalars().all())  # type: ignore[call-overload]


def work(runtime: Runtime) -> None:
    while run_once(runtime):
        pass


@pytest.mark.usefixtures("wired")
def test_a_whatsapp_photo_is_kept_without_its_gps_and_deleted_at_twilio(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    photo, sid, me = photo_with_gps(), message_sid(), media_sid()
    standin.media[me] = (photo, "image/jpeg")
    first = with_media(twilio_whatsapp(NUMBER, STORY, sid=sid), sid, (me, "image/jpeg"))
    post_twilio(client, "/channels/twilio/whatsapp", first)
    post_twilio(client, "/channels/twilio/whatsapp", twilio_whatsapp(NUMBER, "Rahim Garments"))
    (case,) = the(runtime, Case)
    assert isinstance(case, Case)
    work(runtime)

    (item,) = the(runtime, CaseMedia)
    assert isinstance(item, CaseMedia)
    assert (item.case_id, item.state, item.content_type) == (case.id, "deleted", "image/jpeg")
    # Fetched with the account's credentials, then deleted at Twilio.
    assert [(m, k) for m, k, _ in standin.media_requests] == [("GET", me), ("DELETE", me)]
    assert all(a.startswith("Basic ") for _, _, a in standin.media_requests)
    assert standin.deleted == [me] and me not in standin.media

    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    token = make_token(runtime, monitor)
    got = client.get(f"/api/v1/cases/{case.id}/media/{item.id}", headers=auth(token))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    kept = Image.open(io.BytesIO(got.content))
    assert kept.format == "JPEG" and kept.size == (120, 160)  # turned upright
    exif = kept.getexif()
    assert not exif.get_ifd(GPS) and GPS not in exif and 0x010F not in exif
    assert b"Exif" not in got.content and b"PhoneMaker" not in got.content
    assert not stored_in_clear(runtime, photo)
    assert not stored_in_clear(runtime, got.content)


@pytest.mark.usefixtures("wired")
def test_an_mms_photo_joins_the_message_and_only_the_cases_monitor_sees_it(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    make_org(runtime, slug="ghent", kind="buyer")
    make_org(runtime, slug="other-ngo")
    file_by_sms(client)
    (case,) = the(runtime, Case)
    assert isinstance(case, Case)
    photo, sid, me, note = photo_with_gps(64, 64), message_sid(), media_sid(), media_sid()
    voice_note = b"OggS" + secrets.token_bytes(3000)
    standin.media[me] = (photo, "image/jpeg")
    standin.media[note] = (voice_note, "audio/ogg")
    mms = with_media(twilio_sms(NUMBER, "", sid=sid), sid, (me, "image/jpeg"), (note, "audio/ogg"))
    post_twilio(client, "/channels/twilio/sms", mms)
    work(runtime)

    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    token = make_token(runtime, monitor)
    said = client.get(f"/api/v1/cases/{case.id}/messages", headers=auth(token)).json()
    attached = [m for m in said if m["media"]]
    assert len(attached) == 1 and attached[0]["has_media"]
    kinds = sorted((a["content_type"], a["state"]) for a in attached[0]["media"])
    assert kinds == [("audio/ogg", "deleted"), ("image/jpeg", "deleted")]
    by_type = {a["content_type"]: a["id"] for a in attached[0]["media"]}
    heard = client.get(f"/api/v1/cases/{case.id}/media/{by_type['audio/ogg']}", headers=auth(token))
    assert heard.content == voice_note  # audio is kept as it came
    assert sorted(standin.deleted) == sorted([me, note])
    assert not stored_in_clear(runtime, voice_note)

    sign_in(client, monitor)
    page = client.get(f"/console/cases/{case.id}")
    photo_url = f"/console/cases/{case.id}/media/{by_type['image/jpeg']}"
    assert f'<img src="{photo_url}"' in page.text
    assert client.get(photo_url).headers["content-type"] == "image/jpeg"
    with runtime.session() as session:
        shown = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "media.played"))
        assert len(shown.scalars().all()) == 2

    for email, role, org in (
        ("audrey@audit.example", "auditor", None),
        ("bea@ghent.example", "buyer", "ghent"),
        ("otto@other.example", "monitor", "other-ngo"),
    ):
        other = make_token(runtime, make_user(runtime, email=email, role=role, org=org))
        path = f"/api/v1/cases/{case.id}/media/{by_type['image/jpeg']}"
        assert client.get(path, headers=auth(other)).status_code == 404, role


@pytest.mark.usefixtures("wired")
def test_a_cloud_api_image_is_fetched_through_the_graph_api_and_deleted_there(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    photo, media_id = photo_with_gps(), "1037543291543636"
    standin.media[media_id] = (photo, "image/jpeg")
    image = {
        "from": NUMBER.lstrip("+"),
        "id": "wamid.HBgL" + secrets.token_hex(20).upper(),
        "timestamp": "1764500000",
        "type": "image",
        "image": {"caption": STORY, "mime_type": "image/jpeg", "sha256": "x", "id": media_id},
    }
    body = meta_body(meta_change([image], contacts=[(NUMBER, "Rahima")]))
    assert client.post(
        "/channels/meta/whatsapp", content=body, headers=meta_headers(body)
    ).is_success
    again = {
        "from": NUMBER.lstrip("+"),
        "id": "wamid.HBgL" + secrets.token_hex(20).upper(),
        "timestamp": "1764500060",
        "type": "text",
        "text": {"body": "Rahim Garments"},
    }
    body = meta_body(meta_change([again]))
    assert client.post(
        "/channels/meta/whatsapp", content=body, headers=meta_headers(body)
    ).is_success
    work(runtime)
    (item,) = the(runtime, CaseMedia)
    assert isinstance(item, CaseMedia) and item.state == "deleted" and item.provider == "meta"
    assert [(m, k) for m, k, _ in standin.media_requests] == [
        ("GET", media_id),
        ("DELETE", media_id),
    ]
    assert all(a == f"Bearer {ACCESS_TOKEN}" for _, _, a in standin.media_requests)
    assert not stored_in_clear(runtime, photo)


@pytest.mark.usefixtures("wired")
def test_when_the_provider_is_down_the_photo_waits_and_is_fetched_later(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    file_by_sms(client)
    sid, me = message_sid(), media_sid()
    standin.media[me] = (photo_with_gps(), "image/jpeg")
    post_twilio(
        client,
        "/channels/twilio/sms",
        with_media(twilio_sms(NUMBER, "", sid=sid), sid, (me, "image/jpeg")),
    )
    standin.always_fail = (503, {"code": 20500})
    work(runtime)
    (item,) = the(runtime, CaseMedia)
    assert isinstance(item, CaseMedia)
    assert (item.state, item.attempts, item.last_error) == ("pending", 1, "http_503")
    admin = make_token(runtime, make_user(runtime, email="ada@ops.example", role="admin"))
    scraped = client.get("/metrics", headers=auth(admin)).text
    assert 'grievance_media_items{state="pending"} 1.0' in scraped
    standin.always_fail = None
    with runtime.session() as session:  # the back-off has passed
        row = session.get(CaseMedia, item.id)
        assert row is not None
        row.next_attempt_at = row.created_at
        session.commit()
    work(runtime)
    (item,) = the(runtime, CaseMedia)
    assert isinstance(item, CaseMedia) and item.state == "deleted" and item.data_enc
    assert standin.deleted == [me]


@pytest.mark.usefixtures("wired")
def test_too_large_or_a_video_is_refused_with_a_note_and_still_deleted_at_the_provider(
    client: TestClient, runtime: Runtime, standin: StandIn
) -> None:
    file_by_sms(client)
    (case,) = the(runtime, Case)
    assert isinstance(case, Case)
    sid, big, film = message_sid(), media_sid(), media_sid()
    standin.media[big] = (b"\xff\xd8" + bytes(16 * 1024 * 1024), "image/jpeg")
    standin.media[film] = (b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(2000), "video/mp4")
    mms = with_media(twilio_sms(NUMBER, "", sid=sid), sid, (big, "image/jpeg"), (film, "video/mp4"))
    post_twilio(client, "/channels/twilio/sms", mms)
    work(runtime)
    rows = the(runtime, CaseMedia)
    found = {r.last_error: r for r in rows if isinstance(r, CaseMedia)}
    assert set(found) == {"too_large", "type_not_allowed"}
    assert all(r.state == "refused" and r.data_enc is None for r in found.values())
    assert all(r.deleted_at is not None for r in found.values())
    assert sorted(standin.deleted) == sorted([big, film])
    with runtime.session() as session:
        notes = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.action).startswith("media.refused"))
        ).scalars()
        assert sorted(notes) == ["media.refused_too_large", "media.refused_type_not_allowed"]
    monitor = make_user(runtime, email="mona@awaj.example", role="monitor", org="awaj")
    sign_in(client, monitor)
    page = client.get(f"/console/cases/{case.id}").text
    assert "over 16 MiB" in page and "only photos and audio" in page
