"""The voice line's webhooks (POST /channels/twilio/voice and its steps) and its recorded
prompts (staff play recordings through app.media.views).

Each webhook: signature over GRIEVANCE_PUBLIC_URL + path + query (403, counted only), the
call's fields (400), then the step, committed before the TwiML is answered.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.deps import RuntimeDep
from app.errors import NotFound, error_responses
from app.metrics import metrics_of
from app.runtime import Runtime
from app.voice import flow, prompts
from app.webhooks.views import TWIML, TWIML_RESPONSES, read_body, refuse
from channels import twilio, voice
from channels.base import ChannelError, NotConfigured
from channels.voice import CallEvent

router = APIRouter(tags=["provider webhooks"])
_NAME = re.compile(r"[a-z_]{1,32}")


async def twilio_params(request: Request, runtime: Runtime, path: str) -> twilio.FormParams:
    token = runtime.settings.twilio_auth_token
    if not token:
        raise NotConfigured("TWILIO_AUTH_TOKEN is not set")
    params = twilio.parse_form(await read_body(request, twilio.TWILIO_MAX_BODY))
    twilio.verify_signature(
        auth_token=token,
        public_url=runtime.settings.public_url,
        path=path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        params=params,
        signature=request.headers.get("x-twilio-signature"),
    )
    return params


def _answer(runtime: Runtime, step: str, query: str, event: CallEvent) -> flow.Answer:
    with runtime.session() as session:
        found = flow.answer(
            session,
            runtime.vault,
            public_url=runtime.settings.public_url,
            step=step,
            query=query,
            event=event,
            callback=runtime.settings.voice_callback and bool(runtime.settings.twilio_voice_from),
        )
        if not found.duplicate:
            session.commit()
        return found


async def _step(request: Request, runtime: RuntimeDep, step: str) -> Response:
    path = flow.BASE + (f"/{step}" if step else "")
    query = request.scope.get("query_string", b"").decode("latin-1")
    try:
        event = voice.parse_call(await twilio_params(request, runtime, path))
        found = await run_in_threadpool(_answer, runtime, step, query, event)
    except ChannelError as exc:
        return refuse(request, "twilio", exc)
    metrics_of(request).webhook("twilio", "duplicate" if found.duplicate else "accepted")
    return Response(found.twiml, media_type=TWIML)


async def incoming_call(request: Request, runtime: RuntimeDep) -> Response:
    """POST /channels/twilio/voice, mounted by app.webhooks.routes."""
    return await _step(request, runtime, "")


@router.post(
    flow.BASE + "/{step}",
    summary="Twilio Voice: the next step of a call",
    response_class=Response,
    responses=TWIML_RESPONSES | error_responses(404, 422),
)
async def call_step(request: Request, runtime: RuntimeDep, step: str) -> Response:
    if step not in flow.STEPS:
        raise NotFound("no such step of a call")
    return await _step(request, runtime, step)


@router.get(prompts.AUDIO_PATH + "/{language}/{name}.mp3", include_in_schema=False)
def prompt_audio(language: str, name: str) -> Response:
    """A recorded prompt, for Twilio's <Play> (nothing secret: the same for every caller)."""
    found = prompts.audio_file(language, name) if _NAME.fullmatch(name) else None
    if found is None:
        raise NotFound("no such prompt")
    return FileResponse(found, media_type="audio/mpeg")
