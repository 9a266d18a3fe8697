"""Twilio Voice pieces: webhook fields, TwiML from VoiceResponse, the Recordings API."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from channels.base import MAX_MEDIA_BYTES, BadRequest, Fetched, FetchFailed, TooBig
from channels.voice import (
    Prompt,
    delete_recording,
    fetch_recording,
    gather,
    parse_call,
    record,
    spelled,
)

CALL = "CA" + "ab" * 16
REC = "RE" + "cd" * 16


def test_parse_call_checks_the_ids_and_keypad() -> None:
    event = parse_call({"CallSid": CALL, "From": "+8801711000000", "Digits": "1"})
    assert (event.call_sid, event.caller, event.digits) == (CALL, "+8801711000000", "1")
    assert parse_call({"CallSid": CALL, "From": "anonymous"}).caller == ""
    with pytest.raises(BadRequest):
        parse_call({"CallSid": "CA123"})
    with pytest.raises(BadRequest):
        parse_call({"CallSid": CALL, "Digits": "1<x>"})
    with pytest.raises(BadRequest):
        parse_call({"CallSid": CALL, "RecordingSid": "RE../../x"})


def test_twiml_is_built_by_voice_response() -> None:
    prompt = Prompt("Hello & <welcome>", "bn-IN", "Google.bn-IN-Standard-A")
    xml = gather([prompt], action="https://x/a?page=0&tries=0")
    root = ET.fromstring(xml)  # noqa: S314 (our own TwiML)
    menu = root.find("Gather")
    assert menu is not None and menu.attrib["numDigits"] == "1"
    assert menu.attrib["action"] == "https://x/a?page=0&tries=0"
    say = menu.find("Say")
    assert say is not None and say.text == "Hello & <welcome>"
    rec = ET.fromstring(record([prompt], action="https://x/r", ready_callback="https://x/c"))  # noqa: S314
    element = rec.find("Record")
    assert element is not None and element.attrib["maxLength"] == "180"
    assert element.attrib["recordingStatusCallback"] == "https://x/c"


def test_references_are_read_digit_by_digit() -> None:
    assert spelled("7KQ2-M9XD") == "7, K, Q, 2. M, 9, X, D"


def _run(handler: httpx.MockTransport, call: str) -> object:
    import asyncio

    async def go() -> object:
        async with httpx.AsyncClient(transport=handler) as client:
            where = {"api_base": "https://api.example", "account_sid": "AC1", "auth_token": "t"}
            if call == "fetch":
                return await fetch_recording(client, recording_sid=REC, **where)
            return await delete_recording(client, recording_sid=REC, **where)

    return asyncio.run(go())


def test_the_recording_is_fetched_from_the_sid_never_from_a_given_url() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(200, content=b"RIFF", headers={"content-type": "audio/x-wav"})

    assert _run(httpx.MockTransport(answer), "fetch") == Fetched(b"RIFF", "audio/x-wav")
    assert seen == [f"GET https://api.example/2010-04-01/Accounts/AC1/Recordings/{REC}.wav"]


def test_failures_and_oversized_recordings() -> None:
    down = httpx.MockTransport(lambda r: httpx.Response(503))
    with pytest.raises(FetchFailed):
        _run(down, "fetch")
    with pytest.raises(FetchFailed):
        _run(down, "delete")
    huge = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-length": str(MAX_MEDIA_BYTES + 1)})
    )
    with pytest.raises(TooBig):
        _run(huge, "fetch")
    gone = httpx.MockTransport(lambda r: httpx.Response(404))
    assert _run(gone, "delete") is None  # already deleted counts as done
