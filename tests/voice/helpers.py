"""A caller, as Twilio Voice would drive our webhooks: signed POSTs that follow the
`action` URLs of the TwiML we answer."""

from __future__ import annotations

import os
import secrets
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import inspect, text

from app.runtime import Runtime
from tests.webhooks.providers import ACCOUNT_SID, PUBLIC_URL, twilio_request

VOICE = "/channels/twilio/voice"
LINE = "+15005550011"


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def recording_sid() -> str:
    return "RE" + secrets.token_hex(16)


def wav(size: int = 96_000) -> bytes:
    """A WAV header and noise: any slice of it is unique, so a search cannot be fooled."""
    return b"RIFF" + (size + 36).to_bytes(4, "little") + b"WAVEfmt " + secrets.token_bytes(size)


def root(response: Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.text)  # noqa: S314 (our own TwiML)


def said(element: ET.Element) -> str:
    return " ".join(say.text or "" for say in element.iter("Say"))


def action_of(element: ET.Element) -> str:
    """The path and query of the next step, from the Gather's or Record's action."""
    for tag in ("Gather", "Record"):
        found = element.find(tag)
        if found is not None:
            url = urlsplit(found.attrib["action"])
            assert f"{url.scheme}://{url.netloc}" == PUBLIC_URL
            return url.path + ("?" + url.query if url.query else "")
    raise AssertionError("no Gather or Record in " + ET.tostring(element).decode())


@dataclass
class Caller:
    client: TestClient
    number: str
    sid: str = field(default_factory=call_sid)
    outbound_to: str | None = None  # set on a call we placed: the number called

    def params(self, **extra: str) -> dict[str, str]:
        params = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Called": LINE,
            "Caller": self.number,
            "Direction": "inbound",
            "From": self.number,
            "FromCountry": "BD",
            "To": LINE,
            "ToCountry": "US",
        }
        if self.outbound_to is not None:
            params.update(Direction="outbound-api", To=self.outbound_to, Called=self.outbound_to)
        params.update(extra)
        return params

    def post(self, path: str, signature: str | None = "compute", **extra: str) -> Response:
        body, headers = twilio_request(path, self.params(**extra), signature=signature)
        return self.client.post(path, content=body, headers=headers)

    def ring(self) -> ET.Element:
        return root(self.post(VOICE, CallStatus="ringing"))

    def ring_outbound(self, called: str) -> ET.Element:
        """The call we placed (the callback) is answered: From is our line, To the worker."""
        self.outbound_to = called
        return root(self.post(VOICE, CallStatus="in-progress"))

    def press(self, step: ET.Element, digits: str) -> ET.Element:
        return root(self.post(action_of(step), Digits=digits))

    def silence(self, step: ET.Element) -> ET.Element:
        return root(self.post(action_of(step)))

    def record(self, step: ET.Element, sid: str, seconds: int = 42) -> ET.Element:
        recording = {
            "RecordingSid": sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/"
            f"Recordings/{sid}",
            "RecordingDuration": str(seconds),
            "Digits": "#",
        }
        return root(self.post(action_of(step), **recording))


def stored_in_clear(runtime: Runtime, audio: bytes) -> bool:
    """Whether any column of any row, or the database file, holds a slice of `audio`."""
    needles = [audio[n : n + 48] for n in range(100, len(audio) - 48, len(audio) // 7)]
    engine = runtime.engine
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    blob = value if isinstance(value, bytes | memoryview) else str(value).encode()
                    if any(needle in bytes(blob) for needle in needles):
                        return True
    if engine.dialect.name == "sqlite":
        # Read by another process: closing a descriptor of the database file in this one
        # would drop SQLite's POSIX locks on it and let other processes corrupt it.
        path = engine.url.database
        assert path
        files = [p for p in (path, path + "-wal") if os.path.exists(p)]
        raw = subprocess.run(["cat", *files], capture_output=True, check=True).stdout
        return any(needle in raw for needle in needles)
    return False
