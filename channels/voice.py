"""Twilio Voice: the fields of a call's webhooks, TwiML built with twilio's VoiceResponse,
and the Recordings REST API (fetch the audio, then delete it at Twilio).

Pure code: the call flow and what is stored live in app/voice/.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.base import (
    BadRequest,
    Fetched,
    FetchFailed,
    clean_text,
    download,
)
from channels.twilio import canonical_sid

CALL_KINDS = frozenset({"CA"})
RECORDING_KINDS = frozenset({"RE"})
MAX_RECORDING_SECONDS = 180
_DIGITS = re.compile(r"[0-9*#]{0,8}")


@dataclass(frozen=True)
class CallEvent:
    """One webhook of a call: who calls, what they pressed, what was recorded."""

    call_sid: str
    caller: str  # "+E164"; blank for a withheld number
    digits: str | None  # None when the caller pressed nothing
    recording_sid: str | None
    recording_seconds: int
    call_status: str
    outbound: bool = False  # a call we placed (the missed-call callback)


def _int(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def parse_call(params: Mapping[str, str]) -> CallEvent:
    """The fields of a Voice webhook (incoming call, <Gather>/<Record> action, status)."""
    call_sid = canonical_sid(params.get("CallSid", "").strip(), CALL_KINDS)
    digits = params.get("Digits")
    if digits is not None:
        digits = digits.strip()
        if not _DIGITS.fullmatch(digits):
            raise BadRequest("Digits is not keypad input")
    raw_recording = params.get("RecordingSid", "").strip()
    recording = canonical_sid(raw_recording, RECORDING_KINDS) if raw_recording else None
    # On a call we placed, the worker is the one called (To), not the one calling.
    outbound = params.get("Direction", "").strip().lower().startswith("outbound")
    caller = clean_text(params.get("To" if outbound else "From", "").strip())
    return CallEvent(
        outbound=outbound,
        call_sid=call_sid,
        caller=caller if caller.startswith("+") else "",
        digits=digits or None,
        recording_sid=recording,
        recording_seconds=_int(params.get("RecordingDuration", "0").strip() or "0"),
        call_status=params.get("CallStatus", "").strip().lower(),
    )


# TwiML ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One thing to say: a recorded file when one is shipped, else text-to-speech."""

    text: str
    language: str  # Twilio's <Say language=...>
    voice: str | None  # Twilio's <Say voice=...>
    audio_url: str | None = None


def _speak(target: VoiceResponse | Gather, prompt: Prompt) -> None:
    if prompt.audio_url:
        target.play(prompt.audio_url)
    elif prompt.voice:
        target.say(prompt.text, language=prompt.language, voice=prompt.voice)
    else:
        target.say(prompt.text, language=prompt.language)


def say(prompts: list[Prompt], *, hang_up: bool = True) -> str:
    response = VoiceResponse()
    for prompt in prompts:
        _speak(response, prompt)
    if hang_up:
        response.hangup()
    return str(response.to_xml())


def gather(prompts: list[Prompt], *, action: str, before: list[Prompt] | None = None) -> str:
    """Speak `before`, then ask for one key; the action is called even when none is pressed
    (actionOnEmptyResult), so the flow decides about silence too."""
    response = VoiceResponse()
    for prompt in before or []:
        _speak(response, prompt)
    menu = Gather(
        num_digits=1, action=action, method="POST", timeout=8, action_on_empty_result=True
    )
    for prompt in prompts:
        _speak(menu, prompt)
    response.append(menu)
    return str(response.to_xml())


def record(prompts: list[Prompt], *, action: str, ready_callback: str) -> str:
    """Ask for the message and record it (up to three minutes, # ends it). Twilio calls
    `action` when the recording ends, also when the caller hangs up, and `ready_callback`
    once the audio can be fetched."""
    response = VoiceResponse()
    for prompt in prompts:
        _speak(response, prompt)
    response.record(
        action=action,
        method="POST",
        max_length=MAX_RECORDING_SECONDS,
        finish_on_key="#",
        play_beep=True,
        timeout=10,
        recording_status_callback=ready_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    return str(response.to_xml())


def reject() -> str:
    """Refuse the call unanswered (busy), so the caller pays nothing; we call back."""
    response = VoiceResponse()
    response.reject(reason="busy")
    return str(response.to_xml())


def spelled(reference: str) -> str:
    """A reference read digit by digit: `7KQ2-M9XD` -> `7, K, Q, 2. M, 9, X, D`."""
    head, _, tail = reference.partition("-")
    return ". ".join(", ".join(part) for part in (head, tail) if part)


# the Recordings API ----------------------------------------------------------------------


def _recording_url(api_base: str, account_sid: str, recording_sid: str, suffix: str) -> str:
    # Built from the SID, never from the RecordingUrl a webhook carries: a URL from a
    # request must not choose where our credentials are sent.
    sid = canonical_sid(recording_sid, RECORDING_KINDS)
    return f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/{sid}{suffix}"


async def fetch_recording(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    account_sid: str,
    auth_token: str,
    recording_sid: str,
) -> Fetched:
    """The recording's audio (WAV, as Twilio stores it) and its content type."""
    url = _recording_url(api_base, account_sid, recording_sid, ".wav")
    return await download(client, url, default_type="audio/x-wav", auth=(account_sid, auth_token))


async def delete_recording(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    account_sid: str,
    auth_token: str,
    recording_sid: str,
) -> None:
    """Delete the recording at Twilio; an already deleted one (404) counts as done."""
    url = _recording_url(api_base, account_sid, recording_sid, ".json")
    try:
        response = await client.delete(url, auth=(account_sid, auth_token))
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    if response.status_code not in (204, 200, 404):
        raise FetchFailed(f"http_{response.status_code}")


async def place_call(
    client: httpx.AsyncClient,
    *,
    api_base: str,
    account_sid: str,
    auth_token: str,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
) -> str:
    """Call `to` and run the flow at `url` (Twilio's Calls API); the new call's SID."""
    endpoint = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Calls.json"
    form = {
        "To": to,
        "From": from_,
        "Url": url,
        "Method": "POST",
        "StatusCallback": status_callback,
        "StatusCallbackMethod": "POST",
    }
    try:
        response = await client.post(endpoint, data=form, auth=(account_sid, auth_token))
    except httpx.TransportError as exc:
        raise FetchFailed(type(exc).__name__) from None
    if response.status_code not in (200, 201):
        raise FetchFailed(f"http_{response.status_code}")
    try:
        sid = response.json().get("sid")
    except (ValueError, AttributeError):
        sid = None
    return sid if isinstance(sid, str) else ""
